import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore
import STIX

/// Maps every error to one status and body: JSON `{"error": {...}}` under `/api`, an HTML page elsewhere.
/// SQL, paths and stack traces never reach the client.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = HygieRequestContext
    let renderer: Renderer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let redirect as Redirect {
            return .redirect(redirect.location)
        } catch {
            var (status, code, message, retryAfter) = Self.classify(error)
            if let taxii = error as? TAXIIError { (status, code, message) = (taxii.status, "taxii", taxii.message) }
            if status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            } else if status == .unauthorized || status == .forbidden {
                context.logger.notice(
                    "request refused", metadata: ["status": "\(status.code)", "reason": "\(message)"])
            } else {
                context.logger.info("request rejected", metadata: ["status": "\(status.code)", "reason": "\(message)"])
            }
            let isAPI =
                request.uri.path.hasPrefix("/api/") || request.uri.path.hasPrefix("/health")
                || request.uri.path == "/metrics"
            var response: Response
            if request.uri.path.hasPrefix("/taxii2") {
                // TAXII 2.1 §3.6.1: error message resource, in the TAXII media type.
                let body: JSONValue = .object([
                    .init("title", .string(status.reasonPhrase)), .init("description", .string(message)),
                    .init("http_status", .string(String(status.code))),
                    .init("external_details", .string("request \(context.requestID)")),
                ])
                response = TAXIIController.response(body, status: status)
                if status == .unauthorized { response.headers[.wwwAuthenticate] = TAXIIController.realm }
            } else if isAPI {
                response = try JSONResponse.make(
                    ["error": ["code": code, "message": message, "request_id": context.requestID]], status: status)
            } else if status == .unauthorized {
                response = Response(status: .seeOther, headers: [.location: "/login"])
            } else {
                response = renderer.errorPage(status: status, message: message, context: context)
            }
            if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
            return response
        }
    }

    static func classify(_ error: any Error) -> (HTTPResponse.Status, String, String, Int?) {
        if let classified = error as? any ClassifiedError {
            switch classified.kind {
            case .notFound: return (.notFound, "not_found", classified.publicMessage, nil)
            case .badRequest: return (.badRequest, "bad_request", classified.publicMessage, nil)
            case .validation: return (.unprocessableContent, "validation_failed", classified.publicMessage, nil)
            case .conflict: return (.conflict, "conflict", classified.publicMessage, nil)
            case .forbidden: return (.forbidden, "forbidden", classified.publicMessage, nil)
            case .unauthorized: return (.unauthorized, "unauthorized", classified.publicMessage, nil)
            case .tooManyRequests:
                if case HygieCoreError.tooManyRequests(let seconds) = classified {
                    return (.tooManyRequests, "too_many_requests", classified.publicMessage, seconds)
                }
                return (.tooManyRequests, "too_many_requests", classified.publicMessage, 60)
            case .payloadTooLarge: return (.contentTooLarge, "payload_too_large", classified.publicMessage, nil)
            case .internalFailure: return (.internalServerError, "internal_error", "internal error", nil)
            }
        }
        if let httpError = error as? HTTPError {
            let message = httpError.body ?? httpError.status.reasonPhrase
            switch httpError.status {
            case .contentTooLarge: return (.contentTooLarge, "payload_too_large", "request body too large", nil)
            case .notFound: return (.notFound, "not_found", "not found", nil)
            case .methodNotAllowed: return (.methodNotAllowed, "method_not_allowed", "method not allowed", nil)
            default:
                if httpError.status.code < 500 { return (httpError.status, "bad_request", message, nil) }
            }
        }
        if error is DecodingError {
            return (.badRequest, "bad_request", "the body is not valid JSON for this operation", nil)
        }
        return (.internalServerError, "internal_error", "internal error", nil)
    }
}

/// JSON encoding for API responses.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }()

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
