import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieDetection
import HygieStorage
import NIOCore

/// `/api/v1` for detection: event ingestion (ingest tokens), alerts, rules, exceptions, sources, event search.
struct DetectionAPIController {
    let services: HygieServices
    var core: CoreAPIController { CoreAPIController(services: services) }
    var detection: DetectionService { services.detection }

    var operations: [APIOperation] {
        let op = APIOperation.tagged("detection")
        return [
            op(
                .post, "/api/v1/ingest", "Send events (NDJSON or JSON array, gzip allowed) with an ingest token",
                "Object", "IngestResult", 202, ingest),
            op(.get, "/api/v1/alerts", "Alerts, most recent first", nil, "Object", 200, alerts),
            op(.get, "/api/v1/alerts/{id}", "One alert with its events and comments", nil, "Object", 200, alert),
            op(
                .patch, "/api/v1/alerts/{id}", "Change status or assignee, add a comment", "Object", "Object", 200,
                updateAlert),
            op(.post, "/api/v1/alerts/bulk", "Change several alerts at once", "Object", "Empty", 204, bulkAlerts),
            op(.get, "/api/v1/rules", "Rules with their state, hits and last match", nil, "Object", 200, rules),
            op(
                .post, "/api/v1/rules", "Import rules: YAML, or a zip pack (Content-Type application/zip)", "Object",
                "Object", 201, importRules),
            op(.get, "/api/v1/rules/{id}", "One rule with its exceptions", nil, "Object", 200, rule),
            op(.post, "/api/v1/rules/{id}/enable", "Enable a rule here", nil, "Empty", 204, enable),
            op(.post, "/api/v1/rules/{id}/disable", "Disable a rule here", nil, "Empty", 204, disable),
            op(
                .post, "/api/v1/rules/{id}/exceptions", "Add an exception (Sigma filter)", "Object", "Object", 201,
                addException),
            op(.delete, "/api/v1/exceptions/{id}", "Remove an exception", nil, "Empty", 204, deleteException),
            op(
                .post, "/api/v1/rules/test", "Run a rule over the last N days of stored events", "Object", "Object",
                200, testRule),
            op(.get, "/api/v1/sources", "Log sources with last-seen time and volume", nil, "Object", 200, sources),
            op(
                .post, "/api/v1/sources", "Create a log source (HTTP sources get a token once)", "Object", "Object",
                201, createSource),
            op(.delete, "/api/v1/sources/{id}", "Delete a log source", nil, "Empty", 204, deleteSource),
            op(.get, "/api/v1/events", "Search stored events", nil, "Object", 200, events),
            op(.get, "/api/v1/detection/settings", "Retention and notification settings", nil, "Object", 200, settings),
            op(
                .put, "/api/v1/detection/settings",
                "Change retention and notifications (new webhook secret shown once)",
                "Object", "Object", 200, updateSettings),
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
    }

    static func json(_ value: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func iso(_ date: Date?) -> Any { date.map { ISO8601DateFormatter().string(from: $0) } ?? NSNull() }

    func body(_ request: Request, limit: Int? = nil) async throws -> [String: Any] {
        var request = request
        let buffer = try await request.collectBody(upTo: limit ?? services.settings.maxBodyBytes)
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]
        else { throw HygieWebError.badRequest("a JSON object body is required") }
        return object
    }

    // MARK: Ingest

    func ingest(_ request: Request, context: HygieRequestContext) async throws -> Response {
        guard let ingest = services.ingest else {
            return try Self.error(.serviceUnavailable, "unavailable", "ingestion is disabled on this node", context)
        }
        let header = request.headers[.authorization] ?? ""
        let token = header.lowercased().hasPrefix("bearer ") ? String(header.dropFirst(7)) : nil
        let source: (establishment: UUID, source: UUID)
        do {
            source = try ingest.authenticate(token: token)
        } catch {
            return try Self.error(.unauthorized, "unauthorized", "missing, unknown or revoked ingest token", context)
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: services.settings.maxIngestBytes)
        } catch {
            ingest.metrics.rejected("http", reason: "too_large")
            throw error
        }
        let gzip = request.headers[.contentEncoding]?.lowercased().contains("gzip") ?? false
        do {
            let accepted = try ingest.ingestHTTP(
                body: Array(buffer.readableBytesView), gzip: gzip, establishment: source.establishment,
                source: source.source, maxBytes: services.settings.maxIngestBytes * 8)
            return try Self.json(["accepted": accepted], status: .accepted)
        } catch let error as SpoolError {
            if case .full = error {
                // SPEC: RFC 9110 10.2.3: the client retries the same body later; nothing was kept.
                var response = try Self.error(.serviceUnavailable, "spool_full", error.description, context)
                response.headers[.retryAfter] = "5"
                return response
            }
            throw error
        } catch let error as DetectionError {
            return try Self.error(.badRequest, "bad_request", error.description, context)
        }
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, _ context: HygieRequestContext)
        throws -> Response
    {
        try json(["error": ["code": code, "message": message, "request_id": context.requestID]], status: status)
    }

    // MARK: Alerts

    static func alertJSON(_ alert: Alert) -> [String: Any] {
        [
            "id": alert.id.uuidString.lowercased(), "kind": alert.kind, "rule_id": alert.ruleID,
            "rule": alert.ruleTitle,
            "rule_author": alert.ruleAuthor ?? NSNull(), "severity": alert.severity.rawValue,
            "techniques": alert.techniques, "host": alert.host ?? NSNull(), "user": alert.user ?? NSNull(),
            "address": alert.address ?? NSNull(), "source_id": alert.sourceID?.uuidString.lowercased() ?? NSNull(),
            "first_seen": iso(alert.firstSeen), "last_seen": iso(alert.lastSeen), "count": alert.count,
            "status": alert.status.rawValue, "assignee_id": alert.assigneeID?.uuid.uuidString.lowercased() ?? NSNull(),
        ]
    }

    static func alertFilter(_ query: Parameters) throws -> AlertFilter {
        var filter = AlertFilter()
        if let status = query.get("status"), !status.isEmpty {
            filter.statuses = try status.split(separator: ",").map {
                guard let value = AlertStatus(rawValue: String($0)) else {
                    throw ValidationError(field: "status", message: "unknown status \($0)", key: "status")
                }
                return value
            }
        }
        if let severity = query.get("severity"), !severity.isEmpty {
            guard let value = Severity(rawValue: severity) else {
                throw ValidationError(field: "severity", message: "unknown severity", key: "severity")
            }
            filter.minimumSeverity = value
        }
        filter.ruleID = query.get("rule")
        filter.text = query.get("q")
        return filter
    }

    func alerts(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let query = request.uri.queryParameters
        let page = try await detection.alerts(
            in: scope, filter: try Self.alertFilter(query), before: query.get("cursor").flatMap(Int64.init),
            limit: query.get("limit").flatMap(Int.init) ?? 50)
        return try Self.json([
            "items": page.alerts.map(Self.alertJSON), "next_cursor": page.next.map { String($0) as Any } ?? NSNull(),
        ])
    }

    func alert(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let alertID = try context.idParameter("alert")
        var object = Self.alertJSON(try await detection.alert(alertID, in: scope))
        object["events"] = try await detection.alertEvents(alertID, in: scope).map { matched, stored -> [String: Any] in
            [
                "event_id": matched.eventID, "received_at": Self.iso(matched.receivedAt), "matched": matched.matched,
                "raw": stored?.raw ?? NSNull(),
            ]
        }
        object["comments"] = try await detection.comments(alertID, in: scope).map {
            ["author": $0.author, "body": $0.body, "created_at": Self.iso($0.createdAt)]
        }
        return try Self.json(object)
    }

    static func update(_ body: [String: Any]) throws -> (AlertStatus?, User.ID??, String?) {
        var status: AlertStatus?
        if let text = body["status"] as? String {
            guard let value = AlertStatus(rawValue: text) else {
                throw ValidationError(field: "status", message: "unknown status \(text)", key: "status")
            }
            status = value
        }
        var assignee: User.ID??
        if body.keys.contains("assignee_id") {
            if let text = body["assignee_id"] as? String {
                guard let uuid = UUID(uuidString: text) else {
                    throw ValidationError(field: "assignee_id", message: "not a user id", key: "id")
                }
                assignee = .some(User.ID(uuid))
            } else {
                assignee = .some(nil)
            }
        }
        return (status, assignee, body["comment"] as? String)
    }

    func updateAlert(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let alertID = try context.idParameter("alert")
        let (status, assignee, comment) = try Self.update(try await body(request))
        try await detection.updateAlerts([alertID], status: status, assignee: assignee, comment: comment, in: scope)
        return try Self.json(Self.alertJSON(try await detection.alert(alertID, in: scope)))
    }

    func bulkAlerts(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let object = try await body(request)
        let ids = try ((object["ids"] as? [String]) ?? []).map {
            guard let id = UUID(uuidString: $0) else { throw HygieCoreError.notFound("alert") }
            return id
        }
        let (status, assignee, comment) = try Self.update(object)
        try await detection.updateAlerts(ids, status: status, assignee: assignee, comment: comment, in: scope)
        return Response(status: .noContent)
    }

    // MARK: Rules

    static func ruleJSON(_ rule: DetectionRule) -> [String: Any] {
        [
            "id": rule.id.uuidString.lowercased(), "sigma_id": rule.sigmaID, "title": rule.title,
            "level": rule.level.rawValue, "status": rule.status ?? NSNull(), "author": rule.author ?? NSNull(),
            "tags": rule.tags, "techniques": rule.techniques, "kind": rule.kind, "origin": rule.origin,
            "own": rule.isOwn, "enabled": rule.enabled, "hits": rule.hits, "last_match": iso(rule.lastMatch),
        ]
    }

    func rules(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let list = try await detection.rules(in: scope, search: request.uri.queryParameters.get("q"))
        return try Self.json(["items": list.map(Self.ruleJSON), "next_cursor": NSNull()])
    }

    func rule(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let ruleID = try context.idParameter("rule")
        var object = Self.ruleJSON(try await detection.rule(ruleID, in: scope))
        object["yaml"] = try await detection.rule(ruleID, in: scope).yaml
        object["exceptions"] = try await detection.exceptions(ruleID: ruleID, in: scope).map(Self.exceptionJSON)
        return try Self.json(object)
    }

    static func exceptionJSON(_ exception: RuleException) -> [String: Any] {
        [
            "id": exception.id.uuidString.lowercased(), "rule_id": exception.ruleID.uuidString.lowercased(),
            "detection": exception.detection, "reason": exception.reason, "author": exception.author,
            "expires_at": iso(exception.expiresAt), "created_at": iso(exception.createdAt),
        ]
    }

    func importRules(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let query = request.uri.queryParameters
        var request = request
        let buffer = try await request.collectBody(upTo: services.settings.maxIngestBytes)
        let bytes = Array(buffer.readableBytesView)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let files: [(path: String, text: String)]
        if contentType.contains("zip") || bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            files = try DetectionService.ruleFiles(zip: bytes)
        } else {
            guard let text = String(validating: bytes, as: UTF8.self), !text.isEmpty else {
                throw HygieWebError.badRequest("send Sigma YAML (UTF-8) or a zip archive")
            }
            files = [(path: "request.yml", text: text)]
        }
        let report = try await detection.importRules(
            files: files, shared: query.get("shared") == "true", origin: query.get("origin") ?? "api",
            enable: query.get("enable") != "false", in: scope)
        return try Self.json(
            [
                "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
                "refused": report.refused,
            ],
            status: .created)
    }

    func enable(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await detection.setRuleEnabled(
            try context.idParameter("rule"), enabled: true, in: try core.scope(request, context))
        return Response(status: .noContent)
    }

    func disable(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await detection.setRuleEnabled(
            try context.idParameter("rule"), enabled: false, in: try core.scope(request, context))
        return Response(status: .noContent)
    }

    func addException(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let object = try await body(request)
        var expires: Date?
        if let text = object["expires_at"] as? String {
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw ValidationError(field: "expires_at", message: "an ISO 8601 date-time", key: "date")
            }
            expires = date
        }
        let exception = try await detection.addException(
            ruleID: try context.idParameter("rule"), detection: object["detection"] as? String ?? "",
            reason: object["reason"] as? String ?? "", expiresAt: expires, in: scope)
        return try Self.json(Self.exceptionJSON(exception), status: .created)
    }

    func deleteException(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await detection.deleteException(try context.idParameter("exception"), in: try core.scope(request, context))
        return Response(status: .noContent)
    }

    func testRule(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let object = try await body(request)
        var yaml = object["yaml"] as? String
        if yaml == nil, let ruleText = object["rule_id"] as? String, let ruleID = UUID(uuidString: ruleText) {
            yaml = try await detection.rule(ruleID, in: scope).yaml
        }
        guard let yaml else { throw ValidationError(field: "yaml", message: "a rule or rule_id is required") }
        let result = try await detection.testRule(yaml: yaml, days: object["days"] as? Int ?? 7, in: scope)
        return try Self.json([
            "scanned": result.scanned, "matched": result.matched, "truncated": result.truncated,
            "samples": result.samples.map(Self.eventJSON),
        ])
    }

    // MARK: Settings

    static func settingsJSON(_ settings: DetectionSettings) -> [String: Any] {
        [
            "event_retention_days": settings.eventRetentionDays, "alert_retention_days": settings.alertRetentionDays,
            "webhook_url": settings.webhookURL ?? NSNull(), "email_recipients": settings.emailRecipients,
            "notify_min_severity": settings.notifyMinimumSeverity.rawValue,
        ]
    }

    func settings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.json(Self.settingsJSON(try await detection.settings(in: try core.scope(request, context))))
    }

    func updateSettings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let object = try await body(request)
        var settings = try await detection.settings(in: scope)
        if let days = object["event_retention_days"] as? Int { settings.eventRetentionDays = days }
        if let days = object["alert_retention_days"] as? Int { settings.alertRetentionDays = days }
        if object.keys.contains("webhook_url") { settings.webhookURL = object["webhook_url"] as? String }
        if let recipients = object["email_recipients"] as? [String] { settings.emailRecipients = recipients }
        if let text = object["notify_min_severity"] as? String {
            guard let severity = Severity(rawValue: text) else {
                throw ValidationError(field: "notify_min_severity", message: "unknown severity", key: "severity")
            }
            settings.notifyMinimumSeverity = severity
        }
        let secret = try await detection.updateSettings(settings, in: scope)
        var json = Self.settingsJSON(try await detection.settings(in: scope))
        json["webhook_secret"] = secret ?? NSNull()
        return try Self.json(json)
    }

    // MARK: Sources and events

    static func sourceJSON(_ source: LogSource) -> [String: Any] {
        [
            "id": source.id.uuidString.lowercased(), "name": source.name, "kind": source.kind.rawValue,
            "sender": source.sender ?? NSNull(), "token_prefix": source.tokenPrefix ?? NSNull(),
            "expected_interval_seconds": source.expectedIntervalSeconds ?? NSNull(),
            "last_seen_at": iso(source.lastSeenAt), "events_total": source.eventsTotal,
            "events_per_minute": source.eventsPerMinute ?? NSNull(),
            "created_at": iso(source.createdAt),
        ]
    }

    func sources(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try Self.json([
            "items": try await detection.sources(in: scope).map(Self.sourceJSON), "next_cursor": NSNull(),
        ])
    }

    func createSource(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let object = try await body(request)
        guard let kind = LogSource.Kind(rawValue: object["kind"] as? String ?? "") else {
            throw ValidationError(field: "kind", message: "http or syslog", key: "kind")
        }
        let (source, token) = try await detection.createSource(
            name: object["name"] as? String ?? "", kind: kind, sender: object["sender"] as? String,
            expectedIntervalSeconds: object["expected_interval_seconds"] as? Int, in: scope)
        try await services.sourceDirectory?.reload()
        var json = Self.sourceJSON(source)
        json["token"] = token ?? NSNull()
        return try Self.json(json, status: .created)
    }

    func deleteSource(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await detection.deleteSource(try context.idParameter("source"), in: try core.scope(request, context))
        try await services.sourceDirectory?.reload()
        return Response(status: .noContent)
    }

    static func eventJSON(_ event: StoredEvent) -> [String: Any] {
        [
            "id": event.id, "source_id": event.sourceID.uuidString.lowercased(), "received_at": iso(event.receivedAt),
            "event_time": iso(event.eventTime), "host": event.host ?? NSNull(), "user": event.user ?? NSNull(),
            "address": event.address ?? NSNull(), "format": event.format, "raw": event.raw,
        ]
    }

    /// `from`/`to` (ISO 8601, default the last 24 h), `q` (words), `field.NAME=value`, `source`, `limit`.
    static func eventQuery(_ query: Parameters, now: Date) throws -> EventQuery {
        func date(_ name: String, _ fallback: Date) throws -> Date {
            guard let text = query.get(name), !text.isEmpty else { return fallback }
            guard let value = ISO8601DateFormatter().date(from: text) else {
                throw ValidationError(field: name, message: "an ISO 8601 date-time", key: "date")
            }
            return value
        }
        var fields: [String: String] = [:]
        for (key, value) in query where key.hasPrefix("field.") && !value.isEmpty {
            fields[String(key.dropFirst(6))] = String(value)
        }
        return EventQuery(
            from: try date("from", now.addingTimeInterval(-86_400)), to: try date("to", now), fields: fields,
            text: query.get("q"), sourceID: query.get("source").flatMap(UUID.init(uuidString:)),
            limit: query.get("limit").flatMap(Int.init) ?? 100)
    }

    func events(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let query = try Self.eventQuery(request.uri.queryParameters, now: services.clock.now())
        return try Self.json([
            "items": try await detection.searchEvents(query, in: scope).map(Self.eventJSON), "next_cursor": NSNull(),
        ])
    }
}
