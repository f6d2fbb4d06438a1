/// A recipient's tracking id: 7 characters `[A-Za-z0-9]`, the shape GoPhish uses and its report add-ins parse.
public struct RecipientID: Sendable, Hashable, Codable, CustomStringConvertible {
    public static let length = 7
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    public let value: String

    /// A valid rid, or nil: anything else in a tracking URL is an unknown recipient.
    public init?(_ text: String) {
        guard text.count == Self.length, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return nil
        }
        value = text
    }

    /// A random rid (62^7 ≈ 3.5 × 10^12 values; the caller retries on the rare collision).
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> RecipientID {
        let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
        return RecipientID(text)!
    }

    public static func random() -> RecipientID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public var description: String { value }
}
