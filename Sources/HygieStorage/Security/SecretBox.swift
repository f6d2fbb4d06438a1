import Crypto
public import Foundation

/// Seals small secrets that Hygie must read back (TOTP seeds) with AES-256-GCM under the instance key.
///
/// The instance key comes from `hygie.security.secretKey` (base64 of 32 bytes; required to be identical on
/// every node of a PostgreSQL deployment) or, on a single node, from `<data-dir>/instance.key`, created with
/// mode 0600 on first start.
public struct SecretBox: Sendable {
    let keyData: Data
    var key: SymmetricKey { SymmetricKey(data: keyData) }

    /// - Throws: `HygieStorageError.configuration` unless `keyData` is 32 bytes.
    public init(keyData: Data) throws {
        guard keyData.count == 32 else {
            throw HygieStorageError.configuration("hygie.security.secretKey must be base64 of 32 bytes")
        }
        self.keyData = keyData
    }

    /// Loads the key file under `directory`, creating it if missing.
    public static func loadOrCreateKeyFile(in directory: String) throws -> SecretBox {
        let path = (directory as NSString).appendingPathComponent("instance.key")
        let manager = FileManager.default
        if let existing = manager.contents(atPath: path) {
            guard
                let decoded = Data(
                    base64Encoded: String(decoding: existing, as: UTF8.self).trimmingCharacters(
                        in: .whitespacesAndNewlines))
            else {
                throw HygieStorageError.configuration("\(path) is not base64")
            }
            return try SecretBox(keyData: decoded)
        }
        // try?: a failure shows in createFile below.
        try? manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let key = SecureRandom.bytes(32)
        guard
            manager.createFile(
                atPath: path, contents: Data(key.base64EncodedString().utf8), attributes: [.posixPermissions: 0o600])
        else { throw HygieStorageError.configuration("cannot write \(path)") }
        return try SecretBox(keyData: key)
    }

    public func seal(_ plaintext: Data) throws -> Data {
        // `combined` is non-nil for the default 12-byte nonce.
        try AES.GCM.seal(plaintext, using: key).combined!
    }

    public func open(_ sealed: Data) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key)
    }
}

/// Cryptographically secure random values (the system generator: getrandom(2) on Linux).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// `count` random bytes as unpadded base64url text.
    public static func token(bytes count: Int = 32) -> String {
        bytes(count).base64URLEncoded()
    }
}

extension Data {
    /// Unpadded base64url (RFC 4648 section 5).
    public func base64URLEncoded() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Lower-case hexadecimal SHA-256 of the data.
    public var sha256Hex: String {
        SHA256.hash(data: self).map { String(format: "%02x", $0) }.joined()
    }
}

extension String {
    /// Lower-case hexadecimal SHA-256 of the UTF-8 text.
    public var sha256Hex: String { Data(utf8).sha256Hex }
}
