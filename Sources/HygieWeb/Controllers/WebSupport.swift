import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// A redirect raised from a helper (not signed in, second factor pending); ``ErrorMiddleware`` passes it on.
struct Redirect: Error {
    let location: String
}

/// The signed-in state a page works from.
struct SignedIn {
    let session: SessionInfo
    /// The current establishment, when the user has one selected.
    let scope: TenantScope?
    let establishments: [Establishment]
    let actor: Actor

    /// The scope, or a redirect to the dashboard for pages that need an establishment.
    func requireScope(_ roles: Set<Role>? = nil) throws -> TenantScope {
        guard let scope else { throw HygieCoreError.notFound("establishment") }
        if let roles { try scope.require(roles) }
        return scope
    }
}

extension HygieServices {
    /// The signed-in user behind a page request; redirects to sign-in or to the second factor otherwise.
    func signedIn(_ context: HygieRequestContext) async throws -> SignedIn {
        guard let session = context.session else { throw Redirect(location: "/login") }
        guard session.mfaVerified else { throw Redirect(location: "/mfa") }
        let memberships = try await identity.memberships(of: session.user.id)
        let establishments =
            session.user.isInstanceAdmin
            ? try await tenancy.establishments(visibleTo: session.user.id, isInstanceAdmin: true)
            : try await tenancy.establishments(memberships.map(\.establishmentID))
        var scope: TenantScope?
        let base = context.actor()
        if let current = session.establishmentID ?? establishments.first?.id {
            // try?: a membership removed meanwhile leaves the page without a scope (dashboard only).
            scope = try? await identity.scope(for: current, actor: base, memberships: memberships)
        }
        return SignedIn(session: session, scope: scope, establishments: establishments, actor: scope?.actor ?? base)
    }

    /// Runs a form's action. Bad input (validation or conflict) shows the form again with the message in the
    /// reader's language and status 422 or 409, instead of the error page.
    func submitForm(
        _ context: HygieRequestContext, action: () async throws -> Response,
        redisplay: (_ error: String, _ status: HTTPResponse.Status) async throws -> Response
    ) async throws -> Response {
        do {
            return try await action()
        } catch let error as any ClassifiedError where error.kind == .validation || error.kind == .conflict {
            return try await redisplay(
                renderer.translations.message(for: error, context.locale),
                error.kind == .conflict ? .conflict : .unprocessableContent)
        }
    }

    /// The layout for a signed-in page.
    func frame(_ signedIn: SignedIn, title: String, active: String, context: HygieRequestContext, request: Request)
        -> PageFrame
    {
        let t = { (key: String) in renderer.translations.string(key, context.locale) }
        var nav: [PageFrame.NavItem] = [
            .init(href: "/dashboard", label: t("nav.dashboard"), active: active == "dashboard")
        ]
        let role = signedIn.scope?.role
        if let role, role.canManageEstablishment {
            nav.append(.init(href: "/users", label: t("nav.users"), active: active == "users"))
            nav.append(.init(href: "/departments", label: t("nav.departments"), active: active == "departments"))
        }
        if let role, [.admin, .rssi, .analyst, .auditor].contains(role) {
            for item in ["vuln", "alerts", "rules", "sources", "events", "intel", "sharing"] {
                nav.append(.init(href: "/\(item)", label: t("nav.\(item)"), active: active == item))
            }
        }
        if let role, [.admin, .rssi, .analyst, .auditor, .dpo].contains(role) {
            nav.append(.init(href: "/compliance", label: t("nav.compliance"), active: active == "compliance"))
        }
        if let role, [.admin, .rssi, .analyst, .dpo].contains(role) {
            nav.append(.init(href: "/awareness", label: t("nav.awareness"), active: active == "awareness"))
        }
        if let role, [.admin, .rssi, .analyst].contains(role) {
            nav.append(.init(href: "/reports", label: t("nav.reports"), active: active == "reports"))
        }
        if let role, [.admin, .rssi, .analyst, .dpo].contains(role) {
            nav.append(.init(href: "/cases", label: t("nav.cases"), active: active == "cases"))
        }
        if let role, [.admin, .rssi, .dpo, .auditor].contains(role) {
            nav.append(.init(href: "/privacy", label: t("nav.privacy"), active: active == "privacy"))
        }
        if role != nil {
            nav.append(.init(href: "/training", label: t("nav.training"), active: active == "training"))
            nav.append(.init(href: "/report", label: t("nav.report"), active: active == "report"))
        }
        if let role, [.admin, .coordinator].contains(role) {
            nav.append(.init(href: "/compliance/fleet", label: t("nav.fleet"), active: active == "fleet"))
        }
        if let role, [.admin, .coordinator].contains(role) {
            nav.append(.init(href: "/hub", label: t("nav.hub"), active: active == "hub"))
        }
        if let role, [.admin, .rssi, .auditor].contains(role) {
            nav.append(.init(href: "/federation", label: t("nav.federation"), active: active == "federation"))
        }
        if let role, Role.tokenHolders.contains(role) {
            nav.append(.init(href: "/tokens", label: t("nav.tokens"), active: active == "tokens"))
        }
        if role?.canReadAuditTrail == true || signedIn.session.user.isInstanceAdmin {
            nav.append(.init(href: "/audit", label: t("nav.audit"), active: active == "audit"))
        }
        if signedIn.session.user.isInstanceAdmin {
            nav.append(
                .init(href: "/admin/establishments", label: t("nav.establishments"), active: active == "establishments")
            )
            nav.append(.init(href: "/admin/jobs", label: t("nav.jobs"), active: active == "jobs"))
        }
        nav.append(.init(href: "/profile", label: t("nav.profile"), active: active == "profile"))
        var frame = PageFrame(
            locale: context.locale, title: title, csrf: signedIn.session.csrfToken, user: signedIn.session.user)
        frame.nav = nav
        frame.establishments = signedIn.establishments.map {
            ($0.id.uuidString, $0.name, $0.id == signedIn.scope?.establishmentID)
        }
        frame.currentEstablishment = signedIn.establishments.first { $0.id == signedIn.scope?.establishmentID }?.name
        if let flash = request.uri.queryParameters.get("flash"), flash.count < 40 {
            let message = t("flash.\(flash)")
            if message != "flash.\(flash)" { frame.flash = message }
        }
        return frame
    }
}

extension Response {
    /// 303 See Other: the answer to a successful form post.
    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// An evidence file (compliance evidence, a case's file, a reported message): always an attachment of bytes
    /// (never rendered), a sanitised name, its SHA-256 when known.
    static func evidenceFile(named filename: String, sha256: String? = nil, _ content: Data) -> Response {
        let name = filename.filter { $0.isLetter || $0.isNumber || ".-_ ".contains($0) }
        var headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .contentDisposition: "attachment; filename=\"\(name.isEmpty ? "evidence" : name)\"",
        ]
        if let sha256 { headers[.init("X-Content-SHA256")!] = sha256 }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: content)))
    }
}

/// Cookie helpers.
enum SessionCookie {
    static func set(_ value: String, secure: Bool, maxAge: Int) -> String {
        // SECURITY: HttpOnly (no script access), SameSite=Strict (no cross-site sending), Secure under TLS.
        "\(SessionMiddleware.cookieName)=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)\(secure ? "; Secure" : "")"
    }

    static func clear(secure: Bool) -> String {
        "\(SessionMiddleware.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0\(secure ? "; Secure" : "")"
    }
}

extension Dictionary where Key == String, Value == String {
    /// A form field, or "" when absent.
    subscript(field name: String) -> String { self[name] ?? "" }
}

extension HygieRequestContext {
    /// The `:id` path parameter as a UUID; anything else is "not found" (as an unknown id would be).
    func idParameter(_ what: String) throws -> UUID {
        guard let id = parameters.get("id").flatMap(UUID.init(uuidString:)) else { throw HygieCoreError.notFound(what) }
        return id
    }

    /// An integer path parameter (`:id` by default); anything else is "not found".
    func int64Parameter(_ name: String = "id", what: String) throws -> Int64 {
        guard let text = parameters.get(name), let id = Int64(text) else { throw HygieCoreError.notFound(what) }
        return id
    }
}

/// Dates shown in pages: ISO-like, UTC, minute precision.
enum DisplayDate {
    static func format(_ date: Date?) -> String {
        guard let date else { return "—" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }

    static func utcFormatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }

    /// `2026-11-29T10:15` for `datetime-local` inputs (UTC, as the pages say).
    static func local(_ date: Date?) -> String {
        date.map { utcFormatter("yyyy-MM-dd'T'HH:mm").string(from: $0) } ?? ""
    }

    /// A `datetime-local` (or date) field read as UTC; empty is nil.
    static func parseLocal(_ text: String?) throws(HygieWebError) -> Date? {
        guard let text, !text.isEmpty else { return nil }
        for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd"] {
            if let date = utcFormatter(format).date(from: text) { return date }
        }
        throw HygieWebError.badRequest("\(text) is not a date and time (YYYY-MM-DDTHH:MM, UTC)")
    }
}

/// A controller of HTML pages: translation, dates and the page frame, the same for every module's pages.
protocol PageController {
    var services: HygieServices { get }
}

extension PageController {
    var renderer: Renderer { services.renderer }

    func t(_ key: String, _ context: HygieRequestContext) -> String {
        renderer.translations.string(key, context.locale)
    }

    static func date(_ date: Date?) -> String { DisplayDate.format(date) }

    /// The options of a `<select>` over an enumeration, labelled by the translations `prefix.value`.
    func options<T: RawRepresentable & Equatable>(
        _ values: [T], selected: T?, prefix: String, _ context: HygieRequestContext
    ) -> [[String: Any]] where T.RawValue == String {
        values.map {
            ["value": $0.rawValue, "label": t("\(prefix).\($0.rawValue)", context), "selected": $0 == selected]
        }
    }

    func page(
        _ template: String, _ title: String, active: String, content: [String: Any], signedIn: SignedIn,
        request: Request, context: HygieRequestContext, status: HTTPResponse.Status = .ok
    ) -> Response {
        let frame = services.frame(signedIn, title: title, active: active, context: context, request: request)
        return renderer.page(template, frame: frame, content: content, status: status)
    }
}
