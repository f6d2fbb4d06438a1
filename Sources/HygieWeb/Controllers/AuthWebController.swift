import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// First-admin setup, sign-in, the second factor (challenge and enrolment) and sign-out.
struct AuthWebController {
    let services: HygieServices

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get(SiteRoute.setup.routerPath, use: setupForm)
        router.post(SiteRoute.setup.routerPath, use: setup)
        router.get(SiteRoute.login.routerPath, use: loginForm)
        router.post(SiteRoute.login.routerPath, use: login)
        router.get(SiteRoute.mfa.routerPath, use: challengeForm)
        router.post(SiteRoute.mfa.routerPath, use: challenge)
        router.get(SiteRoute.mfaEnrol.routerPath, use: enrolForm)
        router.get(SiteRoute.mfaEnrolQR.routerPath, use: enrolQR)
        router.post(SiteRoute.mfaEnrol.routerPath, use: enrol)
        router.post(SiteRoute.logout.routerPath, use: logout)
    }

    var renderer: Renderer { services.renderer }
    var secure: Bool { services.settings.tlsEnabled }

    /// A page shown before sign-in, with a fresh double-submit CSRF cookie.
    func anonymousPage(
        _ template: String, titleKey: String, content: [String: Any], context: HygieRequestContext,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        let token = SecureRandom.token()
        var frame = PageFrame(
            locale: context.locale, title: renderer.translations.string(titleKey, context.locale), csrf: token)
        frame.user = nil
        var response = renderer.page(template, frame: frame, content: content, status: status)
        response.headers.append(
            .init(
                name: .setCookie,
                value:
                    "\(FormCSRFMiddleware.preSessionCookie)=\(token); Path=/; HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
            ))
        return response
    }

    // MARK: Setup

    func setupForm(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let token = request.uri.queryParameters.get("token") ?? ""
        guard try await services.identity.isValidSetupToken(token) else {
            throw HygieCoreError.notFound("setup link")
        }
        return anonymousPage(
            "setup", titleKey: "setup.title", content: ["token": token, "locale_fr": context.locale == .fr],
            context: context)
    }

    func setup(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let form = context.form
        do {
            guard form[field: "password"] == form[field: "password_confirm"] else {
                throw ValidationError(field: "password", message: "the two passwords differ", key: "passwordMismatch")
            }
            let input = NewUser(
                email: form[field: "email"], displayName: form[field: "display_name"],
                password: form[field: "password"], role: "admin", locale: form["locale"] ?? context.locale.rawValue)
            let user = try await services.identity.completeSetup(
                token: form[field: "token"], user: input, actor: context.actor())
            let session = try await services.identity.openSession(
                for: user, mfaVerified: false, actor: context.actor(), userAgent: request.headers[.userAgent])
            return withSessionCookie(.redirect(SiteRoute.mfaEnrol.path), session)
        } catch let error as ValidationError {
            return anonymousPage(
                "setup", titleKey: "setup.title",
                content: [
                    "token": form[field: "token"], "error": renderer.translations.message(for: error, context.locale),
                    "email": form[field: "email"], "display_name": form[field: "display_name"],
                ], context: context, status: .unprocessableContent)
        }
    }

    /// `response` with the cookie of a session just opened or renewed.
    func withSessionCookie(_ response: Response, _ session: NewSession) -> Response {
        var response = response
        response.headers.append(
            .init(
                name: .setCookie,
                value: SessionCookie.set(
                    session.cookieValue, secure: secure,
                    maxAge: Int(services.identity.settings.sessionAbsoluteTimeout))))
        return response
    }

    // MARK: Sign-in

    func loginForm(_ request: Request, context: HygieRequestContext) async throws -> Response {
        if let session = context.session { return .redirect(session.mfaVerified ? "/dashboard" : "/mfa") }
        return anonymousPage("login", titleKey: "login.title", content: [:], context: context)
    }

    func login(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let email = context.form[field: "email"]
        do {
            let identity = services.identity
            let user = try await identity.authenticate(
                email: email, password: context.form[field: "password"], actor: context.actor())
            let needsSecondFactor = try await identity.requiresSecondFactor(user) || user.mfaEnabled
            let session = try await identity.openSession(
                for: user, mfaVerified: !needsSecondFactor, actor: context.actor(),
                userAgent: request.headers[.userAgent])
            let next =
                !needsSecondFactor ? "/dashboard" : (user.mfaEnabled ? SiteRoute.mfa.path : SiteRoute.mfaEnrol.path)
            return withSessionCookie(.redirect(next), session)
        } catch let error as HygieCoreError {
            let (status, key): (HTTPResponse.Status, String) =
                switch error {
                case .tooManyRequests: (.tooManyRequests, "login.throttled")
                default: (.unauthorized, "login.failed")
                }
            var response = anonymousPage(
                "login", titleKey: "login.title",
                content: ["error": renderer.translations.string(key, context.locale), "email": email], context: context,
                status: status)
            if case .tooManyRequests(let seconds) = error { response.headers[.retryAfter] = String(seconds) }
            return response
        }
    }

    // MARK: Second factor

    func pendingSession(_ context: HygieRequestContext) throws -> SessionInfo {
        guard let session = context.session else { throw Redirect(location: SiteRoute.login.path) }
        return session
    }

    func challengeForm(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let session = try pendingSession(context)
        if session.mfaVerified { return .redirect("/dashboard") }
        if !session.user.mfaEnabled { return .redirect(SiteRoute.mfaEnrol.path) }
        let frame = PageFrame(
            locale: context.locale, title: renderer.translations.string("mfa.title", context.locale),
            csrf: session.csrfToken)
        return renderer.page("mfa", frame: frame, content: [:])
    }

    func challenge(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let session = try pendingSession(context)
        if session.mfaVerified { return .redirect("/dashboard") }
        do {
            try await services.identity.verifySecondFactor(
                userID: session.user.id, code: context.form[field: "code"], actor: context.actor())
        } catch let error as HygieCoreError {
            let key = if case .tooManyRequests = error { "login.throttled" } else { "mfa.failed" }
            let frame = PageFrame(
                locale: context.locale, title: renderer.translations.string("mfa.title", context.locale),
                csrf: session.csrfToken)
            return renderer.page(
                "mfa", frame: frame, content: ["error": renderer.translations.string(key, context.locale)],
                status: error.kind == .tooManyRequests ? .tooManyRequests : .unauthorized)
        }
        let renewed = try await services.identity.completeSecondFactor(sessionID: session.id, actor: context.actor())
        return withSessionCookie(.redirect("/dashboard"), renewed)
    }

    func enrolForm(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let session = try pendingSession(context)
        if session.user.mfaEnabled { return .redirect(session.mfaVerified ? "/profile" : SiteRoute.mfa.path) }
        let enrolment = try await services.identity.beginTOTPEnrolment(userID: session.user.id)
        let frame = PageFrame(
            locale: context.locale, title: renderer.translations.string("enrol.title", context.locale),
            csrf: session.csrfToken)
        let grouped = stride(from: 0, to: enrolment.secret.count, by: 4).map { index -> String in
            let start = enrolment.secret.index(enrolment.secret.startIndex, offsetBy: index)
            let end = enrolment.secret.index(start, offsetBy: min(4, enrolment.secret.count - index))
            return String(enrolment.secret[start..<end])
        }.joined(separator: " ")
        return renderer.page("mfa_enrol", frame: frame, content: ["secret": grouped, "required": !session.mfaVerified])
    }

    /// The QR code of the pending enrolment, drawn by Hygie (the secret never goes to a third party).
    func enrolQR(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let session = try pendingSession(context)
        guard let uri = try await services.identity.pendingTOTPURI(userID: session.user.id) else {
            throw HygieCoreError.notFound("enrolment")
        }
        let svg = try QRCode(text: uri).svg(title: renderer.translations.string("enrol.qrAlt", context.locale))
        return Response(
            status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "no-store"],
            body: .init(byteBuffer: .init(string: svg)))
    }

    func enrol(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let session = try pendingSession(context)
        let codes: [String]
        do {
            codes = try await services.identity.confirmTOTPEnrolment(
                userID: session.user.id, code: context.form[field: "code"], actor: context.actor())
        } catch let error as ValidationError {
            let frame = PageFrame(
                locale: context.locale, title: renderer.translations.string("enrol.title", context.locale),
                csrf: session.csrfToken)
            return renderer.page(
                "mfa_enrol", frame: frame,
                content: [
                    "error": renderer.translations.message(for: error, context.locale),
                    "required": !session.mfaVerified, "retry": true,
                ],
                status: .unprocessableContent)
        }
        // A first enrolment also completes the pending sign-in: the session is renewed.
        let renewed =
            session.mfaVerified
            ? nil : try await services.identity.completeSecondFactor(sessionID: session.id, actor: context.actor())
        let frame = PageFrame(
            locale: context.locale, title: renderer.translations.string("recovery.title", context.locale),
            csrf: renewed?.info.csrfToken ?? session.csrfToken)
        let response = renderer.page("recovery_codes", frame: frame, content: ["codes": codes])
        return renewed.map { withSessionCookie(response, $0) } ?? response
    }

    func logout(_ request: Request, context: HygieRequestContext) async throws -> Response {
        if let session = context.session {
            try await services.identity.closeSession(sessionID: session.id, actor: context.actor())
        }
        var response = Response.redirect(SiteRoute.login.path)
        response.headers.append(.init(name: .setCookie, value: SessionCookie.clear(secure: secure)))
        return response
    }
}
