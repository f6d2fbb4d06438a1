import FluentKit
public import Foundation
public import HygieCore
public import HygieStorage
import RecordInput
import SQLKit
import STIX
import VulnCore

/// Settings of the vulnerability module. Keys: `hygie.vuln.maxUploadBytes` (largest file accepted by
/// the pages and the API, default 64 MiB), `hygie.vuln.refresh` (download KEV, EPSS and NVD's changes every
/// night when the instance has network access, default false), `hygie.vuln.kevURL`, `hygie.vuln.epssURL`,
/// `hygie.vuln.nvdURL` (empty: no NVD download), `hygie.vuln.nvdAPIKey` (secret).
public struct VulnConfiguration: Sendable, Hashable {
    public var maxUploadBytes: Int
    public var refresh: Bool
    public var kevURL: String
    public var epssURL: String
    /// NVD CVE API 2.0 endpoint; nil: NVD is imported from files only.
    public var nvdURL: String?
    public var nvdAPIKey: String?

    public init(
        maxUploadBytes: Int = 64 * 1_048_576, refresh: Bool = false,
        kevURL: String = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
        epssURL: String = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
        nvdURL: String? = "https://services.nvd.nist.gov/rest/json/cves/2.0", nvdAPIKey: String? = nil
    ) {
        self.maxUploadBytes = maxUploadBytes
        self.refresh = refresh
        self.kevURL = kevURL
        self.epssURL = epssURL
        self.nvdURL = nvdURL
        self.nvdAPIKey = nvdAPIKey
    }
}

/// Inventory, vulnerability catalogue, matching and findings. Catalogue data (public) is shared by the
/// instance; assets and findings belong to one establishment and are reached through a ``TenantScope``.
public struct VulnService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock
    public let configuration: VulnConfiguration
    let cache: IndexCache

    static let readers: Set<Role> = [.admin, .rssi, .analyst, .auditor]
    static let writers: Set<Role> = [.admin, .rssi, .analyst]
    /// Auditors record expert findings too.
    static let experts: Set<Role> = [.admin, .rssi, .analyst, .auditor]
    /// Accepting a risk is a management decision.
    static let approvers: Set<Role> = [.admin, .rssi]

    public init(
        database: DatabaseService, audit: AuditTrail, clock: any HygieClock,
        configuration: VulnConfiguration = VulnConfiguration()
    ) {
        self.database = database
        self.audit = audit
        self.clock = clock
        self.configuration = configuration
        cache = IndexCache()
    }

    var sql: any SQLDatabase { database.sql }

    func now() -> Int64 { clock.now().milliseconds }

    func today() -> String { Self.day(clock.now()) }

    public static func day(_ date: Date) -> String { date.utcDay }

    /// Runs `body` in a transaction with an audit entry.
    func changing<T: Sendable>(
        _ entry: AuditEntry, by actor: Actor, _ body: @Sendable @escaping (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await audit.recording(entry, by: actor, in: database, body)
    }

    // MARK: Vulnerability data

    /// Imports vulnerability data from files or directories (walked, `.json`, `.jsonl`, `.csv` and their
    /// `.gz`). All or nothing: a file that does not parse leaves the catalogue as it was.
    public func importData(_ kind: VulnDataKind, paths: [String], by actor: Actor) async throws -> ImportReport {
        try Self.requireCatalogueAdministrator(actor)
        let files = try expandPaths(paths, missing: "file or directory") { path in
            let name = path.lowercased()
            return [".json", ".jsonl", ".csv", ".json.gz", ".jsonl.gz", ".csv.gz", ".gz"].contains {
                name.hasSuffix($0)
            }
        }
        guard !files.isEmpty else {
            throw VulnError.invalid("no .json, .jsonl or .csv file in \(paths.joined(separator: ", "))")
        }
        return try await importData(kind, origin: paths.joined(separator: ", "), by: actor) { consume in
            for file in files {
                do {
                    if kind.isWholeFile {
                        let source = try ByteSource(path: file)
                        var bytes: [UInt8] = []
                        while try source.read(into: &bytes, count: 1 << 18) > 0 {}
                        try await consume(bytes, file)
                        continue
                    }
                    // JSON lines, one document, or an array of documents.
                    let reader = try RecordReader(path: file, input: 0, format: nil)
                    while let block = try reader.next() {
                        for index in 0..<block.count {
                            let start = Int(block.bounds[2 * index])
                            let end = Int(block.bounds[2 * index + 1])
                            try await consume(Array(block.data[start..<end]), file)
                        }
                    }
                } catch let error as VulnError {
                    throw error
                } catch let error as InputError {
                    throw VulnError.unreadable("\(file): \(error.message)")
                }
            }
        }
    }

    /// Imports one uploaded document (pages and API).
    public func importData(_ kind: VulnDataKind, bytes: [UInt8], origin: String, by actor: Actor) async throws
        -> ImportReport
    {
        try Self.requireCatalogueAdministrator(actor)
        guard bytes.count <= configuration.maxUploadBytes else {
            throw VulnError.tooLarge(limit: configuration.maxUploadBytes)
        }
        let data = try Self.gunzipIfNeeded(bytes)
        return try await importData(kind, origin: origin, by: actor) { consume in
            if !kind.isWholeFile, Self.isJSONLines(data) {
                for line in data.split(separator: 0x0A) where line.contains(where: { $0 > 0x20 }) {
                    try await consume(Array(line), origin)
                }
            } else {
                try await consume(data, origin)
            }
        }
    }

    /// The catalogue is shared by every establishment: only the instance administrator changes it.
    static func requireCatalogueAdministrator(_ actor: Actor) throws {
        guard actor.isInstanceAdmin || actor.role == .admin else {
            throw HygieCoreError.forbidden(
                "only the instance administrator imports vulnerability data (shared by every establishment)")
        }
    }

    static func isJSONLines(_ data: [UInt8]) -> Bool {
        guard let newline = data.firstIndex(of: 0x0A) else { return false }
        let rest = data[(newline + 1)...]
        return data.first == UInt8(ascii: "{") && rest.first(where: { $0 > 0x20 }) == UInt8(ascii: "{")
            && data[..<newline].last(where: { $0 > 0x20 }) == UInt8(ascii: "}")
    }

    static func gunzipIfNeeded(_ bytes: [UInt8]) throws -> [UInt8] {
        guard bytes.count > 2, bytes[0] == 0x1F, bytes[1] == 0x8B else { return bytes }
        let path = NSTemporaryDirectory() + "/hygie-upload-\(UUID().uuidString).gz"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw VulnError.invalid("cannot write a temporary file")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let source = try ByteSource(path: path)
            var out: [UInt8] = []
            while try source.read(into: &out, count: 1 << 18) > 0 {}
            return out
        } catch {
            throw VulnError.unreadable("the gzip file is corrupt")
        }
    }

    typealias Consumer = @Sendable ([UInt8], String) async throws -> Void

    func importData(
        _ kind: VulnDataKind, origin: String, by actor: Actor,
        _ feed: @Sendable @escaping (Consumer) async throws -> Void
    ) async throws -> ImportReport {
        let started = now()
        let writer = CatalogWriter(kind: kind, now: started)
        let report = try await changing(
            AuditEntry(
                action: "vuln.data.import", objectType: "vuln_import", objectID: kind.rawValue,
                summary: "imported \(kind.rawValue) vulnerability data from \(origin)"), by: actor
        ) { db in
            try await feed { bytes, file in try await writer.add(document: bytes, file: file, on: db) }
            try await writer.finish(on: db)
            var report = await writer.report
            try await db.insert(into: "vuln_imports")
                .columns(
                    "id", "kind", "origin", "records", "skipped", "warnings", "detail", "actor", "started_at",
                    "finished_at"
                )
                .values(
                    UUID(), kind.rawValue, String(origin.prefix(500)), report.records, report.skipped,
                    report.warnings.prefix(200).joined(separator: "\n"), report.detail, actor.displayName, started,
                    self.now()
                ).run()
            try await Self.bumpDataVersion(on: db, now: self.now())
            report.warnings = Array(report.warnings.prefix(50))
            return report
        }
        return report
    }

    static func bumpDataVersion(on db: any SQLDatabase, now: Int64) async throws {
        try await db.insert(into: "vuln_state").columns("key", "value").values(
            "data_version", "\(now)-\(UUID().uuidString)"
        )
        .onConflict(with: ["key"]) { $0.set(excludedValueOf: "value") }.run()
    }

    /// The imports done so far, newest first.
    public func imports(limit: Int = 20) async throws -> [(
        kind: String, origin: String, records: Int, at: Date, actor: String
    )] {
        try await sql.raw(
            "SELECT kind, origin, records, finished_at, actor FROM vuln_imports ORDER BY finished_at DESC LIMIT \(bind: limit)"
        ).all().map { row in
            (
                try row.decode(column: "kind", as: String.self), try row.decode(column: "origin", as: String.self),
                try row.decode(column: "records", as: Int.self),
                Date(milliseconds: try row.decode(column: "finished_at", as: Int64.self)),
                try row.decode(column: "actor", as: String.self)
            )
        }
    }

    /// Counts of the catalogue.
    public func catalogCounts() async throws -> (records: Int, kev: Int, epss: Int) {
        let row = try await sql.raw(
            "SELECT (SELECT COUNT(*) FROM vuln_records) AS r, (SELECT COUNT(*) FROM vuln_records WHERE kev) AS k, (SELECT COUNT(*) FROM vuln_epss) AS e"
        ).first()
        return (
            try row?.decode(column: "r", as: Int.self) ?? 0, try row?.decode(column: "k", as: Int.self) ?? 0,
            try row?.decode(column: "e", as: Int.self) ?? 0
        )
    }
}
