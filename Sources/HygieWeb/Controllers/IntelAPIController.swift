import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieIntel
import HygieStorage
import NIOCore
import STIX

/// `/api/v1/intel`: collections, objects (search, detail), import and export, accounts, sharing groups, grants,
/// feeds, sightings and settings, for members of an establishment (bearer API tokens).
struct IntelAPIController {
    let services: HygieServices
    var core: CoreAPIController { CoreAPIController(services: services) }
    var intel: IntelService { services.intel }

    var operations: [APIOperation] {
        let op = APIOperation.tagged("intel")
        return [
            op(
                .get, "/api/v1/intel/collections", "Collections this establishment can read or write", nil, "Object",
                200, collections),
            op(.post, "/api/v1/intel/collections", "Create a collection", "Object", "Object", 201, createCollection),
            op(
                .get, "/api/v1/intel/objects", "Search objects (q, type, collection, max_tlp, cursor, limit)", nil,
                "Object", 200,
                objects),
            op(
                .get, "/api/v1/intel/objects/{id}", "One object with its versions and related objects", nil, "Object",
                200, object),
            op(
                .post, "/api/v1/intel/import",
                "Import a STIX bundle, an indicator CSV or a MISP event (query: collection, format)", "Object",
                "Object", 200,
                importContent),
            op(
                .get, "/api/v1/intel/export", "A collection as a STIX bundle (query: collection, max_tlp)", nil,
                "Object", 200, export),
            op(.get, "/api/v1/intel/accounts", "TAXII accounts", nil, "Object", 200, accounts),
            op(
                .post, "/api/v1/intel/accounts", "Create a TAXII account (secret shown once)", "Object", "Object", 201,
                createAccount),
            op(
                .post, "/api/v1/intel/grants", "Give an account or a sharing group rights on a collection", "Object",
                "Empty", 204, grant),
            op(.get, "/api/v1/intel/groups", "Sharing groups", nil, "Object", 200, groups),
            op(.post, "/api/v1/intel/groups", "Create a sharing group", "Object", "Object", 201, createGroup),
            op(.get, "/api/v1/intel/feeds", "TAXII feeds with their health", nil, "Object", 200, feeds),
            op(.post, "/api/v1/intel/feeds", "Create a pull or push feed", "Object", "Object", 201, createFeed),
            op(.post, "/api/v1/intel/feeds/{id}/sync", "Run a feed now", nil, "Object", 200, syncFeed),
            op(.delete, "/api/v1/intel/feeds/{id}", "Delete a feed", nil, "Empty", 204, deleteFeed),
            op(
                .get, "/api/v1/intel/sightings", "Indicators seen in this establishment's logs", nil, "Object", 200,
                sightings),
            op(
                .post, "/api/v1/intel/sightings/publish",
                "Add the sightings (STIX) to a collection (query: collection)", nil,
                "Object", 200, publishSightings),
            op(.get, "/api/v1/intel/settings", "Own domains and upward anonymisation", nil, "Object", 200, settings),
            op(
                .put, "/api/v1/intel/settings", "Change own domains and upward anonymisation", "Object", "Object", 200,
                updateSettings),
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
    }

    static func json(_ value: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        try DetectionAPIController.json(value, status: status)
    }

    func body(_ request: Request) async throws -> [String: Any] {
        try await DetectionAPIController(services: services).body(request)
    }

    static func uuid(_ value: Any?, _ field: String) throws -> UUID {
        guard let text = value as? String, let id = UUID(uuidString: text) else {
            throw ValidationError(field: field, message: "an identifier is required", key: "identifier")
        }
        return id
    }

    static func tlp(_ value: Any?, default fallback: TLP) throws -> TLP {
        guard let text = value as? String else { return fallback }
        guard let level = TLP(name: text) else {
            throw ValidationError(field: "tlp", message: "unknown TLP \(text)", key: "tlp")
        }
        return level
    }

    static func iso(_ date: Date?) -> Any { DetectionAPIController.iso(date) }

    static func collectionJSON(_ access: CollectionAccess, own: Bool) -> [String: Any] {
        let collection = access.collection
        return [
            "id": collection.id.uuidString.lowercased(), "title": collection.title,
            "description": collection.description ?? NSNull(),
            "alias": collection.alias ?? NSNull(), "default_tlp": collection.defaultTLP.rawValue,
            "distribution": collection.distribution.rawValue,
            "sharing_group_id": collection.sharingGroupID?.uuidString.lowercased() ?? NSNull(),
            "objects": collection.objectCount, "can_read": access.canRead, "can_write": access.canWrite, "own": own,
            "taxii_url":
                "/taxii2/\(collection.establishmentID.uuid.uuidString.lowercased())/collections/\(collection.id.uuidString.lowercased())/",
        ]
    }

    static func objectJSON(_ found: FoundObject) -> [String: Any] {
        let object = found.object
        return [
            "id": object.stixID, "type": object.type, "name": object.name ?? NSNull(), "tlp": object.tlp.rawValue,
            "revoked": object.revoked, "version": object.versionText,
            "date_added": STIXTimestamp(microseconds: object.dateAdded).taxiiString,
            "collection_id": found.collection.id.uuidString.lowercased(),
            // The object itself, exactly as stored.
            // try?: stored objects are valid JSON (validated on the way in).
            "stix": (try? JSONSerialization.jsonObject(with: Data(object.body.utf8))) ?? NSNull(),
        ]
    }

    // MARK: Collections and objects

    func collections(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let list = try await intel.collections(for: intel.principal(for: scope))
        return try Self.json([
            "items": list.map { Self.collectionJSON($0, own: $0.collection.establishmentID == scope.establishmentID) }
        ])
    }

    func createCollection(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await body(request)
        guard let distribution = Distribution(rawValue: body["distribution"] as? String ?? "establishment") else {
            throw ValidationError(
                field: "distribution", message: "establishment, ght, region, nation or group", key: "unknownChoice")
        }
        let collection = try await intel.createCollection(
            title: body["title"] as? String ?? "", description: body["description"] as? String,
            alias: body["alias"] as? String,
            defaultTLP: try Self.tlp(body["default_tlp"], default: .amber), distribution: distribution,
            sharingGroupID: try (body["sharing_group_id"] as? String).map { try Self.uuid($0, "sharing_group_id") },
            in: scope)
        return try Self.json(
            Self.collectionJSON(CollectionAccess(collection: collection, canRead: true, canWrite: true), own: true),
            status: .created)
    }

    func objects(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let query = request.uri.queryParameters
        var search = ObjectSearch()
        search.text = query.get("q") ?? ""
        search.types = (query.get("type") ?? "").split(separator: ",").map(String.init)
        search.collectionID = try query.get("collection").map { try Self.uuid($0, "collection") }
        search.maxTLP = try Self.tlp(query.get("max_tlp"), default: .red)
        search.includeRevoked = query.get("revoked") == "true"
        search.before = query.get("cursor").flatMap(Int64.init)
        search.limit = min(max(query.get("limit").flatMap(Int.init) ?? 50, 1), 500)
        let (found, next) = try await intel.search(search, in: scope)
        return try Self.json([
            "items": found.map(Self.objectJSON), "next_cursor": next.map { String($0) as Any } ?? NSNull(),
        ])
    }

    func object(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let stixID = context.parameters.get("id") ?? ""
        let detail = try await intel.detail(
            stixID,
            collection: try request.uri.queryParameters.get("collection").map { try Self.uuid($0, "collection") },
            in: scope)
        var object = Self.objectJSON(FoundObject(object: detail.object, collection: detail.collection))
        object["versions"] = detail.versions
        object["related"] = detail.related.map(Self.objectJSON)
        if let sighting = detail.sightings {
            object["sightings"] = [
                "count": sighting.count, "first_seen": Self.iso(sighting.firstSeen),
                "last_seen": Self.iso(sighting.lastSeen),
            ]
        }
        return try Self.json(object)
    }

    func importContent(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let query = request.uri.queryParameters
        let collection = try Self.uuid(query.get("collection"), "collection")
        var request = request
        let buffer = try await request.collectBody(upTo: services.settings.maxIngestBytes)
        let bytes = Array(buffer.readableBytesView)
        let format: IntelService.ImportFormat
        if let name = query.get("format") {
            guard let value = IntelService.ImportFormat(rawValue: name) else {
                throw ValidationError(field: "format", message: "stix, csv or misp", key: "unknownChoice")
            }
            format = value
        } else {
            format = .guess(bytes)
        }
        let status = try await intel.importContent(bytes, format: format, into: collection, in: scope)
        return try Self.json([
            "total": status.totalCount, "stored": status.successes.filter { $0.message == nil }.count,
            "already_present": status.successes.filter { $0.message != nil }.count, "refused": status.failureCount,
            "failures": status.failures.map { ["id": $0.id, "message": $0.message ?? ""] },
        ])
    }

    func export(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let query = request.uri.queryParameters
        let bytes = try await intel.exportBundle(
            collection: try Self.uuid(query.get("collection"), "collection"),
            maxTLP: try Self.tlp(query.get("max_tlp"), default: .amber), in: scope)
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/stix+json;version=2.1",
                .contentDisposition: "attachment; filename=\"bundle.json\"",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Accounts, groups, grants

    func accounts(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try Self.json([
            "items": try await intel.accounts(in: scope).map {
                [
                    "id": $0.id.uuidString.lowercased(), "username": $0.username, "organisation": $0.organisation,
                    "max_tlp": $0.maxTLP.rawValue, "disabled": $0.disabled, "secret_prefix": $0.secretPrefix,
                    "last_used_at": Self.iso($0.lastUsedAt),
                ] as [String: Any]
            }
        ])
    }

    func createAccount(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await body(request)
        let (account, secret) = try await intel.createAccount(
            username: body["username"] as? String ?? "", organisation: body["organisation"] as? String ?? "",
            maxTLP: try Self.tlp(body["max_tlp"], default: .amber), in: scope)
        return try Self.json(
            ["id": account.id.uuidString.lowercased(), "username": account.username, "secret": secret], status: .created
        )
    }

    func grant(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await body(request)
        try await intel.grant(
            collection: try Self.uuid(body["collection_id"], "collection_id"),
            account: try (body["account_id"] as? String).map { try Self.uuid($0, "account_id") },
            group: try (body["group_id"] as? String).map { try Self.uuid($0, "group_id") },
            canRead: body["can_read"] as? Bool ?? false, canWrite: body["can_write"] as? Bool ?? false,
            revoke: body["revoke"] as? Bool ?? false, in: scope)
        return Response(status: .noContent)
    }

    static func groupJSON(_ group: SharingGroup) -> [String: Any] {
        [
            "id": group.id.uuidString.lowercased(), "name": group.name, "description": group.description ?? NSNull(),
            "establishments": group.memberEstablishments.map { $0.uuid.uuidString.lowercased() },
            "accounts": group.memberAccounts.map { $0.uuidString.lowercased() },
        ]
    }

    func groups(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try Self.json(["items": try await intel.sharingGroups(in: scope).map(Self.groupJSON)])
    }

    func createGroup(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await body(request)
        let group = try await intel.createSharingGroup(
            name: body["name"] as? String ?? "", description: body["description"] as? String,
            establishments: try (body["establishments"] as? [String] ?? []).map {
                Establishment.ID(try Self.uuid($0, "establishments"))
            },
            accounts: try (body["accounts"] as? [String] ?? []).map { try Self.uuid($0, "accounts") }, in: scope)
        return try Self.json(Self.groupJSON(group), status: .created)
    }

    // MARK: Feeds

    static func feedJSON(_ feed: IntelFeed) -> [String: Any] {
        [
            "id": feed.id.uuidString.lowercased(), "name": feed.name, "direction": feed.direction.rawValue,
            "url": feed.url,
            "username": feed.username ?? NSNull(), "has_secret": feed.hasSecret,
            "collection_id": feed.collectionID.uuidString.lowercased(), "interval_minutes": feed.intervalMinutes,
            "max_tlp": feed.maxTLP.rawValue, "enabled": feed.enabled, "health": feed.health(at: Date()),
            "last_run_at": iso(feed.lastRunAt), "last_success_at": iso(feed.lastSuccessAt),
            "next_run_at": iso(feed.nextRunAt),
            "last_error": feed.lastError ?? NSNull(), "failures": feed.failures, "objects_total": feed.objectsTotal,
            "last_objects": feed.lastObjects,
        ]
    }

    func feeds(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try Self.json(["items": try await intel.feeds(in: scope).map(Self.feedJSON)])
    }

    func createFeed(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await body(request)
        guard let direction = IntelFeed.Direction(rawValue: body["direction"] as? String ?? "pull") else {
            throw ValidationError(field: "direction", message: "pull or push", key: "unknownChoice")
        }
        let feed = try await intel.createFeed(
            name: body["name"] as? String ?? "", direction: direction, url: body["url"] as? String ?? "",
            username: body["username"] as? String, secret: body["secret"] as? String,
            collectionID: try Self.uuid(body["collection_id"], "collection_id"),
            intervalMinutes: body["interval_minutes"] as? Int ?? 60,
            maxTLP: try Self.tlp(body["max_tlp"], default: .amber),
            in: scope)
        return try Self.json(Self.feedJSON(feed), status: .created)
    }

    func syncFeed(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try Self.json(Self.feedJSON(try await intel.runFeed(try context.idParameter("feed"), in: scope)))
    }

    func deleteFeed(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        try await intel.deleteFeed(try context.idParameter("feed"), in: scope)
        return Response(status: .noContent)
    }

    // MARK: Sightings and settings

    func sightings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let list = try await intel.sightings(in: scope)
        let days = try await intel.sightingsPerDay(in: scope, days: 30)
        return try Self.json([
            "items": list.map {
                [
                    "indicator_id": $0.indicatorID, "name": $0.name ?? NSNull(), "tlp": $0.tlp.rawValue,
                    "count": $0.count,
                    "first_seen": Self.iso($0.firstSeen), "last_seen": Self.iso($0.lastSeen),
                    "collection_id": $0.collectionID.uuidString.lowercased(),
                ] as [String: Any]
            },
            "per_day": days.map { ["day": Self.iso($0.day), "count": $0.count] as [String: Any] },
        ])
    }

    func publishSightings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let status = try await intel.publishSightings(
            to: try Self.uuid(request.uri.queryParameters.get("collection"), "collection"), in: scope)
        return try Self.json([
            "published": status.successes.filter { $0.message == nil }.count,
            "unchanged": status.successes.filter { $0.message != nil }.count,
        ])
    }

    func settings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let settings = try await intel.settings(in: scope)
        return try Self.json(["own_domains": settings.ownDomains, "anonymise_upward": settings.anonymiseUpward])
    }

    func updateSettings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await body(request)
        var settings = try await intel.settings(in: scope)
        if let domains = body["own_domains"] as? [String] { settings.ownDomains = domains }
        if let anonymise = body["anonymise_upward"] as? Bool { settings.anonymiseUpward = anonymise }
        try await intel.updateSettings(settings, in: scope)
        return try await self.settings(request, context: context)
    }
}
