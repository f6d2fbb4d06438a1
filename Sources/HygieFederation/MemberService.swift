import AsyncHTTPClient
import ComplianceCore
public import FederationCore
import FluentKit
public import Foundation
public import HygieCompliance
public import HygieCore
public import HygieIncidents
public import HygieIntel
public import HygieStorage
public import HygieVulnerabilities
import NIOCore
import NIOHTTP1
import SQLKit

/// The establishment side of the federation: join a hub with an enrolment token, then push, on a schedule, a
/// snapshot of aggregates (compliance scores per framework and theme, module indicators) and a copy of every
/// declaration. What is to be sent goes through an outbox first: a push that fails (network cut, hub down) is
/// retried with backoff from where it stopped, and the hub's idempotence makes a repeated delivery harmless.
public struct MemberService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock
    let secrets: SecretBox?
    let compliance: ComplianceService
    let cases: CaseService
    let vulnerabilities: VulnService
    let intel: IntelService
    let transport: any FederationTransport

    static let managers: Set<Role> = [.admin, .rssi]
    static let readers: Set<Role> = [.admin, .rssi, .auditor]
    /// A snapshot a day (a little less, so that a daily job never skips one).
    public static let snapshotInterval: TimeInterval = 20 * 3600

    public init(
        database: DatabaseService, audit: AuditTrail, clock: any HygieClock, secrets: SecretBox?,
        compliance: ComplianceService, cases: CaseService, vulnerabilities: VulnService, intel: IntelService,
        transport: any FederationTransport = HTTPTransport()
    ) {
        self.database = database
        self.audit = audit
        self.clock = clock
        self.secrets = secrets
        self.compliance = compliance
        self.cases = cases
        self.vulnerabilities = vulnerabilities
        self.intel = intel
        self.transport = transport
    }

    var sql: any SQLDatabase { database.sql }

    /// The hub address of an establishment whose hub is this very instance (a tenant of the regional agency's
    /// instance): requests go to the hub's dispatcher in process, signed and checked all the same.
    public static let localHub = "local"

    func transport(for hub: String) -> any FederationTransport {
        hub == Self.localHub
            ? InProcessTransport(hub: HubService(database: database, audit: audit, clock: clock, secrets: secrets))
            : transport
    }

    func box() throws -> SecretBox { try requireKey(secrets, "joining a hub") }

    // MARK: Joining

    /// Enrols the scope's establishment with a hub; its first push follows at once.
    public func join(hub url: String, token: String, in scope: TenantScope) async throws -> FederationLink {
        try scope.require(Self.managers)
        let hub = url.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if hub != Self.localHub, let problem = RequestSigner.checkHubURL(hub) {
            throw FederationServiceError.invalid(problem)
        }
        let establishment = scope.establishmentID.uuid
        if try await link(establishment) != nil {
            throw FederationServiceError.invalid("this establishment already belongs to a hub")
        }
        let card = try await card(establishment)
        let body = try HubService.encoder.encode(HubService.Enrolment(token: token, establishment: card))
        let response: FederationResponse
        do {
            response = try await transport(for: hub).post(
                hub, path: "/federation/v1/enrol", headers: [:], body: Array(body))
        } catch {
            throw FederationServiceError.invalid("the hub cannot be reached: \(error)")
        }
        let answer = (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String]) ?? [:]
        guard response.status == 201, let member = answer["member_id"].flatMap(UUID.init(uuidString:)),
            let secret = answer["secret"]
        else {
            throw FederationServiceError.invalid(
                "the hub refused the enrolment: \(answer["error"] ?? "HTTP \(response.status)")")
        }
        let sealed = try box().seal(Data(secret.utf8)).base64EncodedString()
        let now = clock.now().milliseconds
        try await audit.recording(
            AuditEntry(
                action: "federation.join", objectType: "federation_link", objectID: member.uuidString,
                summary: "joined the hub \(hub)", establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            try await db.raw(
                """
                INSERT INTO fed_links (establishment_id, hub_url, member_id, sealed_secret, status, joined_at, last_error) \
                VALUES (\(bind: establishment), \(bind: hub), \(bind: member), \(bind: sealed), 'active', \(bind: now), '')
                """
            ).run()
        }
        var exchangeProblem: String?
        if hub != Self.localHub, let root = answer["taxii_root"].flatMap(UUID.init(uuidString:)),
            let shared = answer["taxii_shared"].flatMap(UUID.init(uuidString:)),
            let inbox = answer["taxii_inbox"].flatMap(UUID.init(uuidString:)), let username = answer["taxii_username"],
            let taxiiSecret = answer["taxii_secret"]
        {
            // The hub's threat intelligence comes down, what the team puts in "Envoyé au hub" goes up.
            do {
                _ = try await intel.connectHubExchange(
                    HubExchange(root: root, down: shared, up: inbox, username: username, secret: taxiiSecret),
                    hubURL: hub, for: scope.establishmentID)
            } catch {
                exchangeProblem = "joined, but the TAXII exchange could not be set up: \(error)"
            }
        }
        _ = try await push(establishment, force: true)
        guard var link = try await link(establishment) else { throw FederationServiceError.notFound("hub link") }
        // Joined all the same: the answer says what is missing.
        if let exchangeProblem { link.lastError = exchangeProblem }
        return link
    }

    public func link(in scope: TenantScope) async throws -> FederationLink? {
        try scope.require(Self.readers)
        return try await link(scope.establishmentID.uuid)
    }

    func link(_ establishment: UUID) async throws -> FederationLink? {
        guard
            let row = try await sql.raw("SELECT * FROM fed_links WHERE establishment_id = \(bind: establishment)")
                .first()
        else { return nil }
        let pending = try await pendingCount(establishment)
        return FederationLink(
            hubURL: try row.decode(column: "hub_url", as: String.self),
            memberID: try row.decode(column: "member_id", as: UUID.self),
            status: try row.decode(column: "status", as: String.self),
            joinedAt: Date(milliseconds: try row.decode(column: "joined_at", as: Int64.self)),
            lastPushAt: try row.decode(column: "last_push_at", as: Int64?.self).map(Date.init(milliseconds:)),
            lastSnapshotAt: try row.decode(column: "last_snapshot_at", as: Int64?.self).map(Date.init(milliseconds:)),
            lastError: try row.decode(column: "last_error", as: String.self), pending: pending)
    }

    func card(_ establishment: UUID) async throws -> Snapshot.EstablishmentCard {
        guard
            let row = try await sql.raw(
                "SELECT name, finess, kind FROM core_establishments WHERE id = \(bind: establishment)"
            ).first()
        else { throw FederationServiceError.notFound("establishment") }
        return Snapshot.EstablishmentCard(
            name: try row.decode(column: "name", as: String.self),
            finess: try row.decode(column: "finess", as: String?.self),
            kind: try row.decode(column: "kind", as: String.self))
    }

    // MARK: What leaves

    /// The snapshot the establishment would push now (shown before joining, and pushed daily).
    public func preview(in scope: TenantScope) async throws -> Snapshot {
        try scope.require(Self.readers)
        return try await snapshot(scope.establishmentID)
    }

    func snapshot(_ establishment: Establishment.ID) async throws -> Snapshot {
        let (frameworks, readings) = try await compliance.standings(for: establishment)
        func percent(_ share: Double?) -> Double? { share.map { ($0 * 1000).rounded() / 10 } }
        return Snapshot(
            snapshotID: UUID().uuidString.lowercased(), takenAt: clock.now(),
            establishment: try await card(establishment.uuid),
            indicators: readings.compactMap { reading in
                reading.measurement.map {
                    Snapshot.IndicatorValue(key: $0.key, value: $0.value, basis: $0.basis, measuredAt: $0.measuredAt)
                }
            },
            compliance: frameworks.map { detail in
                Snapshot.FrameworkScore(
                    urn: detail.framework.urn, name: detail.framework.name, score: percent(detail.overall.score),
                    progress: percent(detail.overall.progress) ?? 0, level: detail.overall.level,
                    status: detail.assessment.status.rawValue,
                    themes: detail.themes.map {
                        Snapshot.ThemeScore(ref: $0.refID, name: $0.name, score: percent($0.summary.score))
                    })
            })
    }

    /// The declaration copies: the title stays home when the case is TLP:RED.
    func declarationCopies(_ establishment: Establishment.ID) async throws -> [DeclarationCopy] {
        try await cases.declarationShares(for: establishment).map { share in
            DeclarationCopy(
                uid: "\(establishment.uuid.uuidString.lowercased()):\(share.id)", regime: share.regime.rawValue,
                status: share.status.rawValue, dueAt: share.dueAt, sentAt: share.sentAt, reference: share.reference,
                incidentType: share.incidentType.rawValue, severity: share.severity.rawValue,
                significant: share.qualification.significant, personalData: share.qualification.personalData,
                nis2: share.qualification.nis2, awareAt: share.awareAt,
                title: share.tlp.lowercased() == "red" ? nil : share.title, tlp: share.tlp)
        }
    }

    // MARK: Pushing

    /// Queues what is due (a snapshot once a day, or now with `force`; each declaration when it changes) and
    /// delivers the outbox in order. Stops at the first network failure: the next round resumes there.
    public func push(in scope: TenantScope, force: Bool = false) async throws -> PushReport {
        try scope.require(Self.managers)
        return try await push(scope.establishmentID.uuid, force: force)
    }

    /// Every linked establishment of this instance (the scheduled job).
    public func pushAll() async throws -> Int {
        var delivered = 0
        for row in try await sql.raw("SELECT establishment_id FROM fed_links WHERE status = 'active'").all() {
            let establishment = try row.decode(column: "establishment_id", as: UUID.self)
            delivered += try await push(establishment, force: false).delivered
        }
        return delivered
    }

    func push(_ establishment: UUID, force: Bool) async throws -> PushReport {
        guard
            let row = try await sql.raw("SELECT * FROM fed_links WHERE establishment_id = \(bind: establishment)")
                .first(),
            try row.decode(column: "status", as: String.self) == "active"
        else { return PushReport(delivered: 0, pending: 0, error: "not linked to an active hub") }
        let credentials = try credentials(row)
        // The hub's alerts come first, so that this round's outbox carries the answers.
        let fetchError = await fetchAlerts(establishment, credentials)
        try await answerAlerts(establishment)
        try await queue(establishment, row: row, force: force)
        if force {
            // Asked for now: what waited for its backoff goes too.
            try await sql.raw(
                """
                UPDATE fed_outbox SET next_at = \(bind: clock.now().milliseconds) WHERE establishment_id = \(bind: establishment) \
                AND sent_at IS NULL
                """
            ).run()
        }
        var report = try await deliver(establishment, credentials)
        if report.error == nil, let fetchError { report.error = fetchError }
        return report
    }

    /// The hub's address, this establishment's member id and its signing secret.
    func credentials(_ row: any SQLRow) throws -> (hub: String, member: UUID, secret: String) {
        guard let sealed = Data(base64Encoded: try row.decode(column: "sealed_secret", as: String.self)) else {
            throw FederationServiceError.invalid("damaged hub secret")
        }
        return (
            try row.decode(column: "hub_url", as: String.self), try row.decode(column: "member_id", as: UUID.self),
            String(decoding: try box().open(sealed), as: UTF8.self)
        )
    }

    /// The headers of a signed request.
    func signed(_ path: String, body: [UInt8], member: UUID, secret: String) -> [String: String] {
        RequestSigner.headers(member: member, secret: secret, path: path, body: body, now: clock.now())
    }

    func queue(_ establishment: UUID, row: any SQLRow, force: Bool) async throws {
        let now = clock.now()
        let last = try row.decode(column: "last_snapshot_at", as: Int64?.self).map(Date.init(milliseconds:))
        var items: [(kind: String, ref: String, body: String)] = []
        if force || last.map({ now.timeIntervalSince($0) >= Self.snapshotInterval }) ?? true {
            let snapshot = try await snapshot(Establishment.ID(establishment))
            items.append(
                (
                    "snapshot", snapshot.snapshotID,
                    String(decoding: try HubService.encoder.encode(snapshot), as: UTF8.self)
                ))
            try await sql.raw(
                "UPDATE fed_links SET last_snapshot_at = \(bind: now.milliseconds) WHERE establishment_id = \(bind: establishment)"
            ).run()
        }
        for copy in try await declarationCopies(Establishment.ID(establishment)) {
            // A new ref whenever what the hub knows changes (sent, new deadline).
            let ref = "\(copy.uid):\(copy.status):\(copy.sentAt?.milliseconds ?? 0):\(copy.dueAt?.milliseconds ?? 0)"
            items.append(("declaration", ref, String(decoding: try HubService.encoder.encode(copy), as: UTF8.self)))
        }
        try await enqueue(items, for: establishment, on: sql)
    }

    func enqueue(
        _ items: [(kind: String, ref: String, body: String)], for establishment: UUID, on db: any SQLDatabase
    ) async throws {
        let now = clock.now()
        for item in items {
            try await db.raw(
                """
                INSERT INTO fed_outbox (establishment_id, kind, ref, body, attempts, next_at, created_at, last_error) \
                VALUES (\(bind: establishment), \(bind: item.kind), \(bind: item.ref), \(bind: item.body), 0, \
                \(bind: now.milliseconds), \(bind: now.milliseconds), '') \
                ON CONFLICT (establishment_id, kind, ref) DO NOTHING
                """
            ).run()
        }
    }

    func deliver(_ establishment: UUID, _ credentials: (hub: String, member: UUID, secret: String)) async throws
        -> PushReport
    {
        let (hub, member, secret) = credentials
        let now = clock.now()
        var delivered = 0
        var failure: String?
        let waiting = try await sql.raw(
            """
            SELECT id, kind, body, attempts, next_at FROM fed_outbox WHERE establishment_id = \(bind: establishment) \
            AND sent_at IS NULL ORDER BY id LIMIT 500
            """
        ).all()
        for item in waiting {
            // In order: an item waiting for its backoff holds back the ones after it.
            if try item.decode(column: "next_at", as: Int64.self) > now.milliseconds { break }
            let id = try item.decode(column: "id", as: Int64.self)
            // `snapshot`, `declaration`, `answer` go to `/snapshots`, `/declarations`, `/answers`.
            let path = "/federation/v1/\(try item.decode(column: "kind", as: String.self))s"
            let body = Array(try item.decode(column: "body", as: String.self).utf8)
            let headers = signed(path, body: body, member: member, secret: secret)
            let attempts = try item.decode(column: "attempts", as: Int64.self) + 1
            do {
                let response = try await transport(for: hub).post(hub, path: path, headers: headers, body: body)
                if (200..<300).contains(response.status) {
                    try await sql.raw(
                        """
                        UPDATE fed_outbox SET sent_at = \(bind: clock.now().milliseconds), attempts = \(bind: attempts), \
                        last_error = '' WHERE id = \(bind: id)
                        """
                    ).run()
                    delivered += 1
                    continue
                }
                let answer = (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String])?[
                    "error"]
                failure = "HTTP \(response.status): \(answer ?? "no reason given")"
                if response.status == 403 {
                    try await sql.raw(
                        "UPDATE fed_links SET status = 'revoked' WHERE establishment_id = \(bind: establishment)"
                    ).run()
                }
            } catch {
                failure = "the hub cannot be reached: \(error)"
            }
            // Backoff: one minute, doubling, at most six hours; the order is kept (this item blocks the next).
            let delay = min(6 * 3600, 60 * (1 << min(Int(attempts) - 1, 10)))
            try await sql.raw(
                """
                UPDATE fed_outbox SET attempts = \(bind: attempts), next_at = \(bind: now.milliseconds + Int64(delay) * 1000), \
                last_error = \(bind: String(failure ?? "").prefix(500).description) WHERE id = \(bind: id)
                """
            ).run()
            break
        }
        try await sql.raw(
            """
            UPDATE fed_links SET last_error = \(bind: failure ?? ""), last_push_at = \
            CASE WHEN \(bind: delivered) > 0 THEN \(bind: clock.now().milliseconds) ELSE last_push_at END \
            WHERE establishment_id = \(bind: establishment)
            """
        ).run()
        return PushReport(delivered: delivered, pending: try await pendingCount(establishment), error: failure)
    }

    func pendingCount(_ establishment: UUID) async throws -> Int {
        try await sql.raw(
            "SELECT COUNT(*) AS n FROM fed_outbox WHERE establishment_id = \(bind: establishment) AND sent_at IS NULL"
        ).first()?.decode(column: "n", as: Int.self) ?? 0
    }
}

/// Federation requests over HTTPS (HTTP on loopback), with a 30-second timeout.
public struct HTTPTransport: FederationTransport {
    public init() {}

    public func post(_ url: String, path: String, headers: [String: String], body: [UInt8]) async throws
        -> FederationResponse
    {
        var request = HTTPClientRequest(url: url + path)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if request.headers["Content-Type"].isEmpty {
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 1 << 20)
        return FederationResponse(status: Int(response.status.code), body: Array(data.readableBytesView))
    }
}
