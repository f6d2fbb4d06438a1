import Foundation
import HTTPTypes
import Hummingbird
import HygieAwareness
import HygieCore
import NIOCore

/// The phishing server's endpoints, GoPhish-compatible, answered before sessions and CSRF checks (recipients
/// are not signed in): `/track?rid=` (open pixel), `/report?rid=` (204, CORS for report add-ins), any other
/// path with `?rid=` (GET: the landing page; POST: the form, answered 302), and `/phished` (what to look for).
/// Unknown rids and completed campaigns answer 404 with nothing that tells a scanner what Hygie is.
struct PhishingMiddleware: RouterMiddleware {
    typealias Context = HygieRequestContext
    let awareness: AwarenessService
    let renderer: Renderer
    let maxBodyBytes: Int

    /// Hygie's own paths never carry a recipient.
    static let ownPrefixes = ["/api/", "/static/", "/taxii2", "/health", "/metrics"]
    /// A 1×1 transparent GIF.
    static let pixel: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF,
        0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
        0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]
    /// Landing pages are copies of real sites: their own styles and images, never scripts, forms post back here.
    static let landingPolicy =
        "default-src 'self'; img-src * data:; style-src * 'unsafe-inline'; font-src * data:; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        if path == "/phished" { return phishedPage(request) }
        guard let rid = request.uri.queryParameters.get("rid"),
            !Self.ownPrefixes.contains(where: { path.hasPrefix($0) })
        else { return try await next(request, context) }
        let tracking = TrackingRequest(
            rid: String(rid), method: request.method.rawValue, userAgent: request.headers[.userAgent])
        do {
            switch (path, request.method) {
            case ("/track", .get), ("/track", .head):
                _ = try await awareness.track(.open, tracking)
                return Response(
                    status: .ok, headers: [.contentType: "image/gif", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(bytes: Self.pixel)))
            case ("/report", .options):
                return Self.cors(Response(status: .noContent))
            case ("/report", .get), ("/report", .post):
                _ = try await awareness.track(.report, tracking)
                return Self.cors(Response(status: .noContent))
            case (_, .get), (_, .head):
                guard case .page(let html) = try await awareness.track(.click, tracking) else { break }
                var response = Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: request.method == .head ? "" : html)))
                response.headers[.contentSecurityPolicy] = Self.landingPolicy
                return response
            case (_, .post):
                var request = request
                let body = try await request.collectBody(upTo: maxBodyBytes)
                let fields = Self.fields(String(decoding: body.readableBytesView, as: UTF8.self))
                guard case .redirect(let location) = try await awareness.track(.submit(fields), tracking) else { break }
                return Response(status: .found, headers: [.location: location])
            default:
                break
            }
            return Self.notFound()
        } catch let error as any ClassifiedError where error.kind == .notFound {
            return Self.notFound()
        }
    }

    static func notFound() -> Response {
        Response(
            status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "404 page not found\n")))
    }

    static func cors(_ response: Response) -> Response {
        var response = response
        response.headers[.accessControlAllowOrigin] = "*"
        response.headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
        response.headers[.accessControlAllowHeaders] = "Content-Type"
        return response
    }

    /// `application/x-www-form-urlencoded` fields, in order, names and values decoded.
    static func fields(_ body: String) -> [SubmittedField] {
        body.split(separator: "&").prefix(200).compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            guard let name = parts.first.map(decode), !name.isEmpty else { return nil }
            return SubmittedField(name: name, value: parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// Where a recipient lands after submitting a form, unless the page names another address: it was a
    /// simulation, nobody is blamed, here is what would have given the message away.
    func phishedPage(_ request: Request) -> Response {
        let locale = SessionMiddleware.preferredLocale(request)
        let frame = PageFrame(locale: locale, title: locale == .fr ? "Exercice" : "Exercise", csrf: nil)
        return renderer.page("phished", frame: frame, content: [:], status: .ok)
    }
}
