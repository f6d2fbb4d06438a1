import Foundation

/// An IPv4 or IPv6 address with a prefix length (`10.0.0.0/8`, `2001:db8::/32`; a bare address is /32 or /128).
/// Addresses are held as 128 bits: IPv4 in the low 32 bits of `low`.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public var isIPv6: Bool
    public var high: UInt64
    public var low: UInt64
    public var prefixLength: Int

    public var bitCount: Int { isIPv6 ? 128 : 32 }

    public init?(_ text: String) {
        let trimmed = text.utf8.count > 64 ? "" : text
        var addressPart = Substring(trimmed)
        var prefix: Int?
        if let slash = trimmed.firstIndex(of: "/") {
            addressPart = trimmed[..<slash]
            let digits = trimmed[trimmed.index(after: slash)...]
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy(\.isASCII), let value = Int(digits) else {
                return nil
            }
            prefix = value
        }
        if let v4 = Self.parseIPv4(addressPart) {
            guard (prefix ?? 32) <= 32 else { return nil }
            isIPv6 = false
            high = 0
            prefixLength = prefix ?? 32
            low = UInt64(v4) & Self.mask32(prefixLength)
        } else if let (h, l) = Self.parseIPv6(addressPart) {
            guard (prefix ?? 128) <= 128 else { return nil }
            isIPv6 = true
            prefixLength = prefix ?? 128
            let (mh, ml) = Self.mask128(prefixLength)
            high = h & mh
            low = l & ml
        } else {
            return nil
        }
    }

    public init(ipv4: UInt32, prefixLength: Int = 32) {
        isIPv6 = false
        high = 0
        self.prefixLength = prefixLength
        low = UInt64(ipv4) & Self.mask32(prefixLength)
    }

    static func mask32(_ prefix: Int) -> UInt64 {
        prefix == 0 ? 0 : UInt64(UInt32.max << UInt32(32 - prefix))
    }

    static func mask128(_ prefix: Int) -> (UInt64, UInt64) {
        if prefix >= 64 {
            return (UInt64.max, prefix == 64 ? 0 : UInt64.max << UInt64(128 - prefix))
        }
        return (prefix == 0 ? 0 : UInt64.max << UInt64(64 - prefix), 0)
    }

    /// Whether `other` (an address or a smaller network of the same family) lies inside this network.
    public func contains(_ other: IPNetwork) -> Bool {
        guard other.isIPv6 == isIPv6, other.prefixLength >= prefixLength else { return false }
        if isIPv6 {
            let (mh, ml) = Self.mask128(prefixLength)
            return other.high & mh == high && other.low & ml == low
        }
        return other.low & Self.mask32(prefixLength) == low
    }

    /// Dotted quad to 32 bits; refuses leading zeros (ambiguous octal) and out-of-range parts.
    public static func parseIPv4(_ text: Substring) -> UInt32? {
        var value: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        var leadingZero = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0 else { return nil }
                value = value << 8 | part
                parts += 1
                part = 0
                digits = 0
                leadingZero = false
            } else if byte >= 0x30, byte <= 0x39 {
                if digits == 1 && leadingZero { return nil }
                if digits == 0 && byte == 0x30 { leadingZero = true }
                part = part * 10 + UInt32(byte - 0x30)
                digits += 1
                guard part <= 255, digits <= 3 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return value << 8 | part
    }

    /// RFC 4291 text form (with `::` and an embedded IPv4 tail) to two 64-bit halves.
    public static func parseIPv6(_ text: Substring) -> (UInt64, UInt64)? {
        var text = text
        if let percent = text.firstIndex(of: "%") { text = text[..<percent] }  // zone id
        guard text.contains(":"), text.utf8.count <= 45 else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ part: String, mayEndInIPv4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            var out: [UInt16] = []
            for (index, piece) in pieces.enumerated() {
                if mayEndInIPv4, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                } else {
                    guard !piece.isEmpty, piece.utf8.count <= 4, let group = UInt16(piece, radix: 16) else {
                        return nil
                    }
                    out.append(group)
                }
            }
            return out
        }
        var groups: [UInt16]
        if halves.count == 1 {
            guard let all = parseGroups(halves[0], mayEndInIPv4: true), all.count == 8 else { return nil }
            groups = all
        } else {
            guard let head = parseGroups(halves[0], mayEndInIPv4: false),
                let tail = parseGroups(halves[1], mayEndInIPv4: true),
                head.count + tail.count <= 7
            else { return nil }
            groups = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for group in groups[0..<4] { high = high << 16 | UInt64(group) }
        for group in groups[4..<8] { low = low << 16 | UInt64(group) }
        return (high, low)
    }

    public var description: String {
        if !isIPv6 {
            let v = UInt32(truncatingIfNeeded: low)
            let text = "\(v >> 24).\(v >> 16 & 255).\(v >> 8 & 255).\(v & 255)"
            return prefixLength == 32 ? text : "\(text)/\(prefixLength)"
        }
        var groups: [String] = []
        for half in [high, low] {
            for index in 0..<4 {
                let shift = UInt64(48 - 16 * index)
                groups.append(String(UInt16(truncatingIfNeeded: half >> shift), radix: 16))
            }
        }
        let text = groups.joined(separator: ":")
        return prefixLength == 128 ? text : "\(text)/\(prefixLength)"
    }

    /// Private, loopback, link-local, shared, documentation, multicast and unspecified ranges — addresses
    /// that are never worth an alert as a shared indicator (RFC 1918, 6598, 5737, 3927, 4193, 3849…).
    public var isNonPublic: Bool {
        Self.nonPublicRanges.contains { $0.contains(self) }
    }

    static let nonPublicRanges: [IPNetwork] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/3", "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32",
    ].compactMap { IPNetwork($0) }
}
