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
                .get, "/api/v1/hub/members", "Member establishments with their latest snapshot (coordinator)", nil,
                "Object", 200, members),
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
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
        for path in ["/federation/v1/enrol", "/federation/v1/snapshots", "/federation/v1/declarations"] {
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

    func members(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try JSONResponse.make(["members": try await services.hub.members(in: try core.scope(request, context))])
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
}
