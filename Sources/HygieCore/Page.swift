public import Foundation

/// A position in a list ordered by `(created_at, id)`, for keyset pagination.
///
/// Its text form is opaque to clients: base64url of `<milliseconds>:<uuid>`.
public struct PageCursor: Sendable, Hashable {
    public let createdAt: Date
    public let id: UUID

    public init(createdAt: Date, id: UUID) {
        self.createdAt = createdAt
        self.id = id
    }

    /// Parses a cursor received from a client.
    /// - Throws: ``ValidationError`` for anything that is not a cursor Hygie produced.
    public init(token: String) throws {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard token.count <= 128, let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8)
        else { throw ValidationError(field: "cursor", message: "invalid cursor", key: "cursor") }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let millis = Int64(parts[0]), let uuid = UUID(uuidString: String(parts[1])) else {
            throw ValidationError(field: "cursor", message: "invalid cursor", key: "cursor")
        }
        self.init(createdAt: Date(timeIntervalSince1970: Double(millis) / 1000), id: uuid)
    }

    /// The opaque text given to clients.
    public var token: String {
        let millis = Int64((createdAt.timeIntervalSince1970 * 1000).rounded(.down))
        return Data("\(millis):\(id.uuidString.lowercased())".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// One page of results and the cursor of the next page, if any.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var next: PageCursor?

    public init(items: [Item], next: PageCursor?) {
        self.items = items
        self.next = next
    }
}

/// The size of a page, clamped to a sane range.
public struct PageSize: Sendable, Hashable {
    public let value: Int
    public static let `default` = PageSize(50)

    public init(_ requested: Int?) {
        value = min(max(requested ?? 50, 1), 500)
    }
}
