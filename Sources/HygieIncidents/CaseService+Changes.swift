import Crypto
import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import SQLKit
public import STIX

extension CaseService {
    /// Applies a change. Moving forward in status records the step's time the first time (acknowledged,
    /// contained, resolved, closed); closing needs the lessons learned; a new time of awareness moves every
    /// unsent declaration's deadline.
    public func update(_ id: Int64, _ change: CaseChange, in scope: TenantScope) async throws -> CaseDetail {
        try scope.require(Self.handlers)
        let current = try await incident(id, in: scope)
        guard current.mergedInto == nil else {
            throw IncidentsError.invalid("this case was merged into #\(current.mergedInto!)")
        }
        let now = clock.now()
        let ms = now.milliseconds
        var sets: [SQLQueryString] = []
        var stamped = Set<String>()
        var events: [(String, String)] = []
        func stamp(_ column: String, _ value: Int64?) {
            guard stamped.insert(column).inserted else { return }
            sets.append("\(unsafeRaw: column) = \(bind: value)")
        }
        func note(_ kind: String, _ field: String, _ from: String, _ to: String) {
            events.append((kind, "\(field): \(from.isEmpty ? "—" : from) → \(to.isEmpty ? "—" : to)"))
        }
        if let title = change.title {
            let title = try Self.text(title, "title", max: 300, required: true)
            if title != current.title {
                sets.append("title = \(bind: title)")
                note("edit", "title", current.title, title)
            }
        }
        if let description = change.description {
            let description = try Self.text(description, "description", max: 20_000)
            if description != current.description {
                sets.append("description = \(bind: description)")
                events.append(("edit", "description changed"))
            }
        }
        if let severity = change.severity, severity != current.severity {
            sets.append("severity = \(bind: severity.rawValue)")
            note("severity", "severity", current.severity.rawValue, severity.rawValue)
        }
        if let tlp = change.tlp, tlp != current.tlp {
            sets.append("tlp = \(bind: tlp.rawValue)")
            note("sharing", "TLP", current.tlp.rawValue, tlp.rawValue)
        }
        if let pap = change.pap, pap != current.pap {
            sets.append("pap = \(bind: pap.rawValue)")
            note("sharing", "PAP", current.pap.rawValue, pap.rawValue)
        }
        if let assignee = change.assignee {
            let assignee = try Self.text(assignee, "assignee", max: 200)
            if assignee != current.assignee {
                sets.append("assignee = \(bind: assignee)")
                note("assignee", "assignee", current.assignee, assignee)
                if current.acknowledgedAt == nil, !assignee.isEmpty { stamp("acknowledged_at", ms) }
            }
        }
        if let resolution = change.resolution {
            let resolution = try Self.text(resolution, "resolution", max: 200)
            if resolution != current.resolution {
                sets.append("resolution = \(bind: resolution)")
                note("edit", "resolution", current.resolution, resolution)
            }
        }
        if let lessons = change.lessons {
            let lessons = try Self.text(lessons, "lessons learned", max: 20_000)
            if lessons != current.lessons {
                sets.append("lessons = \(bind: lessons)")
                events.append(("lessons", "lessons learned written"))
            }
        }
        if let fields = change.fields {
            guard fields.count <= 100, fields.allSatisfy({ $0.key.count <= 60 && $0.value.count <= 4_000 }) else {
                throw IncidentsError.invalid("at most 100 fields of 4000 characters")
            }
            let merged = current.fields.merging(fields) { _, new in new }.filter { !$0.value.isEmpty }
            if merged != current.fields {
                sets.append("fields = \(bind: ReportService.json(merged))")
                events.append(("fields", "declaration fields: \(fields.keys.sorted().joined(separator: ", "))"))
            }
        }
        for (field, column, value, old) in [
            ("occurred", "occurred_at", change.occurredAt, current.occurredAt),
            ("detected", "detected_at", change.detectedAt, current.detectedAt),
            ("aware", "aware_at", change.awareAt, current.awareAt),
            ("contained", "contained_at", change.containedAt, current.containedAt),
            ("resolved", "resolved_at", change.resolvedAt, current.resolvedAt),
        ] {
            guard let value, Self.millis(value) != Self.millis(old) else { continue }
            guard value <= now.addingTimeInterval(300) else {
                throw IncidentsError.invalid("\(field) is in the future")
            }
            stamp(column, Self.millis(value))
            note("times", field, old.map(Self.iso) ?? "", Self.iso(value))
        }
        if let status = change.status, status != current.status {
            if status == .closed {
                let lessons = change.lessons ?? current.lessons
                guard !lessons.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw IncidentsError.invalid("write the lessons learned before closing the case")
                }
            }
            sets.append("status = \(bind: status.rawValue)")
            note("status", "status", current.status.rawValue, status.rawValue)
            let order = CaseStatus.allCases
            let reached = order.firstIndex(of: status)!
            for (step, column, done) in [
                (CaseStatus.inProgress, "acknowledged_at", current.acknowledgedAt),
                (.contained, "contained_at", current.containedAt),
                (.resolved, "resolved_at", current.resolvedAt),
                (.closed, "closed_at", current.closedAt),
            ] where done == nil && order.firstIndex(of: step)! <= reached {
                stamp(column, ms)
            }
        }
        guard !sets.isEmpty else { return try await detail(id, in: scope) }
        sets.append("updated_at = \(bind: ms)")
        let establishment = scope.establishmentID.uuid
        let actor = scope.actor.displayName
        let awareChanged = change.awareAt != nil && Self.millis(change.awareAt) != Self.millis(current.awareAt)
        let assignments = sets.joined(separator: ", ")
        let recorded = events
        try await changing("case.update", id, "case \(id): \(events.map(\.1).joined(separator: "; "))", in: scope) {
            db in
            try await db.raw(
                "UPDATE inc_cases SET \(assignments) WHERE id = \(bind: id) AND establishment_id = \(bind: establishment)"
            ).run()
            for (kind, detail) in recorded {
                try await Self.event(db, id, establishment: establishment, at: ms, actor: actor, kind: kind, detail)
            }
            if awareChanged { try await self.reschedule(db, id, establishment: establishment) }
        }
        return try await detail(id, in: scope)
    }

    /// Hex SHA-256, as kept with declarations and files.
    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func iso(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }

    // MARK: Tasks

    public func setTask(_ taskID: Int64, status: CaseTask.Status, assignee: String? = nil, in scope: TenantScope)
        async throws -> CaseTask
    {
        try scope.require(Self.handlers)
        let establishment = scope.establishmentID.uuid
        guard
            let row = try await sql.raw(
                "SELECT * FROM inc_tasks WHERE id = \(bind: taskID) AND establishment_id = \(bind: establishment)"
            ).first()
        else { throw IncidentsError.notFound("task") }
        let caseID = try row.decode(column: "case_id", as: Int64.self)
        let title = try row.decode(column: "title", as: String.self)
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        let assignee = try assignee.map { try Self.text($0, "assignee", max: 200) }
        try await changing("case.task", caseID, "case \(caseID): task \(status.rawValue): \(title)", in: scope) { db in
            try await db.raw(
                """
                UPDATE inc_tasks SET status = \(bind: status.rawValue), \
                done_at = \(bind: status == .todo ? nil : ms), done_by = \(bind: status == .todo ? "" : actor) \
                WHERE id = \(bind: taskID)
                """
            ).run()
            if let assignee {
                try await db.raw("UPDATE inc_tasks SET assignee = \(bind: assignee) WHERE id = \(bind: taskID)").run()
            }
            try await Self.event(
                db, caseID, establishment: establishment, at: ms, actor: actor, kind: "task",
                "\(title): \(status.rawValue)\(assignee.map { " (\($0))" } ?? "")")
            try await db.raw("UPDATE inc_cases SET updated_at = \(bind: ms) WHERE id = \(bind: caseID)").run()
        }
        return try await detail(caseID, in: scope).tasks.first { $0.id == taskID }!
    }

    public func addTask(_ caseID: Int64, title: String, phase: String = "other", in scope: TenantScope) async throws
        -> CaseDetail
    {
        try scope.require(Self.handlers)
        let title = try Self.text(title, "task", max: 500, required: true)
        _ = try await incident(caseID, in: scope)
        let establishment = scope.establishmentID.uuid
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        try await changing("case.task", caseID, "case \(caseID): task added: \(title)", in: scope) { db in
            let last =
                try await db.raw("SELECT MAX(position) AS p FROM inc_tasks WHERE case_id = \(bind: caseID)")
                .first().flatMap { try $0.decode(column: "p", as: Int64?.self) } ?? -1
            try await db.raw(
                """
                INSERT INTO inc_tasks (establishment_id, case_id, position, phase, title, status, assignee, done_by) \
                VALUES (\(bind: establishment), \(bind: caseID), \(bind: last + 1), \(bind: phase), \(bind: title), \
                'todo', '', '')
                """
            ).run()
            try await Self.event(
                db, caseID, establishment: establishment, at: ms, actor: actor, kind: "task", "added: \(title)")
        }
        return try await detail(caseID, in: scope)
    }

    // MARK: Observables

    /// Adds an observable (ignored when the case has it already) with its flags.
    public func addObservable(
        _ caseID: Int64, kind: String, value: String, ioc: Bool, sighted: Bool, tlp: TLP = .amber, note: String = "",
        in scope: TenantScope
    ) async throws -> CaseDetail {
        try scope.require(Self.handlers)
        let kinds = [
            "url", "domain", "ipv4", "ipv6", "email", "md5", "sha1", "sha256", "filename", "hostname", "account",
            "other",
        ]
        guard kinds.contains(kind) else {
            throw IncidentsError.invalid("kind is one of \(kinds.joined(separator: ", "))")
        }
        let value = try Self.text(value, "value", max: 2_000, required: true)
        let note = try Self.text(note, "note", max: 1_000)
        _ = try await incident(caseID, in: scope)
        let establishment = scope.establishmentID.uuid
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        try await changing("case.observable", caseID, "case \(caseID): observable \(kind) added", in: scope) { db in
            if try await Self.insertObservable(
                db, caseID: caseID, establishment: establishment, kind: kind, value: value, ioc: ioc, sighted: sighted,
                tlp: tlp, note: note, at: ms)
            {
                try await Self.event(
                    db, caseID, establishment: establishment, at: ms, actor: actor, kind: "observable",
                    "\(kind) \(value)\(ioc ? " (IOC)" : "")\(sighted ? " (sighted)" : "")")
            }
        }
        return try await detail(caseID, in: scope)
    }

    // MARK: Merging

    /// Merges `sourceID` into `targetID`: observables, links and open tasks move (deduplicated), the source is
    /// closed as a duplicate and points at the target; both timelines say so.
    public func merge(_ sourceID: Int64, into targetID: Int64, in scope: TenantScope) async throws -> CaseDetail {
        try scope.require(Self.handlers)
        guard sourceID != targetID else { throw IncidentsError.invalid("a case cannot be merged into itself") }
        let source = try await detail(sourceID, in: scope)
        let target = try await incident(targetID, in: scope)
        guard source.incident.mergedInto == nil, target.mergedInto == nil else {
            throw IncidentsError.invalid("one of these cases was already merged")
        }
        let establishment = scope.establishmentID.uuid
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        try await changing("case.merge", targetID, "case \(sourceID) merged into \(targetID)", in: scope) { db in
            for observable in source.observables {
                try await Self.insertObservable(
                    db, caseID: targetID, establishment: establishment, kind: observable.kind, value: observable.value,
                    ioc: observable.ioc, sighted: observable.sighted, tlp: observable.tlp,
                    note: "from case \(sourceID)", at: ms)
            }
            for link in source.links {
                let exists = try await db.raw(
                    """
                    SELECT id FROM inc_case_links WHERE case_id = \(bind: targetID) AND kind = \(bind: link.kind) \
                    AND ref = \(bind: link.ref)
                    """
                ).first()
                if exists == nil {
                    try await db.raw(
                        """
                        INSERT INTO inc_case_links (establishment_id, case_id, kind, ref, title, created_at) VALUES \
                        (\(bind: establishment), \(bind: targetID), \(bind: link.kind), \(bind: link.ref), \
                        \(bind: link.title), \(bind: ms))
                        """
                    ).run()
                }
            }
            try await db.raw(
                """
                UPDATE inc_reports SET case_id = \(bind: targetID) WHERE case_id = \(bind: sourceID) \
                AND establishment_id = \(bind: establishment)
                """
            ).run()
            try await db.raw(
                """
                UPDATE inc_cases SET merged_into = \(bind: targetID), status = 'closed', resolution = 'duplicate', \
                closed_at = \(bind: ms), updated_at = \(bind: ms) WHERE id = \(bind: sourceID) \
                AND establishment_id = \(bind: establishment)
                """
            ).run()
            try await Self.event(
                db, sourceID, establishment: establishment, at: ms, actor: actor, kind: "merged",
                "merged into case \(targetID)")
            try await Self.event(
                db, targetID, establishment: establishment, at: ms, actor: actor, kind: "merged",
                "case \(sourceID) merged here (\(source.observables.count) observables, \(source.links.count) links)")
        }
        return try await detail(targetID, in: scope)
    }

    // MARK: Qualification and declarations

    public func regimes(in scope: TenantScope) async throws -> RegimeSettings {
        try scope.require(Self.readers)
        return try await storedRegimes(scope.establishmentID.uuid, sql)
    }

    func storedRegimes(_ establishment: UUID, _ db: any SQLDatabase) async throws -> RegimeSettings {
        guard
            let row = try await db.raw("SELECT * FROM inc_regimes WHERE establishment_id = \(bind: establishment)")
                .first()
        else { return RegimeSettings() }
        let entity = try row.decode(column: "entity", as: String.self)
        return RegimeSettings(
            nis2Class: RegimeSettings.NIS2Class(rawValue: try row.decode(column: "nis2_class", as: String.self))
                ?? .none,
            certSanteHours: Int(try row.decode(column: "cert_sante_hours", as: Int64.self)),
            cnilHours: Int(try row.decode(column: "cnil_hours", as: Int64.self)),
            nis2WarningHours: Int(try row.decode(column: "nis2_warning_hours", as: Int64.self)),
            nis2NotificationHours: Int(try row.decode(column: "nis2_notification_hours", as: Int64.self)),
            nis2FinalDays: Int(try row.decode(column: "nis2_final_days", as: Int64.self)),
            entity: (try? JSONDecoder().decode([String: String].self, from: Data(entity.utf8))) ?? [:])
    }

    /// Records the establishment's regimes; unsent declarations get their new deadlines.
    public func updateRegimes(_ settings: RegimeSettings, in scope: TenantScope) async throws {
        try scope.require([.admin, .rssi])
        for (name, value, range) in [
            ("cert_sante_hours", settings.certSanteHours, 1...720), ("cnil_hours", settings.cnilHours, 1...720),
            ("nis2_warning_hours", settings.nis2WarningHours, 1...720),
            ("nis2_notification_hours", settings.nis2NotificationHours, 1...720),
            ("nis2_final_days", settings.nis2FinalDays, 1...365),
        ] where !range.contains(value) {
            throw IncidentsError.invalid("\(name) must be between \(range.lowerBound) and \(range.upperBound)")
        }
        guard settings.entity.count <= 50, settings.entity.allSatisfy({ $0.value.count <= 500 }) else {
            throw IncidentsError.invalid("at most 50 entity fields of 500 characters")
        }
        let establishment = scope.establishmentID.uuid
        let ms = clock.now().milliseconds
        try await audit.recording(
            AuditEntry(
                action: "cases.regimes", objectType: "regimes", objectID: nil,
                summary: "regimes: NIS2 \(settings.nis2Class.rawValue.isEmpty ? "none" : settings.nis2Class.rawValue)",
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            try await db.raw("DELETE FROM inc_regimes WHERE establishment_id = \(bind: establishment)").run()
            try await db.raw(
                """
                INSERT INTO inc_regimes (establishment_id, nis2_class, cert_sante_hours, cnil_hours, \
                nis2_warning_hours, nis2_notification_hours, nis2_final_days, entity, updated_at) VALUES \
                (\(bind: establishment), \(bind: settings.nis2Class.rawValue), \(bind: Int64(settings.certSanteHours)), \
                \(bind: Int64(settings.cnilHours)), \(bind: Int64(settings.nis2WarningHours)), \
                \(bind: Int64(settings.nis2NotificationHours)), \(bind: Int64(settings.nis2FinalDays)), \
                \(bind: ReportService.json(settings.entity)), \(bind: ms))
                """
            ).run()
            let open = try await db.raw(
                """
                SELECT DISTINCT case_id FROM inc_declarations WHERE establishment_id = \(bind: establishment) \
                AND status = 'draft'
                """
            ).all().map { try $0.decode(column: "case_id", as: Int64.self) }
            for caseID in open { try await self.reschedule(db, caseID, establishment: establishment) }
        }
    }

    /// Qualifies a case: the declarations its qualification triggers are created (as drafts with their
    /// deadlines); those no longer triggered and never sent are removed.
    public func qualify(_ id: Int64, _ qualification: Qualification, in scope: TenantScope) async throws -> CaseDetail {
        try scope.require(Self.handlers)
        _ = try await incident(id, in: scope)
        let establishment = scope.establishmentID.uuid
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        let summary = [
            qualification.significant ? "significant" : nil, qualification.personalData ? "personal data" : nil,
            qualification.nis2 ? "NIS2" : nil,
        ].compactMap { $0 }.joined(separator: ", ")
        try await changing("case.qualify", id, "case \(id) qualified: \(summary.isEmpty ? "none" : summary)", in: scope)
        {
            db in
            let regimes = try await self.storedRegimes(establishment, db).regimes(for: qualification)
            try await db.raw(
                """
                UPDATE inc_cases SET significant = \(bind: qualification.significant), \
                personal_data = \(bind: qualification.personalData), nis2 = \(bind: qualification.nis2), \
                updated_at = \(bind: ms) WHERE id = \(bind: id) AND establishment_id = \(bind: establishment)
                """
            ).run()
            let existing = try await db.raw(
                "SELECT regime, status FROM inc_declarations WHERE case_id = \(bind: id)"
            ).all().map {
                (try $0.decode(column: "regime", as: String.self), try $0.decode(column: "status", as: String.self))
            }
            for (regime, status) in existing where status == "draft" && !regimes.map(\.rawValue).contains(regime) {
                try await db.raw(
                    "DELETE FROM inc_declarations WHERE case_id = \(bind: id) AND regime = \(bind: regime)"
                ).run()
            }
            for regime in regimes where !existing.contains(where: { $0.0 == regime.rawValue }) {
                try await db.raw(
                    """
                    INSERT INTO inc_declarations (establishment_id, case_id, regime, status, reference, delay_reason, \
                    snapshot_sha256, created_at) VALUES (\(bind: establishment), \(bind: id), \(bind: regime.rawValue), \
                    'draft', '', '', '', \(bind: ms))
                    """
                ).run()
            }
            try await self.reschedule(db, id, establishment: establishment)
            try await Self.event(
                db, id, establishment: establishment, at: ms, actor: actor, kind: "qualified",
                "\(summary.isEmpty ? "no declaration" : summary): \(regimes.map(\.rawValue).joined(separator: ", "))")
        }
        return try await detail(id, in: scope)
    }

    /// Recomputes the deadlines of a case's unsent declarations from its awareness time.
    func reschedule(_ db: any SQLDatabase, _ id: Int64, establishment: UUID) async throws {
        guard
            let row = try await db.raw(
                "SELECT aware_at, created_at FROM inc_cases WHERE id = \(bind: id) AND establishment_id = \(bind: establishment)"
            ).first()
        else { return }
        let aware = Date(
            milliseconds: try row.decode(column: "aware_at", as: Int64?.self)
                ?? row.decode(column: "created_at", as: Int64.self))
        let settings = try await storedRegimes(establishment, db)
        let declarations = try await db.raw(
            "SELECT regime, status, sent_at, due_at FROM inc_declarations WHERE case_id = \(bind: id)"
        ).all()
        var notification: (sent: Date?, due: Date?)?
        for row in declarations
        where try row.decode(column: "regime", as: String.self) == Regime.nis2Notification.rawValue {
            notification = (
                try row.decode(column: "sent_at", as: Int64?.self).map(Date.init(milliseconds:)),
                settings.due(.nis2Notification, awareAt: aware)
            )
        }
        for row in declarations {
            guard let regime = Regime(rawValue: try row.decode(column: "regime", as: String.self)),
                try row.decode(column: "status", as: String.self) == "draft"
            else { continue }
            let due = settings.due(regime, awareAt: aware, notification: notification)
            try await db.raw(
                """
                UPDATE inc_declarations SET due_at = \(bind: due.milliseconds) WHERE case_id = \(bind: id) \
                AND regime = \(bind: regime.rawValue)
                """
            ).run()
        }
    }

    /// Marks a declaration sent with its date and the regulator's reference; the declaration's content as sent
    /// is hashed and the hash kept. A late one needs the reason for the delay (the forms ask for it).
    public func markSent(
        _ declarationID: Int64, sentAt: Date, reference: String, delayReason: String = "", content: [UInt8],
        in scope: TenantScope
    ) async throws -> Declaration {
        try scope.require(Self.handlers)
        let establishment = scope.establishmentID.uuid
        guard
            let row = try await sql.raw(
                """
                SELECT * FROM inc_declarations WHERE id = \(bind: declarationID) \
                AND establishment_id = \(bind: establishment)
                """
            ).first()
        else { throw IncidentsError.notFound("declaration") }
        let declaration = try Self.declaration(row)
        guard declaration.status == .draft else { throw IncidentsError.invalid("this declaration was already sent") }
        guard sentAt <= clock.now().addingTimeInterval(300) else {
            throw IncidentsError.invalid("the sending date is in the future")
        }
        let reference = try Self.text(reference, "reference", max: 200)
        let delayReason = try Self.text(delayReason, "delay reason", max: 2_000)
        if let due = declaration.dueAt, sentAt > due, delayReason.isEmpty {
            throw IncidentsError.invalid("sent after the deadline: give the reason for the delay")
        }
        let digest = Self.sha256(content)
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        try await changing(
            "case.declaration", declaration.caseID,
            "case \(declaration.caseID): \(declaration.regime.rawValue) sent (\(reference))", in: scope
        ) { db in
            try await db.raw(
                """
                UPDATE inc_declarations SET status = 'sent', sent_at = \(bind: sentAt.milliseconds), \
                reference = \(bind: reference), delay_reason = \(bind: delayReason), snapshot_sha256 = \(bind: digest) \
                WHERE id = \(bind: declarationID)
                """
            ).run()
            try await Self.event(
                db, declaration.caseID, establishment: establishment, at: ms, actor: actor, kind: "declaration",
                "\(declaration.regime.rawValue) sent \(Self.iso(sentAt)), reference \(reference.isEmpty ? "—" : reference), "
                    + "SHA-256 \(digest)")
            // The NIS2 final report is due a month after the notification was actually sent.
            if declaration.regime == .nis2Notification {
                try await self.reschedule(db, declaration.caseID, establishment: establishment)
            }
        }
        return try await detail(declaration.caseID, in: scope).declarations.first { $0.id == declarationID }!
    }
}
