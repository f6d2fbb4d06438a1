import ComplianceCore
import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import SQLKit

extension ComplianceService {
    // MARK: Action plan

    public func createAction(_ input: ActionInput, in scope: TenantScope) async throws -> ComplianceAction {
        try scope.require(Self.writers)
        let action = try await validated(input, id: UUID(), createdAt: clock.now(), in: scope)
        try await changing(
            AuditEntry(
                action: "compliance.action.create", objectType: "comp_action", objectID: action.id.uuidString,
                summary: "Planned action \(action.title)"), by: scope.actor
        ) { db in
            try await Self.insert(
                action, establishment: scope.establishmentID.uuid, by: scope.actor.displayName, on: db)
        }
        return action
    }

    public func updateAction(_ id: UUID, _ input: ActionInput, in scope: TenantScope) async throws -> ComplianceAction {
        try scope.require(Self.writers)
        let existing = try await action(id, in: scope)
        var action = try await validated(input, id: id, createdAt: existing.createdAt, in: scope)
        action.doneOn = action.status == .done ? (existing.doneOn ?? today().description) : nil
        action.overdue = Self.isOverdue(action, today: today())
        let final = action
        try await changing(
            AuditEntry(
                action: "compliance.action.update", objectType: "comp_action", objectID: id.uuidString,
                summary: "Action \(final.title) is \(final.status.rawValue)"), by: scope.actor
        ) { db in
            try await db.raw(
                """
                UPDATE comp_actions SET assessment_id = \(bind: final.assessmentID), requirement_urn = \(bind: final.requirementURN), \
                title = \(bind: final.title), description = \(bind: final.description), owner = \(bind: final.owner), \
                milestone = \(bind: final.milestone), priority = \(bind: final.priority.rawValue), \
                status = \(bind: final.status.rawValue), start_on = \(bind: final.startOn), due_on = \(bind: final.dueOn), \
                done_on = \(bind: final.doneOn), updated_at = \(bind: final.updatedAt.milliseconds) \
                WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).run()
        }
        return final
    }

    func validated(_ input: ActionInput, id: UUID, createdAt: Date, in scope: TenantScope) async throws
        -> ComplianceAction
    {
        let title = try Self.text(input.title, field: "title", max: 300)
        let start = try input.startOn.map { try Self.validDay($0, field: "start_on") }
        let due = try input.dueOn.map { try Self.validDay($0, field: "due_on") }
        if let start, let due, due < start {
            throw ValidationError(field: "due_on", message: "must not be before the start date")
        }
        if let assessmentID = input.assessmentID {
            let assessment = try await assessment(assessmentID, in: scope)
            if let urn = input.requirementURN {
                let framework = try await framework(assessment.frameworkID)
                guard framework.nodes.contains(where: { $0.urn == urn }) else {
                    throw HygieCoreError.notFound("requirement \(urn)")
                }
            }
        } else if input.requirementURN != nil {
            throw ValidationError(field: "requirement", message: "needs an assessment")
        }
        var action = ComplianceAction(
            id: id, assessmentID: input.assessmentID, requirementURN: input.requirementURN, title: title,
            description: try input.description.flatMap { try Self.optionalText($0, field: "description", max: 4000) },
            owner: try input.owner.flatMap { try Self.optionalText($0, field: "owner", max: 200) },
            milestone: try input.milestone.flatMap { try Self.optionalText($0, field: "milestone", max: 200) },
            priority: input.priority, status: input.status, startOn: start?.description, dueOn: due?.description,
            doneOn: input.status == .done ? today().description : nil, createdAt: createdAt, updatedAt: clock.now(),
            overdue: false)
        action.overdue = Self.isOverdue(action, today: today())
        return action
    }

    static func isOverdue(_ action: ComplianceAction, today: DayStamp) -> Bool {
        guard action.status.isOpen, let due = action.dueOn.flatMap(DayStamp.init) else { return false }
        return due < today
    }

    static func insert(_ action: ComplianceAction, establishment: UUID, by author: String, on db: any SQLDatabase)
        async throws
    {
        try await db.insert(into: "comp_actions")
            .columns(
                "id", "establishment_id", "assessment_id", "requirement_urn", "title", "description", "owner",
                "milestone",
                "priority", "status", "start_on", "due_on", "done_on", "created_by", "created_at", "updated_at"
            )
            .values(
                SQLBind(action.id), SQLBind(establishment), SQLBind(action.assessmentID),
                SQLBind(action.requirementURN),
                SQLBind(action.title), SQLBind(action.description), SQLBind(action.owner), SQLBind(action.milestone),
                SQLBind(action.priority.rawValue), SQLBind(action.status.rawValue), SQLBind(action.startOn),
                SQLBind(action.dueOn), SQLBind(action.doneOn), SQLBind(author), SQLBind(action.createdAt.milliseconds),
                SQLBind(action.updatedAt.milliseconds)
            ).run()
    }

    /// The action plan, by due day (undated last); optionally for one assessment or open actions only.
    public func actions(in scope: TenantScope, assessment: UUID? = nil, openOnly: Bool = false) async throws
        -> [ComplianceAction]
    {
        try scope.require(Self.readers)
        var query: SQLQueryString =
            "SELECT * FROM comp_actions WHERE establishment_id = \(bind: scope.establishmentID.uuid)"
        if let assessment { query = query + " AND assessment_id = \(bind: assessment)" }
        if openOnly {
            query =
                query
                + " AND status IN (\(bind: ActionStatus.planned.rawValue), \(bind: ActionStatus.inProgress.rawValue))"
        }
        let today = today()
        return try await sql.raw(query + " ORDER BY CASE WHEN due_on IS NULL THEN 1 ELSE 0 END, due_on, created_at")
            .all().map { try Self.action($0, today: today) }
    }

    public func action(_ id: UUID, in scope: TenantScope) async throws -> ComplianceAction {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                "SELECT * FROM comp_actions WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()
        else { throw HygieCoreError.notFound("action") }
        return try Self.action(row, today: today())
    }

    static func action(_ row: any SQLRow, today: DayStamp) throws -> ComplianceAction {
        var action = ComplianceAction(
            id: try row.decode(column: "id", as: UUID.self),
            assessmentID: try row.decode(column: "assessment_id", as: UUID?.self),
            requirementURN: try row.decode(column: "requirement_urn", as: String?.self),
            title: try row.decode(column: "title", as: String.self),
            description: try row.decode(column: "description", as: String?.self),
            owner: try row.decode(column: "owner", as: String?.self),
            milestone: try row.decode(column: "milestone", as: String?.self),
            priority: ActionPriority(rawValue: try row.decode(column: "priority", as: String.self)) ?? .medium,
            status: ActionStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .planned,
            startOn: try row.decode(column: "start_on", as: String?.self),
            dueOn: try row.decode(column: "due_on", as: String?.self),
            doneOn: try row.decode(column: "done_on", as: String?.self),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(milliseconds: try row.decode(column: "updated_at", as: Int64.self)), overdue: false)
        action.overdue = isOverdue(action, today: today)
        return action
    }

    /// Turns every gap (non-compliant or partial requirement) of an assessment that has no action yet into a
    /// planned action: high priority for non-compliance, due on the assessment's due day or in 90 days.
    public func planActions(for assessmentID: UUID, in scope: TenantScope) async throws -> [ComplianceAction] {
        try scope.require(Self.writers)
        let detail = try await detail(assessmentID, in: scope)
        let covered = Set(
            try await actions(in: scope, assessment: assessmentID).compactMap(\.requirementURN))
        let due = detail.assessment.dueOn ?? today().adding(days: 90).description
        let now = clock.now()
        let created: [ComplianceAction] = detail.requirements.filter {
            $0.applies && $0.outcome.status.isGap && !covered.contains($0.node.urn)
        }.map { state in
            ComplianceAction(
                id: UUID(), assessmentID: assessmentID, requirementURN: state.node.urn,
                title: "\(state.node.refID.map { "\($0) — " } ?? "")\(state.node.name ?? state.node.label)",
                description: state.node.typicalEvidence, owner: nil, milestone: nil,
                priority: state.outcome.status == .nonCompliant ? .high : .medium, status: .planned, startOn: nil,
                dueOn: due, doneOn: nil, createdAt: now, updatedAt: now, overdue: false)
        }
        guard !created.isEmpty else { return [] }
        try await changing(
            AuditEntry(
                action: "compliance.action.plan", objectType: "comp_assessment", objectID: assessmentID.uuidString,
                summary: "Planned \(created.count) actions for the gaps of \(detail.assessment.title)"), by: scope.actor
        ) { db in
            for action in created {
                try await Self.insert(
                    action, establishment: scope.establishmentID.uuid, by: scope.actor.displayName, on: db)
            }
        }
        return created
    }

    // MARK: Recurring audits

    public func createSchedule(_ input: ScheduleInput, in scope: TenantScope) async throws -> AuditSchedule {
        try scope.require(Self.managers)
        let schedule = try validated(input, id: UUID())
        try await changing(
            AuditEntry(
                action: "compliance.schedule.create", objectType: "comp_schedule", objectID: schedule.id.uuidString,
                summary: "Scheduled \(schedule.title) every \(schedule.intervalMonths) months"), by: scope.actor
        ) { db in
            try await db.insert(into: "comp_schedules")
                .columns(
                    "id", "establishment_id", "title", "kind", "interval_months", "next_due", "remind_days",
                    "owner_email",
                    "framework_urn", "requirement_urn", "created_by", "created_at"
                )
                .values(
                    SQLBind(schedule.id), SQLBind(scope.establishmentID.uuid), SQLBind(schedule.title),
                    SQLBind(schedule.kind.rawValue), SQLBind(schedule.intervalMonths), SQLBind(schedule.nextDue),
                    SQLBind(schedule.remindDays), SQLBind(schedule.ownerEmail), SQLBind(schedule.frameworkURN),
                    SQLBind(schedule.requirementURN), SQLBind(scope.actor.displayName),
                    SQLBind(schedule.createdAt.milliseconds)
                ).run()
        }
        return schedule
    }

    func validated(_ input: ScheduleInput, id: UUID) throws -> AuditSchedule {
        let title = try Self.text(input.title, field: "title", max: 200)
        guard (1...60).contains(input.intervalMonths) else {
            throw ValidationError(field: "interval_months", message: "must be between 1 and 60")
        }
        guard (0...365).contains(input.remindDays) else {
            throw ValidationError(field: "remind_days", message: "must be between 0 and 365")
        }
        let next = try Self.validDay(input.nextDue, field: "next_due")
        var email: String?
        if let raw = input.ownerEmail?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
            guard raw.count <= 254, raw.split(separator: "@").count == 2,
                !raw.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" })
            else { throw ValidationError(field: "owner_email", message: "must be an e-mail address", key: "email") }
            email = raw
        }
        let today = today()
        return AuditSchedule(
            id: id, title: title, kind: input.kind, intervalMonths: input.intervalMonths, nextDue: next.description,
            lastDone: nil, remindDays: input.remindDays, ownerEmail: email, frameworkURN: input.frameworkURN,
            requirementURN: input.requirementURN, createdAt: clock.now(), overdue: next < today,
            daysLeft: next.day - today.day)
    }

    public func schedules(in scope: TenantScope) async throws -> [AuditSchedule] {
        try scope.require(Self.readers)
        let today = today()
        return try await sql.raw(
            "SELECT * FROM comp_schedules WHERE establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY next_due, title"
        ).all().map { try Self.schedule($0, today: today) }
    }

    public func schedule(_ id: UUID, in scope: TenantScope) async throws -> AuditSchedule {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                "SELECT * FROM comp_schedules WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()
        else { throw HygieCoreError.notFound("schedule") }
        return try Self.schedule(row, today: today())
    }

    static func schedule(_ row: any SQLRow, today: DayStamp) throws -> AuditSchedule {
        let next = try row.decode(column: "next_due", as: String.self)
        let day = DayStamp(next) ?? today
        return AuditSchedule(
            id: try row.decode(column: "id", as: UUID.self),
            title: try row.decode(column: "title", as: String.self),
            kind: ScheduleKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .other,
            intervalMonths: try row.decode(column: "interval_months", as: Int.self), nextDue: next,
            lastDone: try row.decode(column: "last_done", as: String?.self),
            remindDays: try row.decode(column: "remind_days", as: Int.self),
            ownerEmail: try row.decode(column: "owner_email", as: String?.self),
            frameworkURN: try row.decode(column: "framework_urn", as: String?.self),
            requirementURN: try row.decode(column: "requirement_urn", as: String?.self),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            overdue: day < today, daysLeft: day.day - today.day)
    }

    /// Records that the recurring task was done (with optional evidence) and moves its next due day to
    /// `doneOn` plus the interval.
    public func recordRun(_ id: UUID, doneOn: String, note: String?, evidenceID: UUID?, in scope: TenantScope)
        async throws -> AuditSchedule
    {
        try scope.require(Self.writers)
        var schedule = try await schedule(id, in: scope)
        let done = try Self.validDay(doneOn, field: "done_on")
        guard done <= today() else { throw ValidationError(field: "done_on", message: "cannot be in the future") }
        if let evidenceID { _ = try await evidence(evidenceID, in: scope) }
        let note = try note.flatMap { try Self.optionalText($0, field: "note", max: 2000) }
        let next = done.addingMonths(schedule.intervalMonths)
        let latest = max(done, schedule.lastDone.flatMap(DayStamp.init) ?? done)
        schedule.lastDone = latest.description
        schedule.nextDue = max(next, latest.addingMonths(schedule.intervalMonths)).description
        let final = schedule
        let now = now()
        try await changing(
            AuditEntry(
                action: "compliance.schedule.done", objectType: "comp_schedule", objectID: id.uuidString,
                summary: "\(final.title) done on \(done); next due \(final.nextDue)"), by: scope.actor
        ) { db in
            try await db.insert(into: "comp_schedule_runs")
                .columns(
                    "id", "establishment_id", "schedule_id", "done_on", "note", "evidence_id", "recorded_by",
                    "recorded_at"
                )
                .values(
                    SQLBind(UUID()), SQLBind(scope.establishmentID.uuid), SQLBind(id), SQLBind(done.description),
                    SQLBind(note), SQLBind(evidenceID), SQLBind(scope.actor.displayName), SQLBind(now)
                ).run()
            try await db.raw(
                """
                UPDATE comp_schedules SET last_done = \(bind: final.lastDone), next_due = \(bind: final.nextDue), \
                reminded_for = NULL WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).run()
        }
        return try await self.schedule(id, in: scope)
    }

    public func runs(of id: UUID, in scope: TenantScope) async throws -> [ScheduleRun] {
        try scope.require(Self.readers)
        return try await sql.raw(
            """
            SELECT * FROM comp_schedule_runs WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            AND schedule_id = \(bind: id) ORDER BY done_on DESC
            """
        ).all().map { row in
            ScheduleRun(
                id: try row.decode(column: "id", as: UUID.self),
                doneOn: try row.decode(column: "done_on", as: String.self),
                note: try row.decode(column: "note", as: String?.self),
                evidenceID: try row.decode(column: "evidence_id", as: UUID?.self),
                recordedBy: try row.decode(column: "recorded_by", as: String.self))
        }
    }

    public func deleteSchedule(_ id: UUID, in scope: TenantScope) async throws {
        try scope.require(Self.managers)
        let schedule = try await schedule(id, in: scope)
        try await changing(
            AuditEntry(
                action: "compliance.schedule.delete", objectType: "comp_schedule", objectID: id.uuidString,
                summary: "Deleted recurring audit \(schedule.title)"), by: scope.actor
        ) { db in
            try await db.raw(
                "DELETE FROM comp_schedule_runs WHERE schedule_id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).run()
            try await db.raw(
                "DELETE FROM comp_schedules WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).run()
        }
    }

    /// Reminders due today for every establishment: a schedule enters its reminder window (or is overdue) and
    /// has not been reminded for this due day. Marks them reminded, so each due day gets one e-mail.
    public func dueReminders() async throws -> [(establishment: UUID, schedule: AuditSchedule)] {
        let today = today()
        var due: [(UUID, AuditSchedule)] = []
        for row in try await sql.raw(
            "SELECT * FROM comp_schedules WHERE owner_email IS NOT NULL ORDER BY next_due"
        ).all() {
            let schedule = try Self.schedule(row, today: today)
            let reminded = try row.decode(column: "reminded_for", as: String?.self)
            guard reminded != schedule.nextDue, schedule.daysLeft <= schedule.remindDays else { continue }
            let establishment = try row.decode(column: "establishment_id", as: UUID.self)
            // The UPDATE … WHERE reminded_for claims the reminder once, even with several nodes.
            let claimed = try await sql.raw(
                """
                UPDATE comp_schedules SET reminded_for = \(bind: schedule.nextDue) WHERE id = \(bind: schedule.id) \
                AND (reminded_for IS NULL OR reminded_for <> \(bind: schedule.nextDue)) RETURNING id
                """
            ).all()
            if !claimed.isEmpty { due.append((establishment, schedule)) }
        }
        return due
    }
}

extension DayStamp {
    /// The same day `months` later, clamped to the end of shorter months (31 Jan + 1 month = 28/29 Feb).
    func addingMonths(_ months: Int) -> DayStamp {
        let parts = description.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return self }
        let total = parts[0] * 12 + (parts[1] - 1) + months
        let year = total / 12
        let month = total % 12 + 1
        var day = parts[2]
        while day > 28, DayStamp(String(format: "%04d-%02d-%02d", year, month, day)) == nil { day -= 1 }
        return DayStamp(String(format: "%04d-%02d-%02d", year, month, day)) ?? self
    }
}
