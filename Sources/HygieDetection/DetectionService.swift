import Crypto
import FluentKit
public import Foundation
public import HygieCore
public import HygieStorage
import SQLKit
import Sigma

/// Log sources, rules, exceptions, alerts, stored events and settings of an establishment, for the web pages, the
/// REST API and the CLI. Every call takes a ``TenantScope`` and touches only its establishment's rows.
public struct DetectionService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock
    let configuration: DetectionConfiguration
    var catalog: RuleCatalog { RuleCatalog(database: database, clock: clock) }

    static let readers: Set<Role> = [.admin, .rssi, .analyst, .auditor]
    static let handlers: Set<Role> = [.admin, .rssi, .analyst]
    static let managers: Set<Role> = [.admin, .rssi]

    public init(
        database: DatabaseService, audit: AuditTrail, clock: any HygieClock,
        configuration: DetectionConfiguration = DetectionConfiguration()
    ) {
        self.database = database
        self.audit = audit
        self.clock = clock
        self.configuration = configuration
    }

    var sql: any SQLDatabase { database.sql }

    // MARK: Sources

    /// Creates a log source. For an HTTP source the ingest token is returned once (only its hash is kept).
    public func createSource(
        name: String, kind: LogSource.Kind, sender: String?, expectedIntervalSeconds: Int?, in scope: TenantScope
    ) async throws -> (LogSource, token: String?) {
        try scope.require(Self.managers)
        let name = try Validate.text(name, field: "name", max: 120)
        var token: String?
        var sender = sender?.trimmingCharacters(in: .whitespaces)
        if sender?.isEmpty == true { sender = nil }
        switch kind {
        case .http: token = "hyi_" + SecureRandom.token(bytes: 24)
        case .syslog:
            guard let value = sender, SenderPattern(value) != nil else {
                throw ValidationError(
                    field: "sender", message: "a syslog source needs an address, a CIDR network or a certificate name",
                    key: "sender")
            }
        }
        if let interval = expectedIntervalSeconds, interval < 60 || interval > 30 * 86_400 {
            throw ValidationError(
                field: "expected_interval", message: "between 60 seconds and 30 days", key: "interval")
        }
        let id = UUID()
        let now = clock.milliseconds
        let (newToken, senderPattern) = (token, sender)
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            let clash = try await sql.raw(
                """
                SELECT id FROM det_sources WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
                AND name = \(bind: name)
                """
            ).all()
            guard clash.isEmpty else { throw HygieCoreError.conflict("a source named \(name) exists") }
            try await sql.raw(
                """
                INSERT INTO det_sources (id, establishment_id, name, kind, token_hash, token_prefix, sender, \
                expected_interval_seconds, events_total, created_at) VALUES (\(bind: id), \
                \(bind: scope.establishmentID.uuid), \(bind: name), \(bind: kind.rawValue), \
                \(bind: newToken.map(Self.hashToken)), \(bind: newToken.map { String($0.prefix(10)) }), \(bind: senderPattern), \
                \(bind: expectedIntervalSeconds.map(Int64.init)), 0, \(bind: now))
                """
            ).run()
            try await audit.record(
                AuditEntry(
                    action: "detection.source.create", objectType: "log_source", objectID: id.uuidString,
                    summary: "Created \(kind.rawValue) log source \(name)"),
                by: scope.actor, on: db)
        }
        return (try await source(id, in: scope), token)
    }

    static func hashToken(_ token: String) -> String {
        token.sha256Hex
    }

    public func sources(in scope: TenantScope) async throws -> [LogSource] {
        try scope.require(Self.readers)
        return try await sql.raw(
            "SELECT * FROM det_sources WHERE establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY name"
        ).all().map(Self.source)
    }

    public func source(_ id: UUID, in scope: TenantScope) async throws -> LogSource {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                """
                SELECT * FROM det_sources WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).all().first
        else { throw HygieCoreError.notFound("log source") }
        return try Self.source(row)
    }

    public func deleteSource(_ id: UUID, in scope: TenantScope) async throws {
        try scope.require(Self.managers)
        let existing = try await source(id, in: scope)
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            try await sql.raw(
                """
                DELETE FROM det_sources WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).run()
            try await audit.record(
                AuditEntry(
                    action: "detection.source.delete", objectType: "log_source", objectID: id.uuidString,
                    summary: "Deleted log source \(existing.name)"),
                by: scope.actor, on: db)
        }
    }

    static func source(_ row: any SQLRow) throws -> LogSource {
        LogSource(
            id: try row.decode(column: "id", as: UUID.self),
            establishmentID: .init(try row.decode(column: "establishment_id", as: UUID.self)),
            name: try row.decode(column: "name", as: String.self),
            kind: LogSource.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .http,
            sender: try row.decode(column: "sender", as: String?.self),
            tokenPrefix: try row.decode(column: "token_prefix", as: String?.self),
            expectedIntervalSeconds: try row.decode(column: "expected_interval_seconds", as: Int64?.self).map(Int.init),
            lastSeenAt: try row.decode(column: "last_seen_at", as: Int64?.self).map(Date.init(milliseconds:)),
            eventsTotal: try row.decode(column: "events_total", as: Int64.self),
            eventsPerMinute: try row.decode(column: "events_per_minute", as: Double?.self),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }

    /// Every source of every establishment (receivers' directory and the health job).
    func allSources() async throws -> [(source: LogSource, tokenHash: String?)] {
        try await sql.raw("SELECT * FROM det_sources").all().map {
            (try Self.source($0), try $0.decode(column: "token_hash", as: String?.self))
        }
    }

    // MARK: Rules

    /// Rules visible to the establishment (catalog and its own) with their state, hit count and last match.
    public func rules(in scope: TenantScope, search: String? = nil) async throws -> [DetectionRule] {
        try scope.require(Self.readers)
        let establishment = scope.establishmentID.uuid
        let rows = try await sql.raw(
            """
            SELECT r.*, COALESCE(s.enabled, r.default_enabled) AS is_enabled FROM det_rules r \
            LEFT JOIN det_rule_settings s ON s.rule_id = r.id AND s.establishment_id = \(bind: establishment) \
            WHERE r.establishment_id IS NULL OR r.establishment_id = \(bind: establishment) ORDER BY r.title
            """
        ).all()
        var stats: [String: (Int64, Int64)] = [:]
        for row in try await sql.raw(
            """
            SELECT rule_id, SUM(event_count) AS hits, MAX(last_seen) AS last FROM det_alerts \
            WHERE establishment_id = \(bind: establishment) GROUP BY rule_id
            """
        ).all() {
            stats[try row.decode(column: "rule_id", as: String.self)] = (
                try row.decode(column: "hits", as: Int64?.self) ?? 0,
                try row.decode(column: "last", as: Int64?.self) ?? 0
            )
        }
        var rules = try rows.map { row in
            var rule = try Self.rule(row)
            if let (hits, last) = stats[rule.sigmaID] {
                rule.hits = hits
                rule.lastMatch = last > 0 ? Date(milliseconds: last) : nil
            }
            return rule
        }
        if let search = search?.lowercased(), !search.isEmpty {
            rules = rules.filter {
                $0.title.lowercased().contains(search) || $0.sigmaID.lowercased().contains(search)
                    || $0.tags.contains { $0.lowercased().contains(search) }
            }
        }
        return rules
    }

    public func rule(_ id: UUID, in scope: TenantScope) async throws -> DetectionRule {
        try scope.require(Self.readers)
        let establishment = scope.establishmentID.uuid
        guard
            let row = try await sql.raw(
                """
                SELECT r.*, COALESCE(s.enabled, r.default_enabled) AS is_enabled FROM det_rules r \
                LEFT JOIN det_rule_settings s ON s.rule_id = r.id AND s.establishment_id = \(bind: establishment) \
                WHERE r.id = \(bind: id) AND (r.establishment_id IS NULL OR r.establishment_id = \(bind: establishment))
                """
            ).all().first
        else { throw HygieCoreError.notFound("rule") }
        return try Self.rule(row)
    }

    static func rule(_ row: any SQLRow) throws -> DetectionRule {
        let tags = try row.decode(column: "tags", as: String.self)
        return DetectionRule(
            id: try row.decode(column: "id", as: UUID.self),
            sigmaID: try row.decode(column: "sigma_id", as: String.self),
            title: try row.decode(column: "title", as: String.self),
            level: Severity(rawValue: try row.decode(column: "level", as: String.self)) ?? .medium,
            status: try row.decode(column: "status", as: String?.self),
            author: try row.decode(column: "author", as: String?.self),
            // try?: written by JSONWriter, always an array of strings.
            tags: (try? JSONSerialization.jsonObject(with: Data(tags.utf8)) as? [String]) ?? [],
            description: try row.decode(column: "description", as: String?.self),
            kind: try row.decode(column: "kind", as: String.self),
            origin: try row.decode(column: "origin", as: String.self),
            yaml: try row.decode(column: "yaml", as: String.self),
            isOwn: try row.decode(column: "establishment_id", as: UUID?.self) != nil,
            enabled: try row.decode(column: "is_enabled", as: Bool.self))
    }

    /// Imports rule files: into the shared catalog when `shared` (instance administrator only), otherwise as the
    /// establishment's own rules. `enable` turns the new rules on.
    public func importRules(
        files: [(path: String, text: String)], shared: Bool, origin: String, enable: Bool, in scope: TenantScope
    ) async throws -> RuleImportReport {
        try scope.require(Self.handlers)
        if shared, !scope.actor.isInstanceAdmin {
            throw HygieCoreError.forbidden("only the instance administrator imports into the shared catalog")
        }
        let establishment: UUID? = shared ? nil : scope.establishmentID.uuid
        let catalog = self.catalog
        return try await database.transaction { db in
            let report = try await catalog.importRules(
                files: files, establishment: establishment, origin: origin, enable: enable, on: db)
            try await audit.record(
                AuditEntry(
                    action: "detection.rules.import", objectType: "rule_pack", objectID: origin,
                    summary:
                        "Imported rules from \(origin): \(report.added) added, \(report.updated) updated, \(report.refused.count) refused"
                ),
                by: scope.actor, on: db)
            return report
        }
    }

    /// Reads a folder, a `.zip` archive or a single rule file into (path, text) pairs.
    public static func ruleFiles(at path: String) throws -> [(path: String, text: String)] {
        if path.lowercased().hasSuffix(".zip") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DetectionError.badInput("cannot read \(path)")
            }
            return try ruleFiles(zip: [UInt8](data))
        }
        return try RuleLoader.ruleFiles([path]).map { file in
            (path: file, text: try String(contentsOfFile: file, encoding: .utf8))
        }
    }

    /// The `.yml`/`.yaml` files of a zip archive (deprecated and unsupported folders of a SigmaHQ release kept).
    public static func ruleFiles(zip bytes: [UInt8]) throws -> [(path: String, text: String)] {
        do {
            let archive = try ZipArchive(bytes: bytes) { path in
                let lowered = path.lowercased()
                return lowered.hasSuffix(".yml") || lowered.hasSuffix(".yaml")
            }
            return archive.entries.map { (path: $0.path, text: String(decoding: $0.data, as: UTF8.self)) }
        } catch {
            throw DetectionError.badInput("\(error)")
        }
    }

    /// Installs or refreshes Hygie's own hospital rules in the shared catalog (enabled by default).
    public func syncBuiltInRules() async throws -> RuleImportReport { try await catalog.syncBuiltIn() }

    /// Enables or disables a rule for the establishment.
    public func setRuleEnabled(_ id: UUID, enabled: Bool, in scope: TenantScope) async throws {
        try scope.require(Self.handlers)
        let rule = try await rule(id, in: scope)
        let now = clock.milliseconds
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            try await sql.raw(
                """
                INSERT INTO det_rule_settings (establishment_id, rule_id, enabled, updated_at) VALUES \
                (\(bind: scope.establishmentID.uuid), \(bind: id), \(bind: enabled), \(bind: now)) \
                ON CONFLICT (establishment_id, rule_id) DO UPDATE SET enabled = excluded.enabled, \
                updated_at = excluded.updated_at
                """
            ).run()
            try await RuleCatalog.bump(on: sql)
            try await audit.record(
                AuditEntry(
                    action: enabled ? "detection.rule.enable" : "detection.rule.disable", objectType: "rule",
                    objectID: rule.sigmaID, summary: "\(enabled ? "Enabled" : "Disabled") rule \(rule.title)"),
                by: scope.actor, on: db)
        }
    }

    // MARK: Exceptions

    /// Adds an exception: a Sigma filter detection (selections and a `condition`, typically `not selection`)
    /// applied to one rule in this establishment, with a reason and an optional expiry.
    public func addException(
        ruleID: UUID, detection: String, reason: String, expiresAt: Date?, in scope: TenantScope
    ) async throws -> RuleException {
        try scope.require(Self.handlers)
        let rule = try await rule(ruleID, in: scope)
        let reason = try Validate.text(reason, field: "reason", max: 500)
        guard let parsedRule = RuleLoader.parse(rule.yaml, file: "rule").rules.first else {
            throw HygieCoreError.conflict("the rule no longer parses")
        }
        let exception = RuleException(
            id: UUID(), ruleID: ruleID, detection: detection, reason: reason, author: scope.actor.displayName,
            expiresAt: expiresAt, createdAt: clock.now())
        // The filter must compile on its own rule: a broken exception would silently do nothing.
        let filter = DetectionEngine.exceptionFilter(exception, rule: parsedRule)
        let compiled = RuleLoader.parse(rule.yaml + "\n---\n" + filter, file: "exception")
        let set = RuleSet(
            rules: compiled.rules, diagnostics: compiled.diagnostics, mapping: try LogsourceMapping.builtIn())
        if let diagnostic = set.diagnostics.first {
            throw ValidationError(field: "detection", message: diagnostic.message, key: "sigma")
        }
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            try await sql.raw(
                """
                INSERT INTO det_exceptions (id, establishment_id, rule_id, detection, reason, author, expires_at, \
                created_at) VALUES (\(bind: exception.id), \(bind: scope.establishmentID.uuid), \(bind: ruleID), \
                \(bind: detection), \(bind: reason), \(bind: exception.author), \(bind: expiresAt?.milliseconds), \
                \(bind: exception.createdAt.milliseconds))
                """
            ).run()
            try await RuleCatalog.bump(on: sql)
            try await audit.record(
                AuditEntry(
                    action: "detection.exception.create", objectType: "rule", objectID: rule.sigmaID,
                    summary: "Added an exception to \(rule.title): \(reason)"),
                by: scope.actor, on: db)
        }
        return exception
    }

    public func exceptions(ruleID: UUID, in scope: TenantScope) async throws -> [RuleException] {
        try scope.require(Self.readers)
        return try await sql.raw(
            """
            SELECT * FROM det_exceptions WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            AND rule_id = \(bind: ruleID) ORDER BY created_at
            """
        ).all().map(RuleCatalog.exception)
    }

    public func deleteException(_ id: UUID, in scope: TenantScope) async throws {
        try scope.require(Self.handlers)
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            let deleted = try await sql.raw(
                """
                DELETE FROM det_exceptions WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid) \
                RETURNING id
                """
            ).all()
            guard !deleted.isEmpty else { throw HygieCoreError.notFound("exception") }
            try await RuleCatalog.bump(on: sql)
            try await audit.record(
                AuditEntry(
                    action: "detection.exception.delete", objectType: "exception", objectID: id.uuidString,
                    summary: "Removed a rule exception"),
                by: scope.actor, on: db)
        }
    }

    // MARK: Test a rule

    /// The result of running one rule over stored events.
    public struct RuleTestResult: Sendable {
        public var scanned: Int
        public var matched: Int
        public var samples: [StoredEvent]
        /// True when the scan stopped at its event limit before the start of the period.
        public var truncated: Bool
    }

    /// Runs a rule (stored or given as YAML) over the establishment's stored events of the last `days` days,
    /// newest first, up to `maxEvents`: how noisy would it be?
    public func testRule(yaml: String, days: Int, maxEvents: Int = 200_000, in scope: TenantScope) async throws
        -> RuleTestResult
    {
        try scope.require(Self.handlers)
        let parsed = RuleLoader.parse(yaml, file: "test")
        let set = RuleSet(rules: parsed.rules, diagnostics: parsed.diagnostics, mapping: try LogsourceMapping.builtIn())
        if let diagnostic = set.diagnostics.first {
            throw ValidationError(field: "yaml", message: diagnostic.message, key: "sigma")
        }
        guard !set.rules.isEmpty else { throw ValidationError(field: "yaml", message: "no rule", key: "sigma") }
        let matcher = Matcher(ruleSet: set)
        let event = matcher.makeEvent()
        let to = clock.milliseconds
        let from = to - Int64(max(1, min(days, 90))) * 86_400_000
        var before = to + 1
        var result = RuleTestResult(scanned: 0, matched: 0, samples: [], truncated: false)
        let year = DateParts.fromEpoch(clock.now().timeIntervalSince1970).year
        while result.scanned < maxEvents {
            let rows = try await sql.raw(
                """
                SELECT id, source_id, received_at, event_time, host, user_name, address, format, raw FROM det_events \
                WHERE establishment_id = \(bind: scope.establishmentID.uuid) AND received_at >= \(bind: from) \
                AND received_at < \(bind: before) ORDER BY received_at DESC LIMIT 2000
                """
            ).all()
            if rows.isEmpty { break }
            for row in rows {
                let stored = try Self.event(row)
                before = stored.receivedAt.milliseconds
                result.scanned += 1
                var raw = stored.raw
                let ok = raw.withUTF8 { bytes in
                    do throws(EventParseError) {
                        if stored.format == "json" {
                            try JSONEventParser.parse(bytes, into: event)
                        } else {
                            try SyslogParser.parse(bytes, into: event, year: year)
                        }
                        return true
                    } catch { return false }
                }
                guard ok else { continue }
                var hit = false
                matcher.forEachMatch(event) { index in if set.rules[index].reported { hit = true } }
                if hit {
                    result.matched += 1
                    if result.samples.count < 20 { result.samples.append(stored) }
                }
            }
            if rows.count < 2000 { break }
        }
        result.truncated = result.scanned >= maxEvents
        return result
    }

    // MARK: Events

    /// Searches stored events, newest first.
    public func searchEvents(_ query: EventQuery, in scope: TenantScope) async throws -> [StoredEvent] {
        try scope.require(Self.readers)
        var conditions: [any SQLExpression] = [
            SQLQueryString("establishment_id = \(bind: scope.establishmentID.uuid)"),
            SQLQueryString("received_at >= \(bind: query.from.milliseconds)"),
            SQLQueryString("received_at <= \(bind: query.to.milliseconds)"),
        ]
        if let source = query.sourceID { conditions.append(SQLQueryString("source_id = \(bind: source)")) }
        let postgres = database.dialect == .postgres
        for (field, value) in query.fields.sorted(by: { $0.key < $1.key }) {
            guard !field.isEmpty, field.allSatisfy({ $0.isLetter || $0.isNumber || "._-@".contains($0) }) else {
                throw ValidationError(field: "field", message: "invalid field name \(field)", key: "field")
            }
            let path = field.split(separator: ".").map(String.init)
            switch field.lowercased() {
            case "host": conditions.append(SQLQueryString("host = \(bind: value)"))
            case "user": conditions.append(SQLQueryString("user_name = \(bind: value)"))
            case "address": conditions.append(SQLQueryString("address = \(bind: value)"))
            default:
                if postgres {
                    conditions.append(
                        SQLQueryString(
                            """
                            (det_try_jsonb(COALESCE(fields, raw)) #>> \(bind: path) = \(bind: value) \
                            OR det_try_jsonb(COALESCE(fields, raw)) ->> \(bind: field) = \(bind: value))
                            """))
                } else {
                    let dotted = "$." + path.map { "\"\($0)\"" }.joined(separator: ".")
                    conditions.append(
                        SQLQueryString(
                            """
                            (json_valid(COALESCE(fields, raw)) AND (json_extract(COALESCE(fields, raw), \(bind: dotted)) \
                            = \(bind: value) OR json_extract(COALESCE(fields, raw), \(bind: "$.\"\(field)\"")) = \(bind: value)))
                            """))
                }
            }
        }
        for word in (query.text ?? "").split(separator: " ") where !word.isEmpty {
            let escaped = word.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            conditions.append(
                SQLQueryString(
                    "raw \(unsafeRaw: postgres ? "ILIKE" : "LIKE") \(bind: "%\(escaped)%") ESCAPE '\\'"))
        }
        let rows = try await sql.raw(
            """
            SELECT id, source_id, received_at, event_time, host, user_name, address, format, raw FROM det_events WHERE \
            \(SQLList(conditions, separator: SQLRaw(" AND "))) ORDER BY received_at DESC LIMIT \(bind: min(max(query.limit, 1), 1000))
            """
        ).all()
        return try rows.map(Self.event)
    }

    static func event(_ row: any SQLRow) throws -> StoredEvent {
        StoredEvent(
            id: try row.decode(column: "id", as: String.self),
            sourceID: try row.decode(column: "source_id", as: UUID.self),
            receivedAt: Date(milliseconds: try row.decode(column: "received_at", as: Int64.self)),
            eventTime: try row.decode(column: "event_time", as: Int64?.self).map(Date.init(milliseconds:)),
            host: try row.decode(column: "host", as: String?.self),
            user: try row.decode(column: "user_name", as: String?.self),
            address: try row.decode(column: "address", as: String?.self),
            format: try row.decode(column: "format", as: String.self),
            raw: try row.decode(column: "raw", as: String.self))
    }
}
