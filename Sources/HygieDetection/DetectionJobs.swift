import AsyncHTTPClient
import Crypto
import Foundation
import HygieCore
public import HygieJobs
public import HygieMail
import HygieStorage
import NIOCore
import NIOHTTP1
import SQLKit

/// Raises an alert for each log source silent for longer than its expected interval (every minute).
public struct SourceHealthJob: JobHandler {
    public static let kind = "detection.source-health"
    let service: DetectionService
    public var kind: String { Self.kind }

    public init(service: DetectionService) { self.service = service }

    public func run(_ job: Job) async throws {
        try await service.updateSourceRates()
        _ = try await service.checkSilentSources()
    }
}

/// Deletes events and alerts past retention; on PostgreSQL also creates the coming days' partitions and drops
/// empty old ones (daily).
public struct RetentionJob: JobHandler {
    public static let kind = "detection.retention"
    let service: DetectionService
    public var kind: String { Self.kind }

    public init(service: DetectionService) { self.service = service }

    public func run(_ job: Job) async throws {
        try await service.applyRetention()
        try await service.maintainPartitions()
    }
}

/// Turns new alerts into webhook deliveries: at once from the establishment's threshold up, in an hourly digest
/// below it (`digest: true` in the payload).
public struct AlertNotificationJob: JobHandler {
    public static let kind = "detection.notify"
    public static let digestKind = "detection.digest"
    let service: DetectionService
    let queue: JobQueue
    let digest: Bool
    /// Whether the instance can send e-mail (`hygie.smtp.host` set).
    let mail: Bool
    public var kind: String { digest ? Self.digestKind : Self.kind }

    public init(service: DetectionService, queue: JobQueue, digest: Bool, mail: Bool) {
        self.service = service
        self.queue = queue
        self.digest = digest
        self.mail = mail
    }

    public func run(_ job: Job) async throws {
        for notification in try await service.pendingNotifications(digest: digest, mail: mail) {
            let establishment = Establishment.ID(notification.establishment)
            if notification.webhook {
                try await queue.enqueue(
                    kind: WebhookDeliveryJob.kind, payload: notification.body, establishmentID: establishment,
                    maxAttempts: 8)
            }
            if notification.mail {
                try await queue.enqueue(
                    kind: EmailDeliveryJob.kind, payload: notification.body, establishmentID: establishment,
                    maxAttempts: 8)
            }
        }
    }
}

/// Posts one notification to the establishment's webhook, signed with HMAC-SHA256 of the body
/// (`X-Hygie-Signature: sha256=<hex>`); the job queue retries failures with backoff.
public struct WebhookDeliveryJob: JobHandler {
    public static let kind = "detection.webhook"
    let service: DetectionService
    public var kind: String { Self.kind }

    public init(service: DetectionService) { self.service = service }

    public func run(_ job: Job) async throws {
        guard let establishment = job.establishmentID else { return }
        guard let (url, secret) = try await service.webhook(establishment: establishment.uuid) else { return }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Hygie/\(job.kind)")
        request.headers.add(name: "X-Hygie-Signature", value: "sha256=" + Self.signature(job.payload, secret: secret))
        request.body = .bytes(ByteBuffer(string: job.payload))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
        guard (200..<300).contains(Int(response.status.code)) else {
            throw DetectionError.badInput("webhook answered HTTP \(response.status.code)")
        }
    }

    /// Hex HMAC-SHA256 of `body` with `secret`.
    public static func signature(_ body: String, secret: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }
}

/// Mails one notification (the JSON body of ``AlertNotificationJob``) as text to the establishment's recipients;
/// the job queue retries failures with backoff.
public struct EmailDeliveryJob: JobHandler {
    public static let kind = "detection.email"
    let service: DetectionService
    let smtp: SMTPSettings
    public var kind: String { Self.kind }

    public init(service: DetectionService, smtp: SMTPSettings) {
        self.service = service
        self.smtp = smtp
    }

    public func run(_ job: Job) async throws {
        guard let establishment = job.establishmentID else { return }
        let recipients = try await service.storedSettings(establishment: establishment.uuid).emailRecipients
        guard !recipients.isEmpty, let message = try await service.mailText(job.payload, to: recipients) else { return }
        try await SMTPClient(settings: smtp).send(message)
    }
}

extension DetectionService {
    /// Events per minute of each source since the previous call (the health job runs every minute).
    public func updateSourceRates() async throws {
        let now = clock.milliseconds
        try await sql.raw(
            """
            UPDATE det_sources SET events_per_minute = CASE WHEN rate_marked_at IS NULL OR rate_marked_at >= \(bind: now) \
            THEN NULL ELSE (events_total - COALESCE(rate_mark_total, 0)) * 60000.0 / (\(bind: now) - rate_marked_at) END, \
            rate_mark_total = events_total, rate_marked_at = \(bind: now)
            """
        ).run()
    }

    /// Raises or refreshes "silent source" alerts. Returns the number of silent sources.
    public func checkSilentSources() async throws -> Int {
        let now = clock.now()
        var silent = 0
        for (source, _) in try await allSources() where source.isSilent(at: now) {
            silent += 1
            let since = (source.lastSeenAt ?? source.createdAt).milliseconds
            try await database.transaction { db in
                let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
                try await sql.raw(
                    """
                    \(unsafeRaw: BatchWriter.insertAlert) (\(bind: UUID()), \
                    \(bind: source.establishmentID.uuid), \(bind: "source-silent|\(source.id)|\(since)"), \
                    'source-health', 'hygie-source-silent', \(bind: "Log source silent: \(source.name)"), 'Hygie', 'high', \
                    '', NULL, NULL, \(bind: source.sender), \(bind: source.id), \(bind: since), \
                    \(bind: now.milliseconds), 1, 'new', \(bind: false), \(bind: now.milliseconds), \(bind: now.milliseconds)) \
                    ON CONFLICT (establishment_id, dedup_key) DO UPDATE SET last_seen = excluded.last_seen, \
                    updated_at = excluded.updated_at
                    """
                ).run()
            }
        }
        return silent
    }

    struct Notification: Sendable {
        var establishment: UUID
        var body: String
        var webhook: Bool
        var mail: Bool
    }

    /// Claims new alerts for notification and returns one JSON body per establishment with a webhook or, when the
    /// instance can send mail, e-mail recipients.
    func pendingNotifications(digest: Bool, mail: Bool) async throws -> [Notification] {
        var result: [Notification] = []
        let rows = try await sql.raw(
            """
            SELECT establishment_id, notify_min_severity, webhook_url, email_recipients FROM det_settings \
            WHERE webhook_url IS NOT NULL OR email_recipients IS NOT NULL
            """
        ).all()
        for row in rows {
            let establishment = try row.decode(column: "establishment_id", as: UUID.self)
            let webhook = try row.decode(column: "webhook_url", as: String?.self) != nil
            let hasRecipients = try row.decode(column: "email_recipients", as: String?.self) != nil
            let mails = mail && hasRecipients
            guard webhook || mails else { continue }
            let threshold = Severity(rawValue: try row.decode(column: "notify_min_severity", as: String.self)) ?? .high
            let levels = Severity.allCases.filter { digest ? $0 < threshold : $0 >= threshold }
            guard !levels.isEmpty else { continue }
            // The UPDATE … RETURNING claims each alert once, even with several nodes running this job.
            let claimed = try await sql.raw(
                """
                UPDATE det_alerts SET notified = \(bind: true) WHERE establishment_id = \(bind: establishment) \
                AND notified = \(bind: false) AND severity IN (\(SQLList(levels.map { SQLBind($0.rawValue) }))) \
                RETURNING *
                """
            ).all().map(Self.alert)
            guard !claimed.isEmpty else { continue }
            let items = claimed.sorted { $0.firstSeen < $1.firstSeen }.map { alert -> [String: Any] in
                var item: [String: Any] = [
                    "id": alert.id.uuidString.lowercased(), "rule_id": alert.ruleID, "rule": alert.ruleTitle,
                    "severity": alert.severity.rawValue, "count": alert.count, "status": alert.status.rawValue,
                    "first_seen": ISO8601DateFormatter().string(from: alert.firstSeen),
                    "last_seen": ISO8601DateFormatter().string(from: alert.lastSeen), "techniques": alert.techniques,
                ]
                item["rule_author"] = alert.ruleAuthor
                item["host"] = alert.host
                item["user"] = alert.user
                item["address"] = alert.address
                return item
            }
            let body: [String: Any] = [
                "type": digest ? "digest" : "alerts", "establishment_id": establishment.uuidString.lowercased(),
                "alerts": items,
            ]
            let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            result.append(
                Notification(
                    establishment: establishment, body: String(decoding: data, as: UTF8.self), webhook: webhook,
                    mail: mails))
        }
        return result
    }

    /// The e-mail for a notification body: subject and text in French and English, with a link per alert.
    func mailText(_ body: String, to recipients: [String]) async throws -> MailMessage? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let alerts = object["alerts"] as? [[String: Any]], !alerts.isEmpty
        else { return nil }
        let digest = object["type"] as? String == "digest"
        let top = alerts.compactMap { $0["severity"] as? String }.compactMap(Severity.init(rawValue:)).max() ?? .medium
        let subject =
            digest
            ? "[Hygie] Résumé : \(alerts.count) alerte(s) / digest: \(alerts.count) alert(s)"
            : "[Hygie] \(top.rawValue.uppercased()) — \(alerts.count) nouvelle(s) alerte(s) / new alert(s)"
        var lines = [
            digest ? "Alertes de faible gravité de la dernière heure :" : "Nouvelles alertes :",
            digest ? "(Low-severity alerts of the last hour.)" : "(New alerts.)", "",
        ]
        for alert in alerts {
            let entity = [alert["host"], alert["user"], alert["address"]].compactMap { $0 as? String }.joined(
                separator: " / ")
            lines.append(
                "- [\(alert["severity"] as? String ?? "")] \(alert["rule"] as? String ?? "") — \(entity) — \(alert["count"] ?? 1) évén./events"
            )
            lines.append("  \(alert["rule_author"] as? String ?? "")  \(alert["first_seen"] as? String ?? "")")
            if let id = alert["id"] as? String { lines.append("  /alerts/\(id)") }
        }
        lines.append("")
        lines.append("Ce message est envoyé par Hygie ; réglez les destinataires sur la page Sources de journaux.")
        return MailMessage(to: recipients, subject: subject, text: lines.joined(separator: "\n"))
    }

    func webhook(establishment: UUID) async throws -> (String, String)? {
        let rows = try await sql.raw(
            "SELECT webhook_url, webhook_secret FROM det_settings WHERE establishment_id = \(bind: establishment)"
        ).all()
        guard let row = rows.first, let url = try row.decode(column: "webhook_url", as: String?.self),
            let secret = try row.decode(column: "webhook_secret", as: String?.self)
        else { return nil }
        return (url, secret)
    }

    /// PostgreSQL: one partition per day of reception, created three days ahead; partitions older than the longest
    /// event retention are dropped (their rows are past every establishment's retention).
    public func maintainPartitions() async throws {
        guard database.dialect == .postgres else { return }
        let dayMS: Int64 = 86_400_000
        let today = clock.milliseconds / dayMS
        for offset in 0...3 {
            let day = today + Int64(offset)
            let name = "det_events_d\(day)"
            try await sql.raw(
                """
                CREATE TABLE IF NOT EXISTS \(unsafeRaw: name) PARTITION OF det_events FOR VALUES FROM \
                (\(unsafeRaw: String(day * dayMS))) TO (\(unsafeRaw: String((day + 1) * dayMS)))
                """
            ).run()
        }
        let longest =
            try await sql.raw("SELECT MAX(event_retention_days) AS days FROM det_settings").all().first?.decode(
                column: "days", as: Int64?.self) ?? nil
        let keepFrom = today - max(longest ?? 30, 30) - 1
        let partitions = try await sql.raw(
            """
            SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
            JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'det_events'
            """
        ).all()
        for row in partitions {
            let name = try row.decode(column: "name", as: String.self)
            guard name.hasPrefix("det_events_d"), let day = Int64(name.dropFirst(12)), day < keepFrom else { continue }
            try await sql.raw("DROP TABLE IF EXISTS \(unsafeRaw: name)").run()
        }
    }
}
