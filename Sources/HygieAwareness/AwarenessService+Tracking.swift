import AsyncHTTPClient
import AwarenessCore
import Crypto
import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import NIOCore
import NIOHTTP1
import SQLKit

/// What the phishing server answers.
public enum TrackingOutcome: Sendable, Hashable {
    /// The open-tracking image, or an empty report answer.
    case recorded
    /// The landing page, rendered for the recipient.
    case page(String)
    /// After a submission: where the browser goes.
    case redirect(String)
}

/// Recipients and campaigns the phishing server looked up recently, and tracking events not yet written.
///
/// Entries live a few seconds: a campaign completed on another node stops answering within that delay, one
/// completed on this node at once.
actor TrackingCache {
    struct Recipient: Sendable {
        var resultID: Int64
        var campaignID: Int64
        var establishment: UUID
        var context: MessageContext
        var sentAt: Int64?
        var loadedAt: Double
    }

    struct CampaignEntry: Sendable {
        var page: MessageTemplate
        var passwordFields: Set<String>
        var captureValues: Bool
        var redirect: String
        var loadedAt: Double
    }

    struct Pending: Sendable {
        var resultID: Int64
        var campaignID: Int64
        var establishment: UUID
        var email: String
        var action: TrackingAction
        var time: Int64
        var details: String
        var scannerReason: String?

        var event: TimelineEvent {
            TimelineEvent(
                campaignId: campaignID, email: email, time: Date(milliseconds: time),
                message: AwarenessService.message(action), details: details, scanner: scannerReason != nil)
        }
    }

    static let lifetime = 5.0
    var recipients: [String: Recipient] = [:]
    var campaigns: [Int64: CampaignEntry] = [:]
    var webhooks: [UUID: (loadedAt: Double, hooks: [(url: String, secret: String)])] = [:]
    var pending: [Pending] = []

    func recipient(_ rid: String, now: Double) -> Recipient? {
        guard let entry = recipients[rid], now - entry.loadedAt < Self.lifetime else { return nil }
        return entry
    }

    func store(_ rid: String, _ entry: Recipient) {
        if recipients.count > 50_000 { recipients.removeAll(keepingCapacity: true) }
        recipients[rid] = entry
    }

    func campaign(_ id: Int64, now: Double) -> CampaignEntry? {
        guard let entry = campaigns[id], now - entry.loadedAt < Self.lifetime else { return nil }
        return entry
    }

    func store(campaign id: Int64, _ entry: CampaignEntry) {
        if campaigns.count > 1_000 { campaigns.removeAll(keepingCapacity: true) }
        campaigns[id] = entry
    }

    func forgetCampaign(_ id: Int64) {
        campaigns[id] = nil
        recipients = recipients.filter { $0.value.campaignID != id }
    }

    func hooks(_ establishment: UUID, now: Double) -> [(url: String, secret: String)]? {
        guard let entry = webhooks[establishment], now - entry.loadedAt < 10 else { return nil }
        return entry.hooks
    }

    func store(hooks: [(url: String, secret: String)], for establishment: UUID, now: Double) {
        webhooks[establishment] = (now, hooks)
    }

    func forgetWebhooks(_ establishment: UUID) { webhooks[establishment] = nil }

    func forgetAll() {
        recipients = [:]
        campaigns = [:]
    }

    var flushScheduled = false

    /// Queues an event; true when no flush is scheduled yet (the caller schedules one).
    func append(_ item: Pending) -> Bool {
        pending.append(item)
        defer { flushScheduled = true }
        return !flushScheduled
    }

    /// Flushes under way on this node (their events are taken but not yet written).
    var writing = 0

    func takePending() -> [Pending] {
        defer { pending.removeAll(keepingCapacity: true) }
        flushScheduled = false
        if !pending.isEmpty { writing += 1 }
        return pending
    }

    func written(putBack items: [Pending] = []) {
        writing -= 1
        pending.insert(contentsOf: items, at: 0)
    }
}

extension AwarenessService {
    /// Handles a request to the phishing server: `/track` (open), the landing page (click), its form (submit),
    /// `/report`. Unknown rids and completed campaigns throw `notFound`. Events are written in small batches a
    /// few milliseconds later (see ``flushTracking()``); clicks that look automated are kept but flagged.
    public func track(_ action: TrackingAction, _ request: TrackingRequest) async throws -> TrackingOutcome {
        guard RecipientID(request.rid) != nil else { throw AwarenessError.notFound("recipient") }
        let now = clock.now()
        let recipient = try await recipient(request.rid, now: now)
        let campaign = try await campaignEntry(recipient.campaignID, now: now)
        let secondsSinceDelivery = recipient.sentAt.map { (Double(now.milliseconds) - Double($0)) / 1000 }
        var scanner = ScannerFilter(minimumHumanDelay: configuration.scannerDelaySeconds).scannerReason(
            method: request.method, userAgent: request.userAgent, secondsSinceDelivery: secondsSinceDelivery)
        if case .report = action { scanner = nil }  // an add-in reporting is the person's own act
        var details: [String: Any] = ["payload": ["rid": [request.rid]]]
        var browser: [String: String] = ["address": ""]
        if let agent = request.userAgent { browser["user-agent"] = String(agent.prefix(500)) }
        var outcome = TrackingOutcome.recorded
        var recorded = action
        switch action {
        case .open, .report:
            break
        case .click:
            outcome = .page(LandingPageRewriter.rewrite(campaign.page.render(recipient.context)))
        case .submit(let fields):
            var payload: [String: [String]] = ["rid": [request.rid]]
            var filled: [String] = []
            var kept: [SubmittedField] = []
            for field in fields.prefix(100) where field.name != "rid" && !field.value.isEmpty {
                let name = String(field.name.prefix(100))
                filled.append(name)
                // SECURITY: passwords never leave this function, whatever the page or the client says.
                let secret = campaign.passwordFields.contains(field.name) || LandingPageRewriter.looksLikePassword(name)
                if campaign.captureValues && !secret {
                    payload[name, default: []].append(String(field.value.prefix(200)))
                }
                kept.append(SubmittedField(name: name, value: ""))
            }
            details["payload"] = payload
            details["fields_filled"] = filled
            recorded = .submit(kept)
            outcome = .redirect(
                campaign.redirect.isEmpty ? Self.phishedPage(recipient.context.baseURL) : campaign.redirect)
        }
        if case .report = action {} else { details["browser"] = browser }
        if let scanner { details["scanner"] = scanner }
        let json = String(
            decoding: (try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys])) ?? Data(),
            as: UTF8.self)
        let item = TrackingCache.Pending(
            resultID: recipient.resultID, campaignID: recipient.campaignID, establishment: recipient.establishment,
            email: recipient.context.email, action: recorded, time: now.milliseconds, details: json,
            scannerReason: scanner)
        if await tracking.append(item) {
            Task {
                try? await Task.sleep(for: .milliseconds(20))
                // A failed write puts the events back: try again a few times (database restarting, lock timeout).
                for attempt in 0..<6 {
                    do {
                        try await flushTracking()
                        break
                    } catch {
                        try? await Task.sleep(for: .seconds(1 << attempt))
                    }
                }
            }
        }
        return outcome
    }

    /// Hygie's "you were caught by a simulation" page, on the phishing server.
    static func phishedPage(_ baseURL: String) -> String {
        guard let url = URL(string: baseURL), let scheme = url.scheme, let host = url.host else { return "/phished" }
        return "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")/phished"
    }

    func recipient(_ rid: String, now: Date) async throws -> TrackingCache.Recipient {
        let seconds = now.timeIntervalSince1970
        if let cached = await tracking.recipient(rid, now: seconds) { return cached }
        guard
            let row = try await sql.raw(
                """
                SELECT r.id, r.establishment_id, r.campaign_id, r.email, r.first_name, r.last_name, r.position, \
                r.sent_at, c.url, c.snapshot, c.completed_at FROM aw_results r JOIN aw_campaigns c ON \
                c.id = r.campaign_id WHERE r.rid = \(bind: rid)
                """
            ).first(), try row.decode(column: "completed_at", as: Int64?.self) == nil,
            let id = RecipientID(rid)
        else { throw AwarenessError.notFound("recipient") }
        let snapshot = try Self.decode(CampaignSnapshot.self, try row.decode(column: "snapshot", as: String.self))
        let entry = TrackingCache.Recipient(
            resultID: try row.decode(column: "id", as: Int64.self),
            campaignID: try row.decode(column: "campaign_id", as: Int64.self),
            establishment: try row.decode(column: "establishment_id", as: UUID.self),
            context: MessageContext(
                firstName: try row.decode(column: "first_name", as: String.self),
                lastName: try row.decode(column: "last_name", as: String.self),
                email: try row.decode(column: "email", as: String.self),
                position: try row.decode(column: "position", as: String.self),
                from: snapshot.template.envelopeSender.isEmpty
                    ? snapshot.profile.fromAddress : snapshot.template.envelopeSender,
                baseURL: try row.decode(column: "url", as: String.self), rid: id),
            sentAt: try row.decode(column: "sent_at", as: Int64?.self), loadedAt: seconds)
        await tracking.store(rid, entry)
        return entry
    }

    func campaignEntry(_ id: Int64, now: Date) async throws -> TrackingCache.CampaignEntry {
        let seconds = now.timeIntervalSince1970
        if let cached = await tracking.campaign(id, now: seconds) { return cached }
        guard
            let row = try await sql.raw("SELECT snapshot, completed_at FROM aw_campaigns WHERE id = \(bind: id)")
                .first(),
            try row.decode(column: "completed_at", as: Int64?.self) == nil
        else { throw AwarenessError.notFound("campaign") }
        let snapshot = try Self.decode(CampaignSnapshot.self, try row.decode(column: "snapshot", as: String.self))
        let page: MessageTemplate
        do { page = try MessageTemplate(snapshot.page.html, kind: .html) } catch {
            throw AwarenessError.invalid("landing page: \(error.description)")
        }
        let entry = TrackingCache.CampaignEntry(
            page: page, passwordFields: LandingPageRewriter.passwordFields(snapshot.page.html),
            captureValues: snapshot.page.captureCredentials, redirect: snapshot.page.redirectUrl, loadedAt: seconds)
        await tracking.store(campaign: id, entry)
        return entry
    }

    /// Writes the tracking events received so far, in one transaction, then tells the webhooks. Returns once
    /// every event received before the call is written, including those a concurrent flush took.
    public func flushTracking() async throws {
        let items = await tracking.takePending()
        if !items.isEmpty { try await write(items) }
        for _ in 0..<2_000 where await tracking.writing > 0 { try await Task.sleep(for: .milliseconds(5)) }
    }

    func write(_ items: [TrackingCache.Pending]) async throws {
        do {
            try await database.transaction { db in
                let sql = db as! any SQLDatabase  // both drivers are SQL databases
                // Rows in id order: two nodes flushing at once lock them in the same order (no deadlock).
                for item in items.sorted(by: { $0.resultID < $1.resultID }) {
                    let level: Int64
                    var column: String
                    switch item.action {
                    case .open: (level, column) = (2, "opened_at")
                    case .click: (level, column) = (3, "clicked_at")
                    case .submit: (level, column) = (4, "submitted_at")
                    case .report: (level, column) = (0, "reported_at")
                    }
                    let human = item.scannerReason == nil
                    if human {
                        try await sql.raw(
                            """
                            UPDATE aw_results SET \
                            raw_status = CASE WHEN raw_status < \(bind: level) THEN \(bind: level) ELSE raw_status END, \
                            status = CASE WHEN status < \(bind: level) THEN \(bind: level) ELSE status END, \
                            \(unsafeRaw: column) = COALESCE(\(unsafeRaw: column), \(bind: item.time)), \
                            reported = (reported OR \(bind: level == 0)), modified_at = \(bind: item.time) \
                            WHERE id = \(bind: item.resultID)
                            """
                        ).run()
                    } else {
                        try await sql.raw(
                            """
                            UPDATE aw_results SET \
                            raw_status = CASE WHEN raw_status < \(bind: level) THEN \(bind: level) ELSE raw_status END, \
                            scanner_hits = scanner_hits + 1, modified_at = \(bind: item.time) \
                            WHERE id = \(bind: item.resultID)
                            """
                        ).run()
                    }
                }
                try await Self.assignTrainingAfter(items, now: items.last?.time ?? 0, on: sql)
                try await Self.insertEvents(sql, items.map { ($0.establishment, $0.resultID, $0.event) })
            }
        } catch {
            await tracking.written(putBack: items)
            throw error
        }
        await tracking.written()
        for (establishment, group) in Dictionary(grouping: items, by: \.establishment) {
            await notifyWebhooks(establishment: establishment, events: group.map(\.event))
        }
    }

    /// The programme's automatic training: whoever clicked (or submitted) gets the module, due in the
    /// programme's number of days, unless they have it open or took it in the last year.
    static func assignTrainingAfter(_ items: [TrackingCache.Pending], now: Int64, on sql: any SQLDatabase) async throws
    {
        var programmes: [UUID: Programme] = [:]
        for item in items where item.scannerReason == nil {
            let programme: Programme
            if let known = programmes[item.establishment] {
                programme = known
            } else {
                programme = try await Self.programme(item.establishment, on: sql)
                programmes[item.establishment] = programme
            }
            let module: String?
            switch item.action {
            case .click: module = programme.trainingAfterClick
            case .submit: module = programme.trainingAfterSubmit ?? programme.trainingAfterClick
            default: module = nil
            }
            guard let module,
                let row = try await sql.raw("SELECT * FROM aw_results WHERE id = \(bind: item.resultID)").first()
            else { continue }
            let person = try Self.target(row).target  // results carry the target's columns
            let due = Date(milliseconds: now + Int64(programme.trainingDueDays) * Self.day).utcDay
            _ = try await insertAssignment(
                sql, establishment: item.establishment, person: person, module: module,
                reason: item.action == .click ? "click" : "submit", dueOn: due, now: now, by: "hygie")
        }
    }

    static func message(_ action: TrackingAction) -> String {
        switch action {
        case .open: EventMessage.opened
        case .click: EventMessage.clicked
        case .submit: EventMessage.submitted
        case .report: EventMessage.reported
        }
    }

    // MARK: Webhooks

    /// Posts each event to the establishment's active webhooks, signed like GoPhish (`X-Gophish-Signature:
    /// sha256=<HMAC-SHA256 of the body>`). Best effort, off the request path: a slow receiver delays nobody.
    func notifyWebhooks(establishment: UUID, events: [TimelineEvent]) async {
        let now = clock.now().timeIntervalSince1970
        var hooks = await tracking.hooks(establishment, now: now)
        if hooks == nil {
            let rows =
                (try? await sql.raw(
                    """
                    SELECT url, secret_sealed FROM aw_webhooks WHERE establishment_id = \(bind: establishment) \
                    AND is_active = \(bind: true)
                    """
                ).all()) ?? []
            let loaded: [(url: String, secret: String)] = rows.compactMap { row in
                guard let url = try? row.decode(column: "url", as: String.self) else { return nil }
                let sealed = try? row.decode(column: "secret_sealed", as: Data?.self)
                let secret = sealed.flatMap { try? secrets?.open($0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
                return (url, secret)
            }
            await tracking.store(hooks: loaded, for: establishment, now: now)
            hooks = loaded
        }
        guard let hooks, !hooks.isEmpty else { return }
        let bodies = events.map { event in
            let object: [String: Any] = [
                "campaign_id": event.campaignId, "email": event.email, "time": Self.timestamp(event.time),
                "message": event.message, "details": event.details,
            ]
            return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        }
        Task.detached {
            for body in bodies {
                for hook in hooks { try? await Self.post(body, to: hook.url, secret: hook.secret) }
            }
        }
    }

    static func post(_ body: Data, to url: String, secret: String) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Hygie")
        request.headers.add(name: "X-Gophish-Signature", value: "sha256=" + signature(body, secret: secret))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        guard (200..<300).contains(response.status.code) else {
            throw AwarenessError.invalid("the webhook answered HTTP \(response.status.code)")
        }
    }

    static func signature(_ body: Data, secret: String) -> String {
        HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// Sends a signed test payload to a webhook and says whether it answered 2xx.
    public func validateWebhook(_ id: Int64, in scope: TenantScope) async throws -> Webhook {
        let hook = try await webhook(id, in: scope)
        let sealed = try await sql.raw("SELECT secret_sealed FROM aw_webhooks WHERE id = \(bind: id)").first()?
            .decode(column: "secret_sealed", as: Data?.self)
        let secret = sealed.flatMap { try? secrets?.open($0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let body = Data(
            #"{"message":"Hygie webhook check","success":true,"time":"\#(Self.timestamp(clock.now()))"}"#.utf8)
        do {
            try await Self.post(body, to: hook.url, secret: secret)
        } catch let error as AwarenessError {
            throw error
        } catch {
            throw AwarenessError.invalid("the webhook cannot be reached: \(error)")
        }
        return hook
    }

    /// RFC 3339 with milliseconds, in UTC, as GoPhish clients parse it.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
