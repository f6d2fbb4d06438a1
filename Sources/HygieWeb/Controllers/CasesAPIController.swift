import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieIncidents
import HygieStorage
import NIOCore
import STIX

/// `/api/v1/cases` — incident cases: open (by hand or from a report), change, tasks, observables, merge,
/// qualification, declarations with their clocks and pre-filled drafts, regimes, metrics.
struct CasesAPIController {
    let services: HygieServices
    var core: CoreAPIController { CoreAPIController(services: services) }
    var cases: CaseService { services.cases }

    var operations: [APIOperation] {
        let op = APIOperation.tagged("cases")
        let base = "/api/v1/cases"
        return [
            op(.get, base, "Cases, newest first (status=…)", nil, "Object", 200, list),
            op(
                .post, base,
                "Open a case {title, description, type, severity, tlp, pap, assignee, occurred_at, detected_at, "
                    + "aware_at} or from a report {report_id, type}", "Object", "Object", 201, open),
            op(
                .get, "\(base)/metrics", "Counts and median times to detect, acknowledge, contain, resolve (days=…)",
                nil, "Object", 200, metrics),
            op(
                .get, "\(base)/declarations", "Every declaration with its deadline, unsent first", nil, "Object", 200,
                declarations),
            op(.get, "\(base)/regimes", "NIS2 class, deadlines and entity fields", nil, "Object", 200, regimes),
            op(.put, "\(base)/regimes", "Change the regimes (rssi, admin)", "Object", "Object", 200, saveRegimes),
            op(
                .get, "\(base)/{id}", "A case with tasks, observables, links, timeline, declarations", nil, "Object",
                200, detail),
            op(
                .patch, "\(base)/{id}", "Change a case (status, severity, times, fields, lessons…)", "Object", "Object",
                200, update),
            op(.post, "\(base)/{id}/tasks", "Add a task {title, phase}", "Object", "Object", 201, addTask),
            op(
                .patch, "\(base)/{id}/tasks/{task}", "Set a task's status {status, assignee}", "Object", "Object", 200,
                setTask),
            op(
                .post, "\(base)/{id}/observables", "Add an observable {kind, value, ioc, sighted, tlp, note}", "Object",
                "Object", 201, addObservable),
            op(.post, "\(base)/{id}/merge", "Merge this case into another {into}", "Object", "Object", 200, merge),
            op(
                .post, "\(base)/{id}/split", "Split observables off into a new case {observables: [id], title}",
                "Object", "Object", 201, split),
            op(.post, "\(base)/{id}/notes", "Add a note to the timeline {note}", "Object", "Object", 201, addNote),
            op(
                .post, "\(base)/{id}/share",
                "Share the indicators into a collection {collection, tlp} (stops at PAP:RED)", "Object", "Object", 200,
                share),
            op(.get, "\(base)/{id}/files", "The case's files", nil, "Object", 200, files),
            op(
                .post, "\(base)/{id}/files", "Attach a file: the body, named by ?name= (30 MiB at most)", "Object",
                "Object", 201, attach),
            op(.get, "\(base)/{id}/files/{file}", "A file (a download)", nil, "Object", 200, download),
            op(
                .post, "\(base)/{id}/qualify", "Qualify {significant, personal_data, nis2}: declarations start",
                "Object", "Object", 200, qualify),
            op(
                .get, "\(base)/declarations/{declaration}/draft", "A declaration pre-filled from its case", nil,
                "Object", 200, draft),
            op(
                .post, "\(base)/declarations/{declaration}/sent",
                "Mark a declaration sent {sent_at, reference, delay_reason}", "Object", "Object", 200, markSent),
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
    }

    // MARK: JSON

    struct CaseJSON: Encodable {
        var id: Int64
        var title: String
        var description: String
        var type: String
        var severity: String
        var tlp: String
        var pap: String
        var status: String
        var resolution: String
        var assignee: String
        var source: String
        var createdBy: String
        var occurredAt, detectedAt, awareAt, acknowledgedAt, containedAt, resolvedAt, closedAt: Date?
        var significant, personalData, nis2: Bool
        var fields: [String: String]
        var lessons: String
        var mergedInto: Int64?
        var createdAt: Date
        var updatedAt: Date
        var metrics: CaseMetrics

        init(_ incident: IncidentCase) {
            id = incident.id
            title = incident.title
            description = incident.description
            type = incident.type.rawValue
            severity = incident.severity.rawValue
            tlp = incident.tlp.rawValue
            pap = incident.pap.rawValue
            status = incident.status.rawValue
            resolution = incident.resolution
            assignee = incident.assignee
            source = incident.source
            createdBy = incident.createdBy
            occurredAt = incident.occurredAt
            detectedAt = incident.detectedAt
            awareAt = incident.awareAt
            acknowledgedAt = incident.acknowledgedAt
            containedAt = incident.containedAt
            resolvedAt = incident.resolvedAt
            closedAt = incident.closedAt
            significant = incident.qualification.significant
            personalData = incident.qualification.personalData
            nis2 = incident.qualification.nis2
            fields = incident.fields
            lessons = incident.lessons
            mergedInto = incident.mergedInto
            createdAt = incident.createdAt
            updatedAt = incident.updatedAt
            metrics = incident.metrics
        }
    }

    struct DeclarationJSON: Encodable {
        var id: Int64
        var caseId: Int64
        var regime: String
        var recipient: String
        var dueAt: Date?
        var remainingSeconds: Double?
        var late: Bool
        var status: String
        var sentAt: Date?
        var reference: String
        var delayReason: String
        var snapshotSha256: String

        init(_ declaration: Declaration, now: Date) {
            id = declaration.id
            caseId = declaration.caseID
            regime = declaration.regime.rawValue
            recipient = declaration.regime.recipient
            dueAt = declaration.dueAt
            remainingSeconds = declaration.remaining(at: now)
            late = declaration.isLate(at: now)
            status = declaration.status.rawValue
            sentAt = declaration.sentAt
            reference = declaration.reference
            delayReason = declaration.delayReason
            snapshotSha256 = declaration.snapshotSHA256
        }
    }

    struct DetailJSON: Encodable {
        struct Task: Encodable {
            var id: Int64
            var phase, title, status, assignee, doneBy: String
            var doneAt: Date?
        }

        struct Observable: Encodable {
            var id: Int64
            var kind, value, tlp, note: String
            var ioc, sighted: Bool
        }

        struct Event: Encodable {
            var at: Date
            var actor, kind, detail: String
        }

        var `case`: CaseJSON
        var tasks: [Task]
        var observables: [Observable]
        var links: [[String: String]]
        var timeline: [Event]
        var declarations: [DeclarationJSON]

        init(_ detail: CaseDetail, now: Date) {
            `case` = CaseJSON(detail.incident)
            tasks = detail.tasks.map {
                Task(
                    id: $0.id, phase: $0.phase, title: $0.title, status: $0.status.rawValue, assignee: $0.assignee,
                    doneBy: $0.doneBy, doneAt: $0.doneAt)
            }
            observables = detail.observables.map {
                Observable(
                    id: $0.id, kind: $0.kind, value: $0.value, tlp: $0.tlp.rawValue, note: $0.note, ioc: $0.ioc,
                    sighted: $0.sighted)
            }
            links = detail.links.map { ["kind": $0.kind, "ref": $0.ref, "title": $0.title] }
            timeline = detail.events.map { Event(at: $0.at, actor: $0.actor, kind: $0.kind, detail: $0.detail) }
            declarations = detail.declarations.map { DeclarationJSON($0, now: now) }
        }
    }

    // MARK: Handlers

    func id(_ context: HygieRequestContext, _ name: String = "id") throws -> Int64 {
        try context.int64Parameter(name, what: name == "id" ? "case" : name)
    }

    func enumValue<T: RawRepresentable>(_ type: T.Type, _ text: String?, _ field: String) throws -> T?
    where T.RawValue == String, T: CaseIterable {
        guard let text else { return nil }
        guard let value = T(rawValue: text) else {
            throw IncidentsError.invalid("\(field) is one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    func list(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let status = try enumValue(
            CaseStatus.self, request.uri.queryParameters.get("status").map { String($0) }, "status")
        return try JSONResponse.make(try await cases.cases(in: scope, status: status).map(CaseJSON.init))
    }

    struct OpenBody: Decodable {
        var title: String?
        var description: String?
        var type: String?
        var severity: String?
        var tlp: String?
        var pap: String?
        var assignee: String?
        var occurredAt: Date?
        var detectedAt: Date?
        var awareAt: Date?
        var reportId: Int64?
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: HygieRequestContext) async throws -> T {
        try await core.decode(type, request, context, isoDates: true)
    }

    func open(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(OpenBody.self, request, context)
        let type = try enumValue(IncidentType.self, body.type, "type")
        let detail: CaseDetail
        if let report = body.reportId {
            detail = try await cases.open(fromReport: report, type: type ?? .phishing, in: scope)
        } else {
            detail = try await cases.open(
                CaseInput(
                    title: body.title ?? "", description: body.description ?? "", type: type ?? .other,
                    severity: try enumValue(CaseSeverity.self, body.severity, "severity") ?? .medium,
                    tlp: try enumValue(TLP.self, body.tlp, "tlp") ?? .amber,
                    pap: try enumValue(PAP.self, body.pap, "pap") ?? .amber, assignee: body.assignee ?? "",
                    occurredAt: body.occurredAt, detectedAt: body.detectedAt, awareAt: body.awareAt), in: scope)
        }
        return try JSONResponse.make(DetailJSON(detail, now: services.clock.now()), status: .created)
    }

    func detail(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let detail = try await cases.detail(try id(context), in: try core.scope(request, context))
        return try JSONResponse.make(DetailJSON(detail, now: services.clock.now()))
    }

    struct ChangeBody: Decodable {
        var title, description, severity, tlp, pap, status, resolution, assignee, lessons: String?
        var occurredAt, detectedAt, awareAt, containedAt, resolvedAt: Date?
        var fields: [String: String]?
    }

    func update(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(ChangeBody.self, request, context)
        let detail = try await cases.update(
            try id(context),
            CaseChange(
                title: body.title, description: body.description,
                severity: try enumValue(CaseSeverity.self, body.severity, "severity"),
                tlp: try enumValue(TLP.self, body.tlp, "tlp"), pap: try enumValue(PAP.self, body.pap, "pap"),
                status: try enumValue(CaseStatus.self, body.status, "status"), resolution: body.resolution,
                assignee: body.assignee, occurredAt: body.occurredAt, detectedAt: body.detectedAt,
                awareAt: body.awareAt, containedAt: body.containedAt, resolvedAt: body.resolvedAt,
                fields: body.fields, lessons: body.lessons), in: scope)
        return try JSONResponse.make(DetailJSON(detail, now: services.clock.now()))
    }

    struct TaskBody: Decodable {
        var title: String?
        var phase: String?
        var status: String?
        var assignee: String?
    }

    func addTask(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(TaskBody.self, request, context)
        let detail = try await cases.addTask(
            try id(context), title: body.title ?? "", phase: body.phase ?? "other", in: scope)
        return try JSONResponse.make(DetailJSON(detail, now: services.clock.now()), status: .created)
    }

    func setTask(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(TaskBody.self, request, context)
        guard let status = try enumValue(CaseTask.Status.self, body.status, "status") else {
            throw IncidentsError.invalid("status is todo, done or skipped")
        }
        let task = try await cases.setTask(try id(context, "task"), status: status, assignee: body.assignee, in: scope)
        return try JSONResponse.make(
            DetailJSON.Task(
                id: task.id, phase: task.phase, title: task.title, status: task.status.rawValue,
                assignee: task.assignee,
                doneBy: task.doneBy, doneAt: task.doneAt))
    }

    struct ObservableBody: Decodable {
        var kind: String
        var value: String
        var ioc: Bool?
        var sighted: Bool?
        var tlp: String?
        var note: String?
    }

    func addObservable(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(ObservableBody.self, request, context)
        let detail = try await cases.addObservable(
            try id(context), kind: body.kind, value: body.value, ioc: body.ioc ?? false, sighted: body.sighted ?? false,
            tlp: try enumValue(TLP.self, body.tlp, "tlp") ?? .amber, note: body.note ?? "", in: scope)
        return try JSONResponse.make(DetailJSON(detail, now: services.clock.now()), status: .created)
    }

    struct MergeBody: Decodable { var into: Int64 }

    func merge(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(MergeBody.self, request, context)
        let detail = try await cases.merge(try id(context), into: body.into, in: scope)
        return try JSONResponse.make(DetailJSON(detail, now: services.clock.now()))
    }

    struct SplitBody: Decodable {
        var observables: [Int64]
        var title: String
    }

    func split(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(SplitBody.self, request, context)
        let detail = try await cases.split(try id(context), observables: body.observables, title: body.title, in: scope)
        return try JSONResponse.make(DetailJSON(detail, now: services.clock.now()), status: .created)
    }

    struct NoteBody: Decodable { var note: String }

    func addNote(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(NoteBody.self, request, context)
        let detail = try await cases.note(try id(context), body.note, in: scope)
        return try JSONResponse.make(DetailJSON(detail, now: services.clock.now()), status: .created)
    }

    struct ShareBody: Decodable {
        var collection: UUID
        var tlp: String?
    }

    func share(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(ShareBody.self, request, context)
        let shared = try await cases.shareIndicators(
            try id(context), collection: body.collection, tlp: try enumValue(TLP.self, body.tlp, "tlp") ?? .amber,
            intel: services.intel, in: scope)
        return try JSONResponse.make(["shared": shared])
    }

    struct FileJSON: Encodable {
        var id: Int64
        var name, contentType, sha256, uploadedBy: String
        var size: Int
        var createdAt: Date

        init(_ file: CaseFile) {
            id = file.id
            name = file.name
            contentType = file.contentType
            sha256 = file.sha256
            uploadedBy = file.uploadedBy
            size = file.size
            createdAt = file.createdAt
        }
    }

    func files(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(
            try await cases.files(try id(context), in: try core.scope(request, context)).map(FileJSON.init))
    }

    func attach(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let limit = CaseService.maximumFileBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw HygieWebError.payloadTooLarge(limit: limit)
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            throw HygieWebError.payloadTooLarge(limit: limit)
        }
        let name = request.uri.queryParameters.get("name").map { String($0) } ?? "file"
        let file = try await cases.attach(
            try id(context), name: name, contentType: request.headers[.contentType] ?? "application/octet-stream",
            data: Array(buffer.readableBytesView), in: scope)
        return try JSONResponse.make(FileJSON(file), status: .created)
    }

    func download(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let (file, bytes) = try await cases.file(try id(context, "file"), in: try core.scope(request, context))
        return .evidenceFile(named: file.name, sha256: file.sha256, Data(bytes))
    }

    struct QualifyBody: Decodable {
        var significant: Bool?
        var personalData: Bool?
        var nis2: Bool?
    }

    func qualify(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(QualifyBody.self, request, context)
        let detail = try await cases.qualify(
            try id(context),
            Qualification(
                significant: body.significant ?? false, personalData: body.personalData ?? false,
                nis2: body.nis2 ?? false),
            in: scope)
        return try JSONResponse.make(DetailJSON(detail, now: services.clock.now()))
    }

    func declarations(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let now = services.clock.now()
        let entries = try await cases.declarations(in: try core.scope(request, context))
        struct Entry: Encodable {
            var declaration: DeclarationJSON
            var caseTitle: String
            var caseStatus: String
        }
        return try JSONResponse.make(
            entries.map {
                Entry(
                    declaration: DeclarationJSON($0.declaration, now: now), caseTitle: $0.caseTitle,
                    caseStatus: $0.caseStatus.rawValue)
            })
    }

    func draft(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let draft = try await cases.draft(try id(context, "declaration"), in: try core.scope(request, context))
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: draft.json())))
    }

    struct SentBody: Decodable {
        var sentAt: Date?
        var reference: String?
        var delayReason: String?
    }

    func markSent(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(SentBody.self, request, context)
        let declarationID = try id(context, "declaration")
        let draft = try await cases.draft(declarationID, in: scope)
        let declaration = try await cases.markSent(
            declarationID, sentAt: body.sentAt ?? services.clock.now(), reference: body.reference ?? "",
            delayReason: body.delayReason ?? "", content: draft.json(), in: scope)
        return try JSONResponse.make(DeclarationJSON(declaration, now: services.clock.now()))
    }

    func metrics(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let days = request.uri.queryParameters.get("days").flatMap { Int($0) }.map { max(1, min($0, 3_650)) } ?? 365
        let summary = try await cases.metrics(
            since: services.clock.now().addingTimeInterval(-Double(days) * 86_400), in: scope)
        struct Summary: Encodable {
            var cases, open, lateDeclarations: Int
            var medianTimeToDetect, medianTimeToAcknowledge, medianTimeToContain, medianTimeToResolve: Double?
            var byType: [String: Int]
        }
        return try JSONResponse.make(
            Summary(
                cases: summary.cases, open: summary.open, lateDeclarations: summary.lateDeclarations,
                medianTimeToDetect: summary.medianTimeToDetect,
                medianTimeToAcknowledge: summary.medianTimeToAcknowledge,
                medianTimeToContain: summary.medianTimeToContain, medianTimeToResolve: summary.medianTimeToResolve,
                byType: Dictionary(uniqueKeysWithValues: summary.byType.map { ($0.key.rawValue, $0.value) })))
    }

    struct RegimesJSON: Codable {
        var nis2Class: String
        var certSanteHours, cnilHours, nis2WarningHours, nis2NotificationHours, nis2FinalDays: Int
        var entity: [String: String]
    }

    func regimes(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let settings = try await cases.regimes(in: try core.scope(request, context))
        return try JSONResponse.make(
            RegimesJSON(
                nis2Class: settings.nis2Class.rawValue, certSanteHours: settings.certSanteHours,
                cnilHours: settings.cnilHours, nis2WarningHours: settings.nis2WarningHours,
                nis2NotificationHours: settings.nis2NotificationHours, nis2FinalDays: settings.nis2FinalDays,
                entity: settings.entity))
    }

    func saveRegimes(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await decode(RegimesJSON.self, request, context)
        guard let nis2 = RegimeSettings.NIS2Class(rawValue: body.nis2Class) else {
            throw IncidentsError.invalid("nis2_class is \"\", essential or important")
        }
        try await cases.updateRegimes(
            RegimeSettings(
                nis2Class: nis2, certSanteHours: body.certSanteHours, cnilHours: body.cnilHours,
                nis2WarningHours: body.nis2WarningHours, nis2NotificationHours: body.nis2NotificationHours,
                nis2FinalDays: body.nis2FinalDays, entity: body.entity), in: scope)
        return try await regimes(request, context: context)
    }
}
