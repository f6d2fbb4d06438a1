import FederationCore
import FluentKit
public import Foundation
public import HygieCore
public import HygieIntel
public import HygieStorage
import SQLKit

/// The hub side of the federation: a coordinator (`coordinator` role, on the regional agency's or the national
/// CERT's establishment) issues single-use enrolment tokens; an establishment's instance enrols with one and
/// receives a signing secret; it then pushes snapshots (aggregates) and declaration copies, each request signed.
/// Pushes are idempotent: the same snapshot id is stored once, a declaration copy is updated in place.
public struct HubService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock
    let secrets: SecretBox?
    /// Provisions the TAXII exchange of each enrolling member (nil: enrolment without it).
    let intel: IntelService?
    /// The coordinators' overviews, reused while nothing they summarise has changed (one per serving node).
    let overviews: OverviewCache

    static let coordinators: Set<Role> = [.coordinator, .admin]
    public static let maximumBody = 1 << 20

    public init(
        database: DatabaseService, audit: AuditTrail, clock: any HygieClock, secrets: SecretBox?,
        intel: IntelService? = nil, overviews: OverviewCache = OverviewCache()
    ) {
        self.database = database
        self.audit = audit
        self.clock = clock
        self.secrets = secrets
        self.intel = intel
        self.overviews = overviews
    }

    var sql: any SQLDatabase { database.sql }

    func box() throws -> SecretBox { try requireKey(secrets, "a hub") }

    // MARK: Coordinator

    /// A single-use enrolment token for one establishment, valid `days` days; shown once, stored hashed.
    public func createEnrolment(label: String, days: Int = 7, in scope: TenantScope) async throws -> NewEnrolment {
        try scope.require(Self.coordinators)
        let label = label.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !label.isEmpty, label.count <= 200 else {
            throw FederationServiceError.invalid("name the establishment the token is for (200 characters at most)")
        }
        guard (1...90).contains(days) else { throw FederationServiceError.invalid("a token lasts 1 to 90 days") }
        let token = "hye_" + SecureRandom.token()
        let id = UUID()
        let now = clock.now()
        let expires = now.addingTimeInterval(Double(days) * 86_400)
        let establishment = scope.establishmentID.uuid
        try await audit.recording(
            AuditEntry(
                action: "federation.enrolment.create", objectType: "federation_enrolment", objectID: id.uuidString,
                summary: "enrolment token for \(label)", establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            let region =
                try await db.raw(
                    "SELECT region_id FROM core_establishments WHERE id = \(bind: establishment)"
                ).first()?.decode(column: "region_id", as: UUID?.self) ?? nil
            try await db.raw(
                """
                INSERT INTO fed_enrolments (id, coordinator_establishment_id, region_id, label, token_hash, expires_at, \
                created_by, created_at) VALUES (\(bind: id), \(bind: establishment), \(bind: region), \(bind: label), \
                \(bind: token.sha256Hex), \(bind: expires.milliseconds), \(bind: scope.actor.displayName), \
                \(bind: now.milliseconds))
                """
            ).run()
        }
        return NewEnrolment(id: id, token: token, label: label, expiresAt: expires)
    }

    /// Stops accepting a member's pushes; its history stays.
    public func revoke(_ member: UUID, in scope: TenantScope) async throws {
        try scope.require(Self.coordinators)
        let establishment = scope.establishmentID.uuid
        let now = clock.now().milliseconds
        try await audit.recording(
            AuditEntry(
                action: "federation.member.revoke", objectType: "federation_member", objectID: member.uuidString,
                summary: "member \(member.uuidString) revoked", establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            let rows = try await db.raw(
                """
                UPDATE fed_members SET status = 'revoked', revoked_at = \(bind: now) WHERE id = \(bind: member) \
                AND coordinator_establishment_id = \(bind: establishment) RETURNING id
                """
            ).all()
            guard !rows.isEmpty else { throw FederationServiceError.notFound("member") }
        }
    }

    /// Declaration copies of the coordinator's members, soonest deadline first, unsent before sent.
    public func declarations(in scope: TenantScope, limit: Int = 2000) async throws -> [InboxDeclaration] {
        try scope.require(Self.coordinators)
        let decoder = Self.decoder
        return try await sql.raw(
            """
            SELECT d.member_id, d.body, d.received_at, d.updated_at, m.name FROM fed_declarations d \
            JOIN fed_members m ON m.id = d.member_id WHERE m.coordinator_establishment_id = \
            \(bind: scope.establishmentID.uuid) ORDER BY CASE WHEN d.status = 'sent' THEN 1 ELSE 0 END, \
            d.due_at, d.id DESC LIMIT \(unsafeRaw: String(max(1, min(limit, 2000))))
            """
        ).all().map { row in
            InboxDeclaration(
                memberID: try row.decode(column: "member_id", as: UUID.self),
                member: try row.decode(column: "name", as: String.self),
                copy: try decoder.decode(
                    DeclarationCopy.self, from: Data(try row.decode(column: "body", as: String.self).utf8)),
                receivedAt: Date(milliseconds: try row.decode(column: "received_at", as: Int64.self)),
                updatedAt: Date(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
        }
    }

    // MARK: Protocol

    /// The protocol's JSON: the types' own snake_case keys, times in milliseconds since 1970.
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    struct Enrolment: Codable {
        var token: String
        var establishment: Snapshot.EstablishmentCard
    }

    /// Answers one federation request (`POST /federation/v1/enrol`, `/snapshots`, `/declarations`, `/broadcasts`
    /// (the alerts for the member), `/answers`). Errors are
    /// answered, never thrown: 400 malformed, 401 bad signature, 403 revoked, 404 unknown path, 413 too large.
    public func handle(method: String, path: String, headers: [String: String], body: [UInt8]) async
        -> FederationResponse
    {
        guard method == "POST" else { return .json(405, ["error": "use POST"]) }
        guard body.count <= Self.maximumBody else { return .json(413, ["error": "body larger than 1 MiB"]) }
        do {
            switch path {
            case "/federation/v1/enrol": return try await enrol(body)
            case "/federation/v1/snapshots", "/federation/v1/declarations", "/federation/v1/broadcasts",
                "/federation/v1/answers":
                let member = try await authenticate(path: path, headers: headers, body: body)
                switch path {
                case "/federation/v1/snapshots": return try await receiveSnapshot(member, body)
                case "/federation/v1/declarations": return try await receiveDeclaration(member, body)
                case "/federation/v1/broadcasts": return try await broadcasts(for: member)
                default: return try await receiveAnswer(member, body)
                }
            default: return .json(404, ["error": "unknown federation path"])
            }
        } catch let error as FederationError {
            switch error {
            case .invalid(let message): return .json(400, ["error": message])
            case .unauthorized(let message): return .json(401, ["error": message])
            case .revoked: return .json(403, ["error": error.description])
            case .unreachable(let message): return .json(503, ["error": message])
            }
        } catch {
            return .json(500, ["error": "the hub could not store this"])
        }
    }

    func enrol(_ body: [UInt8]) async throws -> FederationResponse {
        guard let request = try? Self.decoder.decode(Enrolment.self, from: Data(body)) else {
            throw FederationError.invalid("expected {token, establishment: {name, finess, kind}}")
        }
        let card = request.establishment
        try Snapshot(snapshotID: "enrol", takenAt: clock.now(), establishment: card, indicators: [], compliance: [])
            .validate()
        let box = try box()
        let secret = SecureRandom.token()
        let sealed = try box.seal(Data(secret.utf8)).base64EncodedString()
        let member = UUID()
        let now = clock.now().milliseconds
        let hash = request.token.sha256Hex
        let coordinator = try await database.transaction { db in
            let sql = db as! any SQLDatabase  // both drivers are SQL databases
            // Claimed with one UPDATE: two enrolments racing for a token, one wins.
            guard
                let enrolment = try await sql.raw(
                    """
                    UPDATE fed_enrolments SET used_at = \(bind: now), member_id = \(bind: member) \
                    WHERE token_hash = \(bind: hash) AND used_at IS NULL AND expires_at > \(bind: now) \
                    RETURNING coordinator_establishment_id, region_id, label
                    """
                ).first()
            else { throw FederationError.unauthorized("unknown, used or expired enrolment token") }
            try await sql.raw(
                """
                INSERT INTO fed_members (id, coordinator_establishment_id, region_id, name, finess, kind, label, \
                sealed_secret, status, enrolled_at) VALUES (\(bind: member), \
                \(bind: try enrolment.decode(column: "coordinator_establishment_id", as: UUID.self)), \
                \(bind: try enrolment.decode(column: "region_id", as: UUID?.self)), \(bind: card.name), \
                \(bind: card.finess), \(bind: card.kind), \(bind: try enrolment.decode(column: "label", as: String.self)), \
                \(bind: sealed), 'active', \(bind: now))
                """
            ).run()
            return try enrolment.decode(column: "coordinator_establishment_id", as: UUID.self)
        }
        var answer = ["member_id": member.uuidString, "secret": secret]
        if let intel {
            // TAXII exchange with the hub: read its shared collection, write to its inbox.
            let exchange = try await intel.provisionHubExchange(
                coordinator: Establishment.ID(coordinator), member: member, organisation: card.name)
            answer["taxii_root"] = exchange.root.uuidString.lowercased()
            answer["taxii_shared"] = exchange.down.uuidString.lowercased()
            answer["taxii_inbox"] = exchange.up.uuidString.lowercased()
            answer["taxii_username"] = exchange.username
            answer["taxii_secret"] = exchange.secret
        }
        return .json(201, answer)
    }

    func authenticate(path: String, headers: [String: String], body: [UInt8]) async throws -> UUID {
        guard let text = headers[RequestSigner.memberHeader.lowercased()], let member = UUID(uuidString: text) else {
            throw FederationError.unauthorized("missing member header")
        }
        guard
            let row = try await sql.raw("SELECT sealed_secret, status FROM fed_members WHERE id = \(bind: member)")
                .first()
        else { throw FederationError.unauthorized("unknown member") }
        guard let sealed = Data(base64Encoded: try row.decode(column: "sealed_secret", as: String.self)) else {
            throw FederationError.unauthorized("unknown member")
        }
        let secret = String(decoding: try box().open(sealed), as: UTF8.self)
        try RequestSigner.verify(
            secret: secret, method: "POST", path: path, timestamp: headers[RequestSigner.timestampHeader.lowercased()],
            signature: headers[RequestSigner.signatureHeader.lowercased()], body: body, now: clock.now())
        guard try row.decode(column: "status", as: String.self) == "active" else { throw FederationError.revoked }
        try await sql.raw(
            "UPDATE fed_members SET last_seen_at = \(bind: clock.now().milliseconds) WHERE id = \(bind: member)"
        ).run()
        return member
    }

    func receiveSnapshot(_ member: UUID, _ body: [UInt8]) async throws -> FederationResponse {
        guard let snapshot = try? Self.decoder.decode(Snapshot.self, from: Data(body)) else {
            throw FederationError.invalid("not a snapshot")
        }
        try snapshot.validate()
        let now = clock.now().milliseconds
        let stored = String(decoding: try Self.encoder.encode(snapshot), as: UTF8.self)
        let inserted = try await database.transaction { db in
            let sql = db as! any SQLDatabase  // both drivers are SQL databases
            let rows = try await sql.raw(
                """
                INSERT INTO fed_snapshots (member_id, snapshot_uid, taken_at, received_at, body) VALUES \
                (\(bind: member), \(bind: snapshot.snapshotID), \(bind: snapshot.takenAt.milliseconds), \(bind: now), \
                \(bind: stored)) ON CONFLICT (member_id, snapshot_uid) DO NOTHING RETURNING id
                """
            ).all()
            if !rows.isEmpty,
                let owner = try await sql.raw(
                    "SELECT coordinator_establishment_id, last_snapshot_at FROM fed_members WHERE id = \(bind: member)"
                ).first()
            {
                let last = try owner.decode(column: "last_snapshot_at", as: Int64?.self) ?? .min
                try await Self.recordValues(
                    snapshot, member: member,
                    coordinator: try owner.decode(column: "coordinator_establishment_id", as: UUID.self),
                    latest: snapshot.takenAt.milliseconds >= last, on: sql)
            }
            try await sql.raw(
                """
                UPDATE fed_members SET name = \(bind: snapshot.establishment.name), \
                finess = \(bind: snapshot.establishment.finess), last_snapshot_at = CASE WHEN last_snapshot_at IS NULL \
                OR last_snapshot_at < \(bind: snapshot.takenAt.milliseconds) THEN \(bind: snapshot.takenAt.milliseconds) \
                ELSE last_snapshot_at END WHERE id = \(bind: member)
                """
            ).run()
            return !rows.isEmpty
        }
        return .json(inserted ? 201 : 200, ["result": inserted ? "stored" : "duplicate"])
    }

    func receiveDeclaration(_ member: UUID, _ body: [UInt8]) async throws -> FederationResponse {
        guard let copy = try? Self.decoder.decode(DeclarationCopy.self, from: Data(body)) else {
            throw FederationError.invalid("not a declaration copy")
        }
        try copy.validate()
        let now = clock.now().milliseconds
        let stored = String(decoding: try Self.encoder.encode(copy), as: UTF8.self)
        try await sql.raw(
            """
            INSERT INTO fed_declarations (member_id, uid, regime, status, due_at, sent_at, body, received_at, \
            updated_at) VALUES (\(bind: member), \(bind: copy.uid), \(bind: copy.regime), \(bind: copy.status), \
            \(bind: copy.dueAt?.milliseconds), \(bind: copy.sentAt?.milliseconds), \(bind: stored), \(bind: now), \
            \(bind: now)) ON CONFLICT (member_id, uid) DO UPDATE SET regime = EXCLUDED.regime, status = EXCLUDED.status, \
            due_at = EXCLUDED.due_at, sent_at = EXCLUDED.sent_at, body = EXCLUDED.body, updated_at = EXCLUDED.updated_at
            """
        ).run()
        return .json(200, ["result": "stored"])
    }
}
