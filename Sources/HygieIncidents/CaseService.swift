import FluentKit
public import Foundation
public import HygieCore
public import HygieStorage
import MailTriage
import SQLKit
public import STIX

/// What a new case starts from.
public struct CaseInput: Sendable {
    public var title: String
    public var description: String
    public var type: IncidentType
    public var severity: CaseSeverity
    public var tlp: TLP
    public var pap: PAP
    public var assignee: String
    public var occurredAt: Date?
    public var detectedAt: Date?
    /// Defaults to now: opening a case is becoming aware.
    public var awareAt: Date?
    /// `fr` or `en`: the language of the template's tasks.
    public var language: String

    public init(
        title: String, description: String = "", type: IncidentType = .other, severity: CaseSeverity = .medium,
        tlp: TLP = .amber, pap: PAP = .amber, assignee: String = "", occurredAt: Date? = nil,
        detectedAt: Date? = nil, awareAt: Date? = nil, language: String = "fr"
    ) {
        self.title = title
        self.description = description
        self.type = type
        self.severity = severity
        self.tlp = tlp
        self.pap = pap
        self.assignee = assignee
        self.occurredAt = occurredAt
        self.detectedAt = detectedAt
        self.awareAt = awareAt
        self.language = language
    }
}

/// A change to a case; nil fields stay as they are. Every change becomes a timeline event.
public struct CaseChange: Sendable {
    public var title: String?
    public var description: String?
    public var severity: CaseSeverity?
    public var tlp: TLP?
    public var pap: PAP?
    public var status: CaseStatus?
    public var resolution: String?
    public var assignee: String?
    public var occurredAt: Date?
    public var detectedAt: Date?
    public var awareAt: Date?
    public var containedAt: Date?
    public var resolvedAt: Date?
    public var fields: CaseFields?
    public var lessons: String?

    public init(
        title: String? = nil, description: String? = nil, severity: CaseSeverity? = nil, tlp: TLP? = nil,
        pap: PAP? = nil, status: CaseStatus? = nil, resolution: String? = nil, assignee: String? = nil,
        occurredAt: Date? = nil, detectedAt: Date? = nil, awareAt: Date? = nil, containedAt: Date? = nil,
        resolvedAt: Date? = nil, fields: CaseFields? = nil, lessons: String? = nil
    ) {
        self.title = title
        self.description = description
        self.severity = severity
        self.tlp = tlp
        self.pap = pap
        self.status = status
        self.resolution = resolution
        self.assignee = assignee
        self.occurredAt = occurredAt
        self.detectedAt = detectedAt
        self.awareAt = awareAt
        self.containedAt = containedAt
        self.resolvedAt = resolvedAt
        self.fields = fields
        self.lessons = lessons
    }
}

/// Incident cases of one instance: opened by hand or from reports, planned with tasks from templates, documented
/// with observables and links, timed from awareness, qualified for the regulators, merged and closed with
/// lessons learned. Every change is an immutable timeline event, so detection, acknowledgement, containment
/// and resolution times are computed, not typed.
public struct CaseService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock

    /// Handle cases (the DPO reads them: personal-data breaches are theirs to follow).
    static let handlers: Set<Role> = [.admin, .rssi, .analyst]
    static let readers: Set<Role> = [.admin, .rssi, .analyst, .dpo]
    /// Open a case from another module's finding: the privacy officer opens one from an inappropriate EHR access.
    static let linkedOpeners: Set<Role> = [.admin, .rssi, .analyst, .dpo]

    public init(database: DatabaseService, audit: AuditTrail, clock: any HygieClock) {
        self.database = database
        self.audit = audit
        self.clock = clock
    }

    var sql: any SQLDatabase { database.sql }

    static func text(_ value: String, _ field: String, max: Int, required: Bool = false) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if required, trimmed.isEmpty { throw IncidentsError.invalid("\(field) is required") }
        guard trimmed.count <= max else { throw IncidentsError.invalid("\(field) is longer than \(max) characters") }
        return trimmed
    }

    static func millis(_ date: Date?) -> Int64? { date.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } }

    /// Runs `body` in one audited transaction.
    func changing<T: Sendable>(
        _ action: String, _ id: Int64?, _ summary: String, in scope: TenantScope,
        _ body: @Sendable @escaping (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await audit.recording(
            AuditEntry(
                action: action, objectType: "case", objectID: id.map(String.init), summary: summary,
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database, body)
    }

    /// Appends a timeline event (never updated or deleted).
    static func event(
        _ db: any SQLDatabase, _ caseID: Int64, establishment: UUID, at: Int64, actor: String, kind: String,
        _ detail: String
    ) async throws {
        try await db.raw(
            """
            INSERT INTO inc_case_events (establishment_id, case_id, at, actor, kind, detail) VALUES \
            (\(bind: establishment), \(bind: caseID), \(bind: at), \(bind: actor), \(bind: kind), \
            \(bind: String(detail.prefix(4_000))))
            """
        ).run()
    }

    // MARK: Opening

    /// Opens a case with its template's tasks. `source` is `manual` or `report:<id>` (the report and its
    /// campaign are linked, their observables copied).
    public func open(_ input: CaseInput, source: String = "manual", in scope: TenantScope) async throws -> CaseDetail {
        try scope.require(Self.handlers)
        return try await create(input, source: source, in: scope)
    }

    func create(_ input: CaseInput, source: String, in scope: TenantScope) async throws -> CaseDetail {
        let title = try Self.text(input.title, "title", max: 300, required: true)
        let description = try Self.text(input.description, "description", max: 20_000)
        let assignee = try Self.text(input.assignee, "assignee", max: 200)
        let now = clock.now().milliseconds
        let establishment = scope.establishmentID.uuid
        let actor = scope.actor.displayName
        let steps = CaseTemplates.steps(for: input.type)
        let english = input.language == "en"
        let id = try await changing("case.open", nil, "case opened: \(title)", in: scope) { db in
            guard
                let row = try await db.raw(
                    """
                    INSERT INTO inc_cases (establishment_id, title, description, incident_type, severity, tlp, pap, \
                    status, resolution, assignee, source, created_by, occurred_at, detected_at, aware_at, \
                    significant, personal_data, nis2, fields, lessons, created_at, updated_at) VALUES \
                    (\(bind: establishment), \(bind: title), \(bind: description), \(bind: input.type.rawValue), \
                    \(bind: input.severity.rawValue), \(bind: input.tlp.rawValue), \(bind: input.pap.rawValue), \
                    'new', '', \(bind: assignee), \(bind: source), \(bind: actor), \(bind: Self.millis(input.occurredAt)), \
                    \(bind: Self.millis(input.detectedAt)), \(bind: Self.millis(input.awareAt) ?? now), \
                    \(bind: false), \(bind: false), \(bind: false), '{}', '', \(bind: now), \(bind: now)) RETURNING id
                    """
                ).first()
            else { throw IncidentsError.invalid("the case could not be stored") }
            let id = try row.decode(column: "id", as: Int64.self)
            for (position, step) in steps.enumerated() {
                try await db.raw(
                    """
                    INSERT INTO inc_tasks (establishment_id, case_id, position, phase, title, status, assignee, \
                    done_by) VALUES (\(bind: establishment), \(bind: id), \(bind: Int64(position)), \
                    \(bind: step.phase), \(bind: english ? step.en : step.fr), 'todo', '', '')
                    """
                ).run()
            }
            try await Self.event(
                db, id, establishment: establishment, at: now, actor: actor, kind: "created",
                "\(input.type.rawValue), \(input.severity.rawValue), TLP:\(input.tlp.rawValue.uppercased()), "
                    + "\(steps.count) tasks")
            return id
        }
        return try await detail(id, in: scope)
    }

    /// Opens a case from a report (and its campaign): the reports are linked, the message's observables copied
    /// (indicators when the verdict is malicious), the case's awareness is the first report's time.
    public func open(fromReport reportID: Int64, type: IncidentType = .phishing, in scope: TenantScope) async throws
        -> CaseDetail
    {
        try scope.require(Self.handlers)
        let establishment = scope.establishmentID.uuid
        guard
            let report = try await ReportService.reports(sql, "id = \(bind: reportID)", establishment: establishment)
                .first
        else { throw IncidentsError.notFound("report") }
        if let existing = try await linkedCase(kind: "report", ref: String(report.id), in: scope) {
            return try await detail(existing, in: scope)
        }
        let root = report.clusterID ?? report.id
        let campaign = try await ReportService.reports(
            sql, "(id = \(bind: root) OR cluster_id = \(bind: root))", establishment: establishment, limit: 500)
        let first = campaign.min { $0.createdAt < $1.createdAt } ?? report
        let title = report.subject.isEmpty ? "Signalement \(report.kind.rawValue) #\(report.id)" : report.subject
        let detail = try await open(
            CaseInput(
                title: String(title.prefix(300)),
                description: "\(campaign.count) signalement(s). \(report.description)",
                type: type, severity: report.verdict == .malicious ? .high : .medium, tlp: .amber, pap: .amber,
                detectedAt: first.createdAt, awareAt: first.createdAt), source: "report:\(report.id)", in: scope)
        let analysis = try await sql.raw(
            "SELECT analysis FROM inc_reports WHERE id = \(bind: report.id) AND establishment_id = \(bind: establishment)"
        ).first().flatMap { row -> MailAnalysis? in
            let json = try row.decode(column: "analysis", as: String.self)
            return json.isEmpty ? nil : try? JSONDecoder().decode(MailAnalysis.self, from: Data(json.utf8))
        }
        let ioc = report.verdict == .malicious
        let now = clock.now().milliseconds
        let actor = scope.actor.displayName
        let caseID = detail.incident.id
        try await changing("case.link", caseID, "case \(caseID): \(campaign.count) report(s) linked", in: scope) { db in
            for linked in campaign {
                try await db.raw(
                    """
                    INSERT INTO inc_case_links (establishment_id, case_id, kind, ref, title, created_at) VALUES \
                    (\(bind: establishment), \(bind: caseID), 'report', \(bind: String(linked.id)), \
                    \(bind: String(linked.subject.prefix(300))), \(bind: now))
                    """
                ).run()
                try await db.raw(
                    """
                    UPDATE inc_reports SET case_id = \(bind: caseID) WHERE id = \(bind: linked.id) \
                    AND establishment_id = \(bind: establishment)
                    """
                ).run()
            }
            for observable in analysis?.observables.prefix(200) ?? [] where observable.kind != .filename {
                try await Self.insertObservable(
                    db, caseID: caseID, establishment: establishment, kind: observable.kind.rawValue,
                    value: observable.value, ioc: ioc, sighted: true, tlp: .amber, note: "report \(report.id)", at: now)
            }
            try await Self.event(
                db, caseID, establishment: establishment, at: now, actor: actor, kind: "link",
                "reports \(campaign.map { String($0.id) }.joined(separator: ", ")) linked; "
                    + "\(analysis?.observables.count ?? 0) observables from the message")
        }
        return try await self.detail(caseID, in: scope)
    }

    /// Inserts an observable unless the case already has it (same kind and value); returns whether it was new.
    @discardableResult
    static func insertObservable(
        _ db: any SQLDatabase, caseID: Int64, establishment: UUID, kind: String, value: String, ioc: Bool,
        sighted: Bool, tlp: TLP, note: String, at: Int64
    ) async throws -> Bool {
        let exists = try await db.raw(
            """
            SELECT id FROM inc_observables WHERE case_id = \(bind: caseID) AND kind = \(bind: kind) \
            AND value = \(bind: value)
            """
        ).first()
        guard exists == nil else { return false }
        try await db.raw(
            """
            INSERT INTO inc_observables (establishment_id, case_id, kind, value, ioc, sighted, tlp, note, created_at) \
            VALUES (\(bind: establishment), \(bind: caseID), \(bind: kind), \(bind: value), \(bind: ioc), \
            \(bind: sighted), \(bind: tlp.rawValue), \(bind: note), \(bind: at))
            """
        ).run()
        return true
    }
}
