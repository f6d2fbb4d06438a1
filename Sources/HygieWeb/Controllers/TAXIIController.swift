import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieIntel
import HygieStorage
import NIOCore
import STIX

/// TAXII 2.1 (OASIS Standard, 10 June 2021) under `/taxii2/`: discovery, one API root per establishment,
/// collections, objects, manifest, versions and status. Partners authenticate with HTTP Basic or Bearer
/// (machine accounts of the intel module); members of an establishment may use their API token as Bearer.
struct TAXIIController {
    let services: HygieServices
    var intel: IntelService { services.intel }

    static let taxiiType = "application/taxii+json;version=2.1"
    static let stixType = "application/stix+json;version=2.1"
    static let realm = #"Basic realm="Hygie TAXII", charset="UTF-8", Bearer realm="Hygie TAXII""#

    func addRoutes(to router: Router<HygieRequestContext>) {
        let group = router.group("taxii2")
        group.get("", use: discovery)
        group.get(":root", use: apiRoot)
        group.get(":root/status/:status", use: status)
        group.get(":root/collections", use: collections)
        group.get(":root/collections/:collection", use: collection)
        group.get(":root/collections/:collection/manifest", use: manifest)
        group.get(":root/collections/:collection/objects", use: objects)
        group.post(":root/collections/:collection/objects", use: addObjects)
        group.get(":root/collections/:collection/objects/:object", use: object)
        group.delete(":root/collections/:collection/objects/:object", use: deleteObject)
        group.get(":root/collections/:collection/objects/:object/versions", use: versions)
    }

    // MARK: Plumbing

    /// Who is calling: a machine account (Basic or Bearer `hyx_…`) or a member's API token (Bearer).
    func principal(_ request: Request, _ context: HygieRequestContext) async throws -> IntelPrincipal {
        let header = request.headers[.authorization] ?? ""
        let lower = header.lowercased()
        var principal: IntelPrincipal?
        if lower.hasPrefix("basic ") {
            if let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
            {
                principal = try await intel.authenticate(
                    username: String(text[..<colon]), secret: String(text[text.index(after: colon)...]),
                    requestID: context.requestID, sourceAddress: context.remoteAddress)
            }
        } else if lower.hasPrefix("bearer ") {
            let secret = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            principal = try await intel.authenticate(
                bearer: secret, requestID: context.requestID, sourceAddress: context.remoteAddress)
            if principal == nil, let token = try await services.identity.resolveToken(secret) {
                var member = intel.principal(
                    for: services.identity.scope(
                        for: token, requestID: context.requestID, sourceAddress: context.remoteAddress))
                // TAXII is a way out: TLP:RED stays on the pages and the REST API, even for the establishment's own tools.
                member.maxTLP = min(member.maxTLP, .amberStrict)
                principal = member
            }
        }
        guard let principal else { throw TAXIIError(.unauthorized, "authentication required") }
        return principal
    }

    /// Accept must allow TAXII 2.1 JSON (`application/taxii+json` with version 2.1 or none, or a wildcard).
    static func checkAccept(_ request: Request) throws {
        guard let accept = request.headers[.accept], !accept.isEmpty else { return }
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let type = parts.first else { continue }
            if type == "*/*" || type == "application/*" { return }
            if type == "application/taxii+json" {
                let version = parts.dropFirst().first { $0.hasPrefix("version=") }
                if version == nil || version == "version=2.1" { return }
            }
        }
        throw TAXIIError(.notAcceptable, "this server answers application/taxii+json;version=2.1 only")
    }

    static func rootID(_ context: HygieRequestContext) throws -> Establishment.ID {
        guard let text = context.parameters.get("root"), let id = Establishment.ID(uuidString: text) else {
            throw HygieCoreError.notFound("API root")
        }
        return id
    }

    static func uuidParameter(_ name: String, _ context: HygieRequestContext, what: String) throws -> UUID {
        guard let text = context.parameters.get(name), let id = UUID(uuidString: text) else {
            throw HygieCoreError.notFound(what)
        }
        return id
    }

    static func response(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = taxiiType
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        response(JSONWriter.bytes(value), status: status)
    }

    static func dateHeaders(_ page: ObjectPage) -> HTTPFields {
        var fields = HTTPFields()
        if let first = page.firstAdded, let last = page.lastAdded {
            fields[HTTPField.Name("X-TAXII-Date-Added-First")!] = STIXTimestamp(microseconds: first).taxiiString
            fields[HTTPField.Name("X-TAXII-Date-Added-Last")!] = STIXTimestamp(microseconds: last).taxiiString
        }
        return fields
    }

    /// Query parameters with percent-decoded names (`match%5Btype%5D` is `match[type]`); a repeated parameter
    /// is OR-ed like comma-separated values.
    static func query(_ request: Request) throws -> [String: String] {
        var query: [String: String] = [:]
        for pair in (request.uri.query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = String(parts[0]).removingPercentEncoding,
                let value = (parts.count > 1 ? String(parts[1]) : "").removingPercentEncoding
            else { throw IntelError.badParameter("the query string is not valid percent-encoded UTF-8") }
            query[name] = query[name].map { "\($0),\(value)" } ?? value
        }
        return query
    }

    func filter(_ request: Request) throws -> ObjectFilter {
        try ObjectFilter(query: try Self.query(request), maximumLimit: intel.configuration.pageLimit)
    }

    static func next(_ request: Request) throws -> String? { try query(request)["next"] }

    static func envelope(_ page: ObjectPage) -> [UInt8] {
        var out = Array(#"{"more":"#.utf8)
        out += Array((page.more ? "true" : "false").utf8)
        if let next = page.next {
            out += Array(#","next":"#.utf8)
            JSONWriter.writeString(next, to: &out)
        }
        out += Array(#","objects":["#.utf8)
        for (index, object) in page.objects.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(object.body.utf8)
        }
        out += Array("]}".utf8)
        return out
    }

    // MARK: Discovery and API roots

    func discovery(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        let roots = try await intel.apiRoots(for: principal)
        let paths = roots.map { JSONValue.string("/taxii2/\($0.establishmentID.uuid.uuidString.lowercased())/") }
        var members: [JSONValue.Member] = [
            .init("title", .string("Hygie TAXII server")),
            .init("description", .string("Threat intelligence shared by hospitals, their GHT, region and partners")),
        ]
        if let first = paths.first { members.append(.init("default", first)) }
        members.append(.init("api_roots", .array(paths)))
        return Self.response(.object(members))
    }

    func apiRoot(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        let root = try await intel.apiRoot(try Self.rootID(context), for: principal)
        return Self.response(
            .object([
                .init("title", .string(root.title)),
                .init("description", .string("Collections of \(root.title)")),
                .init("versions", .array([.string(Self.taxiiType)])),
                .init("max_content_length", .number(String(intel.configuration.maxContentLength))),
            ]))
    }

    func status(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        let id = try Self.uuidParameter("status", context, what: "status")
        let status = try await intel.status(id, root: try Self.rootID(context), for: principal)
        return Self.response(Self.statusJSON(status))
    }

    static func statusJSON(_ status: AddStatus) -> JSONValue {
        func details(_ list: [AddStatus.Detail]) -> JSONValue {
            .array(
                list.map { detail in
                    var members: [JSONValue.Member] = [
                        .init("id", .string(detail.id)), .init("version", .string(detail.version)),
                    ]
                    if let message = detail.message { members.append(.init("message", .string(message))) }
                    return .object(members)
                })
        }
        return .object([
            .init("id", .string(status.id.uuidString.lowercased())),
            .init("status", .string(status.status)),
            .init("request_timestamp", .string(STIXTimestamp(microseconds: status.requestTimestamp).taxiiString)),
            .init("total_count", .number(String(status.totalCount))),
            .init("success_count", .number(String(status.successCount))),
            .init("successes", details(status.successes)),
            .init("failure_count", .number(String(status.failureCount))),
            .init("failures", details(status.failures)),
            .init("pending_count", .number(String(status.pendingCount))),
            .init("pendings", .array([])),
        ])
    }

    // MARK: Collections

    static func collectionJSON(_ access: CollectionAccess) -> JSONValue {
        var members: [JSONValue.Member] = [
            .init("id", .string(access.collection.id.uuidString.lowercased())),
            .init("title", .string(access.collection.title)),
        ]
        if let description = access.collection.description, !description.isEmpty {
            members.append(.init("description", .string(description)))
        }
        if let alias = access.collection.alias { members.append(.init("alias", .string(alias))) }
        members += [
            .init("can_read", .bool(access.canRead)), .init("can_write", .bool(access.canWrite)),
            .init("media_types", .array([.string(stixType)])),
        ]
        return .object(members)
    }

    func collections(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        let root = try Self.rootID(context)
        _ = try await intel.apiRoot(root, for: principal)
        let list = try await intel.collections(for: principal).filter { $0.collection.establishmentID == root }
        return Self.response(.object(list.isEmpty ? [] : [.init("collections", .array(list.map(Self.collectionJSON)))]))
    }

    func collection(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        let root = try Self.rootID(context)
        let access = try await intel.collection(
            try Self.uuidParameter("collection", context, what: "collection"), for: principal)
        guard access.collection.establishmentID == root else { throw HygieCoreError.notFound("collection") }
        return Self.response(Self.collectionJSON(access))
    }

    // MARK: Objects

    func objects(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        let page = try await intel.objects(
            in: try Self.uuidParameter("collection", context, what: "collection"), root: try Self.rootID(context),
            filter: try filter(request), next: try Self.next(request), includeBody: true, for: principal)
        return Self.response(Self.envelope(page), headers: Self.dateHeaders(page))
    }

    func manifest(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        let page = try await intel.objects(
            in: try Self.uuidParameter("collection", context, what: "collection"), root: try Self.rootID(context),
            filter: try filter(request), next: try Self.next(request), includeBody: false, for: principal)
        var members: [JSONValue.Member] = [.init("more", .bool(page.more))]
        if let next = page.next { members.append(.init("next", .string(next))) }
        if !page.objects.isEmpty {
            members.append(
                .init(
                    "objects",
                    .array(
                        page.objects.map {
                            .object([
                                .init("id", .string($0.stixID)),
                                .init("date_added", .string(STIXTimestamp(microseconds: $0.dateAdded).taxiiString)),
                                .init("version", .string($0.versionText)),
                                .init("media_type", .string(Self.stixType)),
                            ])
                        })))
        }
        return Self.response(JSONWriter.bytes(.object(members)), headers: Self.dateHeaders(page))
    }

    func object(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        let page = try await intel.object(
            context.parameters.get("object") ?? "",
            in: try Self.uuidParameter("collection", context, what: "collection"),
            root: try Self.rootID(context), filter: try filter(request), next: try Self.next(request),
            for: principal)
        return Self.response(Self.envelope(page), headers: Self.dateHeaders(page))
    }

    func versions(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        let page = try await intel.versions(
            of: context.parameters.get("object") ?? "",
            in: try Self.uuidParameter("collection", context, what: "collection"),
            root: try Self.rootID(context), filter: try filter(request), next: try Self.next(request),
            for: principal)
        var members: [JSONValue.Member] = [.init("more", .bool(page.more))]
        if let next = page.next { members.append(.init("next", .string(next))) }
        members.append(.init("versions", .array(page.objects.map { .string($0.versionText) })))
        return Self.response(JSONWriter.bytes(.object(members)), headers: Self.dateHeaders(page))
    }

    func addObjects(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        let contentType = (request.headers[.contentType] ?? "").replacingOccurrences(of: " ", with: "").lowercased()
        guard contentType == "application/taxii+json;version=2.1" || contentType == "application/taxii+json" else {
            throw TAXIIError(.unsupportedMediaType, "send application/taxii+json;version=2.1")
        }
        let collectionID = try Self.uuidParameter("collection", context, what: "collection")
        let root = try Self.rootID(context)
        var request = request
        let limit = intel.configuration.maxContentLength
        let status = try await intel.addObjects(to: collectionID, root: root, for: principal) {
            do {
                return Array(try await request.collectBody(upTo: limit).readableBytesView)
            } catch {
                throw IntelError.tooLarge(limit: limit)
            }
        }
        return Self.response(Self.statusJSON(status), status: .accepted)
    }

    func deleteObject(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.checkAccept(request)
        let principal = try await principal(request, context)
        try await intel.deleteObject(
            context.parameters.get("object") ?? "",
            in: try Self.uuidParameter("collection", context, what: "collection"),
            root: try Self.rootID(context), filter: try filter(request), for: principal)
        return Response(status: .ok, headers: [.contentType: Self.taxiiType])
    }
}

/// A TAXII status that is not one of the shared error kinds (406, 415) or that needs TAXII wording.
struct TAXIIError: Error, CustomStringConvertible {
    let status: HTTPResponse.Status
    let message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
    var description: String { message }
}
