import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import SQLKit
import STIX

/// A declaration with its case, for the declarations board.
public struct DeclarationEntry: Sendable, Hashable {
    public var declaration: Declaration
    public var caseTitle: String
    public var caseStatus: CaseStatus
}

/// Median times over a period's cases, in seconds.
public struct CaseMetricsSummary: Sendable, Hashable {
    public var cases: Int
    public var open: Int
    public var medianTimeToDetect: TimeInterval?
    public var medianTimeToAcknowledge: TimeInterval?
    public var medianTimeToContain: TimeInterval?
    public var medianTimeToResolve: TimeInterval?
    public var byType: [IncidentType: Int]
    public var lateDeclarations: Int
}

extension CaseService {
    /// Cases of the scope's establishment, newest first (merged ones left out unless asked).
    public func cases(in scope: TenantScope, status: CaseStatus? = nil, includeMerged: Bool = false, limit: Int = 200)
        async throws -> [IncidentCase]
    {
        try scope.require(Self.readers)
        var condition: SQLQueryString = includeMerged ? "1 = 1" : "merged_into IS NULL"
        if let status { condition = "\(condition) AND status = \(bind: status.rawValue)" }
        return try await sql.raw(
            """
            SELECT * FROM inc_cases WHERE establishment_id = \(bind: scope.establishmentID.uuid) AND \(condition) \
            ORDER BY id DESC LIMIT \(unsafeRaw: String(max(1, min(limit, 1_000))))
            """
        ).all().map(Self.incident)
    }

    public func incident(_ id: Int64, in scope: TenantScope) async throws -> IncidentCase {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                "SELECT * FROM inc_cases WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()
        else { throw IncidentsError.notFound("case") }
        return try Self.incident(row)
    }

    /// A case with its tasks, observables, links, timeline and declarations.
    public func detail(_ id: Int64, in scope: TenantScope) async throws -> CaseDetail {
        let incident = try await incident(id, in: scope)
        let establishment = scope.establishmentID.uuid
        let tasks = try await sql.raw(
            """
            SELECT * FROM inc_tasks WHERE case_id = \(bind: id) AND establishment_id = \(bind: establishment) \
            ORDER BY position, id
            """
        ).all().map { row in
            CaseTask(
                id: try row.decode(column: "id", as: Int64.self),
                position: Int(try row.decode(column: "position", as: Int64.self)),
                phase: try row.decode(column: "phase", as: String.self),
                title: try row.decode(column: "title", as: String.self),
                status: CaseTask.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .todo,
                assignee: try row.decode(column: "assignee", as: String.self),
                doneAt: try row.decode(column: "done_at", as: Int64?.self).map(Date.init(milliseconds:)),
                doneBy: try row.decode(column: "done_by", as: String.self))
        }
        let observables = try await sql.raw(
            """
            SELECT * FROM inc_observables WHERE case_id = \(bind: id) AND establishment_id = \(bind: establishment) \
            ORDER BY ioc DESC, kind, value
            """
        ).all().map { row in
            CaseObservable(
                id: try row.decode(column: "id", as: Int64.self), kind: try row.decode(column: "kind", as: String.self),
                value: try row.decode(column: "value", as: String.self),
                ioc: try row.decode(column: "ioc", as: Bool.self),
                sighted: try row.decode(column: "sighted", as: Bool.self),
                tlp: TLP(rawValue: try row.decode(column: "tlp", as: String.self)) ?? .amber,
                note: try row.decode(column: "note", as: String.self),
                sharedAt: try row.decode(column: "shared_at", as: Int64?.self).map(Date.init(milliseconds:)))
        }
        let links = try await sql.raw(
            """
            SELECT kind, ref, title FROM inc_case_links WHERE case_id = \(bind: id) \
            AND establishment_id = \(bind: establishment) ORDER BY id
            """
        ).all().map {
            CaseLink(
                kind: try $0.decode(column: "kind", as: String.self),
                ref: try $0.decode(column: "ref", as: String.self),
                title: try $0.decode(column: "title", as: String.self))
        }
        let events = try await sql.raw(
            """
            SELECT * FROM inc_case_events WHERE case_id = \(bind: id) AND establishment_id = \(bind: establishment) \
            ORDER BY at, id
            """
        ).all().map { row in
            CaseEvent(
                id: try row.decode(column: "id", as: Int64.self),
                at: Date(milliseconds: try row.decode(column: "at", as: Int64.self)),
                actor: try row.decode(column: "actor", as: String.self),
                kind: try row.decode(column: "kind", as: String.self),
                detail: try row.decode(column: "detail", as: String.self))
        }
        let declarations = try await sql.raw(
            """
            SELECT * FROM inc_declarations WHERE case_id = \(bind: id) AND establishment_id = \(bind: establishment) \
            ORDER BY due_at, id
            """
        ).all().map(Self.declaration)
        return CaseDetail(
            incident: incident, tasks: tasks, observables: observables, links: links, events: events,
            declarations: declarations)
    }

    /// Every declaration of the establishment, unsent first by deadline.
    public func declarations(in scope: TenantScope) async throws -> [DeclarationEntry] {
        try scope.require(Self.readers)
        return try await sql.raw(
            """
            SELECT d.*, c.title AS case_title, c.status AS case_status FROM inc_declarations d \
            JOIN inc_cases c ON c.id = d.case_id WHERE d.establishment_id = \(bind: scope.establishmentID.uuid) \
            ORDER BY CASE WHEN d.status = 'draft' THEN 0 ELSE 1 END, d.due_at, d.id
            """
        ).all().map { row in
            DeclarationEntry(
                declaration: try Self.declaration(row),
                caseTitle: try row.decode(column: "case_title", as: String.self),
                caseStatus: CaseStatus(rawValue: try row.decode(column: "case_status", as: String.self)) ?? .new)
        }
    }

    /// Counts and median times over the cases opened since `since`.
    public func metrics(since: Date, in scope: TenantScope) async throws -> CaseMetricsSummary {
        try scope.require(Self.readers)
        let all = try await cases(in: scope, limit: 1_000).filter { $0.createdAt >= since }
        func median(_ values: [TimeInterval]) -> TimeInterval? {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            return sorted.count % 2 == 1
                ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        let now = clock.now()
        let late = try await declarations(in: scope).filter { $0.declaration.isLate(at: now) }.count
        return CaseMetricsSummary(
            cases: all.count, open: all.filter { $0.status != .closed }.count,
            medianTimeToDetect: median(all.compactMap(\.metrics.timeToDetect)),
            medianTimeToAcknowledge: median(all.compactMap(\.metrics.timeToAcknowledge)),
            medianTimeToContain: median(all.compactMap(\.metrics.timeToContain)),
            medianTimeToResolve: median(all.compactMap(\.metrics.timeToResolve)),
            byType: Dictionary(grouping: all, by: \.type).mapValues(\.count), lateDeclarations: late)
    }

    static func incident(_ row: any SQLRow) throws -> IncidentCase {
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map(Date.init(milliseconds:))
        }
        let fields = try row.decode(column: "fields", as: String.self)
        return IncidentCase(
            id: try row.decode(column: "id", as: Int64.self),
            establishmentID: Establishment.ID(try row.decode(column: "establishment_id", as: UUID.self)),
            title: try row.decode(column: "title", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            type: IncidentType(rawValue: try row.decode(column: "incident_type", as: String.self)) ?? .other,
            severity: CaseSeverity(rawValue: try row.decode(column: "severity", as: String.self)) ?? .medium,
            tlp: TLP(rawValue: try row.decode(column: "tlp", as: String.self)) ?? .amber,
            pap: PAP(rawValue: try row.decode(column: "pap", as: String.self)) ?? .amber,
            status: CaseStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .new,
            resolution: try row.decode(column: "resolution", as: String.self),
            assignee: try row.decode(column: "assignee", as: String.self),
            source: try row.decode(column: "source", as: String.self),
            createdBy: try row.decode(column: "created_by", as: String.self),
            occurredAt: try date("occurred_at"), detectedAt: try date("detected_at"), awareAt: try date("aware_at"),
            acknowledgedAt: try date("acknowledged_at"), containedAt: try date("contained_at"),
            resolvedAt: try date("resolved_at"), closedAt: try date("closed_at"),
            qualification: Qualification(
                significant: try row.decode(column: "significant", as: Bool.self),
                personalData: try row.decode(column: "personal_data", as: Bool.self),
                nis2: try row.decode(column: "nis2", as: Bool.self)),
            fields: (try? JSONDecoder().decode(CaseFields.self, from: Data(fields.utf8))) ?? [:],
            lessons: try row.decode(column: "lessons", as: String.self),
            mergedInto: try row.decode(column: "merged_into", as: Int64?.self),
            createdAt: try date("created_at") ?? Date(timeIntervalSince1970: 0),
            updatedAt: try date("updated_at") ?? Date(timeIntervalSince1970: 0))
    }

    static func declaration(_ row: any SQLRow) throws -> Declaration {
        Declaration(
            id: try row.decode(column: "id", as: Int64.self), caseID: try row.decode(column: "case_id", as: Int64.self),
            regime: Regime(rawValue: try row.decode(column: "regime", as: String.self)) ?? .certSante,
            dueAt: try row.decode(column: "due_at", as: Int64?.self).map(Date.init(milliseconds:)),
            status: Declaration.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .draft,
            sentAt: try row.decode(column: "sent_at", as: Int64?.self).map(Date.init(milliseconds:)),
            reference: try row.decode(column: "reference", as: String.self),
            delayReason: try row.decode(column: "delay_reason", as: String.self),
            snapshotSHA256: try row.decode(column: "snapshot_sha256", as: String.self))
    }
}
