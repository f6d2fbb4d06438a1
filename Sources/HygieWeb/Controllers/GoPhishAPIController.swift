import AwarenessCore
import Foundation
import HTTPTypes
import Hummingbird
import HygieAwareness
import HygieCore
import HygieStorage
import Logging
import NIOCore

/// The GoPhish-compatible REST API under `/api/` (GoPhish 0.12 routes and JSON), so that existing GoPhish
/// clients and integrations drive Hygie's simulations. The key is a Hygie API token, sent as
/// `Authorization: Bearer` or `?api_key=`; data is scoped to the token's establishment. Lists are plain JSON
/// arrays, errors `{"success": false, "message": …}`, and `api/<resource>//<id>` (the Python client's DELETE
/// paths) reaches the same route as `api/<resource>/<id>`. See docs/awareness.md.
struct GoPhishAPIController {
    let services: HygieServices
    var awareness: AwarenessService { services.awareness }

    typealias Handler = @Sendable (Request, HygieRequestContext, TenantScope) async throws -> Response

    func addRoutes(to router: Router<HygieRequestContext>) {
        let routes: [(HTTPRequest.Method, String, Handler)] = [
            (.get, "/api/campaigns", { _, _, scope in try Self.json(try await awareness.campaignList(in: scope)) }),
            (.post, "/api/campaigns", createCampaign),
            (
                .get, "/api/campaigns/summary",
                { _, _, scope in
                    let list = try await awareness.campaignSummaries(in: scope)
                    return try Self.json(SummaryList(total: list.count, campaigns: list))
                }
            ),
            (
                .get, "/api/campaigns/:id",
                { _, context, scope in
                    try Self.json(try await awareness.campaign(try Self.id(context), in: scope))
                }
            ),
            (
                .delete, "/api/campaigns/:id",
                { _, context, scope in
                    try await awareness.deleteCampaign(try Self.id(context), in: scope)
                    return try Self.success("Campaign deleted successfully!")
                }
            ),
            (
                .get, "/api/campaigns/:id/results",
                { _, context, scope in
                    let campaign = try await awareness.campaign(try Self.id(context), in: scope)
                    return try Self.json(
                        Results(
                            id: campaign.id, name: campaign.name, status: campaign.status, results: campaign.results,
                            timeline: campaign.timeline))
                }
            ),
            (
                .get, "/api/campaigns/:id/summary",
                { _, context, scope in
                    try Self.json(try await awareness.campaignSummary(try Self.id(context), in: scope))
                }
            ),
            (
                .get, "/api/campaigns/:id/complete",
                { _, context, scope in
                    _ = try await awareness.complete(try Self.id(context), in: scope)
                    return try Self.success("Campaign completed successfully!")
                }
            ),
            (.get, "/api/groups", { _, _, scope in try Self.json(try await awareness.groups(in: scope)) }),
            (
                .get, "/api/groups/summary",
                { _, _, scope in
                    let groups = try await awareness.groups(in: scope).map {
                        GroupSummary(
                            id: $0.id, name: $0.name, modifiedDate: $0.modifiedDate, numTargets: $0.targets.count)
                    }
                    return try Self.json(GroupSummaryList(total: groups.count, groups: groups))
                }
            ),
            (
                .post, "/api/groups",
                { request, context, scope in
                    try await saveGroup(nil, request, context, scope)
                }
            ),
            (
                .get, "/api/groups/:id",
                { _, context, scope in
                    try Self.json(try await awareness.group(try Self.id(context), in: scope))
                }
            ),
            (
                .put, "/api/groups/:id",
                { request, context, scope in
                    try await saveGroup(try Self.id(context), request, context, scope)
                }
            ),
            (
                .delete, "/api/groups/:id",
                { _, context, scope in
                    try await awareness.deleteGroup(try Self.id(context), in: scope)
                    return try Self.success("Group deleted successfully!")
                }
            ),
            (.get, "/api/templates", { _, _, scope in try Self.json(try await awareness.templates(in: scope)) }),
            (
                .post, "/api/templates",
                { request, context, scope in try await saveTemplate(nil, request, context, scope) }
            ),
            (
                .get, "/api/templates/:id",
                { _, context, scope in
                    try Self.json(try await awareness.template(try Self.id(context), in: scope))
                }
            ),
            (
                .put, "/api/templates/:id",
                { request, context, scope in
                    try await saveTemplate(try Self.id(context), request, context, scope)
                }
            ),
            (
                .delete, "/api/templates/:id",
                { _, context, scope in
                    try await awareness.deleteTemplate(try Self.id(context), in: scope)
                    return try Self.success("Template deleted successfully!")
                }
            ),
            (.get, "/api/pages", { _, _, scope in try Self.json(try await awareness.pages(in: scope)) }),
            (.post, "/api/pages", { request, context, scope in try await savePage(nil, request, context, scope) }),
            (
                .get, "/api/pages/:id",
                { _, context, scope in
                    try Self.json(try await awareness.page(try Self.id(context), in: scope))
                }
            ),
            (
                .put, "/api/pages/:id",
                { request, context, scope in
                    try await savePage(try Self.id(context), request, context, scope)
                }
            ),
            (
                .delete, "/api/pages/:id",
                { _, context, scope in
                    try await awareness.deletePage(try Self.id(context), in: scope)
                    return try Self.success("Page deleted successfully!")
                }
            ),
            (.get, "/api/smtp", { _, _, scope in try Self.json(try await awareness.profiles(in: scope)) }),
            (.post, "/api/smtp", { request, context, scope in try await saveProfile(nil, request, context, scope) }),
            (
                .get, "/api/smtp/:id",
                { _, context, scope in
                    try Self.json(try await awareness.profile(try Self.id(context), in: scope))
                }
            ),
            (
                .put, "/api/smtp/:id",
                { request, context, scope in
                    try await saveProfile(try Self.id(context), request, context, scope)
                }
            ),
            (
                .delete, "/api/smtp/:id",
                { _, context, scope in
                    try await awareness.deleteProfile(try Self.id(context), in: scope)
                    return try Self.success("SMTP deleted successfully!")
                }
            ),
            (.get, "/api/webhooks", { _, _, scope in try Self.json(try await awareness.webhooks(in: scope)) }),
            (
                .post, "/api/webhooks",
                { request, context, scope in try await saveWebhook(nil, request, context, scope) }
            ),
            (
                .get, "/api/webhooks/:id",
                { _, context, scope in
                    try Self.json(try await awareness.webhook(try Self.id(context), in: scope))
                }
            ),
            (
                .put, "/api/webhooks/:id",
                { request, context, scope in
                    try await saveWebhook(try Self.id(context), request, context, scope)
                }
            ),
            (
                .delete, "/api/webhooks/:id",
                { _, context, scope in
                    try await awareness.deleteWebhook(try Self.id(context), in: scope)
                    return try Self.success("Webhook deleted Successfully!")
                }
            ),
            (
                .post, "/api/webhooks/:id/validate",
                { _, context, scope in
                    try Self.json(try await awareness.validateWebhook(try Self.id(context), in: scope))
                }
            ),
            // Hygie has no IMAP poller: reports arrive through /report and the report mailbox of the reporting
            // module. The list is therefore empty, and setting IMAP up is refused with that explanation.
            (
                .get, "/api/imap",
                { _, _, scope in
                    try scope.require([.admin, .rssi, .analyst, .dpo])
                    return try Self.json([String]())
                }
            ),
            (
                .post, "/api/imap",
                { _, _, _ in
                    throw AwarenessError.invalid(
                        "Hygie does not poll IMAP mailboxes: reports arrive through /report?rid= and the report address"
                    )
                }
            ),
            (.post, "/api/import/group", importGroup),
            (.post, "/api/import/email", importEmail),
        ]
        for (method, path, handler) in routes {
            router.on(RouterPath(path), method: method) { request, context in
                try await Self.guarded(request, context, services: services, handler)
            }
        }
    }

    /// Authenticates (Bearer or `api_key`) and turns every error into GoPhish's error JSON.
    static func guarded(
        _ request: Request, _ context: HygieRequestContext, services: HygieServices, _ handler: Handler
    ) async throws -> Response {
        do {
            var token = context.token
            if token == nil, let key = request.uri.queryParameters.get("api_key") {
                token = try await services.identity.resolveToken(key)
            }
            guard let token else { return try failure("Invalid API Key", status: .unauthorized) }
            let scope = services.identity.scope(
                for: token, requestID: context.requestID, sourceAddress: context.remoteAddress)
            return try await handler(request, context, scope)
        } catch let error as any ClassifiedError {
            let status: HTTPResponse.Status =
                switch error.kind {
                case .notFound: .notFound
                case .forbidden: .forbidden
                case .unauthorized: .unauthorized
                case .payloadTooLarge: .contentTooLarge
                case .tooManyRequests: .tooManyRequests
                case .internalFailure: .internalServerError
                default: .badRequest
                }
            return try failure(error.publicMessage, status: status)
        } catch let error as HygieWebError {
            return try failure("\(error)", status: .badRequest)
        } catch {
            context.logger.error("GoPhish API request failed", metadata: ["error": "\(String(reflecting: error))"])
            return try failure("internal error (request \(context.requestID))", status: .internalServerError)
        }
    }

    // MARK: Wire format

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(AwarenessService.timestamp(date))
        }
        return encoder
    }()

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    struct Message: Encodable {
        var success: Bool
        var message: String
        var data: String?
    }

    static func success(_ message: String) throws -> Response { try json(Message(success: true, message: message)) }

    static func failure(_ message: String, status: HTTPResponse.Status) throws -> Response {
        try json(Message(success: false, message: message), status: status)
    }

    struct SummaryList: Encodable {
        var total: Int
        var campaigns: [CampaignSummary]
    }

    struct GroupSummaryList: Encodable {
        var total: Int
        var groups: [GroupSummary]
    }

    struct Results: Encodable {
        var id: Int64
        var name: String
        var status: String
        var results: [CampaignResult]
        var timeline: [TimelineEvent]
    }

    static func id(_ context: HygieRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text) else {
            throw AwarenessError.invalid("the id in the path must be a number")
        }
        return id
    }

    /// The JSON object of the body.
    func body(_ request: Request) async throws -> [String: Any] {
        var request = request
        let buffer = try await request.collectBody(upTo: max(services.settings.maxBodyBytes, 16 << 20))
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]
        else { throw AwarenessError.invalid("the body must be a JSON object") }
        return object
    }

    static func string(_ object: [String: Any], _ key: String) -> String {
        switch object[key] {
        case let value as String: value
        case let value as NSNumber: value.stringValue
        default: ""
        }
    }

    static func bool(_ object: [String: Any], _ key: String) -> Bool {
        (object[key] as? Bool) ?? (object[key] as? NSNumber)?.boolValue ?? false
    }

    /// The name of an object given as `{"name": …}` (how GoPhish clients refer to templates, pages, profiles).
    static func name(_ object: [String: Any], _ key: String) -> String {
        (object[key] as? [String: Any]).map { string($0, "name") } ?? ""
    }

    /// RFC 3339 dates with or without fractional seconds; an absent or empty value is nil.
    static func date(_ object: [String: Any], _ key: String) throws -> Date? {
        let text = string(object, key).trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, !text.hasPrefix("0001-01-01") else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        // Python's isoformat() writes microseconds: keep milliseconds.
        if let dot = text.firstIndex(of: "."),
            let zone = text[dot...].firstIndex(where: { $0 == "+" || $0 == "-" || $0 == "Z" })
        {
            let trimmed = String(text[..<dot]) + String(text[dot..<zone].prefix(4)) + String(text[zone...])
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: trimmed) { return date }
        }
        throw AwarenessError.invalid("\(key) is not an RFC 3339 date")
    }

    // MARK: Handlers

    func createCampaign(_ request: Request, _ context: HygieRequestContext, _ scope: TenantScope) async throws
        -> Response
    {
        let object = try await body(request)
        let groups = (object["groups"] as? [[String: Any]] ?? []).map { Self.string($0, "name") }
        let input = CampaignInput(
            name: Self.string(object, "name"), groups: groups, template: Self.name(object, "template"),
            page: Self.name(object, "page"), profile: Self.name(object, "smtp"), url: Self.string(object, "url"),
            launchDate: try Self.date(object, "launch_date"), sendByDate: try Self.date(object, "send_by_date"),
            ratePerMinute: (object["rate_per_minute"] as? NSNumber)?.intValue,
            informedOn: Self.string(object, "informed_on"), approver: Self.string(object, "approver"))
        return try Self.json(try await awareness.launch(input, in: scope), status: .created)
    }

    func saveGroup(_ id: Int64?, _ request: Request, _ context: HygieRequestContext, _ scope: TenantScope)
        async throws -> Response
    {
        let object = try await body(request)
        let targets = (object["targets"] as? [[String: Any]] ?? []).map { target in
            Target(
                firstName: Self.string(target, "first_name"), lastName: Self.string(target, "last_name"),
                email: Self.string(target, "email").trimmingCharacters(in: .whitespaces),
                position: Self.string(target, "position"), department: Self.string(target, "department"),
                role: Self.string(target, "role"), language: Self.string(target, "language"))
        }
        let group = try await awareness.saveGroup(
            id: id, name: Self.string(object, "name"), targets: targets, in: scope)
        return try Self.json(group, status: id == nil ? .created : .ok)
    }

    func saveTemplate(_ id: Int64?, _ request: Request, _ context: HygieRequestContext, _ scope: TenantScope)
        async throws -> Response
    {
        let object = try await body(request)
        let attachments = (object["attachments"] as? [[String: Any]] ?? []).map {
            TemplateAttachment(
                name: Self.string($0, "name"), type: Self.string($0, "type"), content: Self.string($0, "content"))
        }
        let input = TemplateInput(
            name: Self.string(object, "name"), subject: Self.string(object, "subject"),
            envelopeSender: Self.string(object, "envelope_sender"), text: Self.string(object, "text"),
            html: Self.string(object, "html"), attachments: attachments,
            difficulty: (object["difficulty"] as? NSNumber)?.intValue ?? 0)
        let template = try await awareness.saveTemplate(id: id, input, in: scope)
        return try Self.json(template, status: id == nil ? .created : .ok)
    }

    func savePage(_ id: Int64?, _ request: Request, _ context: HygieRequestContext, _ scope: TenantScope)
        async throws -> Response
    {
        let object = try await body(request)
        if Self.bool(object, "capture_passwords") {
            throw AwarenessError.invalid("Hygie never stores passwords: capture_passwords must be false")
        }
        let input = PageInput(
            name: Self.string(object, "name"), html: Self.string(object, "html"),
            captureCredentials: Self.bool(object, "capture_credentials"),
            redirectURL: Self.string(object, "redirect_url"))
        let page = try await awareness.savePage(id: id, input, in: scope)
        return try Self.json(page, status: id == nil ? .created : .ok)
    }

    func saveProfile(_ id: Int64?, _ request: Request, _ context: HygieRequestContext, _ scope: TenantScope)
        async throws -> Response
    {
        let object = try await body(request)
        let interface = Self.string(object, "interface_type")
        guard interface.isEmpty || interface.uppercased() == "SMTP" else {
            throw AwarenessError.invalid("interface_type must be SMTP")
        }
        let headers = (object["headers"] as? [[String: Any]] ?? []).map {
            HeaderEntry(key: Self.string($0, "key"), value: Self.string($0, "value"))
        }
        let password = object["password"] as? String
        let input = ProfileInput(
            name: Self.string(object, "name"), host: Self.string(object, "host"),
            security: Self.string(object, "security"), username: Self.string(object, "username"),
            password: (password?.isEmpty ?? true) && id != nil ? nil : password,
            fromAddress: Self.string(object, "from_address"), ignoreCertErrors: Self.bool(object, "ignore_cert_errors"),
            headers: headers)
        let profile = try await awareness.saveProfile(id: id, input, in: scope)
        return try Self.json(profile, status: id == nil ? .created : .ok)
    }

    func saveWebhook(_ id: Int64?, _ request: Request, _ context: HygieRequestContext, _ scope: TenantScope)
        async throws -> Response
    {
        let object = try await body(request)
        let secret = object["secret"] as? String
        let webhook = try await awareness.saveWebhook(
            id: id, name: Self.string(object, "name"), url: Self.string(object, "url"),
            secret: (secret?.isEmpty ?? true) && id != nil ? nil : secret, isActive: Self.bool(object, "is_active"),
            in: scope)
        return try Self.json(webhook, status: id == nil ? .created : .ok)
    }

    struct ImportedEmail: Encodable {
        var subject: String
        var text: String
        var html: String
    }

    /// GoPhish's e-mail import: `{"content": "<the .eml>"}` answered as subject, text and HTML to start a template.
    func importEmail(_ request: Request, _ context: HygieRequestContext, _ scope: TenantScope) async throws
        -> Response
    {
        try scope.require([.admin, .rssi, .analyst])
        let object = try await body(request)
        do {
            let message = try EmailImport.read(Array(Self.string(object, "content").utf8))
            return try Self.json(ImportedEmail(subject: message.subject, text: message.text, html: message.html))
        } catch let error as TemplateError {
            throw AwarenessError.invalid(error.description)
        }
    }

    /// GoPhish's CSV import: the body (or its `file` part) parsed as a target list, answered as targets.
    func importGroup(_ request: Request, _ context: HygieRequestContext, _ scope: TenantScope) async throws
        -> Response
    {
        try scope.require([.admin, .rssi, .analyst])
        var request = request
        let buffer = try await request.collectBody(upTo: 16 << 20)
        var bytes = Array(buffer.readableBytesView)
        if let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data") {
            let parts = try MultipartForm.parse(bytes, contentType: type)
            guard let file = parts.files.values.first else { throw AwarenessError.invalid("no file in the form") }
            bytes = file.bytes
        }
        do {
            return try Self.json(try TargetList.parse(bytes).map { TargetRecord($0) })
        } catch let error as TemplateError {
            throw AwarenessError.invalid(error.description)
        }
    }
}
