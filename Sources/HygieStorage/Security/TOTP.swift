import Crypto
public import Foundation

/// Time-based one-time passwords (RFC 6238, HMAC-SHA-1, 6 digits, 30-second steps), as every
/// authenticator app implements them.
public struct TOTP: Sendable {
    public let secret: Data
    public let digits: Int
    public let period: TimeInterval

    public init(secret: Data, digits: Int = 6, period: TimeInterval = 30) {
        self.secret = secret
        self.digits = digits
        self.period = period
    }

    /// The time step containing `date`.
    public func step(at date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / period).rounded(.down))
    }

    /// The code of one time step.
    // SPEC: RFC 4226 section 5.3 (dynamic truncation), RFC 6238 section 4.
    public func code(forStep step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary =
            (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    /// The code valid at `date`.
    public func code(at date: Date) -> String { code(forStep: step(at: date)) }

    /// The step matched by `code` within ±`window` steps of `date`, if any, and only if it is later than
    /// `lastUsedStep` (a code already used, or an older one, is a replay and is refused).
    public func matchingStep(for code: String, at date: Date, window: Int64 = 1, after lastUsedStep: Int64) -> Int64? {
        let cleaned = code.filter { !$0.isWhitespace }
        guard cleaned.count == digits, cleaned.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let now = step(at: date)
        for candidate in (now - window)...(now + window) where candidate > lastUsedStep {
            if constantTimeEquals(self.code(forStep: candidate), cleaned) { return candidate }
        }
        return nil
    }

    /// The `otpauth://` URI that authenticator apps read from a QR code.
    public func provisioningURI(account: String, issuer: String) -> String {
        var components = URLComponents()
        components.scheme = "otpauth"
        components.host = "totp"
        components.path = "/\(issuer):\(account)"
        components.queryItems = [
            URLQueryItem(name: "secret", value: Base32.encode(secret)),
            URLQueryItem(name: "issuer", value: issuer),
            URLQueryItem(name: "algorithm", value: "SHA1"),
            URLQueryItem(name: "digits", value: String(digits)),
            URLQueryItem(name: "period", value: String(Int(period))),
        ]
        return components.string ?? ""
    }
}

/// Compares two strings in time that depends only on their length.
public func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
    let a = Array(lhs.utf8)
    let b = Array(rhs.utf8)
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}
