public import FluentKit
import Foundation
public import HygieCore
public import SQLKit

/// What happened, for the audit trail. The actor, time and chain are added by ``AuditTrail``.
public struct AuditEntry: Sendable {
    /// Dotted verb such as `user.create`, `auth.login.failed`, `token.revoke`.
    public var action: String
    public var objectType: String
    public var objectID: String?
    /// One human sentence, never a secret.
    public var summary: String
    /// The establishment the event concerns; defaults to the actor's.
    public var establishmentID: Establishment.ID?

    public init(
        action: String, objectType: String, objectID: String?, summary: String,
        establishmentID: Establishment.ID? = nil
    ) {
        self.action = action
        self.objectType = objectType
        self.objectID = objectID
        self.summary = summary
        self.establishmentID = establishmentID
    }
}

/// An event read back from the trail.
public struct AuditEvent: Sendable, Hashable, Codable, Identifiable {
    public let id: UUID
    public let sequence: Int64
    public let establishmentID: Establishment.ID?
    public let actorUserID: User.ID?
    public let actorName: String
    public let actorRole: String
    public let channel: String
    public let action: String
    public let objectType: String
    public let objectID: String?
    public let summary: String
    public let requestID: String?
    public let sourceAddress: String?
    public let createdAt: Date
    public let hash: String
}

/// The outcome of `hygie audit verify`.
public struct AuditVerification: Sendable, Hashable {
    public let checked: Int
    /// Sequence number of the first event that does not match the chain, with the reason.
    public let firstBroken: (sequence: Int64, reason: String)?

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.checked == rhs.checked && lhs.firstBroken?.sequence == rhs.firstBroken?.sequence
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(checked) }
}

/// Filters for browsing the trail.
public struct AuditFilter: Sendable {
    public var action: String?
    public var actor: String?
    public var since: Date?
    public var until: Date?
    public init(action: String? = nil, actor: String? = nil, since: Date? = nil, until: Date? = nil) {
        self.action = action
        self.actor = actor
        self.since = since
        self.until = until
    }
}

/// The append-only, hash-chained record of every change and security event.
///
/// ``record(_:by:on:)`` must be called with the transaction's database, so that the event and the change
/// commit or roll back together.
public struct AuditTrail: Sendable {
    let dialect: SQLDialectKind
    let clock: any HygieClock

    public init(dialect: SQLDialectKind, clock: any HygieClock) {
        self.dialect = dialect
        self.clock = clock
    }

    /// Runs `body` in a transaction of `database` that also records `entry`: the change and its audit event land
    /// together or not at all.
    public func recording<T: Sendable>(
        _ entry: AuditEntry, by actor: Actor, in database: DatabaseService,
        _ body: @Sendable @escaping (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await database.transaction { db in
            let result = try await body(db as! any SQLDatabase)  // Both drivers are SQL databases.
            try await self.record(entry, by: actor, on: db)
            return result
        }
    }

    /// Appends one event to the chain.
    public func record(_ entry: AuditEntry, by actor: Actor, on db: any Database) async throws {
        let sql = db as! any SQLDatabase  // both drivers are SQL databases
        // SECURITY: the head row is locked so that concurrent appenders (other nodes) queue up behind it.
        let head = try await sql.raw(
            "SELECT sequence, hash FROM core_audit_head WHERE id = 1\(unsafeRaw: dialect.forUpdate)"
        ).first()
        guard let head else { throw HygieStorageError.auditChainBroken(sequence: 0, reason: "missing chain head") }
        let previousSequence = try head.decode(column: "sequence", as: Int64.self)
        let previousHash = try head.decode(column: "hash", as: String.self)

        let event = AuditEventModel()
        event.id = UUID()
        event.sequence = previousSequence + 1
        event.establishmentID = (entry.establishmentID ?? actor.establishmentID)?.uuid
        event.actorUserID = actor.userID?.uuid
        event.actorName = String(actor.displayName.prefix(200))
        event.actorRole = actor.role.rawValue
        event.channel = actor.channel
        event.action = entry.action
        event.objectType = entry.objectType
        event.objectID = entry.objectID
        event.summary = String(entry.summary.prefix(1000))
        event.requestID = actor.requestID
        event.sourceAddress = actor.sourceAddress
        event.createdAt = AuditChain.truncated(clock.now())
        event.previousHash = previousHash
        event.hash = AuditChain.hash(of: event)
        try await event.create(on: db)
        try await sql.raw(
            "UPDATE core_audit_head SET sequence = \(bind: event.sequence), hash = \(bind: event.hash) WHERE id = 1"
        ).run()
    }

    /// Walks the whole chain and reports the first event whose hash or link does not match.
    public func verify(on db: any Database) async throws -> AuditVerification {
        var expectedPrevious = AuditChain.genesisHash
        var expectedSequence: Int64 = 1
        var checked = 0
        while true {
            let batch = try await AuditEventModel.query(on: db)
                .filter(\.$sequence >= expectedSequence)
                .sort(\.$sequence).limit(1000).all()
            if batch.isEmpty { break }
            for event in batch {
                if event.sequence != expectedSequence {
                    return AuditVerification(
                        checked: checked, firstBroken: (expectedSequence, "event missing (found #\(event.sequence))"))
                }
                if event.previousHash != expectedPrevious {
                    return AuditVerification(
                        checked: checked, firstBroken: (event.sequence, "link to the previous event does not match"))
                }
                if AuditChain.hash(of: event) != event.hash {
                    return AuditVerification(
                        checked: checked, firstBroken: (event.sequence, "content does not match its hash"))
                }
                expectedPrevious = event.hash
                expectedSequence += 1
                checked += 1
            }
        }
        let head = try await AuditHeadModel.find(1, on: db)
        if let head, head.sequence != expectedSequence - 1 || head.hash != expectedPrevious {
            return AuditVerification(
                checked: checked, firstBroken: (expectedSequence, "events after #\(expectedSequence - 1) were removed"))
        }
        return AuditVerification(checked: checked, firstBroken: nil)
    }

    /// A page of events, newest first. `establishmentID` nil means every establishment (instance admin).
    public func page(
        establishmentID: Establishment.ID?, filter: AuditFilter, before: Int64?, limit: PageSize, on db: any Database
    ) async throws -> (events: [AuditEvent], nextBefore: Int64?) {
        let query = AuditEventModel.query(on: db)
        if let establishmentID { query.filter(\.$establishmentID == establishmentID.uuid) }
        if let action = filter.action, !action.isEmpty { query.filter(\.$action, .custom("LIKE"), "\(action)%") }
        if let actor = filter.actor, !actor.isEmpty { query.filter(\.$actorName, .custom("LIKE"), "%\(actor)%") }
        if let since = filter.since { query.filter(\.$createdAt >= since) }
        if let until = filter.until { query.filter(\.$createdAt < until) }
        if let before { query.filter(\.$sequence < before) }
        let rows = try await query.sort(\.$sequence, .descending).limit(limit.value + 1).all()
        let events = rows.prefix(limit.value).map(Self.event)
        return (events, rows.count > limit.value ? events.last?.sequence : nil)
    }

    /// Counts of events per UTC day over the last `days` days (dashboard chart).
    public func dailyCounts(
        establishmentID: Establishment.ID?, actionPrefix: String, days: Int, on db: any Database
    ) async throws -> [(day: Date, count: Int)] {
        let calendar = Calendar(identifier: .gregorian)
        var utc = calendar
        utc.timeZone = TimeZone(identifier: "UTC")!
        let today = utc.startOfDay(for: clock.now())
        let start = today.addingTimeInterval(-Double(days - 1) * 86_400)
        let query = AuditEventModel.query(on: db).filter(\.$createdAt >= start)
            .filter(\.$action, .custom("LIKE"), "\(actionPrefix)%")
        if let establishmentID { query.filter(\.$establishmentID == establishmentID.uuid) }
        let dates = try await query.field(\.$createdAt).all().map(\.createdAt)
        var buckets = [Int](repeating: 0, count: days)
        for date in dates {
            let index = Int(utc.startOfDay(for: date).timeIntervalSince(start) / 86_400)
            if buckets.indices.contains(index) { buckets[index] += 1 }
        }
        return buckets.enumerated().map { (start.addingTimeInterval(Double($0.offset) * 86_400), $0.element) }
    }

    static func event(_ model: AuditEventModel) -> AuditEvent {
        AuditEvent(
            id: model.id!, sequence: model.sequence, establishmentID: model.establishmentID.map(Establishment.ID.init),
            actorUserID: model.actorUserID.map(User.ID.init), actorName: model.actorName, actorRole: model.actorRole,
            channel: model.channel, action: model.action, objectType: model.objectType, objectID: model.objectID,
            summary: model.summary, requestID: model.requestID, sourceAddress: model.sourceAddress,
            createdAt: model.createdAt, hash: model.hash)
    }
}
