import Foundation
import SQLKit
import VulnCore

/// Parses vulnerability documents and writes them to the catalogue in batches, merging what each
/// source says about a CVE (one row per CVE, one `vuln_affected` row per source).
actor CatalogWriter {
    let kind: VulnDataKind
    let now: Int64
    private(set) var report: ImportReport
    var pending: [VulnerabilityRecord] = []
    var kevEntries: [KEVEntry] = []
    var epssRows: [(String, Double, Double, String?)] = []
    static let batchSize = 500

    init(kind: VulnDataKind, now: Int64) {
        self.kind = kind
        self.now = now
        report = ImportReport(kind: kind.rawValue)
    }

    func add(document bytes: [UInt8], file: String, on db: any SQLDatabase) async throws {
        do {
            switch kind {
            case .nvd:
                for record in try NVDFeed.parse(bytes) { try await add(record, on: db) }
            case .cve5:
                if let record = try CVERecordFormat.parse(bytes) {
                    for product in record.affected where !product.invalidCPEs.isEmpty {
                        report.warnings.append("\(record.id): invalid CPE \(product.invalidCPEs[0].prefix(120))")
                    }
                    try await add(record, on: db)
                } else {
                    report.skipped += 1  // REJECTED
                }
            case .osv:
                for record in try OSVFormat.parse(bytes) { try await add(record, on: db) }
            case .csaf:
                let result = try CSAFFormat.parse(bytes)
                report.warnings += result.unparsed.map { "unparsed version: \($0)" }
                for record in result.records { try await add(record, on: db) }
            case .kev:
                let catalog = try KEVCatalog.parse(bytes)
                kevEntries += catalog.entries
                report.detail = catalog.version.map { "catalog \($0)" }
                for entry in catalog.entries where entry.dueBeforeAdded {
                    report.warnings.append(
                        "\(entry.cve): due date \(entry.dueDate) precedes its addition \(entry.dateAdded) (CISA data)")
                }
            case .epss:
                let scores = try EPSSScores.parse(bytes)
                report.detail = [scores.model.map { "model \($0)" }, scores.date.map { "scores of \($0)" }]
                    .compactMap { $0 }.joined(separator: ", ")
                for score in scores.scores { epssRows.append((score.cve, score.epss, score.percentile, scores.date)) }
                if epssRows.count >= 5_000 { try await flushEPSS(on: db) }
            }
        } catch let error as VulnDataError {
            throw VulnError.unreadable("\((file as NSString).lastPathComponent): \(error.message)")
        }
    }

    func add(_ record: VulnerabilityRecord, on db: any SQLDatabase) async throws {
        pending.append(record)
        if pending.count >= Self.batchSize { try await flush(on: db) }
    }

    func finish(on db: any SQLDatabase) async throws {
        try await flush(on: db)
        try await flushEPSS(on: db)
        if kind == .kev { try await writeKEV(on: db) }
    }

    /// Stored row of a record: what is already there, merged with what this source says.
    struct Row {
        var id: String
        var title = ""
        var summary = ""
        var published: String?
        var modified: String?
        var status: String?
        var sources: Set<String> = []
        var advisory: String?
        var cvssVersion: String?
        var cvssVector: String?
        var cvssScore: Double?
        var cwes: [String] = []
        var exploitation: String?
        var automatable: String?
        var technical: String?
        var kev = false
        var kevAdded: String?
        var kevDue: String?
        var ransomware = false
        var kevAction: String?
        var references: [String] = []
    }

    static let columns = [
        "id", "title", "summary", "published", "modified", "status", "sources", "advisory", "cvss_version",
        "cvss_vector",
        "cvss_score", "cwes", "ssvc_exploitation", "ssvc_automatable", "ssvc_technical", "kev", "kev_added", "kev_due",
        "kev_ransomware", "kev_action", "references", "updated_at",
    ]

    func existing(_ ids: [String], on db: any SQLDatabase) async throws -> [String: Row] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await db.select().column("*").from("vuln_records")
            .where(SQLIdentifier("id"), .in, SQLBind.group(ids)).all()
        var result: [String: Row] = [:]
        for row in rows {
            var item = Row(id: try row.decode(column: "id", as: String.self))
            item.title = try row.decode(column: "title", as: String.self)
            item.summary = try row.decode(column: "summary", as: String.self)
            item.published = try row.decode(column: "published", as: String?.self)
            item.modified = try row.decode(column: "modified", as: String?.self)
            item.status = try row.decode(column: "status", as: String?.self)
            item.sources = Set(
                try row.decode(column: "sources", as: String.self).split(separator: " ").map(String.init))
            item.advisory = try row.decode(column: "advisory", as: String?.self)
            item.cvssVersion = try row.decode(column: "cvss_version", as: String?.self)
            item.cvssVector = try row.decode(column: "cvss_vector", as: String?.self)
            item.cvssScore = try row.decode(column: "cvss_score", as: Double?.self)
            item.cwes = try row.decode(column: "cwes", as: String.self).split(separator: " ").map(String.init)
            item.exploitation = try row.decode(column: "ssvc_exploitation", as: String?.self)
            item.automatable = try row.decode(column: "ssvc_automatable", as: String?.self)
            item.technical = try row.decode(column: "ssvc_technical", as: String?.self)
            item.kev = try row.decode(column: "kev", as: Bool.self)
            item.kevAdded = try row.decode(column: "kev_added", as: String?.self)
            item.kevDue = try row.decode(column: "kev_due", as: String?.self)
            item.ransomware = try row.decode(column: "kev_ransomware", as: Bool.self)
            item.kevAction = try row.decode(column: "kev_action", as: String?.self)
            item.references = try row.decode(column: "references", as: String.self).split(separator: "\n").map(
                String.init)
            result[item.id] = item
        }
        return result
    }

    static let versionRank = ["2.0": 0, "3.0": 1, "3.1": 2, "4.0": 3]

    func merge(_ record: VulnerabilityRecord, into row: inout Row) {
        // The CVE program (NVD, CVE records) names and describes; advisories fill what is missing.
        let authoritative = record.source == .nvd || record.source == .cve5
        if !record.title.isEmpty, row.title.isEmpty || authoritative { row.title = record.title }
        if !record.summary.isEmpty, row.summary.isEmpty || authoritative {
            row.summary = String(record.summary.prefix(4000))
        }
        row.published = row.published ?? record.published
        if let modified = record.modified, (row.modified ?? "") < modified { row.modified = modified }
        if authoritative, let status = record.status { row.status = status }
        row.sources.insert(record.source.rawValue)
        if let advisory = record.advisory { row.advisory = advisory }
        if let cvss = record.preferredCVSS {
            let current = row.cvssVersion.flatMap { Self.versionRank[$0] } ?? -1
            let offered = Self.versionRank[cvss.version] ?? -1
            if offered > current || (offered == current && authoritative) {
                row.cvssVersion = cvss.version
                row.cvssVector = cvss.vector
                row.cvssScore = (try? CVSS.score(cvss.vector)) ?? cvss.baseScore
            }
        }
        for cwe in record.cwes where !row.cwes.contains(cwe) { row.cwes.append(cwe) }
        if let ssvc = record.ssvc {
            row.exploitation = ssvc.exploitation
            row.automatable = ssvc.automatable
            row.technical = ssvc.technicalImpact
        }
        if let added = record.kevDateAdded {
            row.kev = true
            row.kevAdded = row.kevAdded ?? added
        }
        if row.references.isEmpty { row.references = Array(record.references.prefix(20)) }
    }

    func flush(on db: any SQLDatabase) async throws {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        var merged = try await existing(Array(Set(batch.map(\.id))), on: db)
        var affected: [String: Data] = [:]  // "id|source" → JSON
        let encoder = JSONEncoder()
        for record in batch {
            var row = merged[record.id] ?? Row(id: record.id)
            merge(record, into: &row)
            merged[record.id] = row
            if !record.configurations.isEmpty || !record.affected.isEmpty {
                let source = record.advisory.map { "csaf:\($0)" } ?? record.source.rawValue
                affected["\(record.id)|\(source)"] = try encoder.encode(
                    StoredMatchData(configurations: record.configurations, affected: record.affected))
            }
        }
        try await upsert(Array(merged.values), on: db)
        if !affected.isEmpty {
            var rows = db.insert(into: "vuln_affected").columns("record_id", "source", "data")
            for (key, data) in affected.sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
                rows = rows.values(parts[0], parts[1], String(decoding: data, as: UTF8.self))
            }
            try await rows.onConflict(with: ["record_id", "source"]) { $0.set(excludedValueOf: "data") }.run()
        }
        report.records += batch.count
    }

    func upsert(_ rows: [Row], on db: any SQLDatabase) async throws {
        var insert = db.insert(into: "vuln_records").columns(Self.columns)
        for row in rows.sorted(by: { $0.id < $1.id }) {
            insert = insert.values(
                row.id, row.title, row.summary, row.published, row.modified, row.status,
                row.sources.sorted().joined(separator: " "), row.advisory, row.cvssVersion, row.cvssVector,
                row.cvssScore, row.cwes.joined(separator: " "), row.exploitation, row.automatable, row.technical,
                row.kev, row.kevAdded, row.kevDue, row.ransomware, row.kevAction,
                row.references.joined(separator: "\n"), now)
        }
        try await insert.onConflict(with: ["id"]) { conflict in
            var conflict = conflict
            for column in Self.columns.dropFirst() { conflict = conflict.set(excludedValueOf: column) }
            return conflict
        }.run()
    }

    /// KEV is authoritative for the flag: CVEs it no longer lists lose it; unknown CVEs get a row.
    func writeKEV(on db: any SQLDatabase) async throws {
        try await db.raw("UPDATE vuln_records SET kev = \(bind: false), kev_due = NULL WHERE kev").run()
        for start in stride(from: 0, to: kevEntries.count, by: Self.batchSize) {
            let slice = Array(kevEntries[start..<min(start + Self.batchSize, kevEntries.count)])
            var merged = try await existing(slice.map(\.cve), on: db)
            for entry in slice {
                var row = merged[entry.cve] ?? Row(id: entry.cve)
                if row.title.isEmpty { row.title = entry.name }
                if row.summary.isEmpty { row.summary = entry.summary }
                row.sources.insert("kev")
                row.kev = true
                row.kevAdded = entry.dateAdded
                row.kevDue = entry.dueDate.isEmpty ? nil : entry.dueDate
                row.ransomware = entry.ransomware
                row.kevAction = entry.requiredAction
                // CISA's KEV entries are exploited by definition.
                row.exploitation = "active"
                for cwe in entry.cwes where !row.cwes.contains(cwe) { row.cwes.append(cwe) }
                merged[entry.cve] = row
            }
            try await upsert(Array(merged.values), on: db)
        }
        report.records = kevEntries.count
    }

    func flushEPSS(on db: any SQLDatabase) async throws {
        for start in stride(from: 0, to: epssRows.count, by: 1_000) {
            var insert = db.insert(into: "vuln_epss").columns("cve", "epss", "percentile", "score_date")
            for row in epssRows[start..<min(start + 1_000, epssRows.count)] {
                insert = insert.values(row.0, row.1, row.2, row.3)
            }
            try await insert.onConflict(with: ["cve"]) {
                $0.set(excludedValueOf: "epss").set(excludedValueOf: "percentile").set(excludedValueOf: "score_date")
            }.run()
        }
        report.records += epssRows.count
        epssRows = []
    }
}

/// What one source says a record affects, as stored in `vuln_affected.data`.
struct StoredMatchData: Codable {
    var configurations: [Configuration]
    var affected: [AffectedProduct]
}
