import AsyncHTTPClient
import Foundation
import HygieCore
public import HygieJobs
import NIOCore
import NIOHTTP1
import SQLKit

/// Every night: when `hygie.vuln.refresh` is on, downloads CISA's KEV catalog and FIRST's EPSS scores; then
/// matches every establishment's inventory again (new data, expired risk acceptances, changed priorities).
public struct VulnMaintenanceJob: JobHandler {
    public static let kind = "vuln.maintenance"
    let service: VulnService
    public var kind: String { Self.kind }

    public init(service: VulnService) { self.service = service }

    public func run(_ job: Job) async throws {
        if service.configuration.refresh {
            let system = Actor.system("hygie refresh")
            for (kind, url) in [
                (VulnDataKind.kev, service.configuration.kevURL), (.epss, service.configuration.epssURL),
            ] {
                let bytes = try await Self.download(url)
                _ = try await service.importData(kind, bytes: bytes, origin: url, by: system)
            }
        }
        for row in try await service.sql.raw("SELECT id FROM core_establishments ORDER BY id").all() {
            _ = try await service.match(establishment: try row.decode(column: "id", as: UUID.self))
        }
    }

    /// A feed file, at most the upload limit (gzip is decoded by the import).
    static func download(_ url: String) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "Hygie vulnerability refresh")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        guard response.status == .ok else { throw VulnError.unreadable("\(url) answered \(response.status.code)") }
        let body = try await response.body.collect(upTo: 256 * 1_048_576)
        return Array(body.readableBytesView)
    }
}
