public import Foundation
public import HygieCore
public import HygieStorage
import SQLKit

extension DetectionService {
    /// Alerts of the establishment, most recent activity first, with optional filters; keyset on `last_seen`.
    public func alerts(
        in scope: TenantScope, filter: AlertFilter = AlertFilter(), before: Int64? = nil, limit: Int = 50
    ) async throws -> (alerts: [Alert], next: Int64?) {
        try scope.require(Self.readers)
        var conditions: [any SQLExpression] = [
            SQLQueryString("establishment_id = \(bind: scope.establishmentID.uuid)")
        ]
        if !filter.statuses.isEmpty {
            conditions.append(SQLQueryString("status IN (\(SQLList(filter.statuses.map { SQLBind($0.rawValue) })))"))
        }
        if let minimum = filter.minimumSeverity {
            let allowed = Severity.allCases.filter { $0 >= minimum }.map { SQLBind($0.rawValue) }
            conditions.append(SQLQueryString("severity IN (\(SQLList(allowed)))"))
        }
        if let rule = filter.ruleID, !rule.isEmpty { conditions.append(SQLQueryString("rule_id = \(bind: rule)")) }
        if let since = filter.since { conditions.append(SQLQueryString("last_seen >= \(bind: since.milliseconds)")) }
        if let text = filter.text?.lowercased(), !text.isEmpty {
            let like = "%\(text.replacingOccurrences(of: "%", with: ""))%"
            conditions.append(
                SQLQueryString(
                    """
                    (LOWER(rule_title) LIKE \(bind: like) OR LOWER(COALESCE(host, '')) LIKE \(bind: like) \
                    OR LOWER(COALESCE(user_name, '')) LIKE \(bind: like) OR LOWER(COALESCE(address, '')) LIKE \(bind: like))
                    """))
        }
        if let before { conditions.append(SQLQueryString("last_seen < \(bind: before)")) }
        let size = min(max(limit, 1), 500)
        let rows = try await sql.raw(
            """
            SELECT * FROM det_alerts WHERE \(SQLList(conditions, separator: SQLRaw(" AND "))) \
            ORDER BY last_seen DESC, id LIMIT \(bind: size + 1)
            """
        ).all()
        let alerts = try rows.prefix(size).map(Self.alert)
        return (alerts, rows.count > size ? alerts.last?.lastSeen.milliseconds : nil)
    }

    public func alert(_ id: UUID, in scope: TenantScope) async throws -> Alert {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                """
                SELECT * FROM det_alerts WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).all().first
        else { throw HygieCoreError.notFound("alert") }
        return try Self.alert(row)
    }

    static func alert(_ row: any SQLRow) throws -> Alert {
        Alert(
            id: try row.decode(column: "id", as: UUID.self),
            establishmentID: .init(try row.decode(column: "establishment_id", as: UUID.self)),
            kind: try row.decode(column: "kind", as: String.self),
            ruleID: try row.decode(column: "rule_id", as: String.self),
            ruleTitle: try row.decode(column: "rule_title", as: String.self),
            ruleAuthor: try row.decode(column: "rule_author", as: String?.self),
            severity: Severity(rawValue: try row.decode(column: "severity", as: String.self)) ?? .medium,
            techniques: try row.decode(column: "techniques", as: String.self).split(separator: ",").map(String.init),
            host: try row.decode(column: "host", as: String?.self),
            user: try row.decode(column: "user_name", as: String?.self),
            address: try row.decode(column: "address", as: String?.self),
            sourceID: try row.decode(column: "source_id", as: UUID?.self),
            firstSeen: Date(milliseconds: try row.decode(column: "first_seen", as: Int64.self)),
            lastSeen: Date(milliseconds: try row.decode(column: "last_seen", as: Int64.self)),
            count: try row.decode(column: "event_count", as: Int64.self),
            status: AlertStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .new,
            assigneeID: try row.decode(column: "assignee_id", as: UUID?.self).map(User.ID.init),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }

    /// The events kept for an alert, with the fields that matched and the stored raw event when still retained.
    public func alertEvents(_ id: UUID, in scope: TenantScope) async throws -> [(AlertEvent, StoredEvent?)] {
        _ = try await alert(id, in: scope)
        let rows = try await sql.raw(
            """
            SELECT a.event_id, a.received_at AS matched_at, a.matched, e.id, e.source_id, e.received_at, e.event_time, \
            e.host, e.user_name, e.address, e.format, e.raw FROM det_alert_events a LEFT JOIN det_events e \
            ON e.establishment_id = a.establishment_id AND e.id = a.event_id AND e.received_at = a.received_at \
            WHERE a.alert_id = \(bind: id) AND a.establishment_id = \(bind: scope.establishmentID.uuid) \
            ORDER BY a.received_at
            """
        ).all()
        return try rows.map { row in
            let matchedText = try row.decode(column: "matched", as: String.self)
            // try?: written by JSONWriter, always an object of strings.
            let matched = (try? JSONSerialization.jsonObject(with: Data(matchedText.utf8)) as? [String: String]) ?? [:]
            let event = AlertEvent(
                eventID: try row.decode(column: "event_id", as: String.self),
                receivedAt: Date(milliseconds: try row.decode(column: "matched_at", as: Int64.self)), matched: matched)
            let stored = try row.decode(column: "id", as: String?.self) != nil ? try Self.event(row) : nil
            return (event, stored)
        }
    }

    public func comments(_ id: UUID, in scope: TenantScope) async throws -> [AlertComment] {
        _ = try await alert(id, in: scope)
        return try await sql.raw(
            """
            SELECT author, body, created_at FROM det_alert_comments WHERE alert_id = \(bind: id) \
            AND establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY created_at
            """
        ).all().map { row in
            AlertComment(
                author: try row.decode(column: "author", as: String.self),
                body: try row.decode(column: "body", as: String.self),
                createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
        }
    }

    /// Changes the status and/or assignee of alerts (one or many), with an optional comment on each.
    public func updateAlerts(
        _ ids: [UUID], status: AlertStatus?, assignee: User.ID?? = nil, comment: String?, in scope: TenantScope
    ) async throws {
        try scope.require(Self.handlers)
        guard !ids.isEmpty, ids.count <= 500 else {
            throw ValidationError(field: "ids", message: "between 1 and 500 alerts", key: "ids")
        }
        let body = comment?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let body, body.count > 5000 {
            throw ValidationError(field: "comment", message: "at most 5000 characters", key: "tooLong")
        }
        if status == nil, assignee == nil, body?.isEmpty ?? true {
            throw ValidationError(field: "status", message: "nothing to change", key: "required")
        }
        let now = clock.milliseconds
        let establishment = scope.establishmentID.uuid
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            let found = try await sql.raw(
                """
                SELECT id FROM det_alerts WHERE establishment_id = \(bind: establishment) \
                AND id IN (\(SQLList(ids.map { SQLBind($0) })))
                """
            ).all()
            guard found.count == Set(ids).count else { throw HygieCoreError.notFound("alert") }
            for id in ids {
                if let status {
                    try await sql.raw(
                        """
                        UPDATE det_alerts SET status = \(bind: status.rawValue), updated_at = \(bind: now) \
                        WHERE id = \(bind: id) AND establishment_id = \(bind: establishment)
                        """
                    ).run()
                }
                if let assignee {
                    try await sql.raw(
                        """
                        UPDATE det_alerts SET assignee_id = \(bind: assignee?.uuid), updated_at = \(bind: now) \
                        WHERE id = \(bind: id) AND establishment_id = \(bind: establishment)
                        """
                    ).run()
                }
                if let body, !body.isEmpty {
                    try await sql.raw(
                        """
                        INSERT INTO det_alert_comments (id, alert_id, establishment_id, author, body, created_at) VALUES \
                        (\(bind: UUID()), \(bind: id), \(bind: establishment), \(bind: scope.actor.displayName), \
                        \(bind: body), \(bind: now))
                        """
                    ).run()
                }
            }
            var summary = "Updated \(ids.count) alert(s)"
            if let status { summary += ": status \(status.rawValue)" }
            try await audit.record(
                AuditEntry(
                    action: "detection.alert.update", objectType: "alert",
                    objectID: ids.count == 1 ? ids[0].uuidString : nil, summary: summary),
                by: scope.actor, on: db)
        }
    }

    // MARK: Charts

    /// Alerts per day and severity over the last `days` days (by first sighting).
    public func alertsPerDay(days: Int, in scope: TenantScope) async throws -> [(day: Date, counts: [Severity: Int])] {
        try scope.require(Self.readers)
        let dayMS: Int64 = 86_400_000
        let today = clock.milliseconds / dayMS
        let start = (today - Int64(days) + 1) * dayMS
        let rows = try await sql.raw(
            """
            SELECT first_seen / \(unsafeRaw: String(dayMS)) AS day, severity, COUNT(*) AS n FROM det_alerts \
            WHERE establishment_id = \(bind: scope.establishmentID.uuid) AND first_seen >= \(bind: start) \
            GROUP BY first_seen / \(unsafeRaw: String(dayMS)), severity
            """
        ).all()
        var byDay: [Int64: [Severity: Int]] = [:]
        for row in rows {
            let day = try row.decode(column: "day", as: Int64.self)
            let severity = Severity(rawValue: try row.decode(column: "severity", as: String.self)) ?? .medium
            byDay[day, default: [:]][severity, default: 0] += Int(try row.decode(column: "n", as: Int64.self))
        }
        return (0..<Int64(days)).map { offset in
            let day = today - Int64(days) + 1 + offset
            return (Date(milliseconds: day * dayMS), byDay[day] ?? [:])
        }
    }

    /// Rules with the most matched events over the last `days` days.
    public func topRules(days: Int, limit: Int = 8, in scope: TenantScope) async throws -> [(
        title: String, ruleID: String, events: Int64
    )] {
        try scope.require(Self.readers)
        let start = clock.milliseconds - Int64(days) * 86_400_000
        let rows = try await sql.raw(
            """
            SELECT rule_id, MAX(rule_title) AS title, SUM(event_count) AS n FROM det_alerts \
            WHERE establishment_id = \(bind: scope.establishmentID.uuid) AND last_seen >= \(bind: start) \
            GROUP BY rule_id ORDER BY n DESC LIMIT \(bind: limit)
            """
        ).all()
        return try rows.map {
            (
                try $0.decode(column: "title", as: String.self), try $0.decode(column: "rule_id", as: String.self),
                try $0.decode(column: "n", as: Int64.self)
            )
        }
    }

    // MARK: Settings and retention

    public func settings(in scope: TenantScope) async throws -> DetectionSettings {
        try scope.require(Self.readers)
        return try await storedSettings(establishment: scope.establishmentID.uuid)
    }

    func storedSettings(establishment: UUID) async throws -> DetectionSettings {
        guard
            let row = try await sql.raw(
                "SELECT * FROM det_settings WHERE establishment_id = \(bind: establishment)"
            ).all().first
        else { return DetectionSettings() }
        return DetectionSettings(
            eventRetentionDays: Int(try row.decode(column: "event_retention_days", as: Int64.self)),
            alertRetentionDays: Int(try row.decode(column: "alert_retention_days", as: Int64.self)),
            webhookURL: try row.decode(column: "webhook_url", as: String?.self),
            emailRecipients: (try row.decode(column: "email_recipients", as: String?.self) ?? "").split(separator: ",")
                .map(String.init),
            notifyMinimumSeverity: Severity(rawValue: try row.decode(column: "notify_min_severity", as: String.self))
                ?? .high)
    }

    /// Saves retention and notification settings. A new webhook URL gets a new signing secret, returned once.
    public func updateSettings(_ settings: DetectionSettings, in scope: TenantScope) async throws -> String? {
        try scope.require(Self.managers)
        guard (1...3650).contains(settings.eventRetentionDays), (1...3650).contains(settings.alertRetentionDays),
            settings.alertRetentionDays >= settings.eventRetentionDays
        else {
            throw ValidationError(
                field: "retention", message: "1 to 3650 days; alerts kept at least as long as events", key: "retention")
        }
        if let url = settings.webhookURL, !url.isEmpty {
            guard let parsed = URL(string: url), ["https", "http"].contains(parsed.scheme ?? ""), parsed.host != nil
            else { throw ValidationError(field: "webhook_url", message: "an http(s) URL", key: "url") }
        }
        let recipients = settings.emailRecipients.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for address in recipients where (try? Validate.email(address)) == nil {
            throw ValidationError(field: "email_recipients", message: "not an e-mail address: \(address)", key: "email")
        }
        guard recipients.count <= 20 else {
            throw ValidationError(field: "email_recipients", message: "at most 20 addresses", key: "tooMany")
        }
        let previous = try await storedSettings(establishment: scope.establishmentID.uuid)
        let url = settings.webhookURL?.isEmpty == true ? nil : settings.webhookURL
        let secret: String? = url != nil && url != previous.webhookURL ? SecureRandom.token(bytes: 32) : nil
        let now = clock.milliseconds
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            try await sql.raw(
                """
                INSERT INTO det_settings (establishment_id, event_retention_days, alert_retention_days, webhook_url, \
                webhook_secret, email_recipients, notify_min_severity, updated_at) VALUES \
                (\(bind: scope.establishmentID.uuid), \(bind: Int64(settings.eventRetentionDays)), \
                \(bind: Int64(settings.alertRetentionDays)), \(bind: url), \(bind: secret), \
                \(bind: recipients.isEmpty ? nil : recipients.joined(separator: ",")), \
                \(bind: settings.notifyMinimumSeverity.rawValue), \(bind: now)) \
                ON CONFLICT (establishment_id) DO UPDATE SET event_retention_days = excluded.event_retention_days, \
                alert_retention_days = excluded.alert_retention_days, webhook_url = excluded.webhook_url, \
                email_recipients = excluded.email_recipients, \
                webhook_secret = COALESCE(excluded.webhook_secret, \
                CASE WHEN excluded.webhook_url IS NULL THEN NULL ELSE det_settings.webhook_secret END), \
                notify_min_severity = excluded.notify_min_severity, updated_at = excluded.updated_at
                """
            ).run()
            try await audit.record(
                AuditEntry(
                    action: "detection.settings.update", objectType: "establishment",
                    objectID: scope.establishmentID.uuid.uuidString,
                    summary:
                        "Detection settings: events \(settings.eventRetentionDays) d, alerts \(settings.alertRetentionDays) d, webhook \(url == nil ? "off" : "on"), \(recipients.count) e-mail recipient(s)"
                ),
                by: scope.actor, on: db)
        }
        return secret
    }

    /// Deletes events and alerts older than each establishment's retention, in slices so that no transaction
    /// holds the database for long (PostgreSQL also drops whole partitions, see ``maintainPartitions()``).
    public func applyRetention() async throws {
        let now = clock.milliseconds
        let dayMS: Int64 = 86_400_000
        for row in try await sql.raw("SELECT id FROM core_establishments").all() {
            let establishment = try row.decode(column: "id", as: UUID.self)
            let settings = try await storedSettings(establishment: establishment)
            let eventLimit = now - Int64(settings.eventRetentionDays) * dayMS
            let alertLimit = now - Int64(settings.alertRetentionDays) * dayMS
            if database.dialect == .sqlite {
                // SQLite: 20,000 rows at a time, each slice its own short transaction.
                while try await !sql.raw(
                    """
                    DELETE FROM det_events WHERE rowid IN (SELECT rowid FROM det_events WHERE establishment_id = \
                    \(bind: establishment) AND received_at < \(bind: eventLimit) LIMIT 20000) RETURNING 1 AS n
                    """
                ).all().isEmpty {}
            } else {
                try await sql.raw(
                    """
                    DELETE FROM det_events WHERE establishment_id = \(bind: establishment) \
                    AND received_at < \(bind: eventLimit)
                    """
                ).run()
            }
            try await sql.raw(
                """
                DELETE FROM det_alerts WHERE establishment_id = \(bind: establishment) AND last_seen < \(bind: alertLimit)
                """
            ).run()
            try await sql.raw(
                """
                DELETE FROM det_correlation_inputs WHERE establishment_id = \(bind: establishment) \
                AND time < \(bind: now - 7 * dayMS)
                """
            ).run()
        }
    }
}
