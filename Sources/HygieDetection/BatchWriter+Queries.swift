import FluentKit
import Foundation
import HygieIntel
import HygieStorage
import SQLKit
import Sigma

/// What one spool batch produced, written in one transaction with the spool checkpoint.
struct BatchResult: Sendable {
    struct EventRow: Sendable {
        var id: String
        var establishmentID: UUID
        var sourceID: UUID
        var receivedAt: Int64
        var eventTime: Int64?
        var host: String?
        var user: String?
        var address: String?
        var format: String
        var raw: String
        var fields: String?
    }

    struct MatchRow: Sendable {
        /// `rule` (a Sigma rule matched) or `ioc` (a shared indicator matched).
        var kind: String = "rule"
        var establishmentID: UUID
        var rule: AlertRule
        var host: String?
        var user: String?
        var address: String?
        var sourceID: UUID?
        var eventID: String
        var time: Int64
        var receivedAt: Int64
        var matched: String
    }

    struct CorrelationRow: Sendable {
        var establishmentID: UUID
        var ruleID: String
        var time: Int64
        var fields: String
    }

    var events: [EventRow] = []
    var matches: [MatchRow] = []
    var correlationInputs: [CorrelationRow] = []
    var sources: [UUID: (count: Int64, last: Int64)] = [:]
    /// Indicator hits, counted as sightings in the same transaction.
    var sightings: [SightingHit] = []
    var parseErrors = 0
}

/// The rule behind an alert, as shown with it (DRL 1.1: its author travels with every match).
struct AlertRule: Sendable {
    var id: String
    var title: String
    var author: String?
    var severity: Severity
    var techniques: [String]

    init(id: String, title: String, author: String?, severity: Severity, techniques: [String] = []) {
        self.id = id
        self.title = title
        self.author = author
        self.severity = severity
        self.techniques = techniques
    }

    init(_ metadata: RuleMetadata) {
        id = metadata.displayID
        title = metadata.title
        author = metadata.author
        severity = Severity(metadata.level)
        techniques = DetectionRule.techniques(metadata.tags)
    }
}

/// A correlation that fired, as an alert row.
struct CorrelationAlertRow: Sendable {
    var establishmentID: UUID
    var rule: AlertRule
    var host: String?
    var user: String?
    /// The group-by values as JSON (part of the deduplication key).
    var group: String
    var first: Int64
    var last: Int64
    var events: Int64
}

/// Writes batches and alerts with hand-tuned SQL (multi-row inserts, upserts), on SQLite and PostgreSQL.
struct BatchWriter: Sendable {
    let database: DatabaseService
    let configuration: DetectionConfiguration

    /// The start of every alert insert (rule matches, correlations, silent sources).
    static let insertAlert = """
        INSERT INTO det_alerts (id, establishment_id, dedup_key, kind, rule_id, rule_title, rule_author, severity, \
        techniques, host, user_name, address, source_id, first_seen, last_seen, event_count, status, notified, \
        created_at, updated_at) VALUES
        """

    var greatest: String { database.dialect == .postgres ? "GREATEST" : "MAX" }
    var least: String { database.dialect == .postgres ? "LEAST" : "MIN" }

    /// Commits a batch and the position after it. Returns the number of alerts created or updated.
    @discardableResult
    func commit(_ result: BatchResult, nodeID: String, position: SpoolPosition, now: Int64) async throws -> Int {
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            if configuration.storeEvents { try await insertEvents(result.events, on: sql) }
            let alerts = try await upsertAlerts(result.matches, now: now, on: sql)
            try await IntelService.recordSightings(result.sightings, dialect: database.dialect, on: sql)
            if !result.correlationInputs.isEmpty {
                for chunk in result.correlationInputs.chunked(200) {
                    try await sql.raw(
                        """
                        INSERT INTO det_correlation_inputs (establishment_id, rule_id, time, fields) VALUES \
                        \(SQLList(chunk.map { row in
                            SQLGroupExpression([
                                SQLBind(row.establishmentID), SQLBind(row.ruleID), SQLBind(row.time), SQLBind(row.fields),
                            ] as [any SQLExpression])
                        }))
                        """
                    ).run()
                }
            }
            for (source, stats) in result.sources.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
                try await sql.raw(
                    """
                    UPDATE det_sources SET events_total = events_total + \(bind: stats.count), \
                    last_seen_at = \(unsafeRaw: greatest)(COALESCE(last_seen_at, 0), \(bind: stats.last)) \
                    WHERE id = \(bind: source)
                    """
                ).run()
            }
            try await sql.raw(
                """
                INSERT INTO det_checkpoints (node_id, segment, "offset", updated_at) VALUES (\(bind: nodeID), \
                \(bind: position.segment), \(bind: position.offset), \(bind: now)) ON CONFLICT (node_id) DO UPDATE SET \
                segment = excluded.segment, "offset" = excluded."offset", updated_at = excluded.updated_at
                """
            ).run()
            return alerts
        }
    }

    func insertEvents(_ events: [BatchResult.EventRow], on sql: any SQLDatabase) async throws {
        for chunk in events.chunked(1000) {
            try await sql.raw(
                """
                INSERT INTO det_events (id, establishment_id, source_id, received_at, event_time, host, user_name, \
                address, format, raw, fields) VALUES \
                \(SQLList(chunk.map { row in
                    SQLGroupExpression([
                        SQLBind(row.id), SQLBind(row.establishmentID), SQLBind(row.sourceID), SQLBind(row.receivedAt),
                        SQLBind(row.eventTime), SQLBind(row.host), SQLBind(row.user), SQLBind(row.address),
                        SQLBind(row.format), SQLBind(row.raw), SQLBind(row.fields),
                    ] as [any SQLExpression])
                }))
                """
            ).run()
        }
    }

    /// Groups matches by deduplication key and upserts one alert row per key; links the first matched events.
    func upsertAlerts(_ matches: [BatchResult.MatchRow], now: Int64, on sql: any SQLDatabase) async throws -> Int {
        guard !matches.isEmpty else { return 0 }
        let window = Int64(max(configuration.dedupWindowSeconds, 1)) * 1000
        var groups: [String: [BatchResult.MatchRow]] = [:]
        for match in matches {
            let entity = [match.host ?? "", match.user ?? ""].joined(separator: "|")
            let key =
                "\(match.establishmentID.uuidString)|\(match.kind)|\(match.rule.id)|\(entity)|\(match.time / window)"
            groups[key, default: []].append(match)
        }
        // A fixed order avoids deadlocks between nodes upserting the same alerts; one statement per 200 alerts
        // keeps round trips few on PostgreSQL.
        let ordered = groups.sorted(by: { $0.key < $1.key }).map { key, rows in
            (dedupKey: String(key.drop(while: { $0 != "|" }).dropFirst()), rows: rows)
        }
        var links: [(alertID: UUID, row: BatchResult.MatchRow)] = []
        for chunk in ordered.chunked(200) {
            let values = chunk.map { group -> any SQLExpression in
                let first = group.rows[0]
                return SQLGroupExpression(
                    [
                        SQLBind(UUID()), SQLBind(first.establishmentID), SQLBind(group.dedupKey), SQLBind(first.kind),
                        SQLBind(first.rule.id), SQLBind(first.rule.title), SQLBind(first.rule.author),
                        SQLBind(first.rule.severity.rawValue),
                        SQLBind(first.rule.techniques.joined(separator: ",")), SQLBind(first.host), SQLBind(first.user),
                        SQLBind(first.address), SQLBind(first.sourceID), SQLBind(group.rows.map(\.time).min() ?? now),
                        SQLBind(group.rows.map(\.time).max() ?? now), SQLBind(Int64(group.rows.count)), SQLRaw("'new'"),
                        SQLBind(false), SQLBind(now), SQLBind(now),
                    ] as [any SQLExpression])
            }
            let returned = try await sql.raw(
                """
                \(unsafeRaw: Self.insertAlert) \(SQLList(values)) \
                ON CONFLICT (establishment_id, dedup_key) DO UPDATE SET \
                event_count = det_alerts.event_count + excluded.event_count, \
                first_seen = \(unsafeRaw: least)(det_alerts.first_seen, excluded.first_seen), \
                last_seen = \(unsafeRaw: greatest)(det_alerts.last_seen, excluded.last_seen), \
                updated_at = excluded.updated_at \
                RETURNING id, establishment_id, dedup_key, event_count
                """
            ).all()
            var byKey: [String: (UUID, Int64)] = [:]
            for row in returned {
                let key =
                    "\(try row.decode(column: "establishment_id", as: UUID.self))|\(try row.decode(column: "dedup_key", as: String.self))"
                byKey[key] = (
                    try row.decode(column: "id", as: UUID.self), try row.decode(column: "event_count", as: Int64.self)
                )
            }
            for group in chunk {
                guard let (alertID, total) = byKey["\(group.rows[0].establishmentID)|\(group.dedupKey)"] else {
                    continue
                }
                // Keep the first events of an alert: room left after what earlier batches linked.
                let room = configuration.eventsPerAlert - Int(total - Int64(group.rows.count))
                if room > 0 { links += group.rows.prefix(room).map { (alertID, $0) } }
            }
        }
        for chunk in links.chunked(500) {
            try await sql.raw(
                """
                INSERT INTO det_alert_events (alert_id, establishment_id, event_id, received_at, matched) VALUES \
                \(SQLList(chunk.map { link in
                    SQLGroupExpression([
                        SQLBind(link.alertID), SQLBind(link.row.establishmentID), SQLBind(link.row.eventID),
                        SQLBind(link.row.receivedAt), SQLBind(link.row.matched),
                    ] as [any SQLExpression])
                })) ON CONFLICT (alert_id, event_id) DO NOTHING
                """
            ).run()
        }
        return groups.count
    }

    /// Upserts correlation alerts: the count is the correlation's own figure (re-evaluation keeps the largest).
    func upsertCorrelationAlerts(_ alerts: [CorrelationAlertRow], now: Int64) async throws {
        guard !alerts.isEmpty else { return }
        let window = Int64(max(configuration.dedupWindowSeconds, 1)) * 1000
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            for alert in alerts.sorted(by: { ($0.rule.id, $0.group) < ($1.rule.id, $1.group) }) {
                let dedupKey = "correlation|\(alert.rule.id)|\(alert.group)|\(alert.first / window)"
                try await sql.raw(
                    """
                    \(unsafeRaw: Self.insertAlert) (\(bind: UUID()), \(bind: alert.establishmentID), \
                    \(bind: dedupKey), 'correlation', \(bind: alert.rule.id), \(bind: alert.rule.title), \(bind: alert.rule.author), \
                    \(bind: alert.rule.severity.rawValue), \(bind: alert.rule.techniques.joined(separator: ",")), \(bind: alert.host), \
                    \(bind: alert.user), NULL, NULL, \(bind: alert.first), \(bind: alert.last), \(bind: alert.events), \
                    'new', \(bind: false), \(bind: now), \(bind: now)) \
                    ON CONFLICT (establishment_id, dedup_key) DO UPDATE SET \
                    event_count = \(unsafeRaw: greatest)(det_alerts.event_count, excluded.event_count), \
                    last_seen = \(unsafeRaw: greatest)(det_alerts.last_seen, excluded.last_seen), \
                    updated_at = excluded.updated_at
                    """
                ).run()
            }
        }
    }

    /// The committed spool position of a node.
    func checkpoint(nodeID: String) async throws -> SpoolPosition? {
        let rows = try await database.sql.raw(
            "SELECT segment, \"offset\" FROM det_checkpoints WHERE node_id = \(bind: nodeID)"
        ).all()
        guard let row = rows.first else { return nil }
        return SpoolPosition(
            segment: try row.decode(column: "segment", as: Int64.self),
            offset: try row.decode(column: "offset", as: Int64.self))
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
