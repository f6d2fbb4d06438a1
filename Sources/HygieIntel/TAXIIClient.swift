import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import STIX

/// A minimal TAXII 2.1 client for one remote collection (its URL ends with `/collections/<id>/`): get objects
/// page by page with `added_after` and `next`, and add objects. Transient failures (network errors, 429, 5xx)
/// are retried with exponential backoff.
struct TAXIIClient: Sendable {
    static let taxiiType = "application/taxii+json;version=2.1"

    let collectionURL: String
    let authorization: String?
    let timeout: TimeAmount
    let attempts: Int
    let firstDelay: Duration

    init(
        collectionURL: String, username: String?, secret: String?, timeout: TimeAmount = .seconds(30),
        attempts: Int = 3,
        firstDelay: Duration = .milliseconds(500)
    ) {
        self.collectionURL = collectionURL.hasSuffix("/") ? collectionURL : collectionURL + "/"
        if let secret, !secret.isEmpty {
            if let username, !username.isEmpty {
                authorization = "Basic " + Data("\(username):\(secret)".utf8).base64EncodedString()
            } else {
                authorization = "Bearer " + secret
            }
        } else {
            authorization = nil
        }
        self.timeout = timeout
        self.attempts = attempts
        self.firstDelay = firstDelay
    }

    /// Remote collection URLs must be HTTPS, except on loopback (tests, a hub on the same machine).
    static func checkURL(_ text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host else {
            return "not a URL"
        }
        if scheme == "https" { return nil }
        if scheme == "http", ["127.0.0.1", "::1", "localhost", "[::1]"].contains(host) { return nil }
        return "TAXII feeds use HTTPS (plain HTTP only to this machine)"
    }

    struct Page {
        var body: [UInt8]
        var more: Bool
        var next: String?
        var lastAdded: String?
    }

    struct RemoteError: Error, CustomStringConvertible {
        var description: String
        var transient: Bool
    }

    func getObjects(addedAfter: String?, next: String?, limit: Int) async throws -> Page {
        var query = ["limit=\(limit)"]
        if let addedAfter {
            query.append(
                "added_after=" + (addedAfter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? addedAfter)
            )
        }
        if let next {
            query.append("next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? next))
        }
        let (status, headers, body) = try await send(
            .GET, collectionURL + "objects/?" + query.joined(separator: "&"), body: nil)
        guard status == 200 else { throw Self.failure(status, body) }
        let envelope = try JSONParser.parse(body)
        return Page(
            body: body, more: envelope["more"]?.boolValue ?? false, next: envelope["next"]?.stringValue,
            lastAdded: headers.first(name: "X-TAXII-Date-Added-Last"))
    }

    /// Posts an envelope; returns the status resource (failures the remote reported are not errors here).
    func addObjects(_ envelope: [UInt8]) async throws -> JSONValue {
        let (status, _, body) = try await send(.POST, collectionURL + "objects/", body: envelope)
        guard status == 202 || status == 200 else { throw Self.failure(status, body) }
        return try JSONParser.parse(body)
    }

    static func failure(_ status: Int, _ body: [UInt8]) -> RemoteError {
        let detail = (try? JSONParser.parse(body)).flatMap {
            $0["description"]?.stringValue ?? $0["title"]?.stringValue
        }  // error bodies are optional
        return RemoteError(
            description: "HTTP \(status)" + (detail.map { ": \($0.prefix(200))" } ?? ""),
            transient: status == 429 || status >= 500)
    }

    func send(_ method: HTTPMethod, _ url: String, body: [UInt8]?) async throws -> (Int, HTTPHeaders, [UInt8]) {
        var delay = firstDelay
        var lastError: any Error = RemoteError(description: "no attempt", transient: true)
        for attempt in 1...max(1, attempts) {
            do {
                var request = HTTPClientRequest(url: url)
                request.method = method
                request.headers.add(name: "Accept", value: Self.taxiiType)
                request.headers.add(name: "User-Agent", value: "Hygie TAXII client")
                if let authorization { request.headers.add(name: "Authorization", value: authorization) }
                if let body {
                    request.headers.add(name: "Content-Type", value: Self.taxiiType)
                    request.body = .bytes(ByteBuffer(bytes: body))
                }
                let response = try await HTTPClient.shared.execute(request, timeout: timeout)
                let collected = try await response.body.collect(upTo: 256 << 20)
                let status = Int(response.status.code)
                if (status == 429 || status >= 500) && attempt < attempts {
                    lastError = Self.failure(status, Array(collected.readableBytesView))
                } else {
                    return (status, response.headers, Array(collected.readableBytesView))
                }
            } catch let error as JSONParseError {
                throw RemoteError(description: "the remote answered invalid JSON: \(error)", transient: false)
            } catch {
                lastError = error
            }
            if attempt < attempts {
                try await Task.sleep(for: delay)
                delay *= 2
            }
        }
        throw lastError
    }
}
