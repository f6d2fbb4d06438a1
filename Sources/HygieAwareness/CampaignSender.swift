import AwarenessCore
import FluentKit
import Foundation
import HygieCore
import HygieMail
import HygieStorage
public import Logging
import SQLKit
public import ServiceLifecycle

/// Sends the campaigns' messages that are due: claims a batch (several nodes share the work without sending
/// anything twice), renders each message, delivers them over a few reused SMTP connections per profile,
/// records the outcomes. 4xx answers and lost connections are retried with backoff; 5xx answers are recorded
/// against the recipient.
public struct CampaignSender: Service {
    let service: AwarenessService
    let logger: Logger
    let interval: Duration

    public init(service: AwarenessService, logger: Logger, interval: Duration = .seconds(1)) {
        self.service = service
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var full = false
            do {
                full = try await service.sendDue().claimed >= service.configuration.batchSize
            } catch {
                logger.error("awareness: sending failed", metadata: ["error": "\(error)"])
            }
            if !full { try? await Task.sleep(for: interval) }
        }
    }
}

/// What one round of sending did.
public struct SendRound: Sendable, Hashable {
    public var claimed = 0
    public var sent = 0
    public var retried = 0
    public var failed = 0

    public init() {}
}

extension AwarenessService {
    struct Outgoing: Sendable {
        var resultID: Int64
        var campaignID: Int64
        var establishment: UUID
        var email: String
        var attempts: Int
        var envelope: Envelope
    }

    /// Sends what is due now. Returns how many messages were claimed and what became of them.
    public func sendDue() async throws -> SendRound {
        let now = now()
        let lease = now + 10 * 60_000
        let due = try await sql.raw(
            """
            SELECT r.id FROM aw_results r JOIN aw_campaigns c ON c.id = r.campaign_id WHERE r.sent_at IS NULL \
            AND r.failed = \(bind: false) AND r.send_at <= \(bind: now) AND r.next_try_at <= \(bind: now) \
            AND r.claimed_until < \(bind: now) AND c.completed_at IS NULL ORDER BY r.send_at, r.id \
            LIMIT \(unsafeRaw: String(configuration.batchSize))
            """
        ).all().map { try $0.decode(column: "id", as: Int64.self) }
        guard !due.isEmpty else { return SendRound() }
        // SECURITY: the conditional update decides which node sends: a row another node claimed meanwhile is skipped.
        let claimed = try await sql.raw(
            """
            UPDATE aw_results SET claimed_until = \(bind: lease) WHERE id IN (\(SQLList(due.map { SQLBind($0) }))) \
            AND claimed_until < \(bind: now) AND sent_at IS NULL RETURNING id
            """
        ).all().map { try $0.decode(column: "id", as: Int64.self) }
        guard !claimed.isEmpty else { return SendRound() }
        let rows = try await sql.raw(
            """
            SELECT r.id, r.campaign_id, r.establishment_id, r.rid, r.email, r.first_name, r.last_name, r.position, \
            r.attempts, c.url, c.snapshot FROM aw_results r JOIN aw_campaigns c ON c.id = r.campaign_id \
            WHERE r.id IN (\(SQLList(claimed.map { SQLBind($0) }))) ORDER BY r.send_at, r.id
            """
        ).all()
        var round = SendRound()
        round.claimed = rows.count
        var byProfile: [Int64: (settings: SMTPSettings, messages: [Outgoing])] = [:]
        var prepared: [Int64: (CampaignSnapshot, SMTPSettings, Rendered)] = [:]
        var broken: [(Int64, String)] = []
        for row in rows {
            let campaignID = try row.decode(column: "campaign_id", as: Int64.self)
            let resultID = try row.decode(column: "id", as: Int64.self)
            do {
                if prepared[campaignID] == nil {
                    let snapshot = try Self.decode(
                        CampaignSnapshot.self, try row.decode(column: "snapshot", as: String.self))
                    prepared[campaignID] = (snapshot, try smtpSettings(snapshot), try Rendered(snapshot.template))
                }
                let (snapshot, settings, rendered) = prepared[campaignID]!
                guard let rid = RecipientID(try row.decode(column: "rid", as: String.self)) else {
                    throw AwarenessError.invalid("bad rid")
                }
                let from =
                    snapshot.template.envelopeSender.isEmpty
                    ? snapshot.profile.fromAddress : snapshot.template.envelopeSender
                let email = try row.decode(column: "email", as: String.self)
                let context = MessageContext(
                    firstName: try row.decode(column: "first_name", as: String.self),
                    lastName: try row.decode(column: "last_name", as: String.self), email: email,
                    position: try row.decode(column: "position", as: String.self), from: from,
                    baseURL: try row.decode(column: "url", as: String.self), rid: rid)
                let data = try rendered.message(
                    for: context, from: from, headers: snapshot.profile.headers, domain: configuration.heloName,
                    date: Date(milliseconds: now))
                byProfile[snapshot.profile.id, default: (settings, [])].messages.append(
                    Outgoing(
                        resultID: resultID, campaignID: campaignID,
                        establishment: try row.decode(column: "establishment_id", as: UUID.self), email: email,
                        attempts: try row.decode(column: "attempts", as: Int.self),
                        envelope: Envelope(
                            from: Self.address(in: snapshot.profile.fromAddress), recipients: [email], data: data)))
            } catch {
                broken.append((resultID, "\(error)"))
            }
        }
        // Several connections per relay, each sending its share in order.
        var outcomes: [(Outgoing, DeliveryOutcome)] = []
        try await withThrowingTaskGroup(of: [(Outgoing, DeliveryOutcome)].self) { group in
            for (_, work) in byProfile {
                let connections = max(1, min(configuration.smtpConnections, work.messages.count))
                for lane in 0..<connections {
                    let share = stride(from: lane, to: work.messages.count, by: connections).map { work.messages[$0] }
                    let client = SMTPClient(settings: work.settings)
                    group.addTask {
                        var done: [(Outgoing, DeliveryOutcome)] = []
                        do {
                            try await client.deliver(share.map(\.envelope)) { index, outcome in
                                done.append((share[index], outcome))
                            }
                        } catch {
                            done = share.map { ($0, DeliveryOutcome.permanent("\(error)")) }
                        }
                        return done
                    }
                }
            }
            for try await done in group { outcomes += done }
        }
        let finished = now
        let maxAttempts = configuration.maxAttempts
        let failures = broken
        let results = outcomes
        let (events, retried) = try await database.transaction {
            db -> ([(establishment: UUID, result: Int64?, event: TimelineEvent)], Int) in
            var events: [(establishment: UUID, result: Int64?, event: TimelineEvent)] = []
            var retried = 0
            let sql = db as! any SQLDatabase  // both drivers are SQL databases
            for (resultID, reason) in failures {
                try await sql.raw(
                    """
                    UPDATE aw_results SET failed = \(bind: true), last_error = \(bind: reason), \
                    modified_at = \(bind: finished) WHERE id = \(bind: resultID)
                    """
                ).run()
            }
            var sentIDs: [Int64] = []
            for (message, outcome) in results {
                var eventMessage: String?
                var details = ""
                switch outcome {
                case .accepted:
                    sentIDs.append(message.resultID)
                    eventMessage = EventMessage.sent
                case .temporary(let reply) where message.attempts + 1 < maxAttempts:
                    retried += 1
                    let delay = Int64(30_000) << Int64(min(message.attempts, 8))
                    try await sql.raw(
                        """
                        UPDATE aw_results SET attempts = attempts + 1, next_try_at = \(bind: finished + delay), \
                        claimed_until = 0, last_error = \(bind: String(reply.prefix(500))), \
                        modified_at = \(bind: finished) WHERE id = \(bind: message.resultID)
                        """
                    ).run()
                case .temporary(let reply), .permanent(let reply):
                    try await sql.raw(
                        """
                        UPDATE aw_results SET attempts = attempts + 1, failed = \(bind: true), \
                        last_error = \(bind: String(reply.prefix(500))), modified_at = \(bind: finished) \
                        WHERE id = \(bind: message.resultID)
                        """
                    ).run()
                    eventMessage = EventMessage.sendingError
                    details = Self.json(["error": String(reply.prefix(500))])
                }
                if let eventMessage {
                    events.append(
                        (
                            message.establishment, message.resultID,
                            TimelineEvent(
                                campaignId: message.campaignID, email: message.email,
                                time: Date(milliseconds: finished), message: eventMessage, details: details,
                                scanner: false)
                        ))
                }
            }
            for chunk in stride(from: 0, to: sentIDs.count, by: 500) {
                let ids = sentIDs[chunk..<min(chunk + 500, sentIDs.count)]
                try await sql.raw(
                    """
                    UPDATE aw_results SET sent_at = \(bind: finished), attempts = attempts + 1, \
                    raw_status = CASE WHEN raw_status < 1 THEN 1 ELSE raw_status END, \
                    status = CASE WHEN status < 1 THEN 1 ELSE status END, modified_at = \(bind: finished) \
                    WHERE id IN (\(SQLList(ids.map { SQLBind($0) })))
                    """
                ).run()
            }
            try await Self.insertEvents(sql, events)
            return (events, retried)
        }
        round.sent = outcomes.count { $0.1 == .accepted }
        round.retried = retried
        // Refused, out of attempts, or impossible to render.
        round.failed = outcomes.count - round.sent - retried + broken.count
        for (establishment, group) in Dictionary(grouping: events, by: \.establishment) {
            await notifyWebhooks(establishment: establishment, events: group.map(\.event))
        }
        return round
    }

    func smtpSettings(_ snapshot: CampaignSnapshot) throws -> SMTPSettings {
        let profile = snapshot.profile
        let (host, port) = try Self.hostAndPort(profile.host)
        var password: String?
        if let sealed = snapshot.sealedPassword.flatMap({ Data(base64Encoded: $0) }) {
            guard let secrets else {
                throw AwarenessError.invalid("this node has no instance key to read the password")
            }
            password = String(decoding: try secrets.open(sealed), as: UTF8.self)
        }
        return SMTPSettings(
            host: host, port: port, security: SMTPSettings.Security(rawValue: profile.security) ?? .startTLS,
            username: profile.username.isEmpty ? nil : profile.username, password: password,
            from: Self.address(in: profile.fromAddress), heloName: configuration.heloName,
            ignoreCertificateErrors: profile.ignoreCertErrors)
    }

    /// A template parsed once per campaign and round.
    struct Rendered {
        var subject: MessageTemplate
        var text: MessageTemplate?
        var html: MessageTemplate?
        var attachments: [MailAttachment]

        init(_ template: EmailTemplate) throws {
            do {
                subject = try MessageTemplate(template.subject, kind: .text)
                text = template.text.isEmpty ? nil : try MessageTemplate(template.text, kind: .text)
                html = template.html.isEmpty ? nil : try MessageTemplate(template.html, kind: .html)
            } catch { throw AwarenessError.invalid("template: \(error.description)") }
            attachments = template.attachments.compactMap { attachment in
                Data(base64Encoded: attachment.content, options: .ignoreUnknownCharacters).map {
                    MailAttachment(name: attachment.name, contentType: attachment.type, data: $0)
                }
            }
        }

        func message(
            for context: MessageContext, from: String, headers: [HeaderEntry], domain: String, date: Date
        ) throws -> String {
            var message = MIMEMessage(
                fromName: AwarenessService.displayName(in: from), from: AwarenessService.address(in: from),
                to: [context.email], subject: subject.render(context), text: text?.render(context),
                html: html?.render(context), attachments: attachments)
            message.headers = try headers.map { try MailHeader(name: $0.key, value: $0.value) }
            return try message.render(date: date, domain: domain)
        }
    }
}
