import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import RecordInput
import SQLKit
import VulnCore

extension VulnService {
    static let findingSelect = """
        SELECT f.*, a.name AS asset_name, a.kind AS asset_kind, c.name AS component_name, c.version AS component_version,
               r.kev AS kev, r.kev_due AS kev_due, e.epss AS epss
        FROM vuln_findings f
        LEFT JOIN vuln_assets a ON a.id = f.asset_id
        LEFT JOIN vuln_components c ON c.id = f.component_id
        LEFT JOIN vuln_records r ON r.id = f.record_id
        LEFT JOIN vuln_epss e ON e.cve = f.record_id
        """

    static func finding(_ row: any SQLRow) throws -> Finding {
        let componentName = try row.decode(column: "component_name", as: String?.self)
        let componentVersion = try row.decode(column: "component_version", as: String?.self)
        return Finding(
            id: try row.decode(column: "id", as: UUID.self),
            assetID: try row.decode(column: "asset_id", as: UUID?.self),
            assetName: try row.decode(column: "asset_name", as: String?.self),
            componentID: try row.decode(column: "component_id", as: UUID?.self),
            componentLabel: componentName.map {
                "\($0) \(componentVersion ?? "")".trimmingCharacters(in: .whitespaces)
            },
            recordID: try row.decode(column: "record_id", as: String?.self),
            origin: FindingOrigin(rawValue: try row.decode(column: "origin", as: String.self)) ?? .match,
            assessmentID: try row.decode(column: "assessment_id", as: UUID?.self),
            title: try row.decode(column: "title", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            recommendation: try row.decode(column: "recommendation", as: String.self),
            severity: try row.decode(column: "severity", as: String.self),
            cvssScore: try row.decode(column: "cvss_score", as: Double?.self),
            confidence: MatchConfidence(rawValue: try row.decode(column: "confidence", as: String.self)) ?? .product,
            reason: try row.decode(column: "reason", as: String.self),
            priority: SSVC.Decision(rawValue: try row.decode(column: "priority", as: String.self)) ?? .scheduled,
            exploitation: SSVC.Exploitation(rawValue: try row.decode(column: "exploitation", as: String.self)) ?? .none,
            exposure: SSVC.Exposure(rawValue: try row.decode(column: "exposure", as: String.self)) ?? .controlled,
            automatable: try row.decode(column: "automatable", as: Bool.self),
            humanImpact: SSVC.HumanImpact(rawValue: try row.decode(column: "human_impact", as: String.self)) ?? .low,
            kev: try row.decode(column: "kev", as: Bool?.self) ?? false,
            kevDue: try row.decode(column: "kev_due", as: String?.self),
            epss: try row.decode(column: "epss", as: Double?.self),
            status: FindingStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
            statusNote: try row.decode(column: "status_note", as: String.self),
            assignee: try row.decode(column: "assignee", as: String?.self),
            dueOn: try row.decode(column: "due_on", as: String.self),
            acceptedBy: try row.decode(column: "accepted_by", as: String?.self),
            acceptedUntil: try row.decode(column: "accepted_until", as: String?.self),
            firstSeenAt: Date(milliseconds: try row.decode(column: "first_seen_at", as: Int64.self)),
            lastSeenAt: Date(milliseconds: try row.decode(column: "last_seen_at", as: Int64.self)),
            resolvedAt: try row.decode(column: "resolved_at", as: Int64?.self).map { Date(milliseconds: $0) })
    }

    static let priorityOrder =
        "CASE f.priority WHEN 'immediate' THEN 0 WHEN 'outOfCycle' THEN 1 WHEN 'scheduled' THEN 2 ELSE 3 END"

    /// Findings by priority (most urgent first), then deadline.
    public func findings(_ filter: FindingFilter, in scope: TenantScope) async throws -> (items: [Finding], total: Int)
    {
        try scope.require(Self.readers)
        var conditions: [SQLQueryString] = ["f.establishment_id = \(bind: scope.establishmentID.uuid)"]
        if !filter.statuses.isEmpty {
            var clause: SQLQueryString = "f.status IN ("
            for (index, status) in filter.statuses.sorted(by: { $0.rawValue < $1.rawValue }).enumerated() {
                if index > 0 { clause = clause + ", " }
                clause = clause + "\(bind: status.rawValue)"
            }
            conditions.append(clause + ")")
        }
        if let priority = filter.priority { conditions.append("f.priority = \(bind: priority.rawValue)") }
        if let asset = filter.assetID { conditions.append("f.asset_id = \(bind: asset)") }
        if filter.kevOnly { conditions.append("r.kev = \(bind: true)") }
        if filter.internetExposedOnly { conditions.append("a.internet_exposed = \(bind: true)") }
        if filter.overdueOnly { conditions.append("f.due_on < \(bind: today())") }
        if filter.medicalOnly { conditions.append("a.kind = \(bind: AssetKind.medicalDevice.rawValue)") }
        let settings = try await settings(for: scope.establishmentID.uuid, on: sql)
        if !(filter.includeProductMatches || settings.includeProductMatches) {
            conditions.append("f.confidence <> \(bind: MatchConfidence.product.rawValue)")
        }
        if let search = filter.search?.lowercased(), !search.isEmpty {
            let pattern = "%\(search)%"
            conditions.append(
                "(LOWER(f.title) LIKE \(bind: pattern) OR LOWER(COALESCE(a.name, '')) LIKE \(bind: pattern))")
        }
        var whereClause: SQLQueryString = " WHERE "
        for (index, condition) in conditions.enumerated() {
            if index > 0 { whereClause = whereClause + " AND " }
            whereClause = whereClause + condition
        }
        let total =
            try await sql.raw(
                """
                SELECT COUNT(*) AS n FROM vuln_findings f LEFT JOIN vuln_assets a ON a.id = f.asset_id
                LEFT JOIN vuln_records r ON r.id = f.record_id
                """ + whereClause
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        let limit = min(max(filter.limit, 1), 5_000)
        let rows = try await sql.raw(
            SQLQueryString(Self.findingSelect) + whereClause
                + SQLQueryString(" ORDER BY " + Self.priorityOrder + ", f.due_on, f.cvss_score DESC, f.id")
                + " LIMIT \(bind: limit) OFFSET \(bind: max(0, filter.offset))"
        ).all()
        return (try rows.map(Self.finding), total)
    }

    public func finding(_ id: UUID, in scope: TenantScope) async throws -> Finding {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                SQLQueryString(Self.findingSelect)
                    + " WHERE f.id = \(bind: id) AND f.establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()
        else { throw HygieCoreError.notFound("finding") }
        return try Self.finding(row)
    }

    public func events(of finding: UUID, in scope: TenantScope) async throws -> [FindingEvent] {
        try scope.require(Self.readers)
        return try await sql.raw(
            "SELECT * FROM vuln_finding_events WHERE finding_id = \(bind: finding) AND establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY at, seq"
        ).all().map { row in
            FindingEvent(
                at: Date(milliseconds: try row.decode(column: "at", as: Int64.self)),
                actor: try row.decode(column: "actor", as: String.self),
                kind: try row.decode(column: "kind", as: String.self),
                oldValue: try row.decode(column: "old_value", as: String?.self),
                newValue: try row.decode(column: "new_value", as: String?.self),
                note: try row.decode(column: "note", as: String.self))
        }
    }

    /// Changes a finding's status, assignee, deadline or adds a comment; every change is a timeline event.
    public func update(_ id: UUID, _ change: FindingUpdate, in scope: TenantScope) async throws -> Finding {
        try scope.require(Self.writers.union([.auditor]))
        let current = try await finding(id, in: scope)
        let note = (change.note ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard note.count <= 2000 else {
            throw ValidationError(field: "note", message: "at most 2,000 characters", key: "length")
        }
        if let status = change.status, status != current.status {
            if scope.role == .auditor, status != .fixed, status != .open {
                throw HygieCoreError.forbidden("an auditor only verifies fixes or reopens findings")
            }
            switch status {
            case .riskAccepted:
                try scope.require(Self.approvers)
                guard let until = change.acceptedUntil, Self.dateFormatter.date(from: until) != nil, until > today()
                else {
                    throw ValidationError(
                        field: "accepted_until", message: "a risk is accepted until a future date (YYYY-MM-DD)")
                }
                guard !note.isEmpty else {
                    throw ValidationError(field: "note", message: "say why the risk is accepted", key: "required")
                }
            case .falsePositive, .mitigated:
                guard !note.isEmpty else {
                    throw ValidationError(
                        field: "note",
                        message: "explain the \(status.rawValue.replacingOccurrences(of: "_", with: " "))",
                        key: "required")
                }
            default: break
            }
        }
        if let due = change.dueOn, Self.dateFormatter.date(from: due) == nil {
            throw ValidationError(field: "due_on", message: "expected a date YYYY-MM-DD")
        }
        if let assignee = change.assignee, (assignee?.count ?? 0) > 200 {
            throw ValidationError(field: "assignee", message: "at most 200 characters", key: "length")
        }
        let now = now()
        let actorName = scope.actor.displayName
        try await changing(
            AuditEntry(
                action: "vuln.finding.update", objectType: "vuln_finding", objectID: id.uuidString,
                summary: "updated finding \(current.title.prefix(80))", establishmentID: scope.establishmentID),
            by: scope.actor
        ) { db in
            var update = db.update("vuln_findings").set("updated_at", to: now)
            var changed = false
            if let status = change.status, status != current.status {
                update = update.set("status", to: status.rawValue).set("status_note", to: note)
                update = update.set("resolved_at", to: status.isActive ? nil : now)
                if status == .riskAccepted {
                    update = update.set("accepted_by", to: actorName).set("accepted_until", to: change.acceptedUntil)
                }
                try await Self.event(
                    id, scope.establishmentID.uuid, "status", current.status.rawValue, status.rawValue, note,
                    by: actorName, at: now, on: db)
                changed = true
            } else if !note.isEmpty {
                try await Self.event(
                    id, scope.establishmentID.uuid, "comment", nil, nil, note, by: actorName, at: now, on: db)
            }
            if let assignee = change.assignee, assignee != current.assignee {
                let value = assignee?.trimmingCharacters(in: .whitespaces)
                update = update.set("assignee", to: value?.isEmpty == false ? value : nil)
                try await Self.event(
                    id, scope.establishmentID.uuid, "assignee", current.assignee, value, "", by: actorName, at: now,
                    on: db)
                changed = true
            }
            if let due = change.dueOn, due != current.dueOn {
                update = update.set("due_on", to: due)
                try await Self.event(
                    id, scope.establishmentID.uuid, "due", current.dueOn, due, note, by: actorName, at: now, on: db)
                changed = true
            }
            if changed {
                try await update.where("id", .equal, id).where("establishment_id", .equal, scope.establishmentID.uuid)
                    .run()
                try await Self.updateRisk(establishment: scope.establishmentID.uuid, on: db)
            }
        }
        return try await finding(id, in: scope)
    }

    // MARK: Expert findings

    public func createAssessment(
        title: String, kind: String, auditor: String, scope text: String, startedOn: String, endedOn: String?,
        in scope: TenantScope
    ) async throws -> UUID {
        try scope.require(Self.experts)
        let title = title.trimmingCharacters(in: .whitespaces)
        guard !title.isEmpty, title.count <= 200 else {
            throw ValidationError(field: "title", message: "between 1 and 200 characters", key: "length")
        }
        guard ["pentest", "audit", "red_team", "configuration_review", "other"].contains(kind) else {
            throw ValidationError(field: "kind", message: "pentest, audit, red_team, configuration_review or other")
        }
        for (field, date) in [("started_on", Optional(startedOn)), ("ended_on", endedOn)] {
            if let date, !date.isEmpty, Self.dateFormatter.date(from: date) == nil {
                throw ValidationError(field: field, message: "expected a date YYYY-MM-DD")
            }
        }
        let id = UUID()
        let now = now()
        try await changing(
            AuditEntry(
                action: "vuln.assessment.create", objectType: "vuln_assessment", objectID: id.uuidString,
                summary: "recorded assessment \(title)", establishmentID: scope.establishmentID), by: scope.actor
        ) { db in
            try await db.insert(into: "vuln_assessments")
                .columns(
                    "id", "establishment_id", "title", "kind", "auditor", "scope", "started_on", "ended_on",
                    "created_at"
                )
                .values(
                    id, scope.establishmentID.uuid, title, kind, String(auditor.prefix(200)), String(text.prefix(4000)),
                    startedOn,
                    endedOn?.isEmpty == false ? endedOn : nil, now
                ).run()
        }
        return id
    }

    public func assessments(in scope: TenantScope) async throws -> [Assessment] {
        try scope.require(Self.readers)
        return try await sql.raw(
            """
            SELECT s.*, (SELECT COUNT(*) FROM vuln_findings f WHERE f.assessment_id = s.id) AS n
            FROM vuln_assessments s WHERE s.establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY s.started_on DESC
            """
        ).all().map { row in
            Assessment(
                id: try row.decode(column: "id", as: UUID.self),
                title: try row.decode(column: "title", as: String.self),
                kind: try row.decode(column: "kind", as: String.self),
                auditor: try row.decode(column: "auditor", as: String.self),
                scope: try row.decode(column: "scope", as: String.self),
                startedOn: try row.decode(column: "started_on", as: String.self),
                endedOn: try row.decode(column: "ended_on", as: String?.self),
                findingCount: try row.decode(column: "n", as: Int.self))
        }
    }

    /// Records an expert's finding on one or more assets (one finding per asset, same lifecycle as matches).
    public func createExpertFinding(_ draft: ExpertFindingDraft, in scope: TenantScope) async throws -> [UUID] {
        try scope.require(Self.experts)
        let title = draft.title.trimmingCharacters(in: .whitespaces)
        guard !title.isEmpty, title.count <= 300 else {
            throw ValidationError(field: "title", message: "between 1 and 300 characters", key: "length")
        }
        guard draft.description.count <= 20_000, draft.recommendation.count <= 20_000 else {
            throw ValidationError(field: "description", message: "at most 20,000 characters", key: "length")
        }
        if let cve = draft.cve, !cve.isEmpty, !(cve.hasPrefix("CVE-") && cve.count <= 20) {
            throw ValidationError(field: "cve", message: "expected a CVE id such as CVE-2024-3400")
        }
        var assets: [Asset?] = []
        for id in draft.assetIDs { assets.append(try await asset(id, in: scope)) }
        if assets.isEmpty { assets = [nil] }  // an organisational finding
        if let assessment = draft.assessmentID {
            guard
                try await sql.raw(
                    "SELECT id FROM vuln_assessments WHERE id = \(bind: assessment) AND establishment_id = \(bind: scope.establishmentID.uuid)"
                ).first() != nil
            else { throw HygieCoreError.notFound("assessment") }
        }
        let cve = draft.cve?.isEmpty == false ? draft.cve : nil
        var found: RecordMeta?
        if let cve { found = try await self.meta([cve], on: sql)[cve] }
        let meta = found
        let settings = try await settings(for: scope.establishmentID.uuid, on: sql)
        let now = now()
        let actorName = scope.actor.displayName
        return try await changing(
            AuditEntry(
                action: "vuln.finding.expert", objectType: "vuln_finding", objectID: nil,
                summary: "recorded expert finding \(title.prefix(80)) on \(assets.count) asset(s)",
                establishmentID: scope.establishmentID), by: scope.actor
        ) { [assets] db in
            var created: [UUID] = []
            for asset in assets {
                let id = UUID()
                let (decision, exploitation, exposure, automatable, human) = Self.decision(
                    meta, asset: asset, fallback: draft.severity)
                let priority = max(decision, draft.severity.priority)
                let due = Self.day(Date(milliseconds: now).addingTimeInterval(Double(settings.days(priority)) * 86_400))
                try await db.insert(into: "vuln_findings")
                    .columns(
                        "id", "establishment_id", "asset_id", "component_id", "record_id", "match_key", "origin",
                        "assessment_id", "title", "description", "recommendation", "severity", "cvss_score",
                        "confidence",
                        "reason", "priority", "exploitation", "exposure", "automatable", "human_impact", "status",
                        "status_note", "assignee", "due_on", "accepted_by", "accepted_until", "first_seen_at",
                        "last_seen_at", "resolved_at", "updated_at"
                    )
                    .values(
                        id, scope.establishmentID.uuid, asset?.id, UUID?.none, cve, "expert|\(id.uuidString)",
                        FindingOrigin.expert.rawValue, draft.assessmentID, title, draft.description,
                        draft.recommendation,
                        draft.severity.rawValue, meta?.cvssScore, MatchConfidence.exact.rawValue,
                        "recorded by \(actorName)",
                        priority.rawValue, exploitation.rawValue, exposure.rawValue, automatable, human.rawValue,
                        FindingStatus.open.rawValue, "", String?.none, due, String?.none, String?.none, now, now,
                        Int64?.none, now
                    ).run()
                try await Self.event(
                    id, scope.establishmentID.uuid, "status", nil, "open", "recorded by an expert", by: actorName,
                    at: now, on: db)
                created.append(id)
            }
            try await Self.updateRisk(establishment: scope.establishmentID.uuid, on: db)
            return created
        }
    }

    // MARK: Evidence

    public func addEvidence(
        to finding: UUID, filename: String, contentType: String, bytes: [UInt8], in scope: TenantScope
    ) async throws -> Evidence {
        try scope.require(Self.experts)
        _ = try await self.finding(finding, in: scope)
        guard !bytes.isEmpty else {
            throw ValidationError(field: "file", message: "the file is empty", key: "required")
        }
        guard bytes.count <= 20 * 1_048_576 else { throw VulnError.tooLarge(limit: 20 * 1_048_576) }
        let name = String((filename as NSString).lastPathComponent.prefix(200))
        let type = contentType.count <= 100 && !contentType.isEmpty ? contentType : "application/octet-stream"
        let id = UUID()
        let now = now()
        let hash = Data(bytes).sha256Hex
        try await changing(
            AuditEntry(
                action: "vuln.evidence.add", objectType: "vuln_finding", objectID: finding.uuidString,
                summary: "attached \(name) (sha256 \(hash.prefix(16))…)", establishmentID: scope.establishmentID),
            by: scope.actor
        ) { db in
            try await db.insert(into: "vuln_evidence")
                .columns(
                    "id", "establishment_id", "finding_id", "filename", "content_type", "sha256", "size", "content",
                    "uploaded_by", "uploaded_at"
                )
                .values(
                    id, scope.establishmentID.uuid, finding, name, type, hash, bytes.count, Data(bytes),
                    scope.actor.displayName, now
                ).run()
            try await Self.event(
                finding, scope.establishmentID.uuid, "evidence", nil, name, "sha256 \(hash)",
                by: scope.actor.displayName, at: now, on: db)
        }
        return Evidence(
            id: id, findingID: finding, filename: name, contentType: type, sha256: hash, size: bytes.count,
            uploadedBy: scope.actor.displayName, uploadedAt: Date(milliseconds: now))
    }

    public func evidence(of finding: UUID, in scope: TenantScope) async throws -> [Evidence] {
        try scope.require(Self.readers)
        return try await sql.raw(
            "SELECT id, finding_id, filename, content_type, sha256, size, uploaded_by, uploaded_at FROM vuln_evidence WHERE finding_id = \(bind: finding) AND establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY uploaded_at"
        ).all().map(Self.evidence)
    }

    public func evidenceContent(_ id: UUID, in scope: TenantScope) async throws -> (Evidence, Data) {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                "SELECT * FROM vuln_evidence WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()
        else { throw HygieCoreError.notFound("evidence") }
        return (try Self.evidence(row), try row.decode(column: "content", as: Data.self))
    }

    static func evidence(_ row: any SQLRow) throws -> Evidence {
        Evidence(
            id: try row.decode(column: "id", as: UUID.self),
            findingID: try row.decode(column: "finding_id", as: UUID.self),
            filename: try row.decode(column: "filename", as: String.self),
            contentType: try row.decode(column: "content_type", as: String.self),
            sha256: try row.decode(column: "sha256", as: String.self),
            size: try row.decode(column: "size", as: Int.self),
            uploadedBy: try row.decode(column: "uploaded_by", as: String.self),
            uploadedAt: Date(milliseconds: try row.decode(column: "uploaded_at", as: Int64.self)))
    }

    // MARK: Reports

    /// Figures for the dashboard, the reports and compliance evidence.
    public func summary(in scope: TenantScope, weeks: Int = 12) async throws -> VulnSummary {
        try scope.require(Self.readers)
        let establishment = scope.establishmentID.uuid
        var summary = VulnSummary()
        let settings = try await settings(for: establishment, on: sql)
        let productClause: SQLQueryString =
            settings.includeProductMatches ? "" : " AND f.confidence <> \(bind: MatchConfidence.product.rawValue)"
        if let row = try await sql.raw(
            """
            SELECT COUNT(*) AS n, SUM(CASE WHEN kind = \(bind: AssetKind.medicalDevice.rawValue) THEN 1 ELSE 0 END) AS m,
                   SUM(CASE WHEN internet_exposed THEN 1 ELSE 0 END) AS x,
                   SUM(CASE WHEN end_of_support IS NOT NULL AND end_of_support <> '' AND end_of_support < \(bind: today()) THEN 1 ELSE 0 END) AS u,
                   COALESCE(SUM(risk), 0) AS risk
            FROM vuln_assets WHERE establishment_id = \(bind: establishment)
            """
        ).first() {
            summary.assets = try row.decode(column: "n", as: Int.self)
            summary.medicalDevices = try row.decode(column: "m", as: Int?.self) ?? 0
            summary.internetExposed = try row.decode(column: "x", as: Int?.self) ?? 0
            summary.unsupported = try row.decode(column: "u", as: Int?.self) ?? 0
            let total = try row.decode(column: "risk", as: Double.self)
            summary.establishmentRisk = summary.assets == 0 ? 0 : min(100, total / Double(summary.assets) * 4)
        }
        let active: SQLQueryString =
            "f.status IN (\(bind: FindingStatus.open.rawValue), \(bind: FindingStatus.inProgress.rawValue))"
        for row in try await sql.raw(
            "SELECT f.priority, COUNT(*) AS n FROM vuln_findings f WHERE f.establishment_id = \(bind: establishment) AND "
                + active
                + productClause + " GROUP BY f.priority"
        ).all() {
            if let priority = SSVC.Decision(rawValue: try row.decode(column: "priority", as: String.self)) {
                summary.openByPriority[priority] = try row.decode(column: "n", as: Int.self)
            }
        }
        summary.kevOnExposed =
            try await sql.raw(
                """
                SELECT COUNT(*) AS n FROM vuln_findings f JOIN vuln_assets a ON a.id = f.asset_id JOIN vuln_records r ON r.id = f.record_id
                WHERE f.establishment_id = \(bind: establishment) AND r.kev AND a.internet_exposed
                """ + " AND " + active + productClause
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        summary.overdue =
            try await sql.raw(
                "SELECT COUNT(*) AS n FROM vuln_findings f WHERE f.establishment_id = \(bind: establishment) AND f.due_on < \(bind: today()) AND "
                    + active + productClause
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        // Mean time to remediate over findings fixed in the last year.
        let yearAgo = now() - 365 * 86_400_000
        if let row = try await sql.raw(
            "SELECT CAST(AVG(f.resolved_at - f.first_seen_at) AS DOUBLE PRECISION) AS d FROM vuln_findings f WHERE f.establishment_id = \(bind: establishment) AND f.status = \(bind: FindingStatus.fixed.rawValue) AND f.resolved_at > \(bind: yearAgo)"
        ).first(), let milliseconds = try row.decode(column: "d", as: Double?.self) {
            summary.meanDaysToRemediate = milliseconds / 86_400_000
        }
        // Open findings at the end of each week: detected before and not resolved before.
        let week: Int64 = 7 * 86_400_000
        let current = now()
        for index in stride(from: weeks - 1, through: 0, by: -1) {
            let end = current - Int64(index) * week
            let count =
                try await sql.raw(
                    "SELECT COUNT(*) AS n FROM vuln_findings f WHERE f.establishment_id = \(bind: establishment) AND f.first_seen_at <= \(bind: end) AND (f.resolved_at IS NULL OR f.resolved_at > \(bind: end)) AND f.status <> \(bind: FindingStatus.falsePositive.rawValue)"
                        + productClause
                ).first()?.decode(column: "n", as: Int.self) ?? 0
            summary.openTrend.append((Self.day(Date(milliseconds: end)), count))
        }
        for row in try await sql.raw(
            """
            SELECT a.kind, COUNT(DISTINCT a.id) AS assets, COUNT(f.id) AS findings FROM vuln_assets a
            LEFT JOIN vuln_findings f ON f.asset_id = a.id
            """ + " AND " + active + productClause
                + " WHERE a.establishment_id = \(bind: establishment) GROUP BY a.kind ORDER BY a.kind"
        ).all() {
            summary.byDeviceClass.append(
                (
                    try row.decode(column: "kind", as: String.self), try row.decode(column: "assets", as: Int.self),
                    try row.decode(column: "findings", as: Int.self)
                ))
        }
        return summary
    }

    /// Findings as CSV (spreadsheet-safe: formula characters neutralised).
    public func exportCSV(_ filter: FindingFilter, in scope: TenantScope) async throws -> String {
        var filter = filter
        filter.limit = 5_000
        let items = try await findings(filter, in: scope).items
        var lines = [
            "id,cve,title,asset,component,priority,cvss,epss,kev,confidence,status,due_on,assignee,first_seen,reason"
        ]
        for item in items {
            let fields: [String] = [
                item.id.uuidString.lowercased(), item.recordID ?? "", item.title, item.assetName ?? "",
                item.componentLabel ?? "",
                item.priority.rawValue, item.cvssScore.map { String($0) } ?? "", item.epss.map { String($0) } ?? "",
                item.kev ? "yes" : "no", item.confidence.rawValue, item.status.rawValue, item.dueOn,
                item.assignee ?? "",
                Self.day(item.firstSeenAt), item.reason,
            ]
            lines.append(fields.map(CSV.field).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
