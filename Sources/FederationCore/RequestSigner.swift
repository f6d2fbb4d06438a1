import Crypto
public import Foundation

/// Signed requests between an establishment and its hub: `HMAC-SHA-256(secret, method \n path \n timestamp \n
/// SHA-256(body))`, hexadecimal, with the member id and the timestamp (Unix seconds) in headers. The hub accepts
/// five minutes of clock difference; replays within that window are harmless because every push is idempotent.
public enum RequestSigner {
    public static let memberHeader = "X-Hygie-Member"
    public static let timestampHeader = "X-Hygie-Timestamp"
    public static let signatureHeader = "X-Hygie-Signature"
    public static let window: TimeInterval = 300

    /// The headers of a signed `POST` (member, time, signature) with the JSON content type.
    public static func headers(member: UUID, secret: String, path: String, body: [UInt8], now: Date) -> [String: String]
    {
        let timestamp = Int64(now.timeIntervalSince1970)
        return [
            memberHeader: member.uuidString, timestampHeader: String(timestamp),
            signatureHeader: signature(secret: secret, method: "POST", path: path, timestamp: timestamp, body: body),
            "Content-Type": "application/json",
        ]
    }

    public static func signature(secret: String, method: String, path: String, timestamp: Int64, body: [UInt8])
        -> String
    {
        let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        let message = "\(method.uppercased())\n\(path)\n\(timestamp)\n\(digest)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Throws `unauthorized` for a bad, stale or malformed signature; compares in constant time.
    public static func verify(
        secret: String, method: String, path: String, timestamp: String?, signature: String?, body: [UInt8], now: Date
    ) throws(FederationError) {
        guard let timestamp, let seconds = Int64(timestamp), let signature else {
            throw FederationError.unauthorized("missing signature headers")
        }
        guard abs(now.timeIntervalSince1970 - Double(seconds)) <= window else {
            throw FederationError.unauthorized("the request's time is more than five minutes off")
        }
        let expected = Array(
            self.signature(secret: secret, method: method, path: path, timestamp: seconds, body: body).utf8)
        let given = Array(signature.lowercased().utf8)
        guard expected.count == given.count else { throw FederationError.unauthorized("bad signature") }
        var difference: UInt8 = 0
        for (left, right) in zip(expected, given) { difference |= left ^ right }
        guard difference == 0 else { throw FederationError.unauthorized("bad signature") }
    }

    /// Hub URLs are HTTPS, except on this machine (tests, a hub and establishments sharing a host).
    public static func checkHubURL(_ text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else { return "not a URL" }
        if scheme == "https" { return nil }
        if scheme == "http", ["127.0.0.1", "::1", "localhost", "[::1]"].contains(host) { return nil }
        return "a hub is reached over HTTPS (plain HTTP only on this machine)"
    }
}
