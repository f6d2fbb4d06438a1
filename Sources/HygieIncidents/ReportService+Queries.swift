import FluentKit
import Foundation
import HygieCore
public import HygieStorage
public import MailTriage
import SQLKit

extension ReportService {
    /// Reports of the scope's establishment, newest first, optionally by status and verdict.
    public func reports(
        in scope: TenantScope, status: ReportStatus? = nil, verdict: Verdict? = nil, limit: Int = 200
    ) async throws -> [Report] {
        try scope.require(Self.analysts)
        var condition = SQLQueryString("1 = 1")
        if let status { condition = "status = \(bind: status.rawValue)" }
        if let verdict { condition = "\(condition) AND verdict = \(bind: verdict.rawValue)" }
        return try await Self.reports(
            sql, condition, establishment: scope.establishmentID.uuid, limit: max(1, min(limit, 1_000)))
    }

    /// One report with its analysis and the other reports of its campaign.
    public func detail(_ id: Int64, in scope: TenantScope) async throws -> ReportDetail {
        try scope.require(Self.analysts)
        let establishment = scope.establishmentID.uuid
        guard let report = try await Self.reports(sql, "id = \(bind: id)", establishment: establishment).first,
            let row = try await sql.raw(
                "SELECT analysis FROM inc_reports WHERE id = \(bind: id) AND establishment_id = \(bind: establishment)"
            ).first()
        else { throw IncidentsError.notFound("report") }
        let json = try row.decode(column: "analysis", as: String.self)
        let analysis = json.isEmpty ? nil : try? JSONDecoder().decode(MailAnalysis.self, from: Data(json.utf8))
        let root = report.clusterID ?? report.id
        let cluster =
            report.clusterKey.isEmpty
            ? []
            : try await Self.reports(
                sql, "(id = \(bind: root) OR cluster_id = \(bind: root)) AND id <> \(bind: id)",
                establishment: establishment, limit: 100)
        return ReportDetail(report: report, analysis: analysis, cluster: cluster)
    }

    /// The message as it was reported (the forwarding envelope included), for analysts to examine.
    public func message(_ id: Int64, in scope: TenantScope) async throws -> [UInt8] {
        try scope.require(Self.analysts)
        guard
            let row = try await sql.raw(
                """
                SELECT message FROM inc_reports WHERE id = \(bind: id) \
                AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).first(), let data = try row.decode(column: "message", as: Data?.self)
        else { throw IncidentsError.notFound("reported message") }
        return Array(data)
    }

    /// An analyst's verdict on a report (and, with `cluster`, on every report of its campaign): the reporters
    /// are told (again) by the notification job, and later reports of the campaign get the same answer.
    public func decide(
        _ id: Int64, verdict: Verdict, note: String, cluster: Bool = true, in scope: TenantScope
    ) async throws -> Report {
        try scope.require(Self.analysts)
        guard verdict != .suspicious else {
            throw IncidentsError.invalid("decide malicious, safe or simulation; suspicious is what triage says")
        }
        let note = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard note.count <= 2_000 else { throw IncidentsError.invalid("the note is longer than 2000 characters") }
        let establishment = scope.establishmentID.uuid
        guard let report = try await Self.reports(sql, "id = \(bind: id)", establishment: establishment).first else {
            throw IncidentsError.notFound("report")
        }
        let root = report.clusterID ?? report.id
        let status: ReportStatus = verdict == .malicious ? .open : .closed
        let now = clock.now().milliseconds
        let who = scope.actor.displayName
        try await audit.recording(
            AuditEntry(
                action: "report.decide", objectType: "report", objectID: "\(id)",
                summary: "report \(id)\(cluster ? " and its campaign" : ""): \(verdict.rawValue)",
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            let target: SQLQueryString =
                cluster && !report.clusterKey.isEmpty
                ? "(id = \(bind: root) OR cluster_id = \(bind: root))" : "id = \(bind: id)"
            try await db.raw(
                """
                UPDATE inc_reports SET verdict = \(bind: verdict.rawValue), status = \(bind: status.rawValue), \
                note = \(bind: note), decided_by = \(bind: who), decided_at = \(bind: now), \
                notified_at = NULL WHERE establishment_id = \(bind: establishment) AND \(target)
                """
            ).run()
        }
        return try await Self.reports(sql, "id = \(bind: id)", establishment: establishment)[0]
    }

    /// Closes a report without changing its verdict (handled, or not an e-mail).
    public func close(_ id: Int64, note: String, in scope: TenantScope) async throws {
        try scope.require(Self.analysts)
        let note = String(note.trimmingCharacters(in: .whitespacesAndNewlines).prefix(2_000))
        try await audit.recording(
            AuditEntry(
                action: "report.close", objectType: "report", objectID: "\(id)", summary: "report \(id) closed",
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            let rows = try await db.raw(
                """
                UPDATE inc_reports SET status = 'closed', note = \(bind: note), \
                decided_by = \(bind: scope.actor.displayName), decided_at = \(bind: clock.now().milliseconds) \
                WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid) RETURNING id
                """
            ).all()
            if rows.isEmpty { throw IncidentsError.notFound("report") }
        }
    }

    /// Reports matching `condition` in one establishment, newest first.
    static func reports(
        _ db: any SQLDatabase, _ condition: SQLQueryString, establishment: UUID, limit: Int = 1
    ) async throws -> [Report] {
        try await db.raw(
            """
            SELECT id, establishment_id, kind, channel, reporter_email, reporter_name, reporter_language, \
            description, subject, sender, category, verdict, automatic_verdict, score, reasons, intel_hits, \
            cluster_id, cluster_key, simulation_rid, status, note, decided_by, decided_at, created_at, \
            acknowledged_at, notified_at, case_id, message IS NOT NULL AS has_message FROM inc_reports \
            WHERE establishment_id = \(bind: establishment) AND \(condition) ORDER BY id DESC LIMIT \(unsafeRaw: "\(limit)")
            """
        ).all().map(report)
    }

    static func report(_ row: any SQLRow) throws -> Report {
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map { Date(timeIntervalSince1970: Double($0) / 1000) }
        }
        let reasons = try row.decode(column: "reasons", as: String.self)
        let hits = try row.decode(column: "intel_hits", as: String.self)
        return Report(
            id: try row.decode(column: "id", as: Int64.self),
            establishmentID: Establishment.ID(try row.decode(column: "establishment_id", as: UUID.self)),
            kind: ReportKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .other,
            channel: ReportChannel(rawValue: try row.decode(column: "channel", as: String.self)) ?? .web,
            reporterEmail: try row.decode(column: "reporter_email", as: String.self),
            reporterName: try row.decode(column: "reporter_name", as: String.self),
            reporterLanguage: try row.decode(column: "reporter_language", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            subject: try row.decode(column: "subject", as: String.self),
            sender: try row.decode(column: "sender", as: String.self),
            category: try row.decode(column: "category", as: String.self),
            verdict: Verdict(rawValue: try row.decode(column: "verdict", as: String.self)),
            automaticVerdict: Verdict(rawValue: try row.decode(column: "automatic_verdict", as: String.self)),
            score: Int(try row.decode(column: "score", as: Int64.self)),
            reasons: (try? JSONDecoder().decode([TriageReason].self, from: Data(reasons.utf8))) ?? [],
            intelHits: (try? JSONDecoder().decode([String: String].self, from: Data(hits.utf8))) ?? [:],
            clusterID: try row.decode(column: "cluster_id", as: Int64?.self),
            clusterKey: try row.decode(column: "cluster_key", as: String.self),
            simulationRID: try row.decode(column: "simulation_rid", as: String.self),
            status: ReportStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
            note: try row.decode(column: "note", as: String.self),
            decidedBy: try row.decode(column: "decided_by", as: String.self),
            decidedAt: try date("decided_at"), createdAt: try date("created_at") ?? Date(timeIntervalSince1970: 0),
            acknowledgedAt: try date("acknowledged_at"), notifiedAt: try date("notified_at"),
            hasMessage: try row.decode(column: "has_message", as: Bool.self),
            caseID: try row.decode(column: "case_id", as: Int64?.self))
    }
}
