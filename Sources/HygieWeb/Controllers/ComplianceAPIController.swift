import ComplianceCore
import Foundation
import HTTPTypes
import Hummingbird
import HygieCompliance
import HygieCore
import HygieStorage
import NIOCore
import STIX

/// `/api/v1/compliance` — frameworks, assessments, results, evidence, comments, action plan, recurring audits,
/// indicators, exports (CSV, JSON, OSCAL, HTML, PDF) and the fleet view.
struct ComplianceAPIController {
    let services: HygieServices
    var core: CoreAPIController { CoreAPIController(services: services) }
    var compliance: ComplianceService { services.compliance }

    var operations: [APIOperation] {
        let op = APIOperation.tagged("compliance")
        let base = "/api/v1/compliance"
        return [
            op(.get, "\(base)/frameworks", "The framework catalogue", nil, "Object", 200, frameworks),
            op(
                .post, "\(base)/frameworks",
                "Import a CISO Assistant library (YAML) or an OSCAL catalog (JSON) as the body (instance administrator)",
                "Object", "Object", 200, importFramework),
            op(.get, "\(base)/frameworks/{id}", "A framework with its requirement tree", nil, "Object", 200, framework),
            op(.get, "\(base)/indicators", "Every live indicator measured now", nil, "Object", 200, indicators),
            op(.get, "\(base)/assessments", "Assessments of the establishment", nil, "Object", 200, assessments),
            op(.post, "\(base)/assessments", "Open an assessment", "Object", "Object", 201, createAssessment),
            op(
                .get, "\(base)/assessments/{id}", "An assessment with scores and every requirement's state", nil,
                "Object", 200, assessment),
            op(
                .patch, "\(base)/assessments/{id}", "Change title, due day, reviewer, scope or groups", "Object",
                "Object", 200, updateAssessment),
            op(
                .post, "\(base)/assessments/{id}/results",
                "Record a requirement's status, maturity, comment, assignee, covered scope or answers", "Object",
                "Object", 200, updateResult),
            op(
                .post, "\(base)/assessments/{id}/submit", "Hand the assessment to its reviewer", nil, "Object", 200,
                submit),
            op(.post, "\(base)/assessments/{id}/reopen", "Send it back to the respondents", nil, "Object", 200, reopen),
            op(
                .post, "\(base)/assessments/{id}/signoff", "Sign off: close and freeze the assessment", nil, "Object",
                200, signOff),
            op(
                .post, "\(base)/assessments/{id}/plan", "Turn every gap into a planned action", nil, "Object", 201,
                plan),
            op(
                .get, "\(base)/assessments/{id}/export",
                "Export: format=csv|json|oscal, or html|pdf (kind=full|checklist)", nil, "Object", 200, export),
            op(
                .get, "\(base)/assessments/{id}/compare/{other}", "What changed since another assessment", nil,
                "Object",
                200, compare),
            op(
                .post, "\(base)/assessments/{id}/evidence-links",
                "Attach (or with detach=true, detach) evidence to a requirement", "Object", "Empty", 204, link),
            op(
                .post, "\(base)/assessments/{id}/comments", "Comment on a requirement", "Object", "Object", 201,
                comment),
            op(.get, "\(base)/evidence", "The evidence library", nil, "Object", 200, evidenceList),
            op(
                .post, "\(base)/evidence",
                "Add evidence: a JSON object (title, link, effective_on, valid_until, owner, assessment_id, requirement) or a file as the body with those as query parameters",
                "Object", "Object", 201, addEvidence),
            op(.get, "\(base)/evidence/{id}", "Download an evidence file", nil, "Object", 200, evidence),
            op(.get, "\(base)/actions", "The action plan (assessment, open)", nil, "Object", 200, actions),
            op(.post, "\(base)/actions", "Plan an action", "Object", "Object", 201, createAction),
            op(.put, "\(base)/actions/{id}", "Replace an action", "Object", "Object", 200, updateAction),
            op(.get, "\(base)/schedules", "Recurring audits", nil, "Object", 200, schedules),
            op(.post, "\(base)/schedules", "Schedule a recurring audit", "Object", "Object", 201, createSchedule),
            op(
                .post, "\(base)/schedules/{id}/runs", "Record that a recurring audit was done", "Object", "Object", 200,
                recordRun),
            op(.delete, "\(base)/schedules/{id}", "Delete a recurring audit", nil, "Empty", 204, deleteSchedule),
            op(
                .get, "\(base)/fleet", "Scores per establishment and theme (coordinator; framework=id)", nil, "Object",
                200, fleet),
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: HygieRequestContext) async throws -> T {
        try await core.decode(type, request, context)
    }

    func id(_ context: HygieRequestContext, _ name: String = "id", what: String) throws -> UUID {
        guard let id = context.parameters.get(name).flatMap(UUID.init(uuidString:)) else {
            throw HygieCoreError.notFound(what)
        }
        return id
    }

    // MARK: Catalogue

    func frameworks(_ request: Request, context: HygieRequestContext) async throws -> Response {
        _ = try core.scope(request, context)
        return try JSONResponse.make(ItemsResponse(items: try await compliance.frameworks()))
    }

    func importFramework(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        var request = request
        let buffer = try await request.collectBody(upTo: compliance.configuration.maxUploadBytes)
        guard buffer.readableBytes > 0 else { throw HygieWebError.badRequest("the request body is empty") }
        let report = try await compliance.importLibrary(
            Data(buffer.readableBytesView), origin: request.uri.queryParameters.get("filename") ?? "api",
            by: scope.actor)
        return try JSONResponse.make(report)
    }

    func framework(_ request: Request, context: HygieRequestContext) async throws -> Response {
        _ = try core.scope(request, context)
        let id = try id(context, what: "framework")
        return try JSONResponse.make(
            FrameworkResponse(
                summary: try await compliance.frameworkSummary(id), framework: try await compliance.framework(id)))
    }

    func indicators(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(ItemsResponse(items: try await compliance.readings(in: try core.scope(request, context))))
    }

    // MARK: Assessments

    struct CreateAssessmentRequest: Decodable {
        var framework: String
        var title: String
        var groups: [String]?
        var scope: [ScopeUnit]?
        var dueOn: String?
        var reviewerId: UUID?
    }

    func createAssessment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(CreateAssessmentRequest.self, request, context)
        let framework = try await compliance.findFramework(body.framework)
        let assessment = try await compliance.createAssessment(
            framework: framework.id, title: body.title, groups: body.groups ?? [], units: body.scope ?? [],
            dueOn: body.dueOn, reviewerID: body.reviewerId, in: scope)
        return try JSONResponse.make(assessment, status: .created)
    }

    func assessments(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(
            ItemsResponse(items: try await compliance.assessments(in: try core.scope(request, context))))
    }

    func assessment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try JSONResponse.make(try await compliance.detail(try id(context, what: "assessment"), in: scope))
    }

    struct UpdateAssessmentRequest: Decodable {
        var title: String?
        var dueOn: String?
        var reviewerId: UUID?
        var scope: [ScopeUnit]?
        var groups: [String]?
    }

    func updateAssessment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(UpdateAssessmentRequest.self, request, context)
        return try JSONResponse.make(
            try await compliance.updateAssessment(
                try id(context, what: "assessment"), title: body.title, dueOn: body.dueOn.map { .some($0) },
                reviewerID: body.reviewerId.map { .some($0) }, units: body.scope, groups: body.groups, in: scope))
    }

    struct ResultRequest: Decodable {
        var requirement: String
        var status: ResultStatus?
        var maturity: Int?
        var comment: String?
        var justification: String?
        var assigneeId: UUID?
        var coveredUnits: [String]?
        var answers: [String: String]?
    }

    func updateResult(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(ResultRequest.self, request, context)
        var update = ResultUpdate()
        update.status = body.status
        update.maturity = body.maturity
        update.comment = body.comment
        update.justification = body.justification
        update.assigneeID = body.assigneeId
        update.coveredUnits = body.coveredUnits
        update.answers = body.answers
        return try JSONResponse.make(
            try await compliance.updateResult(
                try id(context, what: "assessment"), requirement: body.requirement, update, in: scope))
    }

    func submit(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try JSONResponse.make(
            try await compliance.submitForReview(try id(context, what: "assessment"), in: scope))
    }

    func reopen(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try JSONResponse.make(try await compliance.reopen(try id(context, what: "assessment"), in: scope))
    }

    func signOff(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try JSONResponse.make(try await compliance.signOff(try id(context, what: "assessment"), in: scope))
    }

    func plan(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try JSONResponse.make(
            ItemsResponse(items: try await compliance.planActions(for: try id(context, what: "assessment"), in: scope)),
            status: .created)
    }

    func export(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let query = request.uri.queryParameters
        let id = try id(context, what: "assessment")
        let format = query.get("format") ?? "json"
        if format == "html" || format == "pdf" {
            let kind = ComplianceReports.Kind(rawValue: query.get("kind") ?? "full") ?? .full
            let locale = User.Locale(rawValue: query.get("lang") ?? "fr") ?? .fr
            return try await ComplianceReports(services: services).response(
                id, kind: kind, format: format, in: scope, locale: locale)
        }
        return try await exportResponse(id, format: format, in: scope)
    }

    /// CSV, JSON (the report model) or OSCAL assessment results.
    func exportResponse(_ id: UUID, format: String, in scope: TenantScope) async throws -> Response {
        let establishment = try await services.tenancy.establishment(in: scope)
        let report = try await compliance.report(id, in: scope, establishmentName: establishment.name)
        let stem = "hygie-assessment-\(id.uuidString.prefix(8).lowercased())"
        switch format {
        case "csv":
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"\(stem).csv\"",
                ], body: .init(byteBuffer: ByteBuffer(string: "\u{FEFF}" + report.csv())))
        case "json":
            return try JSONResponse.make(report)
        case "oscal":
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/json; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"\(stem)-oscal-ar.json\"",
                ], body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(report.oscal()))))
        default:
            throw HygieWebError.badRequest("format must be csv, json, oscal, html or pdf")
        }
    }

    func compare(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let comparison = try await compliance.compare(
            try id(context, "other", what: "assessment"), try id(context, what: "assessment"), in: scope)
        return try JSONResponse.make(comparison)
    }

    struct LinkRequest: Decodable {
        var evidenceId: UUID
        var requirement: String
        var detach: Bool?
    }

    func link(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(LinkRequest.self, request, context)
        let id = try id(context, what: "assessment")
        if body.detach == true {
            try await compliance.detachEvidence(body.evidenceId, from: id, requirement: body.requirement, in: scope)
        } else {
            try await compliance.attachEvidence(body.evidenceId, to: id, requirement: body.requirement, in: scope)
        }
        return Response(status: .noContent)
    }

    struct CommentRequest: Decodable {
        var requirement: String
        var body: String
    }

    func comment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(CommentRequest.self, request, context)
        return try JSONResponse.make(
            try await compliance.addComment(
                body.body, to: try id(context, what: "assessment"), requirement: body.requirement, in: scope),
            status: .created)
    }

    // MARK: Evidence

    struct EvidenceRequest: Decodable {
        var title: String
        var link: String?
        var effectiveOn: String
        var validUntil: String?
        var owner: String?
        var assessmentId: UUID?
        var requirement: String?
    }

    func evidenceList(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(
            ItemsResponse(items: try await compliance.evidenceLibrary(in: try core.scope(request, context))))
    }

    func addEvidence(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let input: NewEvidence
        let assessment: UUID?
        let requirement: String?
        if contentType.hasPrefix("application/json") {
            let body = try await decode(EvidenceRequest.self, request, context)
            input = NewEvidence(
                title: body.title, link: body.link, effectiveOn: body.effectiveOn, validUntil: body.validUntil,
                owner: body.owner)
            assessment = body.assessmentId
            requirement = body.requirement
        } else {
            let query = request.uri.queryParameters
            var request = request
            let buffer = try await request.collectBody(upTo: compliance.configuration.maxUploadBytes)
            guard buffer.readableBytes > 0 else { throw HygieWebError.badRequest("the request body is empty") }
            guard let title = query.get("title"), let effective = query.get("effective_on") else {
                throw HygieWebError.badRequest("title and effective_on query parameters are required with a file")
            }
            input = NewEvidence(
                title: title, link: query.get("link"), filename: query.get("filename") ?? "evidence",
                contentType: contentType, content: Data(buffer.readableBytesView), effectiveOn: effective,
                validUntil: query.get("valid_until"), owner: query.get("owner"))
            assessment = query.get("assessment_id").flatMap(UUID.init(uuidString:))
            requirement = query.get("requirement")
        }
        return try JSONResponse.make(
            try await compliance.addEvidence(input, attachTo: assessment, requirement: requirement, in: scope),
            status: .created)
    }

    func evidence(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let (item, content) = try await compliance.evidenceContent(try id(context, what: "evidence"), in: scope)
        return Self.download(item, content)
    }

    /// An evidence file as an attachment (never rendered inline), with its SHA-256.
    static func download(_ item: EvidenceItem, _ content: Data) -> Response {
        .evidenceFile(named: item.filename ?? "evidence", sha256: item.sha256 ?? "", content)
    }

    // MARK: Actions and schedules

    func actions(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let query = request.uri.queryParameters
        return try JSONResponse.make(
            ItemsResponse(
                items: try await compliance.actions(
                    in: scope, assessment: query.get("assessment").flatMap(UUID.init(uuidString:)),
                    openOnly: query.get("open") == "true")))
    }

    struct ActionRequest: Decodable {
        var title: String
        var assessmentId: UUID?
        var requirementUrn: String?
        var description: String?
        var owner: String?
        var milestone: String?
        var priority: ActionPriority?
        var status: ActionStatus?
        var startOn: String?
        var dueOn: String?

        var input: ActionInput {
            ActionInput(
                title: title, assessmentID: assessmentId, requirementURN: requirementUrn, description: description,
                owner: owner, milestone: milestone, priority: priority ?? .medium, status: status ?? .planned,
                startOn: startOn, dueOn: dueOn)
        }
    }

    func createAction(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try JSONResponse.make(
            try await compliance.createAction(try await decode(ActionRequest.self, request, context).input, in: scope),
            status: .created)
    }

    func updateAction(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try JSONResponse.make(
            try await compliance.updateAction(
                try id(context, what: "action"), try await decode(ActionRequest.self, request, context).input, in: scope
            ))
    }

    func schedules(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(
            ItemsResponse(items: try await compliance.schedules(in: try core.scope(request, context))))
    }

    struct ScheduleRequest: Decodable {
        var title: String
        var kind: ScheduleKind
        var intervalMonths: Int
        var nextDue: String
        var remindDays: Int?
        var ownerEmail: String?
        var frameworkUrn: String?
        var requirementUrn: String?
    }

    func createSchedule(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(ScheduleRequest.self, request, context)
        return try JSONResponse.make(
            try await compliance.createSchedule(
                ScheduleInput(
                    title: body.title, kind: body.kind, intervalMonths: body.intervalMonths, nextDue: body.nextDue,
                    remindDays: body.remindDays ?? 30, ownerEmail: body.ownerEmail, frameworkURN: body.frameworkUrn,
                    requirementURN: body.requirementUrn), in: scope),
            status: .created)
    }

    struct RunRequest: Decodable {
        var doneOn: String
        var note: String?
        var evidenceId: UUID?
    }

    func recordRun(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(RunRequest.self, request, context)
        return try JSONResponse.make(
            try await compliance.recordRun(
                try id(context, what: "schedule"), doneOn: body.doneOn, note: body.note, evidenceID: body.evidenceId,
                in: scope))
    }

    func deleteSchedule(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        try await compliance.deleteSchedule(try id(context, what: "schedule"), in: scope)
        return Response(status: .noContent)
    }

    func fleet(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        guard let framework = request.uri.queryParameters.get("framework") else {
            throw HygieWebError.badRequest("framework is required")
        }
        let found = try await compliance.findFramework(framework)
        return try JSONResponse.make(try await compliance.fleet(framework: found.id, in: scope))
    }
}

struct ItemsResponse<T: Encodable>: Encodable {
    let items: [T]
}

struct FrameworkResponse: Encodable {
    let summary: FrameworkSummary
    let framework: Framework
}
