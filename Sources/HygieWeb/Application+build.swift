import Foundation
import HTTPTypes
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HygieCompliance
import HygieCore
import HygieIncidents
import HygieIntel
import HygieJobs
import HygieStorage
import HygieVulnerabilities
public import Logging
import NIOCore
import NIOSSL
public import ServiceLifecycle

/// Builds the router with every middleware and controller. Takes only services, so tests pass their own.
public func buildRouter(services: HygieServices) throws -> Router<HygieRequestContext> {
    let router = Router(context: HygieRequestContext.self)
    router.add(middleware: RequestLoggingMiddleware(metrics: services.metrics))
    router.add(middleware: SecurityHeadersMiddleware(tls: services.settings.tlsEnabled))
    router.add(middleware: ErrorMiddleware(renderer: services.renderer))
    router.add(
        middleware: PhishingMiddleware(
            awareness: services.awareness, renderer: services.renderer, maxBodyBytes: services.settings.maxBodyBytes))
    router.add(middleware: SessionMiddleware(identity: services.identity))
    router.add(
        middleware: FormCSRFMiddleware(
            maxBodyBytes: services.settings.maxBodyBytes, maxIngestBytes: services.settings.maxIngestBytes,
            maxTAXIIBytes: services.intel.configuration.maxContentLength,
            maxUploadBytes: max(
                services.vuln.configuration.maxUploadBytes, services.compliance.configuration.maxUploadBytes,
                services.reports.maximumMessageBytes + 65_536)))
    try OperationsController(services: services).addRoutes(to: router)
    AuthWebController(services: services).addRoutes(to: router)
    EstablishmentWebController(services: services).addRoutes(to: router)
    AdminWebController(services: services).addRoutes(to: router)
    CoreAPIController(services: services).addRoutes(to: router)
    DetectionAPIController(services: services).addRoutes(to: router)
    DetectionWebController(services: services).addRoutes(to: router)
    IntelAPIController(services: services).addRoutes(to: router)
    IntelWebController(services: services).addRoutes(to: router)
    TAXIIController(services: services).addRoutes(to: router)
    VulnAPIController(services: services).addRoutes(to: router)
    VulnWebController(services: services).addRoutes(to: router)
    ComplianceAPIController(services: services).addRoutes(to: router)
    ComplianceWebController(services: services).addRoutes(to: router)
    GoPhishAPIController(services: services).addRoutes(to: router)
    AwarenessAPIController(services: services).addRoutes(to: router)
    AwarenessWebController(services: services).addRoutes(to: router)
    ReportsAPIController(services: services).addRoutes(to: router)
    ReportsWebController(services: services).addRoutes(to: router)
    CasesAPIController(services: services).addRoutes(to: router)
    CasesWebController(services: services).addRoutes(to: router)
    PrivacyAPIController(services: services).addRoutes(to: router)
    PrivacyWebController(services: services).addRoutes(to: router)
    FederationAPIController(services: services).addRoutes(to: router)
    FederationWebController(services: services).addRoutes(to: router)
    return router
}

/// The OpenAPI document, for tests that compare it with ``buildRouter(services:)``'s routes.
public func openAPIDocument(services: HygieServices) -> [String: Any] {
    OpenAPIDocument.make(
        CoreAPIController(services: services).operations + DetectionAPIController(services: services).operations
            + IntelAPIController(services: services).operations + VulnAPIController(services: services).operations
            + ComplianceAPIController(services: services).operations
            + AwarenessAPIController(services: services).operations
            + ReportsAPIController(services: services).operations + CasesAPIController(services: services).operations
            + PrivacyAPIController(services: services).operations
            + FederationAPIController(services: services).operations)
}

/// Where and how the HTTP server listens.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int
    /// PEM certificate chain and key; TLS when both are set.
    public var certificatePath: String?
    public var keyPath: String?

    public init(host: String, port: Int, certificatePath: String?, keyPath: String?) {
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}

/// The whole application: HTTP server plus `background` services, started after them and stopped before
/// them (ServiceLifecycle order: database first, HTTP server last).
public func buildApplication(
    services: HygieServices, server: ServerSettings, background: [any Service], logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = try buildRouter(services: services)
    let builder: HTTPServerBuilder
    if let certificate = server.certificatePath, let key = server.keyPath {
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        builder = try .tls(.http1(), tlsConfiguration: tls)
    } else {
        builder = .http1()
    }
    return Application(
        router: router, server: builder,
        configuration: .init(address: .hostname(server.host, port: server.port), serverName: "Hygie"),
        services: background,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? server.port) },
        logger: logger)
}
