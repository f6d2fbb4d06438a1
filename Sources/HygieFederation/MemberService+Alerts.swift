public import FederationCore
import FluentKit
public import Foundation
public import HygieCore
import HygieIntel
public import HygieStorage
import HygieVulnerabilities
import SQLKit
import STIX
import VulnCore

/// Broadcast alerts at an establishment: fetched from the hub during each push round, their indicators added to
/// detection, and answered automatically from the inventory and the sightings, until the security team confirms
/// or corrects the answer. Answers travel through the outbox like everything else.
extension MemberService {
    /// Fetches the hub's alerts and keeps the new ones; nil when it worked, else why not (the round goes on).
    func fetchAlerts(_ establishment: UUID, _ credentials: (hub: String, member: UUID, secret: String)) async
        -> String?
    {
        let path = "/federation/v1/broadcasts"
        let body = Array("{}".utf8)
        do {
            let response = try await transport(for: credentials.hub).post(
                credentials.hub, path: path,
                headers: signed(path, body: body, member: credentials.member, secret: credentials.secret), body: body)
            guard response.status == 200,
                let list = try? HubService.decoder.decode(BroadcastList.self, from: Data(response.body))
            else { return "the hub's alerts could not be read (HTTP \(response.status))" }
            for broadcast in list.broadcasts {
                // Checked again here: an alert that is not what the protocol allows is skipped.
                guard (try? broadcast.validate()) != nil else { continue }
                let stored = String(decoding: try HubService.encoder.encode(broadcast), as: UTF8.self)
                let inserted = try await sql.raw(
                    """
                    INSERT INTO fed_alerts (establishment_id, uid, body, received_at, automatic) VALUES \
                    (\(bind: establishment), \(bind: broadcast.uid), \(bind: stored), \(bind: clock.now().milliseconds), \
                    \(bind: true)) ON CONFLICT (establishment_id, uid) DO NOTHING RETURNING uid
                    """
                ).all()
                guard !inserted.isEmpty else { continue }
                _ = try await intel.addBroadcastIndicators(
                    broadcast.indicators, broadcast: broadcast.uid, title: broadcast.title,
                    tlp: TLP(name: broadcast.tlp) ?? .amber, published: broadcast.publishedAt,
                    for: Establishment.ID(establishment))
            }
            return nil
        } catch {
            return "the hub's alerts could not be fetched: \(error)"
        }
    }

    /// Re-evaluates every alert still answered automatically and queues an answer when it changed.
    func answerAlerts(_ establishment: UUID) async throws {
        let rows = try await sql.raw(
            """
            SELECT uid, body, answer FROM fed_alerts WHERE establishment_id = \(bind: establishment) AND automatic = \
            \(bind: true) AND received_at >= \(bind: clock.now().addingTimeInterval(-180 * 86_400).milliseconds)
            """
        ).all()
        let broadcasts = try rows.map {
            try HubService.decoder.decode(
                Broadcast.self, from: Data(try $0.decode(column: "body", as: String.self).utf8))
        }
        let answers = try await evaluate(broadcasts, for: Establishment.ID(establishment))
        for (row, answer) in zip(rows, answers) {
            let previous = try row.decode(column: "answer", as: String?.self).flatMap {
                try? HubService.decoder.decode(BroadcastAnswer.self, from: Data($0.utf8))
            }
            if var previous {
                previous.answeredAt = answer.answeredAt
                if previous == answer { continue }
            }
            try await store(answer, for: establishment, on: sql)
        }
    }

    /// The automatic answers to alerts, from the inventory and the sightings (each read once).
    public func evaluate(_ broadcasts: [Broadcast], for establishment: Establishment.ID) async throws
        -> [BroadcastAnswer]
    {
        let records = broadcasts.map { broadcast in
            var record = VulnerabilityRecord(id: "hub:\(broadcast.uid)", source: .csaf)
            record.affected = broadcast.products.map(Self.affected)
            return record
        }
        let exposures = try await vulnerabilities.exposures(to: records, for: establishment)
        let hits = try await intel.sightingCounts(
            of: broadcasts.map { Set($0.indicators.flatMap { BroadcastIndicators.observables($0) ?? [] }) },
            for: establishment)
        return zip(broadcasts, zip(exposures, hits)).map { broadcast, figures in
            var exposure = figures.0
            let hits = figures.1
            // An alert made only of indicators is decided by the sightings: no product, nothing affected by one.
            if broadcast.products.isEmpty {
                exposure = ProductExposure()
                exposure.inventoryAssets = max(1, figures.0.inventoryAssets)
            }
            return BroadcastAnswer(
                broadcastUID: broadcast.uid,
                status: BroadcastAnswer.decide(
                    affectedAssets: exposure.affectedAssets, unknownVersionAssets: exposure.unknownVersionAssets,
                    inventoryAssets: exposure.inventoryAssets, indicatorHits: hits),
                automatic: true, affectedAssets: exposure.affectedAssets, exposedAssets: exposure.exposedAssets,
                unknownVersionAssets: exposure.unknownVersionAssets, inventoryAssets: figures.0.inventoryAssets,
                indicatorHits: hits, comment: "", answeredAt: clock.now())
        }
    }

    /// A broadcast product as the vulnerability matcher reads advisories: the range affected, the rest not.
    static func affected(_ range: ProductRange) -> AffectedProduct {
        var product = AffectedProduct(vendor: range.vendor, product: range.product)
        if let text = range.cpe, let cpe = try? CPE(parsing: text) { product.cpes = [cpe] }
        product.defaultStatus = .unaffected
        let every = range.versionStart == nil && range.versionEnd == nil
        product.versions = [
            AffectedVersion(
                status: .affected, version: range.versionStart ?? "0",
                lessThan: range.endInclusive ? nil : range.versionEnd,
                lessThanOrEqual: range.endInclusive ? range.versionEnd : nil,
                openEnded: range.versionEnd == nil && !every, all: every, scheme: .generic)
        ]
        return product
    }

    /// Keeps the answer and queues it for the hub, on `db` (the caller's transaction when there is one).
    func store(_ answer: BroadcastAnswer, for establishment: UUID, on db: any SQLDatabase) async throws {
        let body = String(decoding: try HubService.encoder.encode(answer), as: UTF8.self)
        try await db.raw(
            """
            UPDATE fed_alerts SET answer = \(bind: body), status = \(bind: answer.status.rawValue), \
            automatic = \(bind: answer.automatic) WHERE establishment_id = \(bind: establishment) \
            AND uid = \(bind: answer.broadcastUID)
            """
        ).run()
        try await enqueue([("answer", "\(answer.broadcastUID):\(body.sha256Hex)", body)], for: establishment, on: db)
    }

    /// The alerts received from the hub, newest first, with this establishment's current answer.
    public func alerts(in scope: TenantScope) async throws -> [ReceivedAlert] {
        try scope.require(Self.readers)
        return try await sql.raw(
            """
            SELECT body, answer, received_at FROM fed_alerts WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            ORDER BY received_at DESC LIMIT 200
            """
        ).all().map { row in
            ReceivedAlert(
                broadcast: try HubService.decoder.decode(
                    Broadcast.self, from: Data(try row.decode(column: "body", as: String.self).utf8)),
                answer: try row.decode(column: "answer", as: String?.self).flatMap {
                    try? HubService.decoder.decode(BroadcastAnswer.self, from: Data($0.utf8))
                },
                receivedAt: Date(milliseconds: try row.decode(column: "received_at", as: Int64.self)))
        }
        .sorted { $0.broadcast.publishedAt > $1.broadcast.publishedAt }
    }

    /// The security team's answer: it replaces the automatic one (counts are kept) and goes to the hub with the
    /// next round; `automatic` hands the alert back to the automatic evaluation.
    public func answer(alert uid: String, status: String, comment: String, in scope: TenantScope) async throws
        -> BroadcastAnswer
    {
        try scope.require(Self.managers)
        let establishment = scope.establishmentID.uuid
        guard let current = try await alerts(in: scope).first(where: { $0.broadcast.uid == uid }) else {
            throw FederationServiceError.notFound("alert")
        }
        guard var answer = try await evaluate([current.broadcast], for: scope.establishmentID).first else {
            throw FederationServiceError.notFound("alert")
        }
        if status != "automatic" {
            guard let chosen = BroadcastAnswer.Status(rawValue: status) else {
                throw FederationServiceError.invalid("answer affected, not_affected, unknown or automatic")
            }
            answer.status = chosen
            answer.automatic = false
            answer.comment = comment.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        do {
            try answer.validate()
        } catch {
            throw FederationServiceError.invalid(error.description)
        }
        let confirmed = answer
        try await audit.recording(
            AuditEntry(
                action: "federation.alert.answer", objectType: "federation_alert", objectID: uid,
                summary: "answered \(confirmed.status.rawValue) to \(current.broadcast.title)",
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            try await self.store(confirmed, for: establishment, on: db)
        }
        return confirmed
    }
}

/// An alert as the establishment received it, with its current answer (nil until evaluated).
public struct ReceivedAlert: Sendable, Hashable, Codable {
    public var broadcast: Broadcast
    public var answer: BroadcastAnswer?
    public var receivedAt: Date
}
