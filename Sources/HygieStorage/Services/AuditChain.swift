import Foundation

/// How one audit event is hashed into the chain: SHA-256 over the previous hash and the event's fields in a
/// fixed order, separated by the ASCII unit separator, with the time in whole milliseconds.
enum AuditChain {
    static let genesisHash = String(repeating: "0", count: 64)

    static func hash(of event: AuditEventModel) -> String {
        let fields: [String] = [
            String(event.sequence),
            event.establishmentID?.uuidString.lowercased() ?? "",
            event.actorUserID?.uuidString.lowercased() ?? "",
            event.actorName, event.actorRole, event.channel, event.action, event.objectType, event.objectID ?? "",
            event.summary, event.requestID ?? "", event.sourceAddress ?? "",
            String(milliseconds(event.createdAt)), event.previousHash,
        ]
        return fields.joined(separator: "\u{1F}").sha256Hex
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// The date as stored: whole milliseconds, so that both engines give back exactly what was hashed.
    static func truncated(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds(date)) / 1000)
    }
}
