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
    /// Inventory files, vulnerability data, framework libraries and evidence (pages and API).
    let maxUploadBytes: Int
    /// Paths (prefixes) that take uploads: their pages post `multipart/form-data`.
    static let uploadPrefixes = [
        "/api/v1/vuln/", "/vuln/", "/api/v1/compliance/", "/compliance/", "/api/templates", "/api/import/",
        "/awareness/", "/report", "/api/v1/reports", "/cases/", "/api/v1/cases/", "/api/v1/privacy/", "/privacy/",
    ]
    static let preSessionCookie = "hygie_csrf"
    static let bulkPaths: Set<String> = [
        "/api/v1/ingest", "/api/v1/rules", "/api/v1/intel/import", "/api/v1/fhir", "/api/v1/fhir/AuditEvent",
        "/api/v1/privacy/accesses",
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        let isTAXII = request.uri.path.hasPrefix("/taxii2/")
        let isUpload = Self.uploadPrefixes.contains { request.uri.path.hasPrefix($0) }
        let limit =
            isTAXII
            ? maxTAXIIBytes
            : (Self.bulkPaths.contains(request.uri.path) ? maxIngestBytes : (isUpload ? maxUploadBytes : maxBodyBytes))
        context.maxUploadSize = limit
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw HygieWebError.payloadTooLarge(limit: limit)
        }
        let isUnsafe = ![.get, .head, .options].contains(request.method)
        guard isUnsafe else { return try await next(request, context) }
        if request.uri.path.hasPrefix("/api/") || isTAXII || request.uri.path.hasPrefix("/federation/v1/") {
            // SECURITY: TAXII writes need Content-Type application/taxii+json, which a cross-site form cannot
            // send without a CORS preflight (never answered), so cached Basic credentials cannot be abused.
            // SECURITY: the API authenticates only with bearer tokens, which a browser never sends by itself.
            // SECURITY: federation requests are authenticated by an HMAC signature over the body (or a single-use
            // enrolment token in the body), which no cross-site form can produce.
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
        let body = try await request.collectBody(upTo: isUpload ? maxUploadBytes : maxBodyBytes)
        let contentType = request.headers[.contentType] ?? ""
        if isUpload, contentType.lowercased().hasPrefix("multipart/form-data") {
            let parts = try MultipartForm.parse(Array(body.readableBytesView), contentType: contentType)
            context.form = parts.fields
            context.files = parts.files
        } else {
            guard contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") else {
                throw HygieWebError.badRequest("expected a form (application/x-www-form-urlencoded)")
            }
            context.form = try FormData.parse(body)
        }
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

/// An uploaded file of a `multipart/form-data` form.
public struct UploadedFile: Sendable {
    public var filename: String
    public var contentType: String
    public var bytes: [UInt8]
}

/// `multipart/form-data` bodies (RFC 7578): text fields and files, bounded by the body limit.
enum MultipartForm {
    static func parse(_ body: [UInt8], contentType: String) throws -> (
        fields: [String: String], files: [String: UploadedFile]
    ) {
        guard let boundaryRange = contentType.range(of: "boundary=") else {
            throw HygieWebError.badRequest("multipart form without a boundary")
        }
        var boundary = String(contentType[boundaryRange.upperBound...])
        if let semicolon = boundary.firstIndex(of: ";") { boundary = String(boundary[..<semicolon]) }
        boundary = boundary.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        guard !boundary.isEmpty, boundary.count <= 200 else {
            throw HygieWebError.badRequest("invalid multipart boundary")
        }
        let delimiter = Array("--\(boundary)".utf8)
        var fields: [String: String] = [:]
        var files: [String: UploadedFile] = [:]
        var positions: [Int] = []
        var index = 0
        while index + delimiter.count <= body.count {
            if body[index] == delimiter[0], Array(body[index..<(index + delimiter.count)]) == delimiter {
                positions.append(index)
                index += delimiter.count
            } else {
                index += 1
            }
        }
        guard positions.count >= 2 else { throw HygieWebError.badRequest("malformed multipart form") }
        for (start, end) in zip(positions, positions.dropFirst()) {
            var part = Array(body[(start + delimiter.count)..<end])
            // CRLF after the delimiter, and before the next one.
            if part.starts(with: [13, 10]) { part.removeFirst(2) }
            if part.count >= 2, part[part.count - 2] == 13, part[part.count - 1] == 10 { part.removeLast(2) }
            guard let split = headerEnd(part) else { throw HygieWebError.badRequest("malformed multipart part") }
            let headers = String(decoding: part[..<split], as: UTF8.self)
            let content = Array(part[(split + 4)...])
            var name: String?
            var filename: String?
            var type = "application/octet-stream"
            for line in headers.components(separatedBy: "\r\n") {
                let lower = line.lowercased()
                if lower.hasPrefix("content-disposition:") {
                    name = parameter("name", in: line)
                    filename = parameter("filename", in: line)
                } else if lower.hasPrefix("content-type:") {
                    type = String(line.dropFirst(13)).trimmingCharacters(in: .whitespaces)
                }
            }
            guard let name else { continue }
            if let filename {
                if !content.isEmpty || !filename.isEmpty {
                    files[name] = UploadedFile(filename: filename, contentType: type, bytes: content)
                }
            } else {
                guard let text = String(validating: content, as: UTF8.self) else {
                    throw HygieWebError.badRequest("the form is not valid UTF-8")
                }
                fields[name] = text
            }
        }
        return (fields, files)
    }

    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    static func parameter(_ key: String, in line: String) -> String? {
        for piece in line.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == key else { continue }
            return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
    }
}
