public import Foundation

/// A UUID tagged with the type it identifies, so that an `Establishment.ID` cannot be passed where a
/// `User.ID` is expected.
///
/// ```swift
/// let id = Establishment.ID()
/// let same = Establishment.ID(uuidString: id.uuidString)
/// ```
public struct Identifier<Tag>: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The underlying UUID.
    public let uuid: UUID

    /// Wraps an existing UUID.
    public init(_ uuid: UUID) { self.uuid = uuid }

    /// A new random identifier.
    public init() { self.uuid = UUID() }

    /// Parses an identifier from its canonical text form; `nil` when the text is not a UUID.
    public init?(uuidString: String) {
        guard let uuid = UUID(uuidString: uuidString) else { return nil }
        self.uuid = uuid
    }

    /// The lower-case canonical text form.
    public var uuidString: String { uuid.uuidString.lowercased() }

    public var description: String { uuidString }

    public init(from decoder: any Decoder) throws {
        self.uuid = try decoder.singleValueContainer().decode(UUID.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(uuidString)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.uuidString < rhs.uuidString }
}
