import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieIntel
import HygieStorage
import NIOCore
import STIX

/// The threat-intelligence pages: indicators and objects (search, detail with relationships, sightings over time)
/// and sharing (collections and grants, TAXII accounts, sharing groups, feeds and their health, import, settings).
struct IntelWebController: PageController {
    let services: HygieServices
    var intel: IntelService { services.intel }
    static let readers: Set<Role> = [.admin, .rssi, .analyst, .auditor]

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/intel", use: objects)
        router.get("/intel/sightings.svg", use: sightingsChart)
        router.get("/intel/objects/:id", use: object)
        router.get("/sharing", use: sharing)
        router.post("/sharing/collections", use: createCollection)
        router.post("/sharing/grants", use: grant)
        router.post("/sharing/accounts", use: createAccount)
        router.post("/sharing/groups", use: createGroup)
        router.post("/sharing/feeds", use: createFeed)
        router.post("/sharing/feeds/:id/sync", use: syncFeed)
        router.post("/sharing/feeds/:id/delete", use: deleteFeed)
        router.post("/sharing/settings", use: saveSettings)
        router.post("/sharing/import", use: importContent)
        router.post("/sharing/publish-sightings", use: publishSightings)
    }

    static func tlpRow(_ tlp: TLP) -> [String: Any] {
        ["label": tlp.label, "class": tlp.rawValue.replacingOccurrences(of: "+", with: "-")]
    }

    /// What the list shows of an object: name, type, TLP, the value an indicator looks for.
    static func objectRow(_ found: FoundObject) -> [String: Any] {
        let object = found.object
        let json = try? JSONParser.parse(object.body)  // stored objects are valid JSON
        var summary =
            json?["pattern"]?.stringValue ?? json?["value"]?.stringValue ?? json?["description"]?.stringValue ?? ""
        if json?["type"]?.stringValue == "relationship" {
            summary =
                "\(json?["source_ref"]?.stringValue ?? "") \(json?["relationship_type"]?.stringValue ?? "") \(json?["target_ref"]?.stringValue ?? "")"
        }
        return [
            "id": object.stixID,
            "href": "/intel/objects/\(object.stixID)?collection=\(found.collection.id.uuidString.lowercased())",
            "name": object.name ?? object.stixID, "type": object.type, "tlp": tlpRow(object.tlp),
            "revoked": object.revoked,
            "summary": String(summary.prefix(160)), "collection": found.collection.title,
            "added": date(Date(timeIntervalSince1970: Double(object.dateAdded) / 1_000_000)),
        ]
    }

    // MARK: Objects

    func objects(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let query = request.uri.queryParameters
        var search = ObjectSearch()
        search.text = query.get("q") ?? ""
        let type = query.get("type") ?? "indicator"
        search.types = type.isEmpty ? [] : [type]
        search.collectionID = query.get("collection").flatMap(UUID.init(uuidString:))
        search.maxTLP = query.get("tlp").flatMap { TLP(name: $0) } ?? .red
        search.includeRevoked = query.get("revoked") == "1"
        search.before = query.get("cursor").flatMap(Int64.init)
        let (found, next) = try await intel.search(search, in: scope)
        let collections = try await intel.collections(for: intel.principal(for: scope)).filter(\.canRead)
        let (types, levels) = try await intel.overview(in: scope)
        var nextLink: String?
        if let next {
            var items = query.filter { $0.key != "cursor" }.map {
                "\($0.key)=\(String($0.value).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            }
            items.append("cursor=\(next)")
            nextLink = "/intel?" + items.joined(separator: "&")
        }
        let sightings = try await intel.sightings(in: scope, limit: 10)
        let content: [String: Any] = [
            "objects": found.map(Self.objectRow), "next": nextLink ?? false, "q": search.text,
            "types":
                ([""] + [
                    "indicator", "malware", "threat-actor", "intrusion-set", "campaign", "attack-pattern",
                    "vulnerability",
                    "report", "relationship", "sighting", "identity", "tool",
                ]).map { value in
                    [
                        "value": value, "label": value.isEmpty ? t("intel.allTypes", context) : value,
                        "selected": value == type,
                    ]
                },
            "levels": TLP.allCases.map {
                ["value": $0.rawValue, "label": $0.label, "selected": search.maxTLP == $0 && query.get("tlp") != nil]
            },
            "collections": collections.map {
                [
                    "value": $0.collection.id.uuidString.lowercased(), "label": $0.collection.title,
                    "selected": $0.collection.id == search.collectionID,
                ]
            },
            "revoked": search.includeRevoked,
            "typeCounts": types.prefix(8).map { ["type": $0.0, "count": $0.1] },
            "tlpCounts": levels.map { ["tlp": Self.tlpRow($0.0), "count": $0.1] },
            "sightings": sightings.map {
                [
                    "href": "/intel/objects/\($0.indicatorID)?collection=\($0.collectionID.uuidString.lowercased())",
                    "name": $0.name ?? $0.indicatorID, "count": $0.count, "lastSeen": Self.date($0.lastSeen),
                    "tlp": Self.tlpRow($0.tlp),
                ] as [String: Any]
            },
        ]
        return page(
            "intel", t("nav.intel", context), active: "intel", content: content, signedIn: signedIn, request: request,
            context: context)
    }

    func sightingsChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let days = try await intel.sightingsPerDay(in: scope, days: 30)
        let chart = BarChart(
            bars: days.map { .init(label: String(Self.date($0.day).prefix(10).suffix(5)), value: Int($0.count)) },
            title: t("intel.sightingsPerDay", context))
        return DetectionWebController.svg(chart.svg())
    }

    func object(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let stixID = context.parameters.get("id") ?? ""
        let detail = try await intel.detail(
            stixID, collection: request.uri.queryParameters.get("collection").flatMap(UUID.init(uuidString:)), in: scope
        )
        let json = (try? JSONParser.parse(detail.object.body)) ?? .object([])  // stored objects are valid JSON
        let properties = (json.members ?? []).filter {
            !["type", "id", "spec_version", "object_marking_refs"].contains($0.key)
        }.map {
            member -> [String: Any] in
            let text: String
            switch member.value {
            case .string(let value): text = value
            case .number(let value): text = value
            case .bool(let value): text = value ? "true" : "false"
            default: text = JSONWriter.string(member.value)
            }
            return ["key": member.key, "value": String(text.prefix(2000))]
        }
        var pretty = "{\n"
        for (index, member) in (json.members ?? []).enumerated() {
            pretty +=
                "  \"\(member.key)\": " + JSONWriter.string(member.value)
                + (index + 1 < (json.members?.count ?? 0) ? ",\n" : "\n")
        }
        pretty += "}"
        let content: [String: Any] = [
            "object": Self.objectRow(FoundObject(object: detail.object, collection: detail.collection)),
            "properties": properties, "versions": detail.versions,
            "related": detail.related.map { found -> [String: Any] in
                var row = Self.objectRow(found)
                // Relationships read as sentences with names rather than identifiers.
                if let summary = row["summary"] as? String {
                    var named = summary
                    for other in detail.related + [FoundObject(object: detail.object, collection: detail.collection)] {
                        if let name = other.object.name {
                            named = named.replacingOccurrences(of: other.object.stixID, with: name)
                        }
                    }
                    row["summary"] = named
                }
                return row
            },
            "json": pretty,
            "sighting": detail.sightings.map {
                ["count": $0.count, "first": Self.date($0.firstSeen), "last": Self.date($0.lastSeen)] as [String: Any]
            } ?? false,
        ]
        return page(
            "intel_object", detail.object.name ?? stixID, active: "intel", content: content, signedIn: signedIn,
            request: request,
            context: context)
    }

    // MARK: Sharing

    func sharing(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await sharingPage(request, context: context)
    }

    func sharingPage(
        _ request: Request, context: HygieRequestContext, notice: String? = nil, secret: String? = nil,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let canManage = scope.role == .admin || scope.role == .rssi
        let access = try await intel.collections(for: intel.principal(for: scope))
        let own = access.filter { $0.collection.establishmentID == scope.establishmentID }
        let accounts = canManage ? try await intel.accounts(in: scope) : []
        let groups = try await intel.sharingGroups(in: scope)
        let accountNames = Dictionary(accounts.map { ($0.id, $0.username) }, uniquingKeysWith: { a, _ in a })
        let groupNames = Dictionary(groups.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var collections: [[String: Any]] = []
        for item in access {
            let collection = item.collection
            let isOwn = collection.establishmentID == scope.establishmentID
            let grants = isOwn && canManage ? try await intel.grants(collection: collection.id, in: scope) : []
            collections.append([
                "id": collection.id.uuidString.lowercased(), "title": collection.title,
                "tlp": Self.tlpRow(collection.defaultTLP),
                "distribution": t("intel.distribution.\(collection.distribution.rawValue)", context),
                "objects": collection.objectCount,
                "own": isOwn, "read": item.canRead, "write": item.canWrite,
                "taxii":
                    "/taxii2/\(collection.establishmentID.uuid.uuidString.lowercased())/collections/\(collection.id.uuidString.lowercased())/",
                "grants": grants.map { grant -> [String: Any] in
                    [
                        "who": grant.accountID.map { accountNames[$0] ?? $0.uuidString } ?? grant.groupID.map {
                            groupNames[$0] ?? $0.uuidString
                        } ?? "?",
                        "rights": [
                            grant.canRead ? t("intel.read", context) : nil,
                            grant.canWrite ? t("intel.write", context) : nil,
                        ]
                        .compactMap { $0 }.joined(separator: " + ").ifEmpty(t("intel.listedOnly", context)),
                    ]
                },
            ])
        }
        let now = services.clock.now()
        let feeds = try await intel.feeds(in: scope).map { feed -> [String: Any] in
            [
                "id": feed.id.uuidString.lowercased(), "name": feed.name,
                "direction": t("intel.direction.\(feed.direction.rawValue)", context),
                "url": feed.url, "health": feed.health(at: now),
                "healthLabel": t("intel.health.\(feed.health(at: now))", context),
                "objects": feed.objectsTotal, "lastObjects": feed.lastObjects,
                "lastSuccess": Self.date(feed.lastSuccessAt),
                "nextRun": Self.date(feed.nextRunAt), "error": feed.lastError ?? false, "failures": feed.failures,
            ]
        }
        let settings = try await intel.settings(in: scope)
        let content: [String: Any] = [
            "notice": notice ?? false, "secret": secret ?? false, "error": error ?? false, "canManage": canManage,
            "canWrite": [.admin, .rssi, .analyst].contains(scope.role),
            "collections": collections,
            "ownCollections": own.map {
                ["value": $0.collection.id.uuidString.lowercased(), "label": $0.collection.title]
            },
            "accounts": accounts.map {
                [
                    "id": $0.id.uuidString.lowercased(), "username": $0.username, "organisation": $0.organisation,
                    "tlp": Self.tlpRow($0.maxTLP), "disabled": $0.disabled, "prefix": $0.secretPrefix,
                    "lastUsed": Self.date($0.lastUsedAt),
                ] as [String: Any]
            },
            "groups": groups.map {
                [
                    "id": $0.id.uuidString.lowercased(), "name": $0.name,
                    "members": "\($0.memberEstablishments.count) / \($0.memberAccounts.count)",
                ] as [String: Any]
            },
            "feeds": feeds,
            "levels": TLP.allCases.filter { $0 != .red }.map {
                ["value": $0.rawValue, "label": $0.label, "selected": $0 == .amber]
            },
            "allLevels": TLP.allCases.map { ["value": $0.rawValue, "label": $0.label, "selected": $0 == .amber] },
            "distributions": Distribution.allCases.map {
                ["value": $0.rawValue, "label": t("intel.distribution.\($0.rawValue)", context)]
            },
            // Sharing groups name other establishments: their managers see the instance's list.
            "establishments": canManage
                ? try await services.tenancy.establishments(visibleTo: User.ID(), isInstanceAdmin: true)
                    .filter { $0.id != scope.establishmentID }.map {
                        ["value": $0.id.uuidString.lowercased(), "label": $0.name]
                    }
                : [],
            "ownDomains": settings.ownDomains.joined(separator: ", "), "anonymise": settings.anonymiseUpward,
        ]
        return page(
            "sharing", t("nav.sharing", context), active: "sharing", content: content, signedIn: signedIn,
            request: request,
            context: context, status: status)
    }

    /// Runs a form action and shows the sharing page with its outcome (or the error, with the right status).
    func act(
        _ request: Request, _ context: HygieRequestContext,
        _ body: @escaping (TenantScope) async throws -> (notice: String, secret: String?)
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        return try await services.submitForm(context) {
            let (notice, secret) = try await body(scope)
            return try await sharingPage(request, context: context, notice: notice, secret: secret)
        } redisplay: { error, status in
            try await sharingPage(request, context: context, error: error, status: status)
        }
    }

    func form(_ context: HygieRequestContext, _ key: String) -> String { context.form[key] ?? "" }

    func uuid(_ context: HygieRequestContext, _ key: String) throws -> UUID {
        guard let id = UUID(uuidString: form(context, key)) else {
            throw ValidationError(field: key, message: "choose one", key: "required")
        }
        return id
    }

    func createCollection(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await act(request, context) { scope in
            let distribution = Distribution(rawValue: form(context, "distribution")) ?? .establishment
            let collection = try await intel.createCollection(
                title: form(context, "title"), description: form(context, "description"), alias: nil,
                defaultTLP: TLP(name: form(context, "tlp")) ?? .amber, distribution: distribution,
                sharingGroupID: UUID(uuidString: form(context, "group")), in: scope)
            return (t("intel.collectionCreated", context) + " " + collection.title, nil)
        }
    }

    func grant(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await act(request, context) { scope in
            let grantee = form(context, "grantee")
            let id = UUID(uuidString: String(grantee.dropFirst(2)))
            try await intel.grant(
                collection: try uuid(context, "collection"), account: grantee.hasPrefix("a:") ? id : nil,
                group: grantee.hasPrefix("g:") ? id : nil, canRead: context.form["read"] != nil,
                canWrite: context.form["write"] != nil, revoke: context.form["revoke"] != nil, in: scope)
            return (t("intel.grantSaved", context), nil)
        }
    }

    func createAccount(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await act(request, context) { scope in
            let (account, secret) = try await intel.createAccount(
                username: form(context, "username"), organisation: form(context, "organisation"),
                maxTLP: TLP(name: form(context, "tlp")) ?? .amber, in: scope)
            return (t("intel.accountCreated", context) + " " + account.username, secret)
        }
    }

    func createGroup(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await act(request, context) { scope in
            let establishments = context.form.filter { $0.key.hasPrefix("e-") }.compactMap {
                UUID(uuidString: String($0.key.dropFirst(2)))
            }
            let accounts = context.form.filter { $0.key.hasPrefix("a-") }.compactMap {
                UUID(uuidString: String($0.key.dropFirst(2)))
            }
            let group = try await intel.createSharingGroup(
                name: form(context, "name"), description: form(context, "description"),
                establishments: establishments.map(Establishment.ID.init), accounts: accounts, in: scope)
            return (t("intel.groupCreated", context) + " " + group.name, nil)
        }
    }

    func createFeed(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await act(request, context) { scope in
            let feed = try await intel.createFeed(
                name: form(context, "name"),
                direction: IntelFeed.Direction(rawValue: form(context, "direction")) ?? .pull,
                url: form(context, "url"), username: form(context, "username"), secret: form(context, "secret"),
                collectionID: try uuid(context, "collection"), intervalMinutes: Int(form(context, "interval")) ?? 60,
                maxTLP: TLP(name: form(context, "tlp")) ?? .amber, in: scope)
            return (t("intel.feedCreated", context) + " " + feed.name, nil)
        }
    }

    func syncFeed(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await act(request, context) { scope in
            let feed = try await intel.runFeed(try context.idParameter("feed"), in: scope)
            return ("\(feed.name): \(feed.lastObjects) · \(feed.lastError ?? t("intel.health.ok", context))", nil)
        }
    }

    func deleteFeed(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await act(request, context) { scope in
            try await intel.deleteFeed(try context.idParameter("feed"), in: scope)
            return (t("intel.feedDeleted", context), nil)
        }
    }

    func saveSettings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await act(request, context) { scope in
            try await intel.updateSettings(
                IntelSettings(
                    ownDomains: form(context, "own_domains").split(separator: ",").map {
                        $0.trimmingCharacters(in: .whitespaces)
                    },
                    anonymiseUpward: context.form["anonymise"] != nil), in: scope)
            return (t("flash.saved", context), nil)
        }
    }

    func importContent(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await act(request, context) { scope in
            let bytes = Array(form(context, "content").utf8)
            let format = IntelService.ImportFormat(rawValue: form(context, "format")) ?? .guess(bytes)
            let status = try await intel.importContent(
                bytes, format: format, into: try uuid(context, "collection"), in: scope)
            let stored = status.successes.filter { $0.message == nil }.count
            var notice =
                "\(t("intel.imported", context)): \(stored) · \(t("intel.alreadyPresent", context)): \(status.successCount - stored) · \(t("intel.refused", context)): \(status.failureCount)"
            if let first = status.failures.first { notice += " — \(first.id) \(first.message ?? "")" }
            return (notice, nil)
        }
    }

    func publishSightings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await act(request, context) { scope in
            let status = try await intel.publishSightings(to: try uuid(context, "collection"), in: scope)
            return (
                "\(t("intel.sightingsPublished", context)): \(status.successes.filter { $0.message == nil }.count)", nil
            )
        }
    }
}

extension String {
    func ifEmpty(_ fallback: String) -> String { isEmpty ? fallback : self }
}
