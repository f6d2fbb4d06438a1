import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieIncidents
import HygieStorage
import MailTriage
import NIOCore

/// `/api/v1/reports` — staff reports and their triage: submit (a raw .eml/.msg body, or JSON), list, read with
/// the full analysis, download the reported message, decide a verdict for a campaign, close, settings.
struct ReportsAPIController {
    let services: HygieServices
    var core: CoreAPIController { CoreAPIController(services: services) }
    var reports: ReportService { services.reports }

    var operations: [APIOperation] {
        let op = APIOperation.tagged("reports")
        let base = "/api/v1/reports"
        return [
            op(
                .post, base,
                "Report something: a raw message (message/rfc822, application/vnd.ms-outlook) or JSON {kind, "
                    + "description, message_base64}; e-mails are triaged at once", "Object", "Object", 201, submit),
            op(.get, base, "Reports, newest first (status=open|closed, verdict=…)", nil, "Object", 200, list),
            op(
                .get, "\(base)/settings", "Protected domains, report addresses, reporter notices", nil, "Object", 200,
                settings),
            op(
                .put, "\(base)/settings", "Change the triage settings (rssi, admin)", "Object", "Object", 200,
                saveSettings),
            op(
                .get, "\(base)/{id}", "A report with its analysis and its campaign's other reports", nil, "Object", 200,
                detail),
            op(
                .get, "\(base)/{id}/message", "The reported message as received (message/rfc822)", nil, "Object", 200,
                message),
            op(
                .post, "\(base)/{id}/verdict",
                "Decide a verdict {verdict: malicious|safe|simulation, note, cluster}; reporters are told", "Object",
                "Object", 200, decide),
            op(.post, "\(base)/{id}/close", "Close a report {note}", "Object", "Object", 200, close),
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
    }

    struct ReportJSON: Encodable {
        var id: Int64
        var kind: String
        var channel: String
        var reporterEmail: String
        var reporterName: String
        var description: String
        var subject: String
        var sender: String
        var category: String?
        var verdict: String?
        var automaticVerdict: String?
        var score: Int
        var reasons: [TriageReason]
        var intelHits: [String: String]
        var clusterId: Int64?
        var simulationRid: String?
        var status: String
        var note: String
        var decidedBy: String?
        var decidedAt: Date?
        var createdAt: Date
        var acknowledgedAt: Date?
        var notifiedAt: Date?

        init(_ report: Report) {
            id = report.id
            kind = report.kind.rawValue
            channel = report.channel.rawValue
            reporterEmail = report.reporterEmail
            reporterName = report.reporterName
            description = report.description
            subject = report.subject
            sender = report.sender
            category = report.category.isEmpty ? nil : report.category
            verdict = report.verdict?.rawValue
            automaticVerdict = report.automaticVerdict?.rawValue
            score = report.score
            reasons = report.reasons
            intelHits = report.intelHits
            clusterId = report.clusterID
            simulationRid = report.simulationRID.isEmpty ? nil : report.simulationRID
            status = report.status.rawValue
            note = report.note
            decidedBy = report.decidedBy.isEmpty ? nil : report.decidedBy
            decidedAt = report.decidedAt
            createdAt = report.createdAt
            acknowledgedAt = report.acknowledgedAt
            notifiedAt = report.notifiedAt
        }
    }

    struct DetailJSON: Encodable {
        var report: ReportJSON
        var analysis: MailAnalysis?
        var cluster: [ReportJSON]
    }

    struct SubmitBody: Decodable {
        var kind: String?
        var description: String?
        var messageBase64: String?
        var reporterEmail: String?
    }

    func submit(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        var submission: ReportSubmission
        if contentType.hasPrefix("application/json") {
            let body = try await core.decode(SubmitBody.self, request, context)
            guard let kind = ReportKind(rawValue: body.kind ?? "email") else {
                throw IncidentsError.invalid(
                    "kind is one of \(ReportKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var message: [UInt8]?
            if let encoded = body.messageBase64 {
                guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                    throw IncidentsError.invalid("message_base64 is not base64")
                }
                message = Array(data)
            }
            submission = ReportSubmission(
                kind: kind, channel: .api,
                reporter: Reporter(email: body.reporterEmail ?? "", name: ""),
                description: body.description ?? "", message: message)
        } else {
            var request = request
            let limit = reports.maximumMessageBytes
            // Refused before reading when the client says how much it sends.
            if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
                throw HygieWebError.payloadTooLarge(limit: limit)
            }
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: limit)
            } catch {
                throw HygieWebError.payloadTooLarge(limit: limit)
            }
            guard buffer.readableBytes > 0 else { throw HygieWebError.badRequest("the request body is empty") }
            submission = ReportSubmission(
                kind: .email, channel: .api, reporter: Reporter(email: "", name: ""),
                message: Array(buffer.readableBytesView))
        }
        // The reporter named in the body, or the token's owner.
        submission.reporter =
            submission.reporter.email.isEmpty
            ? try await reports.reporter(user: scope.actor.userID, establishment: scope.establishmentID)
            : try await reports.reporter(submission.reporter.email, name: "", establishment: scope.establishmentID)
        let stored = try await reports.submit(submission, in: scope)
        return try JSONResponse.make(stored.map(ReportJSON.init), status: .created)
    }

    func list(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let status = try request.uri.queryParameters.get("status").map { text in
            guard let status = ReportStatus(rawValue: String(text)) else {
                throw IncidentsError.invalid("status is open or closed")
            }
            return status
        }
        let verdict = try request.uri.queryParameters.get("verdict").map { text in
            guard let verdict = Verdict(rawValue: String(text)) else {
                throw IncidentsError.invalid("verdict is simulation, malicious, suspicious or safe")
            }
            return verdict
        }
        return try JSONResponse.make(
            try await reports.reports(in: scope, status: status, verdict: verdict).map(ReportJSON.init))
    }

    func id(_ context: HygieRequestContext) throws -> Int64 { try context.int64Parameter(what: "report") }

    func detail(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let detail = try await reports.detail(try id(context), in: try core.scope(request, context))
        return try JSONResponse.make(
            DetailJSON(
                report: ReportJSON(detail.report), analysis: detail.analysis,
                cluster: detail.cluster.map(ReportJSON.init)))
    }

    func message(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let id = try id(context)
        let bytes = try await reports.message(id, in: try core.scope(request, context))
        return Response(
            status: .ok,
            headers: [
                .contentType: "message/rfc822", .contentDisposition: "attachment; filename=\"report-\(id).eml\"",
            ], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    struct DecideBody: Decodable {
        var verdict: String
        var note: String?
        var cluster: Bool?
    }

    func decide(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(DecideBody.self, request, context)
        guard let verdict = Verdict(rawValue: body.verdict) else {
            throw IncidentsError.invalid("verdict is malicious, safe or simulation")
        }
        let report = try await reports.decide(
            try id(context), verdict: verdict, note: body.note ?? "", cluster: body.cluster ?? true, in: scope)
        return try JSONResponse.make(ReportJSON(report))
    }

    struct CloseBody: Decodable {
        var note: String?
    }

    func close(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(CloseBody.self, request, context)
        let id = try id(context)
        try await reports.close(id, note: body.note ?? "", in: scope)
        return try JSONResponse.make(ReportJSON(try await reports.detail(id, in: scope).report))
    }

    struct SettingsJSON: Codable {
        var protectedDomains: [String]
        var reportAddresses: [String]
        var notifyReporters: Bool
    }

    func settings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let settings = try await reports.settings(in: try core.scope(request, context))
        return try JSONResponse.make(
            SettingsJSON(
                protectedDomains: settings.protectedDomains, reportAddresses: settings.reportAddresses,
                notifyReporters: settings.notifyReporters))
    }

    func saveSettings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(SettingsJSON.self, request, context)
        try await reports.updateSettings(
            ReportSettings(
                protectedDomains: body.protectedDomains, reportAddresses: body.reportAddresses,
                notifyReporters: body.notifyReporters), in: scope)
        return try await settings(request, context: context)
    }
}
