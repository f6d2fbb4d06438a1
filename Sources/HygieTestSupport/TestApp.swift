import Foundation
import Hummingbird
public import HummingbirdTesting
import HygieAwareness
import HygieCore
import HygieStorage
public import HygieWeb
import Logging

extension TestServices {
    /// The web services over this test database.
    public func webServices() async throws -> HygieServices {
        var logger = Logger(label: "hygie.test.web")
        logger.logLevel = .warning
        return try await HygieServices(
            database: database, identity: identity, tenancy: tenancy, audit: audit, jobs: jobs, clock: clock,
            settings: WebSettings(publicURL: "http://127.0.0.1", maxBodyBytes: 64 * 1024), logger: logger,
            awareness: AwarenessService(
                database: database, audit: audit, clock: clock,
                secrets: try SecretBox(keyData: Data(repeating: 7, count: 32))),
            secrets: try SecretBox(keyData: Data(repeating: 7, count: 32)))
    }

    /// Runs `body` against the router (no sockets), always shutting down.
    public func withTestApp<T: Sendable>(
        _ body: @Sendable (any TestClientProtocol, HygieServices) async throws -> T
    ) async throws -> T {
        let services = try await webServices()
        let app = Application(router: try buildRouter(services: services))
        return try await app.test(.router) { client in try await body(client, services) }
    }
}
