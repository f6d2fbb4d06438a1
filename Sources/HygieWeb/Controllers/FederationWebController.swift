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
    static let headline = [
        "awareness.trained-12m", "awareness.report-rate", "vuln.kev-overdue-exposed", "detection.silent-sources",
    ]

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/hub", use: hub)
        router.post("/hub/enrolments", use: enrol)
        router.post("/hub/broadcasts", use: publish)
        router.get("/hub/broadcasts/:id", use: broadcast)
        router.get("/hub/trends.svg", use: trendsChart)
        router.get("/hub/themes.svg", use: themesChart)
        router.get("/hub/broadcasts/:id/map.svg", use: mapChart)
        router.post("/federation/alerts/:uid/answer", use: answer)
        router.post("/hub/members/:id/revoke", use: revoke)
        router.get("/federation", use: federation)
        router.post("/federation/join", use: join)
        router.post("/federation/push", use: push)
    }

    /// The label of a figure key (`awareness.trained-12m`, the CaRE score…): locale keys cannot hold dots.
    func figureName(_ key: String, _ context: HygieRequestContext) -> String {
        t("hub.figure." + (key == HubService.careKey ? "care" : key.replacingOccurrences(of: ".", with: "-")), context)
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

    static let pageSize = 50
    /// Percentages drawn on the trends chart: key, locale key, colour.
    static let trendLines = [
        ("compliance.average", "#1f5fa8"), (HubService.careKey, "#7b3fa0"), ("awareness.trained-12m", "#0f7c74"),
        ("awareness.report-rate", "#c2410c"),
    ]

    func hubPage(
        _ request: Request, _ context: HygieRequestContext, error: String?, token: NewEnrolment?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.coordinators)
        let query = request.uri.queryParameters
        let search = query.get("q") ?? ""
        let filter = query.get("filter") ?? ""
        let pageNumber = max(1, query.get("page").flatMap { Int($0) } ?? 1)
        let overview = try await services.hub.overview(in: scope)
        let (total, members) = try await services.hub.members(
            in: scope, search: search, filter: filter, offset: (pageNumber - 1) * Self.pageSize, limit: Self.pageSize)
        let inbox = try await services.hub.declarations(in: scope, limit: 200)
        let broadcasts = try await services.hub.broadcasts(in: scope, limit: 20)
        let now = services.clock.now()
        let framework = overview.framework
        let rows = members.map { member -> [String: Any] in
            let score = member.values["compliance.average"]
            var row: [String: Any] = [
                "id": member.id.uuidString, "name": member.name, "finess": member.finess ?? "",
                "active": member.status == "active",
                "stale": member.status == "active"
                    && (member.lastSnapshotAt.map { now.timeIntervalSince($0) > HubService.stale } ?? true),
                "seen": DisplayDate.format(member.lastSnapshotAt),
                "score": Self.format(score, percent: true), "band": Self.band(score),
                "care": Self.format(member.values[HubService.careKey], percent: true),
                "figures": Self.headline.map { key in
                    ["value": Self.format(member.values[key], percent: key.hasPrefix("awareness"))]
                },
                "themes": (framework?.themes ?? []).map { theme in
                    let value = member.values["theme:\(framework?.urn ?? "")#\(theme.ref)"]
                    return ["value": Self.format(value, percent: false), "band": Self.band(value)]
                },
            ]
            if member.status != "active" { row["status"] = t("hub.revoked", context) }
            return row
        }
        func figure(_ key: String, total: Bool = false) -> String {
            guard let figure = overview.figures[key] else { return "—" }
            return total ? String(format: "%.0f", figure.total) : Self.format(figure.average, percent: true)
        }
        let pages = max(1, (total + Self.pageSize - 1) / Self.pageSize)
        func link(page: Int) -> String {
            var parts = ["page=\(page)"]
            if !search.isEmpty {
                parts.append("q=\(search.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
            }
            if !filter.isEmpty { parts.append("filter=\(filter)") }
            return "/hub?" + parts.joined(separator: "&") + "#members"
        }
        var content: [String: Any] = [
            "members": rows, "hasMembers": !rows.isEmpty,
            "themes": (framework?.themes ?? []).map(\.ref), "hasThemes": !(framework?.themes.isEmpty ?? true),
            "figureNames": Self.headline.map { figureName($0, context) },
            "stats": [
                "members": overview.active, "fresh": overview.fresh, "open": overview.openDeclarations,
                "late": overview.lateDeclarations,
            ],
            "fleet": [
                (figure("compliance.average"), figureName("compliance.average", context)),
                (figure(HubService.careKey), figureName(HubService.careKey, context)),
                (figure("awareness.trained-12m"), figureName("awareness.trained-12m", context)),
                (figure("awareness.report-rate"), figureName("awareness.report-rate", context)),
                (figure("vuln.kev-overdue-exposed", total: true), t("hub.kevTotal", context)),
                (figure("detection.silent-sources", total: true), t("hub.silentTotal", context)),
            ].map { ["value": $0.0, "label": $0.1] },
            "bands": (framework?.themes ?? []).map { theme -> [String: Any] in
                [
                    "ref": theme.ref, "name": theme.name, "average": Self.format(theme.average, percent: true),
                    "band": Self.band(theme.average), "ok": theme.ok, "medium": theme.medium,
                    "critical": theme.critical,
                ]
            },
            "search": search, "filterStale": filter == "stale", "filterRevoked": filter == "revoked",
            "total": total, "pageNumber": pageNumber, "pages": pages,
            "broadcasts": broadcasts.map { summary -> [String: Any] in
                var row = alertFields(summary.broadcast, context)
                row["id"] = summary.id.uuidString
                row["affected"] = summary.counts["affected"] ?? 0
                row["unknown"] = summary.counts["unknown"] ?? 0
                row["notAffected"] = summary.counts["not_affected"] ?? 0
                row["waiting"] = max(0, summary.members - summary.answered)
                return row
            },
            "hasBroadcasts": !broadcasts.isEmpty,
            "inbox": inbox.map { entry -> [String: Any] in
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
        if pageNumber > 1 { content["previous"] = link(page: pageNumber - 1) }
        if pageNumber < pages { content["next"] = link(page: pageNumber + 1) }
        if let framework { content["framework"] = framework.name }
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

    func publish(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.coordinators)
        return try await services.submitForm(context) {
            func lines(_ name: String) -> [String] {
                (context.form[name] ?? "").split(whereSeparator: \.isNewline).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
            }
            _ = try await services.hub.publish(
                BroadcastDraft(
                    title: context.form["title"] ?? "", summary: context.form["summary"] ?? "",
                    severity: context.form["severity"] ?? "high", tlp: context.form["tlp"] ?? "amber",
                    references: lines("references"), productLines: lines("products"),
                    indicatorLines: lines("indicators"), answerBy: try DisplayDate.parseLocal(context.form["answer_by"])
                ),
                in: scope)
            return .redirect("/hub?flash=saved#broadcasts")
        } redisplay: { error, status in
            try await hubPage(request, context, error: error, token: nil, status: status)
        }
    }

    /// An alert as both sides show it: the hub's alert page and the member's *Coordination* page.
    /// Empty texts and a missing deadline are left out: the templates' sections would show them.
    func alertFields(_ broadcast: Broadcast, _ context: HygieRequestContext) -> [String: Any] {
        var fields: [String: Any] = [
            "title": broadcast.title, "severity": broadcast.severity,
            "severityLabel": t("hub.severity.\(broadcast.severity)", context), "tlp": broadcast.tlp.uppercased(),
            "published": DisplayDate.format(broadcast.publishedAt), "products": broadcast.products.map(\.text),
            "indicators": broadcast.indicators.count, "references": broadcast.references,
        ]
        if !broadcast.summary.isEmpty { fields["summary"] = broadcast.summary }
        if let answerBy = broadcast.answerBy { fields["answerBy"] = DisplayDate.format(answerBy) }
        return fields
    }

    /// An answer with the counts behind it.
    func answerFields(_ answer: BroadcastAnswer, _ context: HygieRequestContext) -> [String: Any] {
        var fields: [String: Any] = [
            "status": answer.status.rawValue, "label": t("hub.answer.\(answer.status.rawValue)", context),
            "automatic": answer.automatic, "affected": answer.affectedAssets, "exposed": answer.exposedAssets,
            "unknownVersion": answer.unknownVersionAssets, "inventory": answer.inventoryAssets,
            "hits": answer.indicatorHits, "at": DisplayDate.format(answer.answeredAt),
        ]
        if !answer.comment.isEmpty { fields["comment"] = answer.comment }
        return fields
    }

    /// Rows of the answers table; the map shows every member, the filters and the API the rest.
    static let responseRows = 200

    static let answerColours = [
        "affected": "#c0392b", "unknown": "#d68910", "none": "#aab4c0", "not_affected": "#1e8449",
    ]

    func broadcast(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.coordinators)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
            throw HygieCoreError.notFound("broadcast")
        }
        let filter = request.uri.queryParameters.get("status") ?? ""
        let all = try await services.hub.responses(to: id, in: scope)
        let broadcast = all.summary.broadcast
        let shown = filter.isEmpty ? all.responses : all.responses.filter { $0.statusKey == filter }
        let labels = ["affected", "unknown", "none", "not_affected"].map { key in
            (key, t("hub.answer.\(key)", context), all.responses.filter { $0.statusKey == key }.count)
        }
        var content = alertFields(broadcast, context)
        content["id"] = id.uuidString
        content["counts"] = labels.map { key, label, count in
            ["key": key, "label": label, "count": count, "selected": key == filter]
        }
        content["responses"] = shown.prefix(Self.responseRows).map { response -> [String: Any] in
            var row: [String: Any] = [
                "member": response.member, "finess": response.finess ?? "", "status": response.statusKey,
                "statusLabel": t("hub.answer.\(response.statusKey)", context),
            ]
            if let answer = response.answer { row["answer"] = answerFields(answer, context) }
            return row
        }
        content["hasResponses"] = !shown.isEmpty
        if shown.count > Self.responseRows {
            content["more"] = shown.count - Self.responseRows
        }
        return page(
            "hub-broadcast", broadcast.title, active: "hub", content: content, signedIn: signedIn, request: request,
            context: context)
    }

    func trendsChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.coordinators)
        let overview = try await services.hub.overview(in: scope)
        return DetectionWebController.svg(
            LineChart.percentages(
                labels: overview.trends.map { DisplayDate.utcFormatter("dd/MM").string(from: $0.weekStart) },
                series: Self.trendLines.map { key, colour in
                    (figureName(key, context), colour, overview.trends.map { $0.averages[key].map { $0 / 100 } })
                }, title: t("hub.trends", context)))
    }

    func themesChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.coordinators)
        let themes = try await services.hub.overview(in: scope).framework?.themes ?? []
        return DetectionWebController.svg(Self.bands(themes, title: t("hub.themes", context)))
    }

    func mapChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.coordinators)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
            throw HygieCoreError.notFound("broadcast")
        }
        let responses = try await services.hub.responses(to: id, in: scope).responses
        return DetectionWebController.svg(
            Self.responseMap(
                responses,
                labels: Dictionary(
                    uniqueKeysWithValues: Self.answerColours.keys.map { ($0, t("hub.answer.\($0)", context)) }),
                title: t("hub.responseMap", context)))
    }

    /// Per theme, members at ≥ 75 %, 50–75 % and < 50 % as one stacked bar with the counts written in.
    static func bands(_ themes: [HubOverview.ThemeBands], title: String) -> String {
        let label = 220
        let width = 640
        let row = 24
        let plot = Double(width - label - 10)
        var body = ""
        for (index, theme) in themes.enumerated() {
            let y = 8 + index * row
            let name = "\(theme.ref) \(theme.name)"
            body +=
                "<text x=\"\(label - 8)\" y=\"\(y + 13)\" text-anchor=\"end\" font-size=\"11\" font-family=\"sans-serif\" fill=\"#1c2430\">\(HTMLEscape.attribute(String(name.prefix(34))))</text>"
            let total = max(1, theme.ok + theme.medium + theme.critical)
            var x = Double(label)
            for (count, colour) in [(theme.ok, "#abebc6"), (theme.medium, "#fad7a0"), (theme.critical, "#f5b7b1")]
            where count > 0 {
                let segment = plot * Double(count) / Double(total)
                body +=
                    "<rect x=\"\(Int(x))\" y=\"\(y)\" width=\"\(Int(segment.rounded(.up)))\" height=\"18\" fill=\"\(colour)\"/>"
                    + "<text x=\"\(Int(x + segment / 2))\" y=\"\(y + 13)\" text-anchor=\"middle\" font-size=\"11\" font-family=\"sans-serif\" fill=\"#1c2430\">\(count)</text>"
                x += segment
            }
        }
        let height = max(40, 16 + themes.count * row)
        return SVGDocument.make(width: width, height: height, title: title, body: body)
    }

    /// One tile per member, coloured by its answer (affected first), each titled with the member's name.
    static func responseMap(_ responses: [BroadcastResponse], labels: [String: String], title: String) -> String {
        let columns = 40
        let tile = 14
        let rowsCount = max(1, (responses.count + columns - 1) / columns)
        let width = columns * (tile + 2)
        let height = rowsCount * (tile + 2)
        var body = ""
        for (index, response) in responses.enumerated() {
            let x = (index % columns) * (tile + 2)
            let y = (index / columns) * (tile + 2)
            let key = response.statusKey
            body +=
                "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(tile)\" height=\"\(tile)\" rx=\"2\" fill=\"\(answerColours[key] ?? "#aab4c0")\"><title>\(HTMLEscape.attribute(response.member)): \(HTMLEscape.attribute(labels[key] ?? key))</title></rect>"
        }
        return SVGDocument.make(width: width, height: height, title: title, body: body)
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
        let alerts = try await services.member.alerts(in: scope)
        content["alerts"] = alerts.map { alert -> [String: Any] in
            var row = alertFields(alert.broadcast, context)
            row["uid"] = alert.broadcast.uid
            if let answer = alert.answer { row["answer"] = answerFields(answer, context) }
            return row
        }
        content["hasAlerts"] = !alerts.isEmpty
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

    func answer(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.memberManagers)
        return try await services.submitForm(context) {
            _ = try await services.member.answer(
                alert: context.parameters.get("uid") ?? "", status: context.form["status"] ?? "",
                comment: context.form["comment"] ?? "", in: scope)
            return .redirect("/federation?flash=saved#alerts")
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
