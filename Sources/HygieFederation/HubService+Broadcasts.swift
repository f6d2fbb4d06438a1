public import FederationCore
import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import SQLKit

/// Broadcast alerts on the hub: a coordinator publishes one; members fetch the alerts of their coordinator during
/// their push round and answer through their outbox; the coordinator sees who is affected and who has not answered.
extension HubService {
    /// Publishes an alert to every member of the coordinator's establishment. Product lines and indicator lines
    /// are read as `ProductRange.parse(line:)` and `BroadcastIndicators.pattern(line:)` read them. The alert's
    /// `uid` is its id on the hub, in lower case.
    public func publish(_ draft: BroadcastDraft, in scope: TenantScope) async throws -> Broadcast {
        try scope.require(Self.coordinators)
        let id = UUID()
        let broadcast: Broadcast
        do {
            broadcast = Broadcast(
                uid: id.uuidString.lowercased(), title: draft.title.trimmingCharacters(in: .whitespaces),
                summary: draft.summary.trimmingCharacters(in: .whitespacesAndNewlines), severity: draft.severity,
                tlp: draft.tlp, references: draft.references.filter { !$0.isEmpty },
                products: try draft.productLines.filter { !$0.isEmpty }.map(ProductRange.parse(line:)),
                indicators: try draft.indicatorLines.filter { !$0.isEmpty }.map(BroadcastIndicators.pattern(line:)),
                publishedAt: clock.now(), answerBy: draft.answerBy)
            try broadcast.validate()
        } catch {
            throw FederationServiceError.invalid(error.description)
        }
        let body = String(decoding: try Self.encoder.encode(broadcast), as: UTF8.self)
        try await audit.recording(
            AuditEntry(
                action: "federation.broadcast.publish", objectType: "federation_broadcast", objectID: id.uuidString,
                summary: "broadcast \(broadcast.title) (\(broadcast.products.count) products, "
                    + "\(broadcast.indicators.count) indicators)", establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            try await db.raw(
                """
                INSERT INTO fed_broadcasts (id, coordinator_establishment_id, uid, title, severity, body, published_at, \
                answer_by, created_by) VALUES (\(bind: id), \(bind: scope.establishmentID.uuid), \(bind: broadcast.uid), \
                \(bind: broadcast.title), \(bind: broadcast.severity), \(bind: body), \
                \(bind: broadcast.publishedAt.milliseconds), \(bind: broadcast.answerBy?.milliseconds), \
                \(bind: scope.actor.displayName))
                """
            ).run()
        }
        return broadcast
    }

    /// The coordinator's broadcasts, newest first, with their answer counts (one of them with `id`).
    public func broadcasts(in scope: TenantScope, id: UUID? = nil, limit: Int = 100) async throws
        -> [BroadcastSummary]
    {
        try scope.require(Self.coordinators)
        let coordinator = scope.establishmentID.uuid
        let members =
            try await sql.raw(
                """
                SELECT COUNT(*) AS n FROM fed_members WHERE coordinator_establishment_id = \(bind: coordinator) \
                AND status = 'active'
                """
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        let rows = try await sql.raw(
            """
            SELECT id, body FROM fed_broadcasts WHERE coordinator_establishment_id = \(bind: coordinator) \
            \(id.map { "AND id = \(bind: $0)" as SQLQueryString } ?? "") \
            ORDER BY published_at DESC LIMIT \(unsafeRaw: String(max(1, min(limit, 1000))))
            """
        ).all()
        let ids = try rows.map { try $0.decode(column: "id", as: UUID.self) }
        var counts: [UUID: [String: Int]] = [:]
        if !ids.isEmpty {
            for row in try await sql.raw(
                """
                SELECT broadcast_id, status, COUNT(*) AS n FROM fed_answers WHERE broadcast_id IN \
                \(SQLBind.group(ids)) GROUP BY broadcast_id, status
                """
            ).all() {
                counts[try row.decode(column: "broadcast_id", as: UUID.self), default: [:]][
                    try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
            }
        }
        return try rows.map { row in
            let id = try row.decode(column: "id", as: UUID.self)
            return BroadcastSummary(
                id: id, broadcast: try Self.broadcast(row), members: members, counts: counts[id] ?? [:])
        }
    }

    /// One broadcast with every active member's answer (or none yet), affected first; `status` filters
    /// (`affected`, `unknown`, `not_affected`, `none`).
    public func responses(to id: UUID, status: String? = nil, in scope: TenantScope) async throws
        -> BroadcastResponses
    {
        guard let summary = try await broadcasts(in: scope, id: id, limit: 1).first else {
            throw FederationServiceError.notFound("broadcast")
        }
        let rows = try await sql.raw(
            """
            SELECT m.id, m.name, m.finess, a.status, a.body FROM fed_members m LEFT JOIN fed_answers a \
            ON a.member_id = m.id AND a.broadcast_id = \(bind: id) WHERE m.coordinator_establishment_id = \
            \(bind: scope.establishmentID.uuid) AND (m.status = 'active' OR a.status IS NOT NULL) ORDER BY m.name
            """
        ).all()
        let order = ["affected": 0, "unknown": 1, "none": 2, "not_affected": 3]
        let responses = try rows.map { row in
            BroadcastResponse(
                memberID: try row.decode(column: "id", as: UUID.self),
                member: try row.decode(column: "name", as: String.self),
                finess: try row.decode(column: "finess", as: String?.self),
                answer: try row.decode(column: "body", as: String?.self).flatMap {
                    try? Self.decoder.decode(BroadcastAnswer.self, from: Data($0.utf8))
                })
        }
        .filter { status == nil || status == "" || $0.statusKey == status }
        .sorted { (order[$0.statusKey] ?? 9, $0.member) < (order[$1.statusKey] ?? 9, $1.member) }
        return BroadcastResponses(summary: summary, responses: responses)
    }

    static func broadcast(_ row: any SQLRow) throws -> Broadcast {
        try decoder.decode(Broadcast.self, from: Data(try row.decode(column: "body", as: String.self).utf8))
    }

    // MARK: Protocol

    /// The alerts of the member's coordinator from the last 180 days, newest first.
    func broadcasts(for member: UUID) async throws -> FederationResponse {
        let since = clock.now().addingTimeInterval(-180 * 86_400).milliseconds
        let broadcasts = try await sql.raw(
            """
            SELECT b.body FROM fed_broadcasts b JOIN fed_members m ON m.coordinator_establishment_id = \
            b.coordinator_establishment_id WHERE m.id = \(bind: member) AND b.published_at >= \(bind: since) \
            ORDER BY b.published_at DESC LIMIT 200
            """
        ).all().map(Self.broadcast)
        return FederationResponse(
            status: 200, body: Array(try Self.encoder.encode(BroadcastList(broadcasts: broadcasts))))
    }

    func receiveAnswer(_ member: UUID, _ body: [UInt8]) async throws -> FederationResponse {
        guard let answer = try? Self.decoder.decode(BroadcastAnswer.self, from: Data(body)) else {
            throw FederationError.invalid("not a broadcast answer")
        }
        try answer.validate()
        guard
            let broadcast = try await sql.raw(
                """
                SELECT b.id FROM fed_broadcasts b JOIN fed_members m ON m.coordinator_establishment_id = \
                b.coordinator_establishment_id WHERE m.id = \(bind: member) AND b.uid = \(bind: answer.broadcastUID)
                """
            ).first()?.decode(column: "id", as: UUID.self)
        else { throw FederationError.invalid("no such broadcast for this member") }
        let stored = String(decoding: try Self.encoder.encode(answer), as: UTF8.self)
        try await sql.raw(
            """
            INSERT INTO fed_answers (broadcast_id, member_id, status, automatic, body, answered_at, received_at) VALUES \
            (\(bind: broadcast), \(bind: member), \(bind: answer.status.rawValue), \(bind: answer.automatic), \
            \(bind: stored), \(bind: answer.answeredAt.milliseconds), \(bind: clock.now().milliseconds)) \
            ON CONFLICT (broadcast_id, member_id) DO UPDATE SET status = EXCLUDED.status, automatic = EXCLUDED.automatic, \
            body = EXCLUDED.body, answered_at = EXCLUDED.answered_at, received_at = EXCLUDED.received_at
            """
        ).run()
        return .json(200, ["result": "stored"])
    }
}

/// What a coordinator types to publish an alert: one product per line, one indicator per line.
public struct BroadcastDraft: Sendable {
    public var title: String
    public var summary: String
    public var severity: String
    public var tlp: String
    public var references: [String]
    public var productLines: [String]
    public var indicatorLines: [String]
    public var answerBy: Date?

    public init(
        title: String, summary: String, severity: String, tlp: String, references: [String], productLines: [String],
        indicatorLines: [String], answerBy: Date?
    ) {
        self.title = title
        self.summary = summary
        self.severity = severity
        self.tlp = tlp
        self.references = references
        self.productLines = productLines
        self.indicatorLines = indicatorLines
        self.answerBy = answerBy
    }
}

/// A broadcast with how many members answered what.
public struct BroadcastSummary: Sendable, Hashable, Codable {
    public var id: UUID
    public var broadcast: Broadcast
    /// Active members, who are all expected to answer.
    public var members: Int
    /// Answers per status (`affected`, `not_affected`, `unknown`).
    public var counts: [String: Int]

    public var answered: Int { counts.values.reduce(0, +) }
}

/// One member's answer to a broadcast, or none yet.
public struct BroadcastResponse: Sendable, Hashable, Codable {
    public var memberID: UUID
    public var member: String
    public var finess: String?
    public var answer: BroadcastAnswer?

    /// The answer's status, or `none`.
    public var statusKey: String { answer?.status.rawValue ?? "none" }
}

public struct BroadcastResponses: Sendable, Hashable, Codable {
    public var summary: BroadcastSummary
    public var responses: [BroadcastResponse]
}

/// The hub's answer to `POST /federation/v1/broadcasts`.
struct BroadcastList: Codable {
    var broadcasts: [Broadcast]
}
