import Crypto
import FluentKit
import Foundation
import HygieCore
import HygieStorage
import SQLKit
import Sigma

/// The outcome of importing rules.
public struct RuleImportReport: Sendable, Hashable {
    public var added = 0
    public var updated = 0
    public var unchanged = 0
    /// "file: reason" for each refused document.
    public var refused: [String] = []
}

/// Reading and writing the rule tables (catalog, per-establishment state, exceptions, correlation inputs).
struct RuleCatalog: Sendable {
    let database: DatabaseService
    let clock: any HygieClock

    /// Changes whenever a rule, a rule state or an exception changes, on any node.
    func revision() async throws -> Int64 {
        let rows = try await database.sql.raw("SELECT value FROM det_state WHERE key = 'rules'").all()
        return try rows.first?.decode(column: "value", as: Int64.self) ?? 0
    }

    static func bump(on sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            INSERT INTO det_state (key, value) VALUES ('rules', 1) \
            ON CONFLICT (key) DO UPDATE SET value = det_state.value + 1
            """
        ).run()
    }

    /// The enabled rules of an establishment and its exceptions in force, as compilable sources.
    func sources(for establishment: UUID, now: Int64) async throws -> [RuleSource] {
        let sql = database.sql
        let rows = try await sql.raw(
            """
            SELECT r.content_sha, r.yaml, r.sigma_id FROM det_rules r LEFT JOIN det_rule_settings s \
            ON s.rule_id = r.id AND s.establishment_id = \(bind: establishment) \
            WHERE (r.establishment_id IS NULL OR r.establishment_id = \(bind: establishment)) \
            AND COALESCE(s.enabled, r.default_enabled) = \(bind: true)
            """
        ).all()
        var sources = try rows.map { row in
            RuleSource(
                key: try row.decode(column: "content_sha", as: String.self),
                yaml: try row.decode(column: "yaml", as: String.self),
                file: "rule \(try row.decode(column: "sigma_id", as: String.self))")
        }
        let exceptions = try await sql.raw(
            """
            SELECT e.id, e.detection, e.reason, e.author, e.expires_at, e.created_at, e.rule_id, r.yaml \
            FROM det_exceptions e JOIN det_rules r ON r.id = e.rule_id \
            WHERE e.establishment_id = \(bind: establishment) AND (e.expires_at IS NULL OR e.expires_at > \(bind: now))
            """
        ).all()
        for row in exceptions {
            let exception = try Self.exception(row)
            guard let rule = RuleLoader.parse(try row.decode(column: "yaml", as: String.self), file: "rule").rules.first
            else { continue }
            sources.append(
                RuleSource(
                    key: "exception:\(exception.id):\(Self.sha(exception.detection))",
                    yaml: DetectionEngine.exceptionFilter(exception, rule: rule),
                    file: "exception \(exception.id.uuidString.lowercased())"))
        }
        return sources
    }

    static func exception(_ row: any SQLRow) throws -> RuleException {
        RuleException(
            id: try row.decode(column: "id", as: UUID.self), ruleID: try row.decode(column: "rule_id", as: UUID.self),
            detection: try row.decode(column: "detection", as: String.self),
            reason: try row.decode(column: "reason", as: String.self),
            author: try row.decode(column: "author", as: String.self),
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(Date.init(milliseconds:)),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }

    struct StoredInput {
        var ruleID: String
        var time: Int64
        var fields: [String: String]
    }

    func correlationInputs(establishment: UUID, from: Int64, to: Int64) async throws -> [StoredInput] {
        let rows = try await database.sql.raw(
            """
            SELECT rule_id, time, fields FROM det_correlation_inputs WHERE establishment_id = \(bind: establishment) \
            AND time >= \(bind: from) AND time <= \(bind: to) ORDER BY time
            """
        ).all()
        return try rows.map { row in
            let text = try row.decode(column: "fields", as: String.self)
            // try?: written by JSONWriter, always an object of strings.
            let fields = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]) ?? [:]
            return StoredInput(
                ruleID: try row.decode(column: "rule_id", as: String.self),
                time: try row.decode(column: "time", as: Int64.self), fields: fields)
        }
    }

    // MARK: Import

    /// Splits YAML text into its documents (`---` lines).
    static func documents(_ text: String) -> [String] {
        var documents: [String] = []
        var current: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces) == "---" {
                documents.append(current.joined(separator: "\n"))
                current = []
            } else {
                current.append(line)
            }
        }
        documents.append(current.joined(separator: "\n"))
        return documents.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    static func sha(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Imports rule files into the catalog (`establishment == nil`) or an establishment's own rules. Each YAML
    /// document must be one valid rule; refused documents are reported with their reason and skipped.
    func importRules(
        files: [(path: String, text: String)], establishment: UUID?, origin: String, enable: Bool, on db: any Database
    ) async throws -> RuleImportReport {
        let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
        let scopeKey = establishment?.uuidString.lowercased() ?? "catalog"
        var existing: [String: (id: UUID, sha: String)] = [:]
        for row in try await sql.raw(
            "SELECT id, sigma_id, content_sha FROM det_rules WHERE scope_key = \(bind: scopeKey)"
        ).all() {
            existing[try row.decode(column: "sigma_id", as: String.self)] = (
                try row.decode(column: "id", as: UUID.self), try row.decode(column: "content_sha", as: String.self)
            )
        }
        var report = RuleImportReport()
        let now = clock.milliseconds
        var inserts: [[any SQLExpression]] = []
        var seen = Set<String>()
        for file in files {
            for document in Self.documents(file.text) {
                let parsed = RuleLoader.parse(document, file: file.path)
                if let diagnostic = parsed.diagnostics.first {
                    report.refused.append("\(file.path): \(diagnostic.message)")
                    continue
                }
                guard parsed.rules.count == 1, let rule = parsed.rules.first else { continue }
                let metadata = rule.metadata
                let sigmaID = metadata.id ?? metadata.name ?? "title:\(metadata.title)"
                guard seen.insert(sigmaID).inserted else {
                    report.refused.append("\(file.path): duplicate rule id \(sigmaID)")
                    continue
                }
                let kind: String
                switch rule.body {
                case .detection: kind = "rule"
                case .correlation: kind = "correlation"
                case .filter: kind = "filter"
                }
                let sha = Self.sha(document)
                let level = Severity(metadata.level).rawValue
                let tags = JSONWriter.array(metadata.tags)
                if let current = existing[sigmaID] {
                    if current.sha == sha {
                        report.unchanged += 1
                        continue
                    }
                    try await sql.raw(
                        """
                        UPDATE det_rules SET title = \(bind: metadata.title), level = \(bind: level), \
                        status = \(bind: metadata.status), author = \(bind: metadata.author), tags = \(bind: tags), \
                        description = \(bind: metadata.description), kind = \(bind: kind), yaml = \(bind: document), \
                        origin = \(bind: origin), content_sha = \(bind: sha), updated_at = \(bind: now) \
                        WHERE id = \(bind: current.id)
                        """
                    ).run()
                    report.updated += 1
                } else {
                    inserts.append([
                        SQLBind(UUID()), SQLBind(establishment), SQLBind(scopeKey), SQLBind(sigmaID),
                        SQLBind(metadata.title), SQLBind(level), SQLBind(metadata.status), SQLBind(metadata.author),
                        SQLBind(tags), SQLBind(metadata.description), SQLBind(kind), SQLBind(document),
                        SQLBind(origin), SQLBind(enable), SQLBind(sha), SQLBind(now), SQLBind(now),
                    ])
                    report.added += 1
                }
            }
        }
        for chunk in inserts.chunked(100) {
            try await sql.raw(
                """
                INSERT INTO det_rules (id, establishment_id, scope_key, sigma_id, title, level, status, author, tags, \
                description, kind, yaml, origin, default_enabled, content_sha, created_at, updated_at) VALUES \
                \(SQLList(chunk.map { SQLGroupExpression($0) }))
                """
            ).run()
        }
        if report.added + report.updated > 0 { try await Self.bump(on: sql) }
        return report
    }

    /// Hygie's own hospital rules, enabled by default; refreshed at every start.
    func syncBuiltIn() async throws -> RuleImportReport {
        guard let directory = RuleLoader.builtInRulesDirectory else { return RuleImportReport() }
        let files = try RuleLoader.ruleFiles([directory]).map { path in
            (
                path: "builtin/" + (path as NSString).lastPathComponent,
                text: try String(contentsOfFile: path, encoding: .utf8)
            )
        }
        return try await database.transaction { db in
            try await importRules(files: files, establishment: nil, origin: "builtin", enable: true, on: db)
        }
    }
}

extension JSONWriter {
    static func array(_ values: [String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(value, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }
}
