import FederationCore
import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieFederation
import HygieStorage

/// *Coordination* (`/hub`, coordinator): member establishments with their latest figures, a compliance heat
/// map, the declarations inbox, enrolment tokens and revocation. *Hub* (`/federation`, the establishment's
/// security team): its link to the hub, what leaves (preview), joining and pushing now.
struct FederationWebController: PageController {
    let services: HygieServices
    static let coordinators: Set<Role> = [.coordinator, .admin]
    static let memberReaders: Set<Role> = [.admin, .rssi, .auditor]
    static let memberManagers: Set<Role> = [.admin, .rssi]
    /// A member silent this long is shown as stale.
    static let stale: TimeInterval = 48 * 3600
    static let headline = [
        "awareness.trained-12m", "awareness.report-rate", "vuln.kev-overdue-exposed", "detection.silent-sources",
    ]

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/hub", use: hub)
        router.post("/hub/enrolments", use: enrol)
        router.post("/hub/members/:id/revoke", use: revoke)
        router.get("/federation", use: federation)
        router.post("/federation/join", use: join)
        router.post("/federation/push", use: push)
    }

    static func band(_ score: Double?) -> String {
        guard let score else { return "none" }
        return score >= 75 ? "ok" : score >= 50 ? "medium" : "critical"
    }

    static func format(_ value: Double?, percent: Bool) -> String {
        guard let value else { return "—" }
        return percent ? String(format: "%.0f %%", value) : String(format: "%.0f", value)
    }

    // MARK: Coordinator

    func hub(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await hubPage(request, context, error: nil, token: nil, status: .ok)
    }

    func hubPage(
        _ request: Request, _ context: HygieRequestContext, error: String?, token: NewEnrolment?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.coordinators)
        let members = try await services.hub.members(in: scope)
        let inbox = try await services.hub.declarations(in: scope)
        let now = services.clock.now()
        // The heat map follows the framework most members report.
        let counts = Dictionary(grouping: members.flatMap { $0.snapshot?.compliance ?? [] }, by: \.urn).mapValues(
            \.count)
        let framework = counts.max { $0.value < $1.value }?.key
        let themes =
            members.compactMap { $0.snapshot?.compliance.first { $0.urn == framework } }.first?.themes.map(\.ref) ?? []
        let rows = members.map { member -> [String: Any] in
            let snapshot = member.snapshot
            let score = snapshot?.compliance.first { $0.urn == framework }
            let indicators = Dictionary(
                (snapshot?.indicators ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
            var row: [String: Any] = [
                "id": member.id.uuidString, "name": member.name, "finess": member.finess ?? "",
                "active": member.status == "active",
                "stale": member.status == "active"
                    && (member.lastSnapshotAt.map { now.timeIntervalSince($0) > Self.stale } ?? true),
                "seen": DisplayDate.format(member.lastSnapshotAt),
                "score": Self.format(score?.score, percent: true), "band": Self.band(score?.score),
                "figures": Self.headline.map { key in
                    ["value": Self.format(indicators[key], percent: key.hasPrefix("awareness"))]
                },
                "themes": themes.map { ref in
                    let value = score?.themes.first { $0.ref == ref }?.score
                    return ["value": Self.format(value, percent: false), "band": Self.band(value)]
                },
            ]
            if member.status != "active" { row["status"] = t("hub.revoked", context) }
            return row
        }
        var content: [String: Any] = [
            "members": rows, "hasMembers": !rows.isEmpty, "themes": themes, "hasThemes": !themes.isEmpty,
            "figureNames": Self.headline.map { t("hub.figure.\($0)", context) },
            "stats": [
                "members": members.filter { $0.status == "active" }.count,
                "fresh": members.filter {
                    $0.status == "active"
                        && ($0.lastSnapshotAt.map { now.timeIntervalSince($0) <= Self.stale } ?? false)
                }.count,
                "open": inbox.filter { $0.copy.status != "sent" }.count,
                "late": inbox.filter { $0.copy.status != "sent" && ($0.copy.dueAt.map { $0 < now } ?? false) }.count,
            ],
            "inbox": inbox.prefix(200).map { entry -> [String: Any] in
                var row: [String: Any] = [
                    "member": entry.member, "regime": t("cases.regime.\(entry.copy.regime)", context),
                    "sent": entry.copy.status == "sent", "due": DisplayDate.format(entry.copy.dueAt),
                    "late": entry.copy.status != "sent" && (entry.copy.dueAt.map { $0 < now } ?? false),
                    "type": t("cases.type.\(entry.copy.incidentType)", context), "tlp": entry.copy.tlp.uppercased(),
                ]
                if let title = entry.copy.title { row["title"] = title }
                return row
            },
            "hasInbox": !inbox.isEmpty,
        ]
        if let name = members.compactMap({ $0.snapshot?.compliance.first { $0.urn == framework }?.name }).first {
            content["framework"] = name
        }
        if let error { content["error"] = error }
        if let token {
            content["token"] = [
                "value": token.token, "label": token.label, "expires": DisplayDate.format(token.expiresAt),
            ]
        }
        return page(
            "hub", t("nav.hub", context), active: "hub", content: content, signedIn: signedIn, request: request,
            context: context, status: status)
    }

    func enrol(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.coordinators)
        return try await services.submitForm(context) {
            let token = try await services.hub.createEnrolment(
                label: context.form["label"] ?? "", days: Int(context.form["days"] ?? "") ?? 7, in: scope)
            // The token is shown on this answer only.
            return try await hubPage(request, context, error: nil, token: token, status: .created)
        } redisplay: { error, status in
            try await hubPage(request, context, error: error, token: nil, status: status)
        }
    }

    func revoke(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.coordinators)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
            throw HygieCoreError.notFound("member")
        }
        try await services.hub.revoke(id, in: scope)
        return .redirect("/hub?flash=saved")
    }

    // MARK: Establishment

    func federation(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await federationPage(request, context, error: nil, status: .ok)
    }

    func federationPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.memberReaders)
        let link = try await services.member.link(in: scope)
        let preview = try await services.member.preview(in: scope)
        var content: [String: Any] = [
            "canManage": Self.memberManagers.contains(scope.role),
            "frameworks": preview.compliance.map { framework -> [String: Any] in
                [
                    "name": framework.name, "score": Self.format(framework.score, percent: true),
                    "progress": Self.format(framework.progress, percent: true), "band": Self.band(framework.score),
                    "themes": framework.themes.count,
                ]
            },
            "indicators": preview.indicators.map { indicator -> [String: Any] in
                [
                    "key": indicator.key, "value": String(format: "%g", indicator.value),
                    "basis": indicator.basis.map { "\($0)" } ?? "",
                ]
            },
        ]
        if let link {
            var linked: [String: Any] = [
                "hub": link.hubURL, "member": link.memberID.uuidString, "active": link.status == "active",
                "joined": DisplayDate.format(link.joinedAt), "pushed": DisplayDate.format(link.lastPushAt),
                "snapshot": DisplayDate.format(link.lastSnapshotAt), "pending": link.pending,
            ]
            if !link.lastError.isEmpty { linked["error"] = link.lastError }
            content["link"] = linked
        }
        if let error { content["error"] = error }
        return page(
            "federation", t("nav.federation", context), active: "federation", content: content, signedIn: signedIn,
            request: request, context: context, status: status)
    }

    func join(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.memberManagers)
        return try await services.submitForm(context) {
            _ = try await services.member.join(
                hub: context.form["hub_url"] ?? "", token: context.form["token"] ?? "", in: scope)
            return .redirect("/federation?flash=saved")
        } redisplay: { error, status in
            try await federationPage(request, context, error: error, status: status)
        }
    }

    func push(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.memberManagers)
        _ = try await services.member.push(in: scope, force: true)
        return .redirect("/federation?flash=saved")
    }
}
