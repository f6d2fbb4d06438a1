import ComplianceCore
import Foundation
import HTTPTypes
import Hummingbird
import HygieCompliance
import HygieCore
import HygieStorage
import NIOCore

/// Pages of the compliance module: assessments, requirements with evidence, reports, action plan and roadmap,
/// recurring audits, framework catalogue and the coordinators' fleet view.
struct ComplianceWebController: PageController {
    let services: HygieServices
    var compliance: ComplianceService { services.compliance }
    static let readers: Set<Role> = [.admin, .rssi, .analyst, .auditor, .dpo]
    static let writers: Set<Role> = [.admin, .rssi, .analyst, .dpo]
    static let managers: Set<Role> = [.admin, .rssi]
    static let reviewers: Set<Role> = [.admin, .rssi, .auditor]

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/compliance", use: overview)
        router.post("/compliance/assessments", use: createAssessment)
        router.get("/compliance/assessments/:id", use: assessment)
        router.get("/compliance/assessments/:id/themes.svg", use: themesChart)
        router.post("/compliance/assessments/:id/settings", use: updateAssessment)
        router.post("/compliance/assessments/:id/:transition", use: transition)
        router.get("/compliance/assessments/:id/requirement", use: requirement)
        router.post("/compliance/assessments/:id/requirement", use: updateRequirement)
        router.post("/compliance/assessments/:id/evidence", use: addEvidence)
        router.post("/compliance/assessments/:id/evidence/attach", use: linkEvidence)
        router.post("/compliance/assessments/:id/evidence/detach", use: linkEvidence)
        router.post("/compliance/assessments/:id/comments", use: addComment)
        router.get("/compliance/assessments/:id/report", use: report)
        router.get("/compliance/assessments/:id/export", use: export)
        router.get("/compliance/assessments/:id/compare", use: compare)
        router.get("/compliance/evidence/:id", use: evidence)
        router.get("/compliance/actions", use: actions)
        router.get("/compliance/roadmap.svg", use: roadmapChart)
        router.post("/compliance/actions", use: createAction)
        router.post("/compliance/actions/:id", use: updateAction)
        router.get("/compliance/schedules", use: schedules)
        router.post("/compliance/schedules", use: createSchedule)
        router.post("/compliance/schedules/:id/done", use: recordRun)
        router.post("/compliance/schedules/:id/delete", use: deleteSchedule)
        router.get("/compliance/frameworks", use: frameworks)
        router.post("/compliance/frameworks", use: importFramework)
        router.get("/compliance/frameworks/:id", use: framework)
        router.get("/compliance/fleet", use: fleet)
        router.get("/static/report.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: ComplianceReports.stylesheet)))
        }
    }

    // MARK: Labels

    static func statusClass(_ status: ResultStatus) -> String {
        switch status {
        case .compliant: "ok"
        case .partial: "medium"
        case .nonCompliant: "critical"
        case .notAssessed: "none"
        case .notApplicable: "na"
        }
    }

    /// The rules of a requirement in words, with what was measured.
    static func ruleTexts(_ state: RequirementState, _ t: (String) -> String) -> [String] {
        var texts: [String] = []
        let rules = state.node.rules
        if let after = rules.evidenceAfter { texts.append("\(t("compliance.rule.after")) \(after)") }
        if let days = rules.evidenceMaxAgeDays {
            texts.append("\(t("compliance.rule.maxAge")) \(days) \(t("compliance.days"))")
        }
        if let minimum = rules.minimumEvidence { texts.append("\(t("compliance.rule.minEvidence")) \(minimum)") }
        if let coverage = rules.coverageMinimum {
            var text = "\(t("compliance.rule.coverage")) \(ComplianceCharts.percent(coverage))"
            if let measured = state.coverage {
                text += " — \(t("compliance.measured")) \(ComplianceCharts.percent(measured))"
            }
            texts.append(text)
        }
        if let binding = rules.indicator {
            var text = "\(t("compliance.rule.indicator")) \(binding.expression)"
            if let measured = state.measurement {
                text +=
                    " — \(t("compliance.measured")) \(format(measured.value)) (\(DisplayDate.format(measured.measuredAt)))"
            } else {
                text += " — \(t("compliance.noMeasure"))"
            }
            texts.append(text)
        }
        return texts
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    static func id(_ uuid: UUID) -> String { uuid.uuidString.lowercased() }

    func assessmentRow(_ assessment: Assessment, _ context: HygieRequestContext) async throws -> [String: Any] {
        let summary = try await compliance.frameworkSummary(assessment.frameworkID)
        return [
            "id": Self.id(assessment.id), "title": assessment.title, "framework": summary.name,
            "status": t("compliance.assessmentStatus.\(assessment.status.rawValue)", context),
            "statusValue": assessment.status.rawValue, "due": assessment.dueOn ?? "—",
            "updated": Self.date(assessment.updatedAt),
        ]
    }

    // MARK: Overview

    func overview(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await overviewPage(request, context, error: nil, status: .ok)
    }

    func overviewPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        // Measured once here and stored for the day, so the assessments below score without measuring again.
        let readings = try await compliance.readings(in: scope)
        var rows: [[String: Any]] = []
        for assessment in try await compliance.assessments(in: scope) {
            var row = try await assessmentRow(assessment, context)
            let detail = try await compliance.detail(assessment.id, in: scope, live: false)
            row["score"] = ComplianceCharts.percent(detail.overall.score)
            row["scoreWidth"] = Int(((detail.overall.score ?? 0) * 100).rounded())
            row["progress"] = ComplianceCharts.percent(detail.overall.progress)
            row["band"] = ComplianceCharts.band(detail.overall.score)
            if let level = detail.overall.level { row["level"] = level }
            rows.append(row)
        }
        // The requirements the signed-in member must answer.
        var mine: [[String: Any]] = []
        for (assessment, urn) in try await compliance.assignments(of: signedIn.session.user.id.uuid, in: scope).prefix(
            20)
        {
            let node = try await compliance.framework(assessment.frameworkID).nodes.first { $0.urn == urn }
            mine.append([
                "assessment": assessment.title, "ref": node?.refID ?? "",
                "name": node?.name(in: context.locale.rawValue) ?? urn, "link": requirementLink(assessment.id, urn),
            ])
        }
        let schedules = try await compliance.schedules(in: scope)
        let open = try await compliance.actions(in: scope, openOnly: true)
        let frameworks = try await compliance.frameworks()
        var content: [String: Any] = [
            "assessments": rows, "assessmentCount": rows.count, "mine": mine, "hasMine": !mine.isEmpty,
            "frameworks": frameworks.map {
                ["id": Self.id($0.id), "name": $0.name, "builtin": $0.builtin, "selected": $0.refID == "CaRE-D2"]
                    as [String: Any]
            },
            "indicators": readings.map { reading -> [String: Any] in
                var row: [String: Any] = [
                    "key": reading.definition.key, "title": reading.definition.title(for: context.locale.rawValue),
                ]
                if let measurement = reading.measurement {
                    row["value"] =
                        Self.format(measurement.value) + (reading.definition.unit == .percent ? " %" : "")
                    row["at"] = Self.date(measurement.measuredAt)
                    if let basis = measurement.basis { row["basis"] = basis }
                }
                return row
            },
            "schedules": schedules.filter { $0.daysLeft <= 60 }.map(scheduleRow),
            "openActions": open.count, "overdueActions": open.count(where: \.overdue),
            "overdueSchedules": schedules.count(where: \.overdue),
            "canManage": Self.managers.contains(scope.role),
        ]
        if let error { content["error"] = error }
        return page(
            "compliance", t("nav.compliance", context), active: "compliance", content: content, signedIn: signedIn,
            request: request, context: context, status: status)
    }

    /// Scope lines `id;name;weight` (one entity or site per line) to scope units.
    static func units(_ text: String) throws -> [ScopeUnit] {
        try text.split(whereSeparator: \.isNewline).compactMap { line -> ScopeUnit? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { return nil }
            let parts = trimmed.split(separator: ";", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard parts.count == 3, let weight = Double(parts[2].replacingOccurrences(of: ",", with: ".")) else {
                throw ValidationError(field: "scope", message: "write one entity per line: id;name;activity weight")
            }
            return ScopeUnit(id: parts[0], name: parts[1], weight: weight)
        }
    }

    func createAssessment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.managers)
            let form = context.form
            guard let framework = UUID(uuidString: form[field: "framework"]) else {
                throw ValidationError(field: "framework", message: "choose a framework", key: "required")
            }
            let due = form[field: "due"]
            let created = try await compliance.createAssessment(
                framework: framework, title: form[field: "title"], units: try Self.units(form[field: "scope"]),
                dueOn: due.isEmpty ? nil : due, in: scope)
            return .redirect("/compliance/assessments/\(Self.id(created.id))?flash=saved")
        } redisplay: { error, status in
            try await overviewPage(request, context, error: error, status: status)
        }
    }

    // MARK: Assessment

    func assessment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await assessmentPage(request, context, error: nil, status: .ok)
    }

    func assessmentPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("assessment")
        let detail = try await compliance.detail(id, in: scope)
        let framework = try await compliance.framework(detail.assessment.frameworkID)
        let query = request.uri.queryParameters
        let statusFilter = query.get("status").flatMap(ResultStatus.init(rawValue:))
        let themeFilter = query.get("theme").flatMap { $0.isEmpty ? nil : $0 }
        let members = try await services.identity.members(in: scope)
        let names = Dictionary(members.map { ($0.user.id.uuid, $0.user.displayName) }, uniquingKeysWith: { a, _ in a })
        let tr = { (key: String) in t(key, context) }
        var themes: [[String: Any]] = []
        for theme in detail.themes where themeFilter == nil || themeFilter == theme.urn {
            let items = detail.requirements.filter {
                $0.applies && $0.theme == theme.urn && (statusFilter == nil || $0.outcome.status == statusFilter)
            }
            guard !items.isEmpty else { continue }
            themes.append([
                "name": "\(theme.refID) \(theme.name)".trimmingCharacters(in: .whitespaces),
                "score": ComplianceCharts.percent(theme.summary.score),
                "requirements": items.map { state -> [String: Any] in
                    var row: [String: Any] = [
                        "urn": state.node.urn, "ref": state.node.refID ?? "",
                        "name": state.node.name(in: context.locale.rawValue) ?? state.node.label,
                        "status": tr("compliance.status.\(state.outcome.status.rawValue)"),
                        "statusClass": Self.statusClass(state.outcome.status),
                        "evidence": state.evidence.count, "comments": state.comments,
                        "evidenceState": tr("compliance.evidenceState.\(state.evidenceCheck.state.rawValue)"),
                        "evidenceWarning": [.stale, .missing, .insufficient].contains(state.evidenceCheck.state),
                    ]
                    if state.outcome.origin != .manual {
                        row["auto"] = tr("compliance.origin.\(state.outcome.origin.rawValue)")
                    }
                    if let measured = state.measurement { row["measured"] = Self.format(measured.value) }
                    if let assignee = state.result.assigneeID.flatMap({ names[$0] }) { row["assignee"] = assignee }
                    return row
                },
            ])
        }
        let assessment = detail.assessment
        let others = try await compliance.assessments(in: scope).filter {
            $0.id != id && $0.frameworkURN == assessment.frameworkURN
        }
        var content: [String: Any] = [
            "id": Self.id(id), "title": assessment.title, "framework": detail.framework.name,
            "frameworkID": Self.id(detail.framework.id),
            "provider": detail.framework.provider ?? "", "copyright": detail.framework.copyright ?? "",
            "status": tr("compliance.assessmentStatus.\(assessment.status.rawValue)"),
            "score": ComplianceCharts.percent(detail.overall.score),
            "progress": ComplianceCharts.percent(detail.overall.progress),
            "counts": ResultStatus.allCases.map {
                [
                    "label": tr("compliance.status.\($0.rawValue)"), "value": detail.overall.count($0),
                    "class": Self.statusClass($0), "status": $0.rawValue,
                ] as [String: Any]
            },
            "themes": themes,
            "themeOptions": detail.themes.map {
                ["urn": $0.urn, "name": "\($0.refID) \($0.name)", "selected": $0.urn == themeFilter] as [String: Any]
            },
            "statusOptions": options(
                ResultStatus.allCases, selected: statusFilter, prefix: "compliance.status", context),
            "due": assessment.dueOn ?? "", "created": Self.date(assessment.createdAt),
            "createdBy": assessment.createdBy,
            "groups": framework.implementationGroups.map {
                [
                    "id": $0.refID, "name": $0.translations[context.locale.rawValue]?["name"] ?? $0.name,
                    "checked": assessment.groups.contains($0.refID),
                ] as [String: Any]
            },
            "scopeText": assessment.scope.map { "\($0.id);\($0.name);\(Self.format($0.weight))" }.joined(
                separator: "\n"),
            "units": assessment.scope.map { ["id": $0.id, "name": $0.name, "weight": Self.format($0.weight)] },
            "reviewers": members.filter { Self.reviewers.contains($0.role) }.map {
                [
                    "id": Self.id($0.user.id.uuid), "name": $0.user.displayName,
                    "selected": $0.user.id.uuid == assessment.reviewerID,
                ]
                    as [String: Any]
            },
            "others": others.map { ["id": Self.id($0.id), "title": $0.title] }, "hasOthers": !others.isEmpty,
            "hasGroups": !framework.implementationGroups.isEmpty,
            "open": assessment.status != .closed, "inProgress": assessment.status == .inProgress,
            "inReview": assessment.status == .inReview, "frozen": detail.frozen,
            "canWrite": Self.writers.contains(scope.role) && assessment.status != .closed,
            "canManage": Self.managers.contains(scope.role) && assessment.status != .closed,
            "canReview": Self.reviewers.contains(scope.role) && assessment.status == .inReview,
            "isCaRE": detail.framework.urn.contains("care"),
        ]
        if let level = detail.overall.level {
            content["level"] = level
            content["levelFinal"] = detail.overall.levelFinal
        }
        if let maturity = detail.overall.maturity { content["maturity"] = String(format: "%.1f", maturity) }
        if let signed = assessment.signedOffBy {
            content["signedOff"] = "\(signed) — \(Self.date(assessment.signedOffAt))"
        }
        if let error { content["error"] = error }
        return page(
            "compliance_assessment", assessment.title, active: "compliance", content: content, signedIn: signedIn,
            request: request, context: context, status: status)
    }

    func themesChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let detail = try await compliance.detail(try context.idParameter("assessment"), in: scope)
        let svg = ComplianceCharts.themes(
            detail.themes.map { ("\($0.refID) \($0.name)", $0.summary.score) }, title: t("compliance.byTheme", context))
        return Response(
            status: .ok, headers: [.contentType: "image/svg+xml"], body: .init(byteBuffer: ByteBuffer(string: svg)))
    }

    func updateAssessment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.managers)
            let id = try context.idParameter("assessment")
            let form = context.form
            let groups = form.keys.filter { $0.hasPrefix("group.") }.map { String($0.dropFirst(6)) }
            let due = form[field: "due"]
            let reviewer = form[field: "reviewer"]
            _ = try await compliance.updateAssessment(
                id, title: form[field: "title"], dueOn: .some(due.isEmpty ? nil : due),
                reviewerID: .some(UUID(uuidString: reviewer)), units: try Self.units(form[field: "scope"]),
                groups: groups, in: scope)
            return .redirect("/compliance/assessments/\(Self.id(id))?flash=saved")
        } redisplay: { error, status in
            try await assessmentPage(request, context, error: error, status: status)
        }
    }

    func transition(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.readers)
            let id = try context.idParameter("assessment")
            switch context.parameters.get("transition") {
            case "submit": _ = try await compliance.submitForReview(id, in: scope)
            case "reopen": _ = try await compliance.reopen(id, in: scope)
            case "signoff": _ = try await compliance.signOff(id, in: scope)
            case "plan":
                let planned = try await compliance.planActions(for: id, in: scope)
                return .redirect("/compliance/actions?assessment=\(Self.id(id))&planned=\(planned.count)")
            default: throw HygieCoreError.notFound("action")
            }
            return .redirect("/compliance/assessments/\(Self.id(id))?flash=saved")
        } redisplay: { error, status in
            try await assessmentPage(request, context, error: error, status: status)
        }
    }

    // MARK: Requirement

    func requirement(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await requirementPage(
            request, context, urn: request.uri.queryParameters.get("urn") ?? "", error: nil, status: .ok)
    }

    func requirementPage(
        _ request: Request, _ context: HygieRequestContext, urn: String, error: String?, status: HTTPResponse.Status
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("assessment")
        let detail = try await compliance.detail(id, in: scope)
        guard let index = detail.requirements.firstIndex(where: { $0.node.urn == urn }) else {
            throw HygieCoreError.notFound("requirement")
        }
        let state = detail.requirements[index]
        let framework = try await compliance.framework(detail.assessment.frameworkID)
        let members = try await services.identity.members(in: scope)
        let tr = { (key: String) in t(key, context) }
        let library = try await compliance.evidenceLibrary(in: scope, limit: 200)
        let attached = Set(state.evidence.map(\.id))
        let reusable = library.filter { !attached.contains($0.id) }
        let controls = try await compliance.referenceControls(state.node.referenceControls)
        let mappings = try await compliance.mappings(of: urn)
        let language = context.locale.rawValue
        let node = state.node
        var content: [String: Any] = [
            "assessmentID": Self.id(id), "assessment": detail.assessment.title, "urn": urn,
            "ref": node.refID ?? "", "name": node.name(in: language) ?? node.label,
            "status": tr("compliance.status.\(state.outcome.status.rawValue)"),
            "statusClass": Self.statusClass(state.outcome.status),
            "statusOptions": options(
                ResultStatus.allCases, selected: state.result.status, prefix: "compliance.status", context),
            "comment": state.result.comment ?? "", "justification": state.result.justification ?? "",
            "maturity": state.result.maturity.map(String.init) ?? "",
            "scale": framework.scores.map {
                ["score": $0.score, "name": $0.name, "selected": $0.score == state.result.maturity] as [String: Any]
            },
            "hasScale": !framework.scores.isEmpty || framework.maxScore != nil,
            "hasScaleList": !framework.scores.isEmpty,
            "hasUnits": !detail.assessment.scope.isEmpty && node.rules.coverageMinimum != nil,
            "hasControls": !node.referenceControls.isEmpty, "hasMappings": !mappings.isEmpty,
            "hasRules": !node.rules.isEmpty,
            "minScore": framework.minScore ?? 0, "maxScore": framework.maxScore ?? 5,
            "rules": Self.ruleTexts(state, tr),
            "evidenceState": tr("compliance.evidenceState.\(state.evidenceCheck.state.rawValue)"),
            "evidenceWarning": [.stale, .missing, .insufficient].contains(state.evidenceCheck.state),
            "evidence": state.evidence.map { item -> [String: Any] in
                var row: [String: Any] = [
                    "id": Self.id(item.id), "title": item.title, "effective": item.effectiveOn,
                    "until": item.validUntil ?? "", "by": item.createdBy,
                    "valid": item.fact.map {
                        EvidenceCheck.evaluate(node.rules, evidence: [$0], on: DayStamp(services.clock.now())).valid
                            == 1
                    } ?? false,
                ]
                if let sha = item.sha256 { row["sha256"] = sha }
                if let link = item.link { row["link"] = link }
                if item.filename != nil { row["file"] = item.filename! }
                return row
            },
            "library": reusable.map { ["id": Self.id($0.id), "label": "\($0.title) (\($0.effectiveOn))"] },
            "hasLibrary": !reusable.isEmpty,
            "units": detail.assessment.scope.map {
                [
                    "id": $0.id, "name": $0.name, "weight": Self.format($0.weight),
                    "checked": state.result.coveredUnits.contains($0.id),
                ] as [String: Any]
            },
            "members": members.filter { $0.role != .staff }.map {
                [
                    "id": Self.id($0.user.id.uuid), "name": $0.user.displayName,
                    "selected": $0.user.id.uuid == state.result.assigneeID,
                ]
                    as [String: Any]
            },
            "comments": try await compliance.comments(of: id, requirement: urn, in: scope).map {
                ["author": $0.author, "body": $0.body, "at": Self.date($0.createdAt)]
            },
            "controls": node.referenceControls.map { urn -> [String: Any] in
                let found = controls[urn.lowercased()]
                return ["ref": found?.refID ?? urn, "name": found?.name ?? ""]
            },
            "mappings": mappings.map { ["urn": $0.urn, "relationship": $0.relationship] },
            "canWrite": Self.writers.contains(scope.role) && detail.assessment.status != .closed,
            "canComment": detail.assessment.status != .closed,
            "today": DayStamp(services.clock.now()).description,
        ]
        for (key, value) in [
            ("description", node.translations[language]?["description"] ?? node.description),
            ("annotation", node.translations[language]?["annotation"] ?? node.annotation),
            ("expected", node.translations[language]?["typical_evidence"] ?? node.typicalEvidence),
        ] {
            if let value, !value.isEmpty { content[key] = value }
        }
        if let measured = state.measurement { content["measured"] = Self.format(measured.value) }
        if !node.implementationGroups.isEmpty { content["groups"] = node.implementationGroups.joined(separator: ", ") }
        if state.outcome.origin != .manual {
            content["auto"] = tr("compliance.origin.\(state.outcome.origin.rawValue)")
        }
        if index > 0 { content["previous"] = detail.requirements[index - 1].node.urn }
        if index + 1 < detail.requirements.count { content["next"] = detail.requirements[index + 1].node.urn }
        if !node.questions.isEmpty {
            content["questions"] = node.questions.map { question -> [String: Any] in
                [
                    "urn": question.urn, "text": question.text, "answer": state.result.answers[question.urn] ?? "",
                    "choices": question.choices.map {
                        ["value": $0, "selected": state.result.answers[question.urn] == $0] as [String: Any]
                    },
                    "hasChoices": !question.choices.isEmpty,
                ]
            }
        }
        if let error { content["error"] = error }
        return page(
            "compliance_requirement", content["name"] as? String ?? "", active: "compliance", content: content,
            signedIn: signedIn, request: request, context: context, status: status)
    }

    func requirementLink(_ id: UUID, _ urn: String) -> String {
        "/compliance/assessments/\(Self.id(id))/requirement?urn=\(urn.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
    }

    /// A form posted from a requirement page: runs `action` with the scope, the assessment id, the requirement's
    /// URN and the form, then goes back to the requirement (or the one `action` names); bad input shows the page
    /// again with the message.
    func requirementForm(
        _ request: Request, _ context: HygieRequestContext, roles: Set<Role>,
        _ action: (TenantScope, UUID, String, [String: String]) async throws -> String?
    ) async throws -> Response {
        let urn = context.form[field: "urn"]
        return try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(roles)
            let id = try context.idParameter("assessment")
            let next = try await action(scope, id, urn, context.form)
            return .redirect(requirementLink(id, next ?? urn) + "&flash=saved")
        } redisplay: { error, status in
            try await requirementPage(request, context, urn: urn, error: error, status: status)
        }
    }

    func updateRequirement(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await requirementForm(request, context, roles: Self.writers) { scope, id, urn, form in
            var update = ResultUpdate()
            guard let status = ResultStatus(rawValue: form[field: "status"]) else {
                throw ValidationError(field: "status", message: "choose a status", key: "required")
            }
            update.status = status
            update.comment = form[field: "comment"]
            update.justification = form[field: "justification"]
            let maturity = form[field: "maturity"]
            if maturity.isEmpty {
                update.clearMaturity = true
            } else {
                guard let value = Int(maturity) else {
                    throw ValidationError(field: "maturity", message: "must be a whole number")
                }
                update.maturity = value
            }
            if let assignee = UUID(uuidString: form[field: "assignee"]) {
                update.assigneeID = assignee
            } else {
                update.clearAssignee = true
            }
            if form[field: "hasUnits"] == "1" {
                update.coveredUnits = form.keys.filter { $0.hasPrefix("unit.") }.map { String($0.dropFirst(5)) }
            }
            let answers = form.filter { $0.key.hasPrefix("answer.") }
            if !answers.isEmpty {
                update.answers = Dictionary(
                    uniqueKeysWithValues: answers.map { (String($0.key.dropFirst(7)), $0.value) })
            }
            _ = try await compliance.updateResult(id, requirement: urn, update, in: scope)
            let next = form[field: "next"]
            return next.isEmpty ? nil : next
        }
    }

    func addEvidence(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let file = context.files["file"].flatMap { $0.bytes.isEmpty ? nil : $0 }
        return try await requirementForm(request, context, roles: Self.writers) { scope, id, urn, form in
            let link = form[field: "link"]
            let until = form[field: "until"]
            _ = try await compliance.addEvidence(
                NewEvidence(
                    title: form[field: "title"], link: link.isEmpty ? nil : link, filename: file?.filename,
                    contentType: file?.contentType, content: file.map { Data($0.bytes) },
                    effectiveOn: form[field: "effective"], validUntil: until.isEmpty ? nil : until,
                    owner: form[field: "owner"]),
                attachTo: id, requirement: urn, in: scope)
            return nil
        }
    }

    /// Attaches a piece of the evidence library to the requirement, or (path ending in `/detach`) removes it.
    func linkEvidence(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await requirementForm(request, context, roles: Self.writers) { scope, id, urn, form in
            guard let evidence = UUID(uuidString: form[field: "evidence"]) else {
                throw ValidationError(field: "evidence", message: "choose a piece of evidence", key: "required")
            }
            if request.uri.path.hasSuffix("/detach") {
                try await compliance.detachEvidence(evidence, from: id, requirement: urn, in: scope)
            } else {
                try await compliance.attachEvidence(evidence, to: id, requirement: urn, in: scope)
            }
            return nil
        }
    }

    func addComment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await requirementForm(request, context, roles: Self.readers) { scope, id, urn, form in
            _ = try await compliance.addComment(form[field: "body"], to: id, requirement: urn, in: scope)
            return nil
        }
    }

    func evidence(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let (item, content) = try await compliance.evidenceContent(try context.idParameter("evidence"), in: scope)
        return ComplianceAPIController.download(item, content)
    }

    // MARK: Reports and exports

    func report(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let query = request.uri.queryParameters
        let kind = ComplianceReports.Kind(rawValue: query.get("kind") ?? "full") ?? .full
        return try await ComplianceReports(services: services).response(
            try context.idParameter("assessment"), kind: kind, format: query.get("format") ?? "html", in: scope,
            locale: context.locale)
    }

    func export(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        return try await ComplianceAPIController(services: services).exportResponse(
            try context.idParameter("assessment"), format: request.uri.queryParameters.get("format") ?? "csv",
            in: scope)
    }

    func compare(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("assessment")
        guard let other = request.uri.queryParameters.get("with").flatMap(UUID.init(uuidString:)) else {
            throw HygieWebError.badRequest("choose the assessment to compare with")
        }
        let comparison = try await compliance.compare(other, id, in: scope)
        let tr = { (key: String) in t(key, context) }
        let content: [String: Any] = [
            "id": Self.id(id), "before": comparison.before.title, "after": comparison.after.title,
            "beforeScore": ComplianceCharts.percent(comparison.beforeScore),
            "afterScore": ComplianceCharts.percent(comparison.afterScore),
            "themes": comparison.themeNames.indices.map {
                [
                    "name": comparison.themeNames[$0], "before": ComplianceCharts.percent(comparison.themesBefore[$0]),
                    "after": ComplianceCharts.percent(comparison.themesAfter[$0]),
                ]
            },
            "rows": comparison.rows.map { row -> [String: Any] in
                [
                    "ref": row.refID, "name": row.name,
                    "before": row.before.map { tr("compliance.status.\($0.rawValue)") } ?? "—",
                    "after": row.after.map { tr("compliance.status.\($0.rawValue)") } ?? "—",
                    "better": row.change > 0, "worse": row.change < 0,
                ]
            },
            "improved": comparison.rows.count(where: { $0.change > 0 }),
            "regressed": comparison.rows.count(where: { $0.change < 0 }),
        ]
        return page(
            "compliance_compare", tr("compliance.compare"), active: "compliance", content: content, signedIn: signedIn,
            request: request, context: context)
    }

    // MARK: Action plan

    func actions(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await actionsPage(request, context, error: nil, status: .ok)
    }

    func actionsPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let assessment = request.uri.queryParameters.get("assessment").flatMap(UUID.init(uuidString:))
        let items = try await compliance.actions(in: scope, assessment: assessment)
        let titles = Dictionary(
            try await compliance.assessments(in: scope).map { ($0.id, $0.title) }, uniquingKeysWith: { a, _ in a })
        var content: [String: Any] = [
            "actions": items.map { action -> [String: Any] in
                [
                    "id": Self.id(action.id), "title": action.title, "owner": action.owner ?? "",
                    "milestone": action.milestone ?? "", "due": action.dueOn ?? "", "start": action.startOn ?? "",
                    "description": action.description ?? "",
                    "priority": t("compliance.priorityLevel.\(action.priority.rawValue)", context),
                    "priorityClass": action.priority == .high ? "high" : action.priority == .medium ? "medium" : "low",
                    "status": t("compliance.actionStatus.\(action.status.rawValue)", context),
                    "overdue": action.overdue,
                    "assessment": action.assessmentID.flatMap { titles[$0] } ?? "",
                    "statusOptions": options(
                        ActionStatus.allCases, selected: action.status, prefix: "compliance.actionStatus", context),
                    "priorityOptions": options(
                        ActionPriority.allCases, selected: action.priority, prefix: "compliance.priorityLevel", context),
                    "assessmentID": action.assessmentID.map(Self.id) ?? "",
                    "requirementURN": action.requirementURN ?? "",
                ]
            },
            "open": items.count(where: { $0.status.isOpen }), "overdue": items.count(where: \.overdue),
            "canWrite": Self.writers.contains(scope.role),
            "priorities": options(ActionPriority.allCases, selected: nil, prefix: "compliance.priorityLevel", context),
            "filter": assessment.map(Self.id) ?? "",
        ]
        if let planned = request.uri.queryParameters.get("planned") { content["planned"] = planned }
        if let error { content["error"] = error }
        return page(
            "compliance_actions", t("compliance.actionPlan", context), active: "compliance", content: content,
            signedIn: signedIn, request: request, context: context, status: status)
    }

    func roadmapChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let items = try await compliance.actions(in: scope).filter { $0.status != .cancelled }
        let svg = ComplianceCharts.roadmap(
            items.map {
                ComplianceCharts.RoadmapItem(
                    label: $0.title, milestone: $0.milestone ?? t("compliance.noMilestone", context),
                    start: $0.startOn.flatMap(DayStamp.init)?.date ?? $0.createdAt,
                    due: $0.dueOn.flatMap(DayStamp.init)?.date, done: $0.status == .done, overdue: $0.overdue)
            }, today: services.clock.now(), title: t("compliance.roadmap", context))
        return Response(
            status: .ok, headers: [.contentType: "image/svg+xml"], body: .init(byteBuffer: ByteBuffer(string: svg)))
    }

    static func actionInput(_ form: [String: String]) -> ActionInput {
        func optional(_ key: String) -> String? {
            let value = form[field: key].trimmingCharacters(in: .whitespaces)
            return value.isEmpty ? nil : value
        }
        return ActionInput(
            title: form[field: "title"], assessmentID: optional("assessment").flatMap(UUID.init(uuidString:)),
            requirementURN: optional("requirement"), description: optional("description"), owner: optional("owner"),
            milestone: optional("milestone"), priority: ActionPriority(rawValue: form[field: "priority"]) ?? .medium,
            status: ActionStatus(rawValue: form[field: "status"]) ?? .planned, startOn: optional("start"),
            dueOn: optional("due"))
    }

    func createAction(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.writers)
            _ = try await compliance.createAction(Self.actionInput(context.form), in: scope)
            return .redirect("/compliance/actions?flash=saved")
        } redisplay: { error, status in
            try await actionsPage(request, context, error: error, status: status)
        }
    }

    func updateAction(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.writers)
            _ = try await compliance.updateAction(
                try context.idParameter("action"), Self.actionInput(context.form), in: scope)
            return .redirect("/compliance/actions?flash=saved")
        } redisplay: { error, status in
            try await actionsPage(request, context, error: error, status: status)
        }
    }

    // MARK: Recurring audits

    func scheduleRow(_ schedule: AuditSchedule) -> [String: Any] {
        [
            "id": Self.id(schedule.id), "title": schedule.title, "kind": schedule.kind.rawValue,
            "every": schedule.intervalMonths, "next": schedule.nextDue, "last": schedule.lastDone ?? "—",
            "overdue": schedule.overdue, "daysLeft": schedule.daysLeft, "owner": schedule.ownerEmail ?? "",
            "soon": !schedule.overdue && schedule.daysLeft <= schedule.remindDays,
        ]
    }

    func schedules(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await schedulesPage(request, context, error: nil, status: .ok)
    }

    func schedulesPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        var rows: [[String: Any]] = []
        for schedule in try await compliance.schedules(in: scope) {
            var row = scheduleRow(schedule)
            row["kindLabel"] = t("compliance.scheduleKind.\(schedule.kind.rawValue)", context)
            row["runs"] = try await compliance.runs(of: schedule.id, in: scope).prefix(3).map {
                ["done": $0.doneOn, "note": $0.note ?? "", "by": $0.recordedBy]
            }
            rows.append(row)
        }
        var content: [String: Any] = [
            "schedules": rows,
            "kinds": options(ScheduleKind.allCases, selected: nil, prefix: "compliance.scheduleKind", context),
            "canManage": Self.managers.contains(scope.role), "canWrite": Self.writers.contains(scope.role),
            "today": DayStamp(services.clock.now()).description,
        ]
        if let error { content["error"] = error }
        return page(
            "compliance_schedules", t("compliance.schedules", context), active: "compliance", content: content,
            signedIn: signedIn, request: request, context: context, status: status)
    }

    func createSchedule(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.managers)
            let form = context.form
            guard let interval = Int(form[field: "every"]) else {
                throw ValidationError(field: "interval_months", message: "must be a number of months")
            }
            _ = try await compliance.createSchedule(
                ScheduleInput(
                    title: form[field: "title"], kind: ScheduleKind(rawValue: form[field: "kind"]) ?? .other,
                    intervalMonths: interval, nextDue: form[field: "next"],
                    remindDays: Int(form[field: "remind"]) ?? 30, ownerEmail: form[field: "owner"]), in: scope)
            return .redirect("/compliance/schedules?flash=saved")
        } redisplay: { error, status in
            try await schedulesPage(request, context, error: error, status: status)
        }
    }

    func recordRun(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.writers)
            _ = try await compliance.recordRun(
                try context.idParameter("schedule"), doneOn: context.form[field: "done"],
                note: context.form[field: "note"], evidenceID: nil, in: scope)
            return .redirect("/compliance/schedules?flash=saved")
        } redisplay: { error, status in
            try await schedulesPage(request, context, error: error, status: status)
        }
    }

    func deleteSchedule(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.managers)
        try await compliance.deleteSchedule(try context.idParameter("schedule"), in: scope)
        return .redirect("/compliance/schedules?flash=deleted")
    }

    // MARK: Frameworks

    func frameworks(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await frameworksPage(request, context, error: nil, report: nil, status: .ok)
    }

    func frameworksPage(
        _ request: Request, _ context: HygieRequestContext, error: String?, report: LibraryImportReport?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        var content: [String: Any] = [
            "frameworks": try await compliance.frameworks().map {
                [
                    "id": Self.id($0.id), "name": $0.name, "ref": $0.refID, "provider": $0.provider ?? "—",
                    "copyright": $0.copyright ?? "—", "version": $0.version, "nodes": $0.nodes,
                    "assessable": $0.assessable, "builtin": $0.builtin, "packager": $0.packager ?? "",
                    "levels": $0.scoring == .levels,
                ] as [String: Any]
            },
            "canImport": signedIn.session.user.isInstanceAdmin || scope.role == .admin,
        ]
        if let report {
            content["report"] =
                [
                    "name": report.name, "outcome": t("compliance.importOutcome.\(report.outcome)", context),
                    "version": report.version, "nodes": report.nodes, "controls": report.referenceControls,
                    "mappings": report.mappings, "warnings": report.warnings,
                ] as [String: Any]
        }
        if let error { content["error"] = error }
        return page(
            "compliance_frameworks", t("compliance.frameworks", context), active: "compliance", content: content,
            signedIn: signedIn, request: request, context: context, status: status)
    }

    func importFramework(_ request: Request, context: HygieRequestContext) async throws -> Response {
        do {
            let scope = try await services.signedIn(context).requireScope(Self.readers)
            guard let file = context.files["file"], !file.bytes.isEmpty else {
                throw ValidationError(field: "file", message: "choose a file", key: "required")
            }
            let report = try await compliance.importLibrary(Data(file.bytes), origin: file.filename, by: scope.actor)
            return try await frameworksPage(request, context, error: nil, report: report, status: .ok)
        } catch let error as any ClassifiedError
            where [.validation, .badRequest, .payloadTooLarge].contains(error.kind)
        {
            return try await frameworksPage(
                request, context, error: renderer.translations.message(for: error, context.locale), report: nil,
                status: .unprocessableContent)
        }
    }

    func framework(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        _ = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("framework")
        let summary = try await compliance.frameworkSummary(id)
        let framework = try await compliance.framework(id)
        let language = context.locale.rawValue
        let content: [String: Any] = [
            "name": framework.translations[language]?["name"] ?? framework.name,
            "description": framework.translations[language]?["description"] ?? framework.description ?? "",
            "provider": summary.provider ?? "—", "copyright": summary.copyright ?? "—", "version": summary.version,
            "urn": framework.urn, "builtin": summary.builtin,
            "groups": framework.implementationGroups.map {
                ["id": $0.refID, "name": $0.translations[language]?["name"] ?? $0.name]
            },
            "scores": framework.scores.map { ["score": $0.score, "name": $0.name] as [String: Any] },
            "nodes": framework.nodes.map { node -> [String: Any] in
                var row: [String: Any] = [
                    "ref": node.refID ?? "", "name": node.name(in: language) ?? node.label,
                    "indent": min(node.depth - 1, 6), "assessable": node.assessable,
                    "groups": node.implementationGroups.joined(separator: ", "),
                ]
                if let indicator = node.rules.indicator { row["indicator"] = indicator.expression }
                if let expected = node.typicalEvidence { row["expected"] = expected }
                return row
            },
        ]
        return page(
            "compliance_framework", summary.name, active: "compliance", content: content, signedIn: signedIn,
            request: request, context: context)
    }

    // MARK: Fleet

    func fleet(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope([.coordinator, .admin])
        let frameworks = try await compliance.frameworks()
        let selected =
            request.uri.queryParameters.get("framework").flatMap(UUID.init(uuidString:))
            ?? frameworks.first { $0.refID == "CaRE-D2" }?.id ?? frameworks.first?.id
        var content: [String: Any] = [
            "frameworks": frameworks.map {
                ["id": Self.id($0.id), "name": $0.name, "selected": $0.id == selected] as [String: Any]
            }
        ]
        if let selected {
            let view = try await compliance.fleet(framework: selected, in: scope)
            let scored = view.rows.compactMap(\.score)
            content["themes"] = view.themeNames
            content["rows"] = view.rows.map { row -> [String: Any] in
                let trend = ComplianceCharts.sparkline(row.trend)
                var item: [String: Any] = [
                    "name": row.establishment, "score": ComplianceCharts.percent(row.score),
                    "progress": ComplianceCharts.percent(row.progress), "band": ComplianceCharts.band(row.score),
                    "cells": row.themes.map {
                        ["value": ComplianceCharts.percent($0), "band": ComplianceCharts.band($0)]
                    },
                    "trend": trend.points,
                    "status": row.status.map { t("compliance.assessmentStatus.\($0.rawValue)", context) }
                        ?? t("compliance.notStarted", context),
                ]
                if let level = row.level { item["level"] = level }
                if let last = trend.last { item["last"] = ["x": last.x, "y": last.y] }
                return item
            }
            content["summary"] =
                [
                    "establishments": view.rows.count, "started": view.rows.count(where: { $0.assessmentID != nil }),
                    "mean": ComplianceCharts.percent(scored.isEmpty ? nil : scored.reduce(0, +) / Double(scored.count)),
                    "above80": scored.count(where: { $0 >= 0.8 }),
                ] as [String: Any]
            content["weeks"] = "\(view.weeks.first ?? "") → \(view.weeks.last ?? "")"
        }
        return page(
            "compliance_fleet", t("compliance.fleet", context), active: "fleet", content: content, signedIn: signedIn,
            request: request, context: context)
    }
}
