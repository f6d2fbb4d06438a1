public import ComplianceCore
import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import SQLKit

extension ComplianceService {
    // MARK: Assessments

    /// Opens an assessment of the scope's establishment against a framework.
    public func createAssessment(
        framework frameworkID: UUID, title: String, groups: [String] = [], units: [ScopeUnit] = [],
        dueOn: String? = nil, reviewerID: UUID? = nil, in scope: TenantScope
    ) async throws -> Assessment {
        try scope.require(Self.managers)
        let summary = try await frameworkSummary(frameworkID)
        let framework = try await framework(frameworkID)
        let title = try Self.text(title, field: "title", max: 200)
        let groups = try Self.validGroups(groups, in: framework)
        try Self.validate(units)
        if let dueOn { try Self.validDay(dueOn, field: "due_on") }
        if let reviewerID { try await requireMember(reviewerID, in: scope) }
        let id = UUID()
        let now = now()
        let assessment = Assessment(
            id: id, establishmentID: scope.establishmentID, frameworkID: frameworkID, frameworkURN: summary.urn,
            frameworkVersion: summary.version, title: title, status: .inProgress, groups: groups, scope: units,
            dueOn: dueOn, reviewerID: reviewerID, signedOffBy: nil, signedOffAt: nil, closedAt: nil,
            createdBy: scope.actor.displayName, createdAt: Date(milliseconds: now), updatedAt: Date(milliseconds: now))
        let unitsJSON = try Self.json(units)
        try await changing(
            AuditEntry(
                action: "compliance.assessment.create", objectType: "comp_assessment", objectID: id.uuidString,
                summary: "Opened assessment \(title) against \(summary.name)"), by: scope.actor
        ) { db in
            try await db.insert(into: "comp_assessments")
                .columns(
                    "id", "establishment_id", "framework_id", "framework_urn", "framework_version", "title", "status",
                    "groups", "scope", "due_on", "reviewer_id", "created_by", "created_at", "updated_at"
                )
                .values(
                    SQLBind(id), SQLBind(scope.establishmentID.uuid), SQLBind(frameworkID), SQLBind(summary.urn),
                    SQLBind(summary.version), SQLBind(title), SQLBind(AssessmentStatus.inProgress.rawValue),
                    SQLBind(groups.joined(separator: ",")), SQLBind(unitsJSON), SQLBind(dueOn), SQLBind(reviewerID),
                    SQLBind(scope.actor.displayName), SQLBind(now), SQLBind(now)
                ).run()
        }
        return assessment
    }

    /// Changes the title, due day, reviewer, scope or groups of an assessment that is not closed.
    public func updateAssessment(
        _ id: UUID, title: String?, dueOn: String??, reviewerID: UUID??, units: [ScopeUnit]?, groups: [String]?,
        in scope: TenantScope
    ) async throws -> Assessment {
        try scope.require(Self.managers)
        var assessment = try await assessment(id, in: scope)
        guard assessment.status != .closed else { throw HygieCoreError.conflict("the assessment is closed") }
        if let title { assessment.title = try Self.text(title, field: "title", max: 200) }
        if let dueOn {
            if let day = dueOn { try Self.validDay(day, field: "due_on") }
            assessment.dueOn = dueOn
        }
        if let reviewerID {
            if let reviewer = reviewerID { try await requireMember(reviewer, in: scope) }
            assessment.reviewerID = reviewerID
        }
        if let units {
            try Self.validate(units)
            assessment.scope = units
        }
        if let groups {
            assessment.groups = try Self.validGroups(groups, in: try await framework(assessment.frameworkID))
        }
        let unitsJSON = try Self.json(assessment.scope)
        let now = now()
        let updated = assessment
        try await changing(
            AuditEntry(
                action: "compliance.assessment.update", objectType: "comp_assessment", objectID: id.uuidString,
                summary: "Updated assessment \(updated.title)"), by: scope.actor
        ) { db in
            try await db.raw(
                """
                UPDATE comp_assessments SET title = \(bind: updated.title), due_on = \(bind: updated.dueOn), \
                reviewer_id = \(bind: updated.reviewerID), scope = \(bind: unitsJSON), \
                groups = \(bind: updated.groups.joined(separator: ",")), updated_at = \(bind: now) \
                WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).run()
        }
        assessment.updatedAt = Date(milliseconds: now)
        return assessment
    }

    public func assessments(in scope: TenantScope) async throws -> [Assessment] {
        try scope.require(Self.readers)
        return try await sql.raw(
            """
            SELECT * FROM comp_assessments WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            ORDER BY updated_at DESC
            """
        ).all().map(Self.assessment)
    }

    public func assessment(_ id: UUID, in scope: TenantScope) async throws -> Assessment {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                """
                SELECT * FROM comp_assessments WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).first()
        else { throw HygieCoreError.notFound("assessment") }
        return try Self.assessment(row)
    }

    static func assessment(_ row: any SQLRow) throws -> Assessment {
        let groups = try row.decode(column: "groups", as: String.self)
        return Assessment(
            id: try row.decode(column: "id", as: UUID.self),
            establishmentID: .init(try row.decode(column: "establishment_id", as: UUID.self)),
            frameworkID: try row.decode(column: "framework_id", as: UUID.self),
            frameworkURN: try row.decode(column: "framework_urn", as: String.self),
            frameworkVersion: try row.decode(column: "framework_version", as: Int.self),
            title: try row.decode(column: "title", as: String.self),
            status: AssessmentStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .inProgress,
            groups: groups.isEmpty ? [] : groups.split(separator: ",").map(String.init),
            scope: try JSONDecoder().decode(
                [ScopeUnit].self, from: Data(try row.decode(column: "scope", as: String.self).utf8)),
            dueOn: try row.decode(column: "due_on", as: String?.self),
            reviewerID: try row.decode(column: "reviewer_id", as: UUID?.self),
            signedOffBy: try row.decode(column: "signed_off_by", as: String?.self),
            signedOffAt: try row.decode(column: "signed_off_at", as: Int64?.self).map(Date.init(milliseconds:)),
            closedAt: try row.decode(column: "closed_at", as: Int64?.self).map(Date.init(milliseconds:)),
            createdBy: try row.decode(column: "created_by", as: String.self),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }

    /// The assessment with every requirement's state and the scores; a closed assessment is read from the
    /// snapshot frozen when it was signed off. `live: false` scores with the indicator values stored today
    /// instead of measuring again (lists that show many assessments right after ``readings(in:)``).
    public func detail(_ id: UUID, in scope: TenantScope, live: Bool = true) async throws -> AssessmentDetail {
        let assessment = try await assessment(id, in: scope)
        if assessment.status == .closed,
            let snapshot = try await sql.raw(
                "SELECT snapshot FROM comp_assessments WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()?.decode(column: "snapshot", as: String?.self)
        {
            var detail = try JSONDecoder().decode(AssessmentDetail.self, from: Data(snapshot.utf8))
            detail.assessment = assessment
            detail.frozen = true
            return detail
        }
        return try await compute(assessment, measure: live)
    }

    /// Computes the live state of an assessment: results, evidence checks, coverage, indicators and scores.
    func compute(_ assessment: Assessment, measure: Bool) async throws -> AssessmentDetail {
        let framework = try await framework(assessment.frameworkID)
        let summary = try await frameworkSummary(assessment.frameworkID)
        let establishment = assessment.establishmentID.uuid
        var results: [String: RequirementResult] = [:]
        for row in try await sql.raw(
            "SELECT * FROM comp_results WHERE establishment_id = \(bind: establishment) AND assessment_id = \(bind: assessment.id)"
        ).all() {
            results[try row.decode(column: "requirement_urn", as: String.self)] = try Self.result(row)
        }
        var evidence: [String: [EvidenceItem]] = [:]
        for row in try await sql.raw(
            """
            SELECT l.requirement_urn, e.id, e.title, e.link, e.filename, e.content_type, e.size, e.sha256, e.effective_on, \
            e.valid_until, e.owner, e.created_by, e.created_at FROM comp_evidence_links l \
            JOIN comp_evidence e ON e.id = l.evidence_id AND e.establishment_id = l.establishment_id \
            WHERE l.establishment_id = \(bind: establishment) AND l.assessment_id = \(bind: assessment.id) \
            ORDER BY e.effective_on DESC
            """
        ).all() {
            evidence[try row.decode(column: "requirement_urn", as: String.self), default: []].append(
                try Self.evidenceItem(row))
        }
        var comments: [String: Int] = [:]
        for row in try await sql.raw(
            """
            SELECT requirement_urn, COUNT(*) AS n FROM comp_comments WHERE establishment_id = \(bind: establishment) \
            AND assessment_id = \(bind: assessment.id) GROUP BY requirement_urn
            """
        ).all() {
            comments[try row.decode(column: "requirement_urn", as: String.self)] = try row.decode(
                column: "n", as: Int.self)
        }
        // Live measurements for pages and sign-off; the values stored by the daily job otherwise.
        var measurements: [String: IndicatorMeasurement] = [:]
        let keys = Set(framework.nodes.compactMap { $0.rules.indicator?.indicator })
        if measure {
            for key in keys.sorted() {
                if let value = try await self.measure(key, for: assessment.establishmentID) {
                    measurements[key] = value
                }
            }
        } else {
            measurements = try await storedMeasurements(keys, for: assessment.establishmentID)
        }
        let today = today()
        let groups = Set(assessment.groups.map { $0.lowercased() })
        let themeOf = framework.themes()
        var states: [RequirementState] = []
        var outcomes: [String: RequirementOutcome] = [:]
        for node in framework.nodes where node.assessable {
            let result = results[node.urn] ?? RequirementResult()
            let items = evidence[node.urn] ?? []
            let check = EvidenceCheck.evaluate(node.rules, evidence: items.compactMap(\.fact), on: today)
            let measured = node.rules.indicator.flatMap { measurements[$0.indicator] }
            let coverage =
                node.rules.coverageMinimum != nil && !result.coveredUnits.isEmpty
                ? Coverage.ratio(units: assessment.scope, covered: Set(result.coveredUnits)) : nil
            var outcome = RequirementOutcome.resolve(
                manual: result.status, maturity: result.maturity, rules: node.rules,
                measured: measured.map { MeasuredValue(value: $0.value, measuredAt: $0.measuredAt) }, coverage: coverage
            )
            // A requirement whose rules demand evidence cannot be compliant without valid evidence.
            if outcome.status == .compliant, check.state != .unconstrained, check.state != .valid {
                outcome.status = .partial
            }
            outcomes[node.urn] = outcome
            states.append(
                RequirementState(
                    node: node, theme: themeOf[node.urn] ?? node.urn, applies: Scoring.applies(node, selected: groups),
                    result: result, outcome: outcome, evidence: items, evidenceCheck: check, measurement: measured,
                    coverage: coverage, comments: comments[node.urn] ?? 0))
        }
        let (overall, themeSummaries) = Scoring.summarize(framework, outcomes: outcomes, selectedGroups: groups)
        let themes = framework.nodes.filter { themeSummaries[$0.urn] != nil }.map { node in
            ThemeScore(
                urn: node.urn, refID: node.refID ?? "", name: node.name ?? node.refID ?? "",
                summary: themeSummaries[node.urn]!)
        }
        return AssessmentDetail(
            assessment: assessment, framework: summary, overall: overall, themes: themes, requirements: states,
            frozen: false)
    }

    static func result(_ row: any SQLRow) throws -> RequirementResult {
        var result = RequirementResult(
            status: ResultStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .notAssessed,
            updatedBy: try row.decode(column: "updated_by", as: String.self),
            updatedAt: Date(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
        result.maturity = try row.decode(column: "maturity", as: Int?.self)
        result.comment = try row.decode(column: "comment", as: String?.self)
        result.justification = try row.decode(column: "justification", as: String?.self)
        result.assigneeID = try row.decode(column: "assignee_id", as: UUID?.self)
        result.coveredUnits = try JSONDecoder().decode(
            [String].self, from: Data(try row.decode(column: "covered_units", as: String.self).utf8))
        result.answers = try JSONDecoder().decode(
            [String: String].self, from: Data(try row.decode(column: "answers", as: String.self).utf8))
        return result
    }

    /// Records the assessor's answer for one requirement.
    public func updateResult(
        _ assessmentID: UUID, requirement urn: String, _ update: ResultUpdate, in scope: TenantScope
    ) async throws -> RequirementResult {
        try scope.require(Self.writers)
        let assessment = try await assessment(assessmentID, in: scope)
        guard assessment.status != .closed else { throw HygieCoreError.conflict("the assessment is closed") }
        let framework = try await framework(assessment.frameworkID)
        guard let node = framework.nodes.first(where: { $0.urn == urn }), node.assessable else {
            throw HygieCoreError.notFound("requirement \(urn)")
        }
        let existing = try await sql.raw(
            """
            SELECT * FROM comp_results WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            AND assessment_id = \(bind: assessmentID) AND requirement_urn = \(bind: urn)
            """
        ).first().map(Self.result)
        var result = existing ?? RequirementResult()
        if let status = update.status { result.status = status }
        if update.clearMaturity {
            result.maturity = nil
        } else if let maturity = update.maturity {
            let range = (framework.minScore ?? 0)...(framework.maxScore ?? 5)
            guard range.contains(maturity) else {
                throw ValidationError(
                    field: "maturity", message: "must be between \(range.lowerBound) and \(range.upperBound)")
            }
            result.maturity = maturity
        }
        if let comment = update.comment { result.comment = try Self.optionalText(comment, field: "comment", max: 4000) }
        if let justification = update.justification {
            result.justification = try Self.optionalText(justification, field: "justification", max: 2000)
        }
        if update.clearAssignee {
            result.assigneeID = nil
        } else if let assignee = update.assigneeID {
            try await requireMember(assignee, in: scope)
            result.assigneeID = assignee
        }
        if let units = update.coveredUnits {
            let known = Set(assessment.scope.map(\.id))
            for unit in units where !known.contains(unit) {
                throw ValidationError(field: "covered_units", message: "\(unit) is not in the assessment's scope")
            }
            result.coveredUnits = Array(Set(units)).sorted()
        }
        if let answers = update.answers {
            let questions = Set(node.questions.map(\.urn))
            for key in answers.keys where !questions.contains(key) {
                throw ValidationError(field: "answers", message: "\(key) is not a question of this requirement")
            }
            result.answers = answers.filter { !$0.value.isEmpty }
        }
        if result.status == .notApplicable, (result.justification ?? "").isEmpty {
            throw ValidationError(
                field: "justification", message: "say why the requirement does not apply", key: "justification_required"
            )
        }
        result.updatedBy = scope.actor.displayName
        result.updatedAt = clock.now()
        let final = result
        let covered = try Self.json(final.coveredUnits)
        let answers = try Self.json(final.answers)
        let label = node.refID ?? node.urn
        try await changing(
            AuditEntry(
                action: "compliance.result.update", objectType: "comp_assessment", objectID: assessmentID.uuidString,
                summary: "Requirement \(label) set to \(final.status.rawValue) in \(assessment.title)"), by: scope.actor
        ) { db in
            try await db.raw(
                """
                DELETE FROM comp_results WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
                AND assessment_id = \(bind: assessmentID) AND requirement_urn = \(bind: urn)
                """
            ).run()
            try await db.insert(into: "comp_results")
                .columns(
                    "establishment_id", "assessment_id", "requirement_urn", "status", "maturity", "comment",
                    "justification", "assignee_id", "covered_units", "answers", "updated_by", "updated_at"
                )
                .values(
                    SQLBind(scope.establishmentID.uuid), SQLBind(assessmentID), SQLBind(urn),
                    SQLBind(final.status.rawValue), SQLBind(final.maturity), SQLBind(final.comment),
                    SQLBind(final.justification), SQLBind(final.assigneeID), SQLBind(covered), SQLBind(answers),
                    SQLBind(final.updatedBy), SQLBind(final.updatedAt.milliseconds)
                ).run()
            try await db.raw(
                "UPDATE comp_assessments SET updated_at = \(bind: final.updatedAt.milliseconds) WHERE id = \(bind: assessmentID)"
            ).run()
        }
        return final
    }

    /// Requirements assigned to a member, across the establishment's open assessments.
    public func assignments(of userID: UUID, in scope: TenantScope) async throws -> [(
        assessment: Assessment, urn: String
    )] {
        try scope.require(Self.readers)
        let rows = try await sql.raw(
            """
            SELECT r.requirement_urn, a.* FROM comp_results r JOIN comp_assessments a ON a.id = r.assessment_id \
            WHERE r.establishment_id = \(bind: scope.establishmentID.uuid) AND r.assignee_id = \(bind: userID) \
            AND a.status <> \(bind: AssessmentStatus.closed.rawValue) ORDER BY a.updated_at DESC
            """
        ).all()
        return try rows.map { (try Self.assessment($0), try $0.decode(column: "requirement_urn", as: String.self)) }
    }

    // MARK: Review and closing

    /// Hands the assessment to its reviewer.
    public func submitForReview(_ id: UUID, in scope: TenantScope) async throws -> Assessment {
        try scope.require(Self.writers)
        return try await move(id, from: [.inProgress], to: .inReview, action: "submit", in: scope)
    }

    /// Sends an assessment under review back to the respondents.
    public func reopen(_ id: UUID, in scope: TenantScope) async throws -> Assessment {
        try scope.require(Self.reviewers)
        return try await move(id, from: [.inReview], to: .inProgress, action: "reopen", in: scope)
    }

    /// The reviewer signs the assessment off: it is closed and its state frozen (snapshot with its SHA-256),
    /// so later changes to evidence, indicators or the framework do not alter what was signed.
    public func signOff(_ id: UUID, in scope: TenantScope) async throws -> Assessment {
        try scope.require(Self.reviewers)
        var assessment = try await assessment(id, in: scope)
        guard assessment.status == .inReview else {
            throw HygieCoreError.conflict("only an assessment under review can be signed off")
        }
        if let reviewer = assessment.reviewerID, scope.actor.userID?.uuid != reviewer, scope.role != .admin {
            throw HygieCoreError.forbidden("the assessment names another reviewer")
        }
        let now = clock.now()
        assessment.status = .closed
        assessment.signedOffBy = scope.actor.displayName
        assessment.signedOffAt = now
        assessment.closedAt = now
        var detail = try await compute(assessment, measure: true)
        detail.frozen = true
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let snapshot = String(decoding: try encoder.encode(detail), as: UTF8.self)
        let hash = snapshot.sha256Hex
        let closed = assessment
        let frozen = detail
        try await changing(
            AuditEntry(
                action: "compliance.assessment.signoff", objectType: "comp_assessment", objectID: id.uuidString,
                summary: "Signed off and closed \(closed.title) (snapshot sha256 \(hash))"), by: scope.actor
        ) { db in
            try await db.raw(
                """
                UPDATE comp_assessments SET status = \(bind: AssessmentStatus.closed.rawValue), \
                signed_off_by = \(bind: closed.signedOffBy), signed_off_at = \(bind: now.milliseconds), \
                closed_at = \(bind: now.milliseconds), snapshot = \(bind: snapshot), snapshot_sha256 = \(bind: hash), \
                updated_at = \(bind: now.milliseconds) WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).run()
            try await Self.recordScore(frozen, day: DayStamp(now).description, on: db)
        }
        assessment.updatedAt = now
        return assessment
    }

    func move(_ id: UUID, from: Set<AssessmentStatus>, to: AssessmentStatus, action: String, in scope: TenantScope)
        async throws -> Assessment
    {
        var assessment = try await assessment(id, in: scope)
        guard from.contains(assessment.status) else {
            throw HygieCoreError.conflict("the assessment is \(assessment.status.rawValue)")
        }
        let now = now()
        let title = assessment.title
        try await changing(
            AuditEntry(
                action: "compliance.assessment.\(action)", objectType: "comp_assessment", objectID: id.uuidString,
                summary: "Assessment \(title) is now \(to.rawValue)"), by: scope.actor
        ) { db in
            try await db.raw(
                """
                UPDATE comp_assessments SET status = \(bind: to.rawValue), updated_at = \(bind: now) \
                WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).run()
        }
        assessment.status = to
        assessment.updatedAt = Date(milliseconds: now)
        return assessment
    }

    /// Stores today's score of an assessment (one row per day; the fleet view draws trends from it).
    static func recordScore(_ detail: AssessmentDetail, day: String, on db: any SQLDatabase) async throws {
        let themes = try json(
            Dictionary(
                detail.themes.compactMap { theme in theme.summary.score.map { (theme.urn, $0) } },
                uniquingKeysWith: { first, _ in first }))
        try await db.raw(
            """
            DELETE FROM comp_score_history WHERE establishment_id = \(bind: detail.assessment.establishmentID.uuid) \
            AND assessment_id = \(bind: detail.assessment.id) AND day = \(bind: day)
            """
        ).run()
        try await db.insert(into: "comp_score_history")
            .columns(
                "establishment_id", "assessment_id", "framework_urn", "day", "score", "progress", "level", "themes"
            )
            .values(
                SQLBind(detail.assessment.establishmentID.uuid), SQLBind(detail.assessment.id),
                SQLBind(detail.assessment.frameworkURN), SQLBind(day), SQLBind(detail.overall.score),
                SQLBind(detail.overall.progress), SQLBind(detail.overall.level), SQLBind(themes)
            ).run()
    }

    /// Requirement by requirement, what changed between two assessments of the same framework.
    public func compare(_ beforeID: UUID, _ afterID: UUID, in scope: TenantScope) async throws -> AssessmentComparison {
        let before = try await detail(beforeID, in: scope)
        let after = try await detail(afterID, in: scope)
        guard before.assessment.frameworkURN == after.assessment.frameworkURN else {
            throw ValidationError(field: "assessment", message: "both assessments must use the same framework")
        }
        let beforeStatus = Dictionary(
            before.requirements.map { ($0.node.urn, $0.outcome.status) }, uniquingKeysWith: { first, _ in first })
        var rows: [AssessmentComparison.Row] = []
        for state in after.requirements where state.applies {
            let old = beforeStatus[state.node.urn]
            let change = Self.rank(state.outcome.status) - (old.map(Self.rank) ?? 0)
            rows.append(
                AssessmentComparison.Row(
                    refID: state.node.refID ?? "", name: state.node.name ?? state.node.label, before: old,
                    after: state.outcome.status, change: change.signum()))
        }
        let beforeThemes = Dictionary(
            before.themes.map { ($0.urn, $0.summary.score) }, uniquingKeysWith: { first, _ in first })
        return AssessmentComparison(
            before: before.assessment, after: after.assessment, beforeScore: before.overall.score,
            afterScore: after.overall.score, themeNames: after.themes.map { "\($0.refID) \($0.name)" },
            themesBefore: after.themes.map { beforeThemes[$0.urn] ?? nil },
            themesAfter: after.themes.map(\.summary.score),
            rows: rows)
    }

    static func rank(_ status: ResultStatus) -> Int {
        switch status {
        case .compliant: 3
        case .partial: 2
        case .nonCompliant: 1
        case .notAssessed, .notApplicable: 0
        }
    }

    /// The assessment as its exports present it.
    public func report(_ id: UUID, in scope: TenantScope, establishmentName: String) async throws -> AssessmentReport {
        let detail = try await detail(id, in: scope)
        let themeNames = Dictionary(
            detail.themes.map { ($0.urn, "\($0.refID) \($0.name)".trimmingCharacters(in: .whitespaces)) },
            uniquingKeysWith: { first, _ in first })
        let requirements = detail.requirements.filter(\.applies).map { state in
            var item = AssessmentReport.Requirement(
                urn: state.node.urn, refID: state.node.refID ?? "", name: state.node.name ?? state.node.label,
                theme: themeNames[state.theme] ?? "", status: state.outcome.status)
            item.origin = state.outcome.origin
            item.maturity = state.outcome.maturity
            item.comment = state.result.comment
            item.justification = state.result.justification
            item.indicator = state.node.rules.indicator?.expression
            item.measured = state.measurement.map { MeasuredValue(value: $0.value, measuredAt: $0.measuredAt) }
            item.coverage = state.coverage
            item.evidenceState = state.evidenceCheck.state
            item.evidence = state.evidence.map {
                AssessmentReport.Evidence(
                    title: $0.title, link: $0.link, sha256: $0.sha256, effective: $0.effectiveOn,
                    validUntil: $0.validUntil)
            }
            return item
        }
        return AssessmentReport(
            assessmentID: id, title: detail.assessment.title, establishment: establishmentName,
            frameworkURN: detail.framework.urn, frameworkName: detail.framework.name,
            frameworkVersion: detail.framework.version, started: detail.assessment.createdAt,
            closed: detail.assessment.closedAt, generated: clock.now(), requirements: requirements)
    }

    // MARK: Validation helpers

    static func text(_ value: String, field: String, max: Int) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ValidationError(field: field, message: "is required", key: "required") }
        guard trimmed.count <= max else {
            throw ValidationError(
                field: field, message: "must be at most \(max) characters", key: "too_long", values: ["max": "\(max)"])
        }
        return trimmed
    }

    static func optionalText(_ value: String, field: String, max: Int) throws -> String? {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : try text(trimmed, field: field, max: max)
    }

    @discardableResult
    static func validDay(_ value: String, field: String) throws -> DayStamp {
        guard value.count == 10, let day = DayStamp(value) else {
            throw ValidationError(field: field, message: "must be a date written YYYY-MM-DD", key: "date")
        }
        return day
    }

    static func validGroups(_ groups: [String], in framework: Framework) throws -> [String] {
        let known = Dictionary(
            framework.implementationGroups.map { ($0.refID.lowercased(), $0.refID) },
            uniquingKeysWith: { first, _ in first })
        return try groups.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { group in
            guard let refID = known[group.lowercased()] else {
                throw ValidationError(
                    field: "groups", message: "\(group) is not an implementation group of the framework")
            }
            return refID
        }
    }

    static func validate(_ units: [ScopeUnit]) throws {
        guard units.count <= 200 else {
            throw ValidationError(field: "scope", message: "at most 200 entities or sites")
        }
        var ids = Set<String>()
        for unit in units {
            guard !unit.id.isEmpty, unit.id.count <= 64, !unit.name.isEmpty, unit.name.count <= 200 else {
                throw ValidationError(field: "scope", message: "every entity needs an id and a name")
            }
            guard unit.weight.isFinite, unit.weight >= 0 else {
                throw ValidationError(field: "scope", message: "activity weights must be positive numbers")
            }
            guard ids.insert(unit.id).inserted else {
                throw ValidationError(field: "scope", message: "entity \(unit.id) appears twice")
            }
        }
    }

    func requireMember(_ userID: UUID, in scope: TenantScope) async throws {
        let count =
            try await sql.raw(
                """
                SELECT COUNT(*) AS n FROM core_memberships WHERE user_id = \(bind: userID) \
                AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        guard count > 0 else {
            throw ValidationError(field: "user", message: "is not a member of this establishment")
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
