import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// One operation of the REST API: registered on the router and described in the OpenAPI document from the
/// same entry, so the two cannot drift apart.
struct APIOperation: Sendable {
    let method: HTTPRequest.Method
    /// OpenAPI form, e.g. `/api/v1/departments/{id}`.
    let path: String
    let summary: String
    let tag: String
    let requestSchema: String?
    let responseSchema: String
    let successStatus: Int
    let handler: @Sendable (Request, HygieRequestContext) async throws -> Response

    var routerPath: String {
        path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: "")
    }

    typealias Handler = @Sendable (Request, HygieRequestContext) async throws -> Response

    /// Makes operations of one tag: `op(.get, path, summary, requestSchema, responseSchema, status, handler)`.
    static func tagged(_ tag: String) -> (HTTPRequest.Method, String, String, String?, String, Int, @escaping Handler)
        ->
        APIOperation
    {
        { method, path, summary, request, response, status, handler in
            APIOperation(
                method: method, path: path, summary: summary, tag: tag, requestSchema: request,
                responseSchema: response,
                successStatus: status, handler: handler)
        }
    }
}

/// `/api/v1`: bearer-token JSON API over the foundation objects.
struct CoreAPIController {
    let services: HygieServices

    var operations: [APIOperation] {
        [
            .init(
                method: .get, path: "/api/v1/openapi.json", summary: "This document", tag: "meta", requestSchema: nil,
                responseSchema: "OpenAPI", successStatus: 200, handler: openAPI),
            .init(
                method: .get, path: "/api/v1/me", summary: "The token's user, establishment and role", tag: "identity",
                requestSchema: nil, responseSchema: "Me", successStatus: 200, handler: me),
            .init(
                method: .get, path: "/api/v1/establishments", summary: "Establishments the token may see",
                tag: "tenancy", requestSchema: nil, responseSchema: "EstablishmentList", successStatus: 200,
                handler: establishments),
            .init(
                method: .post, path: "/api/v1/establishments", summary: "Create an establishment (instance admin)",
                tag: "tenancy", requestSchema: "CreateEstablishmentRequest", responseSchema: "Establishment",
                successStatus: 201, handler: createEstablishment),
            .init(
                method: .get, path: "/api/v1/departments", summary: "Departments, keyset-paginated", tag: "tenancy",
                requestSchema: nil, responseSchema: "DepartmentList", successStatus: 200, handler: departments),
            .init(
                method: .post, path: "/api/v1/departments", summary: "Create a department", tag: "tenancy",
                requestSchema: "CreateDepartmentRequest", responseSchema: "Department", successStatus: 201,
                handler: createDepartment),
            .init(
                method: .get, path: "/api/v1/departments/{id}", summary: "One department", tag: "tenancy",
                requestSchema: nil, responseSchema: "Department", successStatus: 200, handler: department),
            .init(
                method: .delete, path: "/api/v1/departments/{id}", summary: "Delete a department", tag: "tenancy",
                requestSchema: nil, responseSchema: "Empty", successStatus: 204, handler: deleteDepartment),
            .init(
                method: .get, path: "/api/v1/users", summary: "Members of the establishment", tag: "identity",
                requestSchema: nil, responseSchema: "UserList", successStatus: 200, handler: users),
            .init(
                method: .post, path: "/api/v1/users", summary: "Add a member (creates the account if needed)",
                tag: "identity", requestSchema: "CreateUserRequest", responseSchema: "User", successStatus: 201,
                handler: createUser),
            .init(
                method: .get, path: "/api/v1/users/{id}", summary: "One member", tag: "identity", requestSchema: nil,
                responseSchema: "User", successStatus: 200, handler: user),
            .init(
                method: .get, path: "/api/v1/tokens", summary: "API tokens of the establishment", tag: "identity",
                requestSchema: nil, responseSchema: "TokenList", successStatus: 200, handler: tokens),
            .init(
                method: .delete, path: "/api/v1/tokens/{id}", summary: "Revoke a token", tag: "identity",
                requestSchema: nil, responseSchema: "Empty", successStatus: 204, handler: revokeToken),
            .init(
                method: .get, path: "/api/v1/audit-events", summary: "Audit trail, newest first, paginated by sequence",
                tag: "audit", requestSchema: nil, responseSchema: "AuditEventList", successStatus: 200,
                handler: auditEvents),
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
    }

    // MARK: Authentication

    func scope(_ request: Request, _ context: HygieRequestContext) throws -> TenantScope {
        guard let token = context.token else { throw HygieCoreError.unauthorized("missing or invalid bearer token") }
        return services.identity.scope(for: token, requestID: context.requestID, sourceAddress: context.remoteAddress)
    }

    /// Decodes a JSON body (snake_case keys; with `isoDates`, dates in ISO 8601).
    func decode<T: Decodable>(
        _ type: T.Type, _ request: Request, _ context: HygieRequestContext, isoDates: Bool = false
    ) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: services.settings.maxBodyBytes)
        guard buffer.readableBytes > 0 else { throw HygieWebError.badRequest("a JSON body is required") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        if isoDates { decoder.dateDecodingStrategy = .iso8601 }
        do {
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw HygieWebError.badRequest("the body is not valid JSON for this operation")
        }
    }

    // MARK: Handlers

    func openAPI(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let data = try JSONSerialization.data(
            withJSONObject: openAPIDocument(services: services), options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func me(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        guard let token = context.token else { throw HygieCoreError.unauthorized("missing token") }
        return try JSONResponse.make(
            MeResponse(
                user: .init(token.user, role: scope.role), establishmentId: scope.establishmentID.uuidString,
                role: scope.role.rawValue))
    }

    func establishments(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        let list: [Establishment]
        if scope.actor.isInstanceAdmin || context.token?.user.isInstanceAdmin == true, scope.role == .admin {
            list = try await services.tenancy.establishments(
                visibleTo: scope.actor.userID ?? User.ID(), isInstanceAdmin: true)
        } else {
            list = [try await services.tenancy.establishment(in: scope)]
        }
        return try JSONResponse.make(ListResponse(items: list.map(EstablishmentResponse.init), nextCursor: nil))
    }

    func createEstablishment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        let body = try await decode(CreateEstablishmentRequest.self, request, context)
        guard context.token?.user.isInstanceAdmin == true, scope.role == .admin else {
            throw HygieCoreError.forbidden("only the instance administrator can create establishments")
        }
        let actor = Actor(
            userID: scope.actor.userID, displayName: scope.actor.displayName, establishmentID: nil, role: .admin,
            isInstanceAdmin: true, channel: "token", requestID: context.requestID, sourceAddress: context.remoteAddress)
        let created = try await services.tenancy.createEstablishment(
            .init(
                name: body.name, finess: body.finess, kind: body.kind, groupID: body.groupId, regionID: body.regionId),
            by: actor)
        return try JSONResponse.make(EstablishmentResponse(created), status: .created)
    }

    func departments(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        let cursor = try request.uri.queryParameters.get("cursor").map(PageCursor.init(token:))
        let size = PageSize(request.uri.queryParameters.get("limit").flatMap(Int.init))
        let page = try await services.tenancy.departmentPage(in: scope, after: cursor, size: size)
        return try JSONResponse.make(
            ListResponse(items: page.items.map(DepartmentResponse.init), nextCursor: page.next?.token))
    }

    func createDepartment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        let body = try await decode(CreateDepartmentRequest.self, request, context)
        let created = try await services.tenancy.createDepartment(
            name: body.name, code: body.code, kind: body.kind ?? "clinical", in: scope)
        return try JSONResponse.make(DepartmentResponse(created), status: .created)
    }

    func departmentID(_ context: HygieRequestContext) throws -> Department.ID {
        guard let id = context.parameters.get("id").flatMap(Department.ID.init(uuidString:)) else {
            throw HygieCoreError.notFound("department")
        }
        return id
    }

    func department(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        return try JSONResponse.make(
            DepartmentResponse(try await services.tenancy.department(try departmentID(context), in: scope)))
    }

    func deleteDepartment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        try await services.tenancy.deleteDepartment(try departmentID(context), in: scope)
        return Response(status: .noContent)
    }

    func users(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        try scope.require([.admin, .rssi, .auditor])
        let members = try await services.identity.members(in: scope)
        return try JSONResponse.make(
            ListResponse(items: members.map { UserResponse($0.user, role: $0.role) }, nextCursor: nil))
    }

    func createUser(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        let body = try await decode(CreateUserRequest.self, request, context)
        let member = try await services.identity.addMember(
            NewUser(
                email: body.email, displayName: body.displayName, password: body.password, role: body.role,
                locale: body.locale ?? "fr", departmentID: body.departmentId),
            in: scope)
        return try JSONResponse.make(UserResponse(member.user, role: member.role), status: .created)
    }

    func user(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        try scope.require([.admin, .rssi, .auditor])
        guard let id = context.parameters.get("id").flatMap(User.ID.init(uuidString:)) else {
            throw HygieCoreError.notFound("user")
        }
        let member = try await services.identity.member(id, in: scope)
        return try JSONResponse.make(UserResponse(member.user, role: member.role))
    }

    func tokens(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        return try JSONResponse.make(
            ListResponse(items: try await services.identity.tokens(in: scope).map(TokenResponse.init), nextCursor: nil))
    }

    func revokeToken(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
            throw HygieCoreError.notFound("token")
        }
        try await services.identity.revokeToken(id, in: scope)
        return Response(status: .noContent)
    }

    func auditEvents(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try scope(request, context)
        try scope.require([.admin, .rssi])
        let query = request.uri.queryParameters
        var before: Int64?
        if let text = query.get("cursor") {
            guard let value = Int64(text), value > 0 else {
                throw ValidationError(field: "cursor", message: "invalid cursor", key: "cursor")
            }
            before = value
        }
        let page = try await services.audit.page(
            establishmentID: scope.establishmentID,
            filter: AuditFilter(action: query.get("action"), actor: query.get("actor")),
            before: before, limit: PageSize(query.get("limit").flatMap(Int.init)), on: services.database.db)
        return try JSONResponse.make(
            ListResponse(items: page.events.map(AuditEventResponse.init), nextCursor: page.nextBefore.map(String.init)))
    }
}
