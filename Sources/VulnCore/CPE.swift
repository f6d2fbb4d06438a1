/// A CPE 2.3 name (NISTIR 7695), with name matching per NISTIR 7696.
public struct CPE: Sendable, Hashable, CustomStringConvertible {
    /// One attribute: ANY (`*`), NA (`-`) or a value kept in formatted-string form (lower case, with its
    /// backslash escapes; an unescaped `*` or `?` at either end is a wildcard).
    public enum Value: Sendable, Hashable {
        case any
        case na
        case value(String)

        public var text: String {
            switch self {
            case .any: return "*"
            case .na: return "-"
            case .value(let value): return value
            }
        }
    }

    public static let attributeNames = [
        "part", "vendor", "product", "version", "update", "edition", "language", "sw_edition", "target_sw",
        "target_hw", "other",
    ]

    /// The eleven attributes in order: part, vendor, product, version, update, edition, language,
    /// sw_edition, target_sw, target_hw, other.
    public private(set) var attributes: [Value]

    public var part: Value { attributes[0] }
    public var vendor: Value { attributes[1] }
    public var product: Value { attributes[2] }
    public var version: Value { attributes[3] }
    public var update: Value { attributes[4] }

    public var description: String { "cpe:2.3:" + attributes.map(\.text).joined(separator: ":") }

    /// Vendor and product without escapes, as an index key (`vendor:product`).
    public var productKey: String { "\(CPE.unescaped(vendor.text)):\(CPE.unescaped(product.text))" }

    /// The version as plain text, or nil when it is ANY or NA.
    public var versionText: String? {
        if case .value(let value) = version { return CPE.unescaped(value) }
        return nil
    }

    public init(attributes: [Value]) {
        precondition(attributes.count == 11)
        self.attributes = attributes
    }

    /// A copy with another version (plain text, escaped here).
    public func with(version text: String) -> CPE {
        var copy = self
        copy.attributes[3] = .value(CPE.escaped(text.lowercased()))
        return copy
    }

    /// Parses a CPE 2.3 formatted string or a CPE 2.2 URI (`cpe:/a:vendor:product:version`, as nmap writes).
    public init(parsing text: String) throws(CPEError) {
        if text.hasPrefix("cpe:/") || text.hasPrefix("CPE:/") {
            self = try CPE.fromURI(text)
            return
        }
        guard text.count <= 2048 else { throw CPEError("CPE name longer than 2,048 characters") }
        let bytes = Array(text.utf8)
        let prefix = Array("cpe:2.3:".utf8)
        guard bytes.count > prefix.count, bytes[0..<prefix.count].map({ $0 | 0x20 }) == prefix.map({ $0 | 0x20 })
        else { throw CPEError("\(text) is not a CPE 2.3 name (expected cpe:2.3:…)") }
        var components: [[UInt8]] = [[]]
        var index = prefix.count
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count else { throw CPEError("\(text): a backslash ends the name") }
                // `\.` and `\_` are the same as `.` and `_` (and `\-` inside a value as `-`).
                let next = bytes[index + 1]
                if next == UInt8(ascii: ".") || next == UInt8(ascii: "_")
                    || (next == UInt8(ascii: "-") && !components[components.count - 1].isEmpty)
                {
                    components[components.count - 1].append(next)
                } else {
                    components[components.count - 1] += [byte, next]
                }
                index += 2
                continue
            }
            if byte == UInt8(ascii: ":") {
                components.append([])
            } else {
                guard byte > 0x20, byte < 0x7F else { throw CPEError("\(text): invalid character in a CPE name") }
                components[components.count - 1].append(byte)
            }
            index += 1
        }
        guard components.count == 11 else {
            throw CPEError("\(text): a CPE 2.3 name has 11 attributes after cpe:2.3:, found \(components.count)")
        }
        var attributes: [Value] = []
        for (position, component) in components.enumerated() {
            let value = String(decoding: component.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
            switch value {
            case "*": attributes.append(.any)
            case "-": attributes.append(.na)
            case "": throw CPEError("\(text): attribute \(CPE.attributeNames[position]) is empty")
            default:
                try CPE.checkWildcards(value, in: text)
                attributes.append(.value(value))
            }
        }
        guard case .value(let part) = attributes[0], ["a", "o", "h"].contains(part) else {
            if attributes[0] == .any { self.attributes = attributes; return }
            throw CPEError("\(text): the part must be a, o, h or *")
        }
        self.attributes = attributes
    }

    /// Unescaped `*` may only open or close a value, and `?` only in runs at either end.
    static func checkWildcards(_ value: String, in text: String) throws(CPEError) {
        let bytes = Array(value.utf8)
        var index = 0
        var positions: [Int] = []
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if bytes[index] == UInt8(ascii: "*") || bytes[index] == UInt8(ascii: "?") { positions.append(index) }
            index += 1
        }
        for position in positions {
            let leading = bytes[0..<position].allSatisfy { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "*") }
            let trailing = bytes[(position + 1)...].allSatisfy { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "*") }
            guard leading || trailing else { throw CPEError("\(text): a wildcard may only open or close a value") }
        }
    }

    static func fromURI(_ text: String) throws(CPEError) -> CPE {
        guard text.count <= 2048 else { throw CPEError("CPE name longer than 2,048 characters") }
        let body = text.dropFirst(5)
        var parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.count <= 7 else { throw CPEError("\(text): a CPE 2.2 URI has at most 7 parts") }
        while parts.count < 7 { parts.append("") }
        var values: [Value] = []
        for (position, part) in parts.enumerated() {
            if position == 5, part.hasPrefix("~") {
                // Packed edition: ~edition~sw_edition~target_sw~target_hw~other
                let packed = part.dropFirst().split(separator: "~", omittingEmptySubsequences: false).map(String.init)
                guard packed.count == 5 else { throw CPEError("\(text): malformed packed edition") }
                for item in packed { values.append(try decodeURIComponent(item, in: text)) }
                continue
            }
            values.append(try decodeURIComponent(part, in: text))
            if position == 5 { values += [.any, .any, .any, .any] }
        }
        // values: part … update, edition, sw_edition, target_sw, target_hw, other, language.
        let attributes = Array(values[0..<6]) + [values[10]] + Array(values[6..<10])
        guard case .value(let part) = attributes[0], ["a", "o", "h"].contains(part) else {
            throw CPEError("\(text): the part must be a, o or h")
        }
        return CPE(attributes: attributes)
    }

    static func decodeURIComponent(_ text: String, in name: String) throws(CPEError) -> Value {
        if text.isEmpty { return .any }
        if text == "-" { return .na }
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            var byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count,
                    let decoded = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
                else { throw CPEError("\(name): malformed percent-encoding") }
                index += 3
                if decoded == 0x01 {
                    out.append(UInt8(ascii: "?"))
                    continue
                }
                if decoded == 0x02 {
                    out.append(UInt8(ascii: "*"))
                    continue
                }
                byte = decoded
            } else {
                index += 1
            }
            if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
            guard byte > 0x20, byte < 0x7F else { throw CPEError("\(name): invalid character") }
            if !CPE.unquoted(byte) { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        return .value(String(decoding: out, as: UTF8.self))
    }

    /// Characters a formatted string writes without a backslash.
    static func unquoted(_ byte: UInt8) -> Bool {
        Versions.isDigit(byte) || Versions.isLetter(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "-")
    }

    /// Removes backslash escapes.
    public static func unescaped(_ value: String) -> String {
        guard value.contains("\\") else { return value }
        var out: [UInt8] = []
        var escaping = false
        for byte in value.utf8 {
            if !escaping, byte == UInt8(ascii: "\\") {
                escaping = true
                continue
            }
            escaping = false
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Escapes every character other than letters, digits and `_` (formatted-string form).
    public static func escaped(_ text: String) -> String {
        var out: [UInt8] = []
        for byte in text.utf8 {
            if !CPE.unquoted(byte), byte < 0x80 { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: matching (NISTIR 7696)

    public enum Relation: Sendable { case superset, equal, `subset`, disjoint, undefined }

    /// True when every attribute of this name is a superset of or equal to the target's (the name
    /// matches the target). With `ignoringVersion` the version attribute is left to range checks.
    public func matches(_ target: CPE, ignoringVersion: Bool = false) -> Bool {
        for index in 0..<11 where !(ignoringVersion && index == 3) {
            switch CPE.relation(attributes[index], target.attributes[index]) {
            case .superset, .equal: continue
            default: return false
            }
        }
        return true
    }

    static func relation(_ source: Value, _ target: Value) -> Relation {
        switch (source, target) {
        case (.any, .any): return .equal
        case (.any, _): return .superset
        case (.na, .na): return .equal
        case (.na, .any): return .subset
        case (.na, .value): return .disjoint
        case (.value, .any): return .subset
        case (.value, .na): return .disjoint
        case (.value(let s), .value(let t)):
            if hasWildcard(t) { return .undefined }
            if s == t { return .equal }
            if hasWildcard(s), wildcardMatch(pattern: s, t) { return .superset }
            return .disjoint
        }
    }

    static func hasWildcard(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, let last = bytes.last else { return false }
        if first == UInt8(ascii: "*") || first == UInt8(ascii: "?") { return true }
        if last == UInt8(ascii: "*") || last == UInt8(ascii: "?") {
            return bytes.count < 2 || bytes[bytes.count - 2] != UInt8(ascii: "\\")
        }
        return false
    }

    /// Characters of a formatted value (an escape and its character count as one).
    static func characters(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let width = bytes[index] == UInt8(ascii: "\\") && index + 1 < bytes.endIndex ? 2 : 1
            result.append(bytes[index..<(index + width)])
            index += width
        }
        return result
    }

    static func wildcardMatch(pattern: String, _ target: String) -> Bool {
        let bytes = Array(pattern.utf8)
        var start = 0
        var end = bytes.count
        var leadingStar = false
        var leadingQuestions = 0
        while start < end, bytes[start] == UInt8(ascii: "*") || bytes[start] == UInt8(ascii: "?") {
            if bytes[start] == UInt8(ascii: "*") { leadingStar = true } else { leadingQuestions += 1 }
            start += 1
        }
        var trailingStar = false
        var trailingQuestions = 0
        while end > start, bytes[end - 1] == UInt8(ascii: "*") || bytes[end - 1] == UInt8(ascii: "?"),
            end - 2 < start || bytes[end - 2] != UInt8(ascii: "\\")
        {
            if bytes[end - 1] == UInt8(ascii: "*") { trailingStar = true } else { trailingQuestions += 1 }
            end -= 1
        }
        let literal = characters(bytes[start..<end])
        let chars = characters(Array(target.utf8)[...])
        for offset in 0...max(0, chars.count) {
            guard offset + literal.count <= chars.count else { break }
            let before = offset
            let after = chars.count - offset - literal.count
            let beforeOK = leadingStar ? before >= leadingQuestions : before == leadingQuestions
            let afterOK = trailingStar ? after >= trailingQuestions : after == trailingQuestions
            guard beforeOK, afterOK else { continue }
            if Array(chars[offset..<(offset + literal.count)]) == literal { return true }
        }
        return false
    }
}

public struct CPEError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
