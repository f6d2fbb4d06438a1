import AwarenessCore
import Foundation
import HTTPTypes
import Hummingbird
import HygieAwareness
import HygieCore
import HygieStorage
import NIOCore

/// `/api/v1/awareness` — what the GoPhish-compatible `/api/` does not cover: the programme declaration, the
/// figures (scanner clicks left out, departments of five or more), the CSV export, training assignments,
/// personal links and the retention purge. Campaign objects themselves go through `/api/` (GoPhish clients).
struct AwarenessAPIController {
    let services: HygieServices
    var core: CoreAPIController { CoreAPIController(services: services) }
    var awareness: AwarenessService { services.awareness }

    var operations: [APIOperation] {
        let op = APIOperation.tagged("awareness")
        let base = "/api/v1/awareness"
        return [
            op(
                .get, "\(base)/programme", "The awareness programme (staff informed, approver, retention, training)",
                nil, "Object", 200, programme),
            op(.put, "\(base)/programme", "Record the programme (rssi, admin)", "Object", "Object", 200, setProgramme),
            op(
                .get, "\(base)/overview", "Every campaign's figures, repeat clickers (rssi), training", nil, "Object",
                200, overview),
            op(
                .get, "\(base)/campaigns/{id}/report", "One campaign's figures, by department (5 people or more)", nil,
                "Object", 200, report),
            op(.get, "\(base)/campaigns.csv", "Campaign figures as CSV (aggregates only)", nil, "Object", 200, csv),
            op(.get, "\(base)/modules", "The training modules (language=fr|en)", nil, "Object", 200, modules),
            op(.get, "\(base)/assignments", "Training assignments", nil, "Object", 200, assignments),
            op(
                .post, "\(base)/assignments", "Assign a module to a group, a department or people", "Object", "Object",
                201, assign),
            op(
                .post, "\(base)/links", "A new personal training link for someone (shown once)", "Object", "Object",
                201, link),
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
    }

    struct ProgrammeBody: Codable {
        var informedOn: String?
        var representativesOn: String?
        var approver: String?
        var retentionMonths: Int?
        var trainingAfterClick: String?
        var trainingAfterSubmit: String?
        var trainingDueDays: Int?
    }

    func programme(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(try await awareness.programme(in: try core.scope(request, context)))
    }

    func setProgramme(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(ProgrammeBody.self, request, context)
        let current = try await awareness.programme(in: scope)
        let programme = Programme(
            informedOn: body.informedOn ?? current.informedOn,
            representativesOn: body.representativesOn ?? current.representativesOn,
            approver: body.approver ?? current.approver,
            retentionMonths: body.retentionMonths ?? current.retentionMonths,
            trainingAfterClick: body.trainingAfterClick ?? current.trainingAfterClick,
            trainingAfterSubmit: body.trainingAfterSubmit ?? current.trainingAfterSubmit,
            trainingDueDays: body.trainingDueDays ?? current.trainingDueDays)
        return try JSONResponse.make(try await awareness.setProgramme(programme, in: scope))
    }

    struct FiguresResponse: Encodable {
        var delivered, opened, clicked, submitted, reported, reportedBeforeClicking: Int
        var clickRate, submitRate, reportRate: Double?
        var secondsToFirstReport, medianSecondsToReport: Double?

        init(_ figures: CampaignFigures) {
            delivered = figures.delivered
            opened = figures.opened
            clicked = figures.clicked
            submitted = figures.submitted
            reported = figures.reported
            reportedBeforeClicking = figures.reportedBeforeClicking
            clickRate = figures.rate(figures.clicked)
            submitRate = figures.rate(figures.submitted)
            reportRate = figures.rate(figures.reported)
            secondsToFirstReport = figures.timeToFirstReport
            medianSecondsToReport = figures.medianTimeToReport
        }
    }

    struct ReportResponse: Encodable {
        struct Department: Encodable {
            var name: String
            var figures: FiguresResponse
        }

        var id: Int64
        var name: String
        var status: String
        var launchDate: Date
        var difficulty: Int
        var targets: Int
        var errors: Int
        var scannerHits: Int
        var purged: Bool
        var figures: FiguresResponse
        var raw: CampaignStats
        var departments: [Department]

        init(_ report: CampaignReport) {
            id = report.id
            name = report.name
            status = report.status
            launchDate = report.launchDate
            difficulty = report.difficulty
            targets = report.targets
            errors = report.errors
            scannerHits = report.scannerHits
            purged = report.purged
            figures = FiguresResponse(report.figures)
            raw = report.raw
            departments = report.departments.map { Department(name: $0.name, figures: FiguresResponse($0.figures)) }
        }
    }

    struct OverviewResponse: Encodable {
        var campaigns: [ReportResponse]
        var repeatClickers: Int?
        var training: TrainingSummary
    }

    func overview(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let overview = try await awareness.overview(in: try core.scope(request, context))
        return try JSONResponse.make(
            OverviewResponse(
                campaigns: overview.campaigns.map(ReportResponse.init), repeatClickers: overview.repeatClickers,
                training: overview.training))
    }

    func report(_ request: Request, context: HygieRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id").flatMap({ Int64($0) }) else {
            throw HygieCoreError.notFound("campaign")
        }
        return try JSONResponse.make(
            ReportResponse(try await awareness.report(id, in: try core.scope(request, context))))
    }

    func csv(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let text = try await awareness.campaignsCSV(in: try core.scope(request, context))
        return Response(
            status: .ok, headers: [.contentType: "text/csv; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    struct ModuleResponse: Encodable {
        var id, language, title, summary: String
        var minutes, passMark, questions: Int
    }

    func modules(_ request: Request, context: HygieRequestContext) async throws -> Response {
        _ = try core.scope(request, context)
        let language = request.uri.queryParameters.get("language") ?? context.locale.rawValue
        return try JSONResponse.make(
            ItemsResponse(
                items: TrainingCatalogue.ids.compactMap { TrainingCatalogue.module($0, language: String(language)) }.map
                {
                    ModuleResponse(
                        id: $0.id, language: $0.language, title: $0.title, summary: $0.summary, minutes: $0.minutes,
                        passMark: $0.passMark, questions: $0.questions.count)
                }))
    }

    func assignments(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let module = request.uri.queryParameters.get("module").map { String($0) }
        return try JSONResponse.make(ItemsResponse(items: try await awareness.assignments(in: scope, module: module)))
    }

    struct AssignBody: Codable {
        struct Person: Codable {
            var email: String
            var firstName: String?
            var lastName: String?
            var department: String?
            var language: String?
        }

        var module: String
        var dueOn: String
        var groupId: Int64?
        var department: String?
        var people: [Person]?
    }

    struct Count: Encodable { var created: Int }

    func assign(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(AssignBody.self, request, context)
        let target: AssignmentTarget
        if let group = body.groupId {
            target = .group(group)
        } else if let department = body.department {
            target = .department(department)
        } else if let people = body.people {
            target = .people(
                people.map {
                    Target(
                        firstName: $0.firstName ?? "", lastName: $0.lastName ?? "", email: $0.email, position: "",
                        department: $0.department ?? "", role: "", language: $0.language ?? "fr")
                })
        } else {
            throw ValidationError(field: "group_id", message: "give group_id, department or people")
        }
        let created = try await awareness.assign(body.module, to: target, dueOn: body.dueOn, in: scope)
        return try JSONResponse.make(Count(created: created), status: .created)
    }

    struct LinkBody: Codable { var email: String }
    struct LinkResponse: Encodable { var url: String }

    func link(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(LinkBody.self, request, context)
        let token = try await awareness.learnerLink(for: body.email, in: scope)
        let base = services.settings.publicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        return try JSONResponse.make(LinkResponse(url: "\(base)/training/t/\(token)"), status: .created)
    }
}
