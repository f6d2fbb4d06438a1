import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// Finds who is calling: the session cookie for pages, `Authorization: Bearer` for `/api`. Also picks the
/// interface language. It never rejects; routes decide what they need.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = HygieRequestContext
    let identity: IdentityService
    static let cookieName = "hygie_session"
    // The ingest route authenticates its own tokens (bound to a log source, not to a user).
    // TAXII authenticates its own machine accounts (HTTP Basic or Bearer).
    static let anonymousPaths = ["/static/", "/favicon.ico", "/health", "/metrics", "/api/v1/ingest", "/taxii2"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        let path = request.uri.path
        if Self.anonymousPaths.contains(where: { path.hasPrefix($0) }) {
            // Stylesheet, icon, probes and metrics need nobody: no database lookup for them.
            return try await next(request, context)
        }
        if path.hasPrefix("/api/") {
            if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
                let secret = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
                context.token = try await identity.resolveToken(secret)
                if let token = context.token { context.locale = token.user.locale }
            }
        } else if let cookie = request.cookies[Self.cookieName]?.value {
            // A forged or corrupted cookie simply finds no session.
            context.session = try await identity.resolveSession(cookieValue: cookie)
        }
        if let session = context.session {
            context.locale = session.user.locale
        } else if context.token == nil {
            context.locale = Self.preferredLocale(request)
        }
        return try await next(request, context)
    }

    /// `?lang=` first, then the `hygie_lang` cookie, then Accept-Language; French by default.
    static func preferredLocale(_ request: Request) -> User.Locale {
        if let lang = request.uri.queryParameters.get("lang"), let locale = User.Locale(rawValue: lang) {
            return locale
        }
        if let cookie = request.cookies["hygie_lang"]?.value, let locale = User.Locale(rawValue: cookie) {
            return locale
        }
        if let accept = request.headers[.acceptLanguage]?.lowercased(), accept.hasPrefix("en") { return .en }
        return .fr
    }
}
