import FederationCore
import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieFederation
import HygieStorage
import NIOCore

/// The federation: `/federation/v1/…` (establishment instances → this hub: enrolment, signed pushes),
/// `/api/v1/hub/…` (a coordinator's members, enrolment tokens, revocation, declarations inbox) and
/// `/api/v1/federation/…` (this establishment's link to its hub: join, push, preview of what leaves).
struct FederationAPIController {
    let services: HygieServices
    var core: CoreAPIController { CoreAPIController(services: services) }

    var operations: [APIOperation] {
        let hub = APIOperation.tagged("hub")
        let member = APIOperation.tagged("federation")
        return [
            hub(
                .get, "/api/v1/hub/overview",
                "The fleet: member counts, averages, theme bands, declarations, weekly trends over a year", nil,
                "Object", 200, overview),
            hub(
                .get, "/api/v1/hub/members",
                "Member establishments with their latest figures (?search, ?filter=stale|revoked, ?offset, ?limit)",
                nil,
                "Object", 200, members),
            hub(
                .get, "/api/v1/hub/broadcasts", "Broadcast alerts with their answer counts", nil, "Object", 200,
                broadcasts),
            hub(
                .post, "/api/v1/hub/broadcasts",
                "Publish an alert {title, summary, severity, tlp, references, products, indicators, answer_by}",
                "Object", "Object", 201, publish),
            hub(
                .get, "/api/v1/hub/broadcasts/{id}",
                "An alert with every member's answer (?status=affected|unknown|"
                    + "not_affected|none)", nil, "Object", 200, responses),
            hub(
                .post, "/api/v1/hub/enrolments", "A single-use enrolment token {label, days} (shown once; coordinator)",
                "Object", "Object", 201, enrolment),
            hub(
                .post, "/api/v1/hub/members/{id}/revoke", "Stop accepting a member's pushes", nil, "Object", 200, revoke
            ),
            hub(
                .get, "/api/v1/hub/declarations", "Declaration copies of the members, soonest deadline first", nil,
                "Object", 200, declarations),
            member(.get, "/api/v1/federation", "This establishment's link to its hub", nil, "Object", 200, link),
            member(
                .post, "/api/v1/federation/join", "Join a hub {hub_url, token} (rssi, admin)", "Object", "Object", 201,
                join),
            member(
                .post, "/api/v1/federation/push", "Push now (a fresh snapshot and changed declarations)", nil, "Object",
                200, push),
            member(
                .get, "/api/v1/federation/snapshot", "What this establishment would push now", nil, "Object", 200,
                preview),
            member(
                .get, "/api/v1/federation/alerts", "Alerts received from the hub with this establishment's answers",
                nil, "Object", 200, alerts),
            member(
                .post, "/api/v1/federation/alerts/{uid}/answer",
                "Confirm or correct the answer {status: affected|not_affected|unknown|automatic, comment}", "Object",
                "Object", 200, answer),
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
        for path in [
            "/federation/v1/enrol", "/federation/v1/snapshots", "/federation/v1/declarations",
            "/federation/v1/broadcasts", "/federation/v1/answers",
        ] {
            router.post(RouterPath(path), use: federation)
        }
    }

    /// The hub's protocol endpoints: answered by the hub service, errors included (never an HTML page).
    func federation(_ request: Request, context: HygieRequestContext) async throws -> Response {
        var request = request
        let body: [UInt8]
        do {
            body = Array(try await request.collectBody(upTo: HubService.maximumBody).readableBytesView)
        } catch {
            return Self.response(
                FederationResponse(status: 413, body: Array(#"{"error":"body larger than 1 MiB"}"#.utf8)))
        }
        var headers: [String: String] = [:]
        for name in [RequestSigner.memberHeader, RequestSigner.timestampHeader, RequestSigner.signatureHeader] {
            if let field = HTTPField.Name(name), let value = request.headers[field] {
                headers[name.lowercased()] = value
            }
        }
        return Self.response(
            await services.hub.handle(
                method: request.method.rawValue, path: request.uri.path, headers: headers, body: body))
    }

    static func response(_ answer: FederationResponse) -> Response {
        Response(
            status: HTTPResponse.Status(code: answer.status),
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    // MARK: Coordinator

    func overview(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(try await services.hub.overview(in: try core.scope(request, context)))
    }

    func members(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let (total, members) = try await services.hub.members(
            in: try core.scope(request, context), search: query.get("search") ?? "", filter: query.get("filter") ?? "",
            offset: query.get("offset").flatMap { Int($0) } ?? 0, limit: query.get("limit").flatMap { Int($0) } ?? 100)
        return try JSONResponse.make(MemberPage(total: total, members: members))
    }

    struct MemberPage: Encodable {
        var total: Int
        var members: [FederationMember]
    }

    func broadcasts(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(["broadcasts": try await services.hub.broadcasts(in: try core.scope(request, context))])
    }

    struct BroadcastBody: Decodable {
        var title: String
        var summary: String?
        var severity: String?
        var tlp: String?
        var references: [String]?
        var products: [String]?
        var indicators: [String]?
        /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` (UTC).
        var answerBy: String?
    }

    func publish(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(BroadcastBody.self, request, context)
        let answerBy = try DisplayDate.parseLocal(body.answerBy)
        let broadcast = try await services.hub.publish(
            BroadcastDraft(
                title: body.title, summary: body.summary ?? "", severity: body.severity ?? "high",
                tlp: body.tlp ?? "amber", references: body.references ?? [], productLines: body.products ?? [],
                indicatorLines: body.indicators ?? [], answerBy: answerBy), in: scope)
        return try JSONResponse.make(broadcast, status: .created)
    }

    func responses(_ request: Request, context: HygieRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
            throw HygieCoreError.notFound("broadcast")
        }
        return try JSONResponse.make(
            try await services.hub.responses(
                to: id, status: request.uri.queryParameters.get("status"), in: try core.scope(request, context)))
    }

    struct EnrolmentBody: Decodable {
        var label: String
        var days: Int?
    }

    func enrolment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(EnrolmentBody.self, request, context)
        return try JSONResponse.make(
            try await services.hub.createEnrolment(label: body.label, days: body.days ?? 7, in: scope), status: .created
        )
    }

    func revoke(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
            throw HygieCoreError.notFound("member")
        }
        try await services.hub.revoke(id, in: scope)
        return try JSONResponse.make(["status": "revoked"])
    }

    func declarations(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make([
            "declarations": try await services.hub.declarations(in: try core.scope(request, context))
        ])
    }

    // MARK: Establishment

    func link(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let link = try await services.member.link(in: try core.scope(request, context))
        guard let link else { throw HygieCoreError.notFound("hub link") }
        return try JSONResponse.make(link)
    }

    struct JoinBody: Decodable {
        var hubUrl: String
        var token: String
    }

    func join(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(JoinBody.self, request, context)
        return try JSONResponse.make(
            try await services.member.join(hub: body.hubUrl, token: body.token, in: scope), status: .created)
    }

    func push(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(try await services.member.push(in: try core.scope(request, context), force: true))
    }

    func preview(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(try await services.member.preview(in: try core.scope(request, context)))
    }

    func alerts(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(["alerts": try await services.member.alerts(in: try core.scope(request, context))])
    }

    struct AnswerBody: Decodable {
        var status: String
        var comment: String?
    }

    func answer(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await core.decode(AnswerBody.self, request, context)
        return try JSONResponse.make(
            try await services.member.answer(
                alert: context.parameters.get("uid") ?? "", status: body.status, comment: body.comment ?? "", in: scope)
        )
    }
}
