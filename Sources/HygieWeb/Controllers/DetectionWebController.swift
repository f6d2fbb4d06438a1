import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieDetection
import HygieStorage
import NIOCore

/// The detection pages: alert queue with charts and bulk actions, alert detail, rules, log sources, event search.
struct DetectionWebController: PageController {
    let services: HygieServices
    var detection: DetectionService { services.detection }
    static let readers: Set<Role> = [.admin, .rssi, .analyst, .auditor]

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/alerts", use: alerts)
        router.get("/alerts/per-day.svg", use: perDayChart)
        router.get("/alerts/top-rules.svg", use: topRulesChart)
        router.post("/alerts/bulk", use: bulk)
        router.get("/alerts/:id", use: alert)
        router.post("/alerts/:id", use: updateAlert)
        router.get("/rules", use: rules)
        router.post("/rules", use: addRule)
        router.post("/rules/:id/toggle", use: toggleRule)
        router.post("/rules/:id/test", use: testRule)
        router.post("/rules/:id/exceptions", use: addException)
        router.get("/sources", use: sources)
        router.post("/sources", use: addSource)
        router.post("/sources/settings", use: saveSettings)
        router.get("/events", use: events)
    }

    // MARK: Alerts

    func alertRow(_ alert: Alert, _ context: HygieRequestContext) -> [String: Any] {
        [
            "id": alert.id.uuidString, "rule": alert.ruleTitle, "ruleID": alert.ruleID,
            "author": alert.ruleAuthor ?? "—",
            "severity": alert.severity.rawValue, "severityLabel": t("severity.\(alert.severity.rawValue)", context),
            "status": t("alertStatus.\(alert.status.rawValue)", context), "host": alert.host ?? "—",
            "user": alert.user ?? "—", "address": alert.address ?? "", "count": alert.count,
            "techniques": alert.techniques.joined(separator: ", "), "lastSeen": Self.date(alert.lastSeen),
            "firstSeen": Self.date(alert.firstSeen),
        ]
    }

    func alerts(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let query = request.uri.queryParameters
        var filter = try DetectionAPIController.alertFilter(query)
        if (query.get("status") ?? "").isEmpty { filter.statuses = [.new, .acknowledged, .escalated] }
        let found = try await detection.alerts(
            in: scope, filter: filter, before: query.get("cursor").flatMap(Int64.init), limit: 50)
        var next: String?
        if let cursor = found.next {
            var items = query.filter { $0.key != "cursor" }.map {
                "\($0.key)=\(String($0.value).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            }
            items.append("cursor=\(cursor)")
            next = "/alerts?" + items.joined(separator: "&")
        }
        let content: [String: Any] = [
            "alerts": found.alerts.map { alertRow($0, context) },
            "next": next ?? false,
            "statuses": (["open"] + AlertStatus.allCases.map(\.rawValue)).map { value in
                [
                    "value": value == "open" ? "" : value,
                    "label": value == "open" ? t("detection.open", context) : t("alertStatus.\(value)", context),
                    "selected": (query.get("status") ?? "") == (value == "open" ? "" : value),
                ]
            },
            "severities": Severity.allCases.map {
                [
                    "value": $0.rawValue, "label": t("severity.\($0.rawValue)", context),
                    "selected": query.get("severity") == $0.rawValue,
                ]
            },
            "q": query.get("q") ?? "",
            "actions": AlertStatus.allCases.map {
                ["value": $0.rawValue, "label": t("alertStatus.\($0.rawValue)", context)]
            },
            "canHandle": DetectionService.canHandle(scope.role),
        ]
        return page(
            "alerts", t("nav.alerts", context), active: "alerts", content: content, signedIn: signedIn,
            request: request, context: context)
    }

    static func svg(_ text: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func perDayChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let perDay = try await detection.alertsPerDay(days: 14, in: scope)
        return Self.svg(
            Charts.stackedBars(
                perDay.map { day in (String(Self.date(day.day).prefix(10).suffix(5)), day.counts) },
                title: t("detection.chartPerDay", context),
                legend: Dictionary(
                    uniqueKeysWithValues: Severity.allCases.map { ($0, t("severity.\($0.rawValue)", context)) })))
    }

    func topRulesChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let top = try await detection.topRules(days: 14, in: scope)
        return Self.svg(
            Charts.horizontalBars(top.map { ($0.title, Int($0.events)) }, title: t("detection.chartTopRules", context)))
    }

    func bulk(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let ids = context.form.keys.filter { $0.hasPrefix("alert-") }.compactMap {
            UUID(uuidString: String($0.dropFirst(6)))
        }
        guard !ids.isEmpty, let status = AlertStatus(rawValue: context.form["status"] ?? "") else {
            return .redirect("/alerts?flash=nothingSelected")
        }
        try await detection.updateAlerts(ids, status: status, comment: context.form["comment"], in: scope)
        return .redirect("/alerts?flash=saved")
    }

    func alert(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("alert")
        let alert = try await detection.alert(id, in: scope)
        let events = try await detection.alertEvents(id, in: scope)
        let members = try await services.identity.members(in: scope)
        var row = alertRow(alert, context)
        row["events"] = events.map { matched, stored -> [String: Any] in
            [
                "received": Self.date(matched.receivedAt),
                "matched": matched.matched.sorted { $0.key < $1.key }.map { ["field": $0.key, "value": $0.value] },
                "raw": stored?.raw ?? t("detection.expired", context),
            ]
        }
        row["comments"] = try await detection.comments(id, in: scope).map {
            ["author": $0.author, "body": $0.body, "date": Self.date($0.createdAt)]
        }
        row["statuses"] = AlertStatus.allCases.map {
            ["value": $0.rawValue, "label": t("alertStatus.\($0.rawValue)", context), "selected": $0 == alert.status]
        }
        row["members"] = members.filter { [.admin, .rssi, .analyst].contains($0.role) }.map {
            ["id": $0.user.id.uuid.uuidString, "name": $0.user.displayName, "selected": $0.user.id == alert.assigneeID]
        }
        row["canHandle"] = DetectionService.canHandle(scope.role)
        if let rule = try await detection.rules(in: scope).first(where: { $0.sigmaID == alert.ruleID }) {
            row["ruleYAML"] = rule.yaml
        }
        return page(
            "alert", alert.ruleTitle, active: "alerts", content: row, signedIn: signedIn, request: request,
            context: context)
    }

    func updateAlert(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("alert")
        var assignee: User.ID??
        if let text = context.form["assignee"] {
            assignee = .some(UUID(uuidString: text).map { User.ID($0) })
        }
        try await detection.updateAlerts(
            [id], status: AlertStatus(rawValue: context.form["status"] ?? ""), assignee: assignee,
            comment: context.form["comment"], in: scope)
        return .redirect("/alerts/\(id.uuidString)?flash=saved")
    }

    // MARK: Rules

    func rules(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await rulesPage(request, context: context, message: nil, error: nil)
    }

    func rulesPage(
        _ request: Request, context: HygieRequestContext, message: String?, error: String?,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let q = request.uri.queryParameters.get("q") ?? ""
        let all = try await detection.rules(in: scope, search: q)
        let onlyEnabled = request.uri.queryParameters.get("all") != "1"
        let shown = all.filter { !onlyEnabled || $0.enabled }.prefix(300)
        let content: [String: Any] = [
            "rules": shown.map { rule -> [String: Any] in
                [
                    "id": rule.id.uuidString, "title": rule.title, "sigmaID": rule.sigmaID,
                    "author": rule.author ?? "—",
                    "level": rule.level.rawValue, "levelLabel": t("severity.\(rule.level.rawValue)", context),
                    "enabled": rule.enabled, "origin": rule.origin, "hits": rule.hits,
                    "lastMatch": Self.date(rule.lastMatch), "techniques": rule.techniques.joined(separator: ", "),
                ]
            },
            "total": all.count, "enabledCount": all.filter(\.enabled).count, "q": q, "showAll": !onlyEnabled,
            "message": message ?? false, "error": error ?? false,
            "canHandle": DetectionService.canHandle(scope.role),
        ]
        return page(
            "rules", t("nav.rules", context), active: "rules", content: content, signedIn: signedIn, request: request,
            context: context, status: status)
    }

    func addRule(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let yaml = context.form["yaml"] ?? ""
        let report = try await detection.importRules(
            files: [(path: "form.yml", text: yaml)], shared: false, origin: "manual", enable: true, in: scope)
        if let refused = report.refused.first {
            return try await rulesPage(
                request, context: context, message: nil, error: refused, status: .unprocessableContent)
        }
        return try await rulesPage(
            request, context: context,
            message: "\(t("detection.imported", context)): \(report.added + report.updated)", error: nil)
    }

    func toggleRule(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("rule")
        try await detection.setRuleEnabled(id, enabled: context.form["enabled"] == "1", in: scope)
        return .redirect("/rules?flash=saved")
    }

    func testRule(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("rule")
        let rule = try await detection.rule(id, in: scope)
        let days = Int(context.form["days"] ?? "") ?? 7
        let result = try await detection.testRule(yaml: rule.yaml, days: days, in: scope)
        let message = t("detection.testResult", context).replacingOccurrences(of: "{rule}", with: rule.title)
            .replacingOccurrences(of: "{matched}", with: String(result.matched))
            .replacingOccurrences(of: "{scanned}", with: String(result.scanned))
            .replacingOccurrences(of: "{days}", with: String(days))
        return try await rulesPage(request, context: context, message: message, error: nil)
    }

    func addException(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("rule")
        var expires: Date?
        if let text = context.form["expires"], !text.isEmpty {
            expires = ISO8601DateFormatter().date(from: text + "T00:00:00Z")
        }
        return try await services.submitForm(context) {
            _ = try await detection.addException(
                ruleID: id, detection: context.form["detection"] ?? "", reason: context.form["reason"] ?? "",
                expiresAt: expires, in: scope)
            return .redirect("/rules?flash=saved")
        } redisplay: { error, status in
            try await rulesPage(request, context: context, message: nil, error: error, status: status)
        }
    }

    // MARK: Sources

    func sources(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await sourcesPage(request, context: context, token: nil, error: nil)
    }

    func sourcesPage(
        _ request: Request, context: HygieRequestContext, token: String?, error: String?,
        status: HTTPResponse.Status = .ok, secret: String? = nil
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let now = services.clock.now()
        let content: [String: Any] = [
            "sources": try await detection.sources(in: scope).map { source -> [String: Any] in
                [
                    "name": source.name, "kind": source.kind.rawValue,
                    "sender": source.sender ?? source.tokenPrefix.map { "\($0)…" } ?? "",
                    "lastSeen": Self.date(source.lastSeenAt), "events": source.eventsTotal,
                    "rate": source.eventsPerMinute.map { String(format: "%.0f/min", $0) } ?? "—",
                    "interval": source.expectedIntervalSeconds.map { "\($0 / 60) min" } ?? "—",
                    "silent": source.isSilent(at: now),
                ]
            },
            "token": token ?? false, "error": error ?? false, "secret": secret ?? false,
            "settings": try await settingsContent(scope, context),
            "canManage": scope.role == .admin || scope.role == .rssi,
        ]
        return page(
            "sources", t("nav.sources", context), active: "sources", content: content, signedIn: signedIn,
            request: request, context: context, status: status)
    }

    func addSource(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        return try await services.submitForm(context) {
            let minutes = Int(context.form["interval"] ?? "")
            let (_, token) = try await detection.createSource(
                name: context.form["name"] ?? "", kind: LogSource.Kind(rawValue: context.form["kind"] ?? "") ?? .http,
                sender: context.form["sender"], expectedIntervalSeconds: minutes.map { $0 * 60 }, in: scope)
            try await services.sourceDirectory?.reload()
            return try await sourcesPage(request, context: context, token: token, error: nil)
        } redisplay: { error, status in
            try await sourcesPage(request, context: context, token: nil, error: error, status: status)
        }
    }

    func settingsContent(_ scope: TenantScope, _ context: HygieRequestContext) async throws -> [String: Any] {
        let settings = try await detection.settings(in: scope)
        return [
            "events": settings.eventRetentionDays, "alerts": settings.alertRetentionDays,
            "webhook": settings.webhookURL ?? "", "recipients": settings.emailRecipients.joined(separator: ", "),
            "severities": Severity.allCases.map {
                [
                    "value": $0.rawValue, "label": t("severity.\($0.rawValue)", context),
                    "selected": $0 == settings.notifyMinimumSeverity,
                ]
            },
        ]
    }

    func saveSettings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        return try await services.submitForm(context) {
            let form = context.form
            let settings = DetectionSettings(
                eventRetentionDays: Int(form["event_retention_days"] ?? "") ?? 0,
                alertRetentionDays: Int(form["alert_retention_days"] ?? "") ?? 0, webhookURL: form["webhook_url"],
                emailRecipients: (form["email_recipients"] ?? "").split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                },
                notifyMinimumSeverity: Severity(rawValue: form["notify_min_severity"] ?? "") ?? .high)
            let secret = try await detection.updateSettings(settings, in: scope)
            return try await sourcesPage(
                request, context: context, token: nil, error: nil, secret: secret)
        } redisplay: { error, status in
            try await sourcesPage(request, context: context, token: nil, error: error, status: status)
        }
    }

    // MARK: Events

    func events(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let parameters = request.uri.queryParameters
        var content: [String: Any] = ["q": parameters.get("q") ?? "", "fields": parameters.get("fields") ?? ""]
        var query = try DetectionAPIController.eventQuery(parameters, now: services.clock.now())
        if let hours = parameters.get("hours").flatMap(Int.init), hours > 0 {
            query.from = services.clock.now().addingTimeInterval(-Double(hours) * 3600)
        }
        for pair in (parameters.get("fields") ?? "").split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { query.fields[String(parts[0])] = String(parts[1]) }
        }
        query.limit = 200
        let found = try await detection.searchEvents(query, in: scope)
        content["events"] = found.map { event -> [String: Any] in
            [
                "received": Self.date(event.receivedAt), "host": event.host ?? "—", "user": event.user ?? "—",
                "format": event.format, "raw": String(event.raw.prefix(2000)),
            ]
        }
        content["count"] = found.count
        let hours = Int(parameters.get("hours") ?? "24") ?? 24
        content["hours"] = [1, 24, 168, 720].map { value -> [String: Any] in
            ["value": value, "label": "\(value) h", "selected": hours == value]
        }
        return page(
            "events", t("nav.events", context), active: "events", content: content, signedIn: signedIn,
            request: request, context: context)
    }
}

/// Server-rendered SVG charts (no script, no external library).
enum Charts {
    static let colors: [Severity: String] = [
        .informational: "#8a96a3", .low: "#3d8bd9", .medium: "#e0a526", .high: "#e0661f", .critical: "#c0262d",
    ]

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Bars per day stacked by severity.
    static func stackedBars(_ days: [(String, [Severity: Int])], title: String, legend: [Severity: String]) -> String {
        let width = 640.0
        let height = 180.0
        let maximum = max(1, days.map { $0.1.values.reduce(0, +) }.max() ?? 1)
        let slot = width / Double(max(days.count, 1))
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" viewBox=\"0 0 \(Int(width)) \(Int(height + 40))\" role=\"img\" aria-label=\"\(escape(title))\" class=\"chart\">"
        out += "<title>\(escape(title))</title>"
        for (index, (label, counts)) in days.enumerated() {
            var y = height
            let x = Double(index) * slot + slot * 0.15
            for severity in Severity.allCases {
                let value = counts[severity] ?? 0
                guard value > 0 else { continue }
                let barHeight = Double(value) / Double(maximum) * (height - 10)
                y -= barHeight
                out +=
                    "<rect x=\"\(Int(x))\" y=\"\(Int(y))\" width=\"\(Int(slot * 0.7))\" height=\"\(max(1, Int(barHeight)))\" fill=\"\(colors[severity]!)\"><title>\(escape(label)) \(severity.rawValue): \(value)</title></rect>"
            }
            out +=
                "<text x=\"\(Int(x + slot * 0.35))\" y=\"\(Int(height + 16))\" font-size=\"11\" text-anchor=\"middle\">\(escape(label))</text>"
        }
        var legendX = 0
        for severity in Severity.allCases {
            out +=
                "<rect x=\"\(legendX)\" y=\"\(Int(height + 26))\" width=\"10\" height=\"10\" fill=\"\(colors[severity]!)\"/><text x=\"\(legendX + 14)\" y=\"\(Int(height + 35))\" font-size=\"11\">\(escape(legend[severity] ?? severity.rawValue))</text>"
            legendX += 110
        }
        return out + "</svg>"
    }

    /// Horizontal bars with labels (top rules).
    static func horizontalBars(_ items: [(String, Int)], title: String) -> String {
        let rowHeight = 26
        let height = max(rowHeight, items.count * rowHeight)
        let maximum = max(1, items.map(\.1).max() ?? 1)
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" viewBox=\"0 0 640 \(height)\" role=\"img\" aria-label=\"\(escape(title))\" class=\"chart\"><title>\(escape(title))</title>"
        for (index, (label, value)) in items.enumerated() {
            let y = index * rowHeight
            let barWidth = Int(Double(value) / Double(maximum) * 300)
            out +=
                "<text x=\"0\" y=\"\(y + 17)\" font-size=\"12\">\(escape(String(label.prefix(42))))</text><rect x=\"300\" y=\"\(y + 5)\" width=\"\(max(1, barWidth))\" height=\"16\" fill=\"#3d8bd9\"/><text x=\"\(306 + barWidth)\" y=\"\(y + 17)\" font-size=\"12\">\(value)</text>"
        }
        return out + "</svg>"
    }
}

extension DetectionService {
    static func canHandle(_ role: Role) -> Bool { [.admin, .rssi, .analyst].contains(role) }
}
