import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// Enforces the body size limit and, for unsafe HTML requests, parses the form and checks its CSRF token.
///
/// Signed-in forms carry the session's token; the few forms used before sign-in (login, setup) use a
/// double-submit cookie. Requests that a browser marks cross-site are refused whatever their token.
struct FormCSRFMiddleware: RouterMiddleware {
    typealias Context = HygieRequestContext
    let maxBodyBytes: Int
    /// Event batches and rule packs may be larger than other bodies.
    let maxIngestBytes: Int
    /// The TAXII API root's `max_content_length`.
    let maxTAXIIBytes: Int
    static let preSessionCookie = "hygie_csrf"
    static let bulkPaths: Set<String> = ["/api/v1/ingest", "/api/v1/rules", "/api/v1/intel/import"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        let isTAXII = request.uri.path.hasPrefix("/taxii2/")
        let limit =
            isTAXII ? maxTAXIIBytes : (Self.bulkPaths.contains(request.uri.path) ? maxIngestBytes : maxBodyBytes)
        context.maxUploadSize = limit
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw HygieWebError.payloadTooLarge(limit: limit)
        }
        let isUnsafe = ![.get, .head, .options].contains(request.method)
        guard isUnsafe else { return try await next(request, context) }
        if request.uri.path.hasPrefix("/api/") || isTAXII {
            // SECURITY: TAXII writes need Content-Type application/taxii+json, which a cross-site form cannot
            // send without a CORS preflight (never answered), so cached Basic credentials cannot be abused.
            // SECURITY: the API authenticates only with bearer tokens, which a browser never sends by itself.
            return try await next(request, context)
        }
        if let site = request.headers[.init("Sec-Fetch-Site")!], site == "cross-site" {
            throw HygieWebError.csrfRejected
        }
        if let origin = request.headers[.origin], origin != "null", let host = request.head.authority,
            URL(string: origin)?.host.map({ host == $0 || host.hasPrefix("\($0):") }) == false
        {
            throw HygieWebError.csrfRejected
        }
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw HygieWebError.badRequest("expected a form (application/x-www-form-urlencoded)")
        }
        context.form = try FormData.parse(body)
        let sent = context.form["_csrf"] ?? request.headers[.init("X-CSRF-Token")!] ?? ""
        let expected = context.session?.csrfToken ?? request.cookies[Self.preSessionCookie]?.value ?? ""
        guard !expected.isEmpty, constantTimeEquals(sent, expected) else { throw HygieWebError.csrfRejected }
        return try await next(request, context)
    }

}

/// `application/x-www-form-urlencoded` bodies.
enum FormData {
    /// - Throws: `badRequest` for bytes that are not UTF-8 once percent-decoded.
    static func parse(_ buffer: ByteBuffer) throws -> [String: String] {
        guard let text = String(validating: Array(buffer.readableBytesView), as: UTF8.self) else {
            throw HygieWebError.badRequest("the form is not valid UTF-8")
        }
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = decode(parts[0]) else { throw HygieWebError.badRequest("the form is not valid UTF-8") }
            guard let value = parts.count > 1 ? decode(parts[1]) : "" else {
                throw HygieWebError.badRequest("the form is not valid UTF-8")
            }
            if result[key] == nil { result[key] = value }
        }
        return result
    }

    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
