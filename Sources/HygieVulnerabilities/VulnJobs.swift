import AsyncHTTPClient
import Foundation
public import HygieCore
public import HygieJobs
import NIOCore
import NIOHTTP1
import SQLKit

/// Every night: when `hygie.vuln.refresh` is on, downloads CISA's KEV catalog, FIRST's EPSS scores and the CVE
/// records NVD changed since the last run; then matches every establishment's inventory again (new data,
/// expired risk acceptances, changed priorities).
public struct VulnMaintenanceJob: JobHandler {
    public static let kind = "vuln.maintenance"
    let service: VulnService
    public var kind: String { Self.kind }

    public init(service: VulnService) { self.service = service }

    public func run(_ job: Job) async throws {
        if service.configuration.refresh { _ = try await service.refresh(by: Actor.system("hygie refresh")) }
        for row in try await service.sql.raw("SELECT id FROM core_establishments ORDER BY id").all() {
            _ = try await service.match(establishment: try row.decode(column: "id", as: UUID.self))
        }
    }
}

extension VulnService {
    /// Downloads KEV, EPSS and NVD's changes (API 2.0, `lastModStartDate`/`lastModEndDate` windows of at most
    /// 120 days since the last refresh, or the last 7 days the first time; pages of 2,000; 6 s between requests
    /// without an API key, as NVD asks). Each download is imported all or nothing.
    public func refresh(by actor: Actor) async throws -> [ImportReport] {
        try Self.requireCatalogueAdministrator(actor)
        var reports: [ImportReport] = []
        for (kind, url) in [(VulnDataKind.kev, configuration.kevURL), (.epss, configuration.epssURL)] {
            reports.append(
                try await importData(kind, bytes: try await Self.download(url, headers: [:]), origin: url, by: actor))
        }
        guard let base = configuration.nvdURL else { return reports }
        let end = clock.now()
        let stored = try await sql.raw("SELECT value FROM vuln_state WHERE key = \(bind: "nvd_last_modified")").first()
            .flatMap { try? $0.decode(column: "value", as: String.self) }.flatMap(Double.init)
        var start = stored.map(Date.init(timeIntervalSince1970:)) ?? end.addingTimeInterval(-7 * 86_400)
        var nvd = ImportReport(kind: VulnDataKind.nvd.rawValue)
        let headers = configuration.nvdAPIKey.map { ["apiKey": $0] } ?? [:]
        let pause: UInt64 = configuration.nvdAPIKey == nil ? 6_000_000_000 : 600_000_000
        var requests = 0
        while start < end {
            let windowEnd = min(end, start.addingTimeInterval(120 * 86_400))
            var index = 0
            while true {
                if requests > 0 { try await Task.sleep(nanoseconds: pause) }
                requests += 1
                let url =
                    "\(base)?lastModStartDate=\(Self.nvdDate(start))&lastModEndDate=\(Self.nvdDate(windowEnd))"
                    + "&startIndex=\(index)&resultsPerPage=2000"
                let bytes = try await Self.download(url, headers: headers)
                let report = try await importData(.nvd, bytes: bytes, origin: base, by: actor)
                nvd.records += report.records
                let total = Self.totalResults(bytes) ?? 0
                index += max(report.records, 1)
                if index >= total || report.records == 0 { break }
            }
            start = windowEnd
        }
        try await sql.insert(into: "vuln_state").columns("key", "value")
            .values("nvd_last_modified", String(end.timeIntervalSince1970))
            .onConflict(with: ["key"]) { $0.set(excludedValueOf: "value") }.run()
        nvd.detail = "\(requests) request(s) to NVD"
        reports.append(nvd)
        return reports
    }

    /// NVD's extended ISO 8601 with milliseconds and an explicit offset, URL-encoded.
    static func nvdDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date).replacingOccurrences(of: "Z", with: "%2B00:00")
    }

    static func totalResults(_ bytes: [UInt8]) -> Int? {
        guard
            let text = String(validating: bytes.prefix(400), as: UTF8.self)
                ?? String(bytes: bytes.prefix(399), encoding: .utf8),
            let range = text.range(of: "\"totalResults\"")
        else { return nil }
        let digits = text[range.upperBound...].drop { !$0.isNumber }.prefix { $0.isNumber }
        return Int(digits)
    }

    /// A feed file, at most the upload limit (gzip is decoded by the import).
    static func download(_ url: String, headers: [String: String]) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "Hygie vulnerability refresh")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        guard response.status == .ok else {
            throw VulnError.unreadable("\(url.prefix(200)) answered \(response.status.code)")
        }
        let body = try await response.body.collect(upTo: 256 * 1_048_576)
        return Array(body.readableBytesView)
    }
}
