import Foundation

/// A compiled regular expression (Sigma `re`), shareable between threads once built.
final class RegexBox: @unchecked Sendable {
    let expression: NSRegularExpression
    let pattern: String
    init(_ pattern: String, options: NSRegularExpression.Options) throws {
        self.pattern = pattern
        expression = try NSRegularExpression(pattern: pattern, options: options)
    }

    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return expression.firstMatch(in: text, options: [], range: range) != nil
    }
}

/// Parts of a date a time modifier extracts.
enum TimePart: String, Sendable, CaseIterable {
    case minute, hour, day, week, month, year
}

/// A test of one event value.
enum ValueTest: Sendable {
    case string(StringComparison, cased: Bool)
    case regex(RegexBox)
    case cidr(CIDRBlock)
    case numeric(CountCondition.Operator, Double)
    case timePart(TimePart, CountCondition.Operator, Double)
    case null
    case fieldReference(FieldID, cased: Bool)
}

/// The evaluation plan of a rule.
indirect enum PlanNode: Sendable {
    /// Some value of `field` passes some test.
    case field(FieldID, [ValueTest])
    case exists(FieldID, Bool)
    /// Some value of the event (any field) passes some test.
    case keyword([ValueTest])
    case and([PlanNode])
    case or([PlanNode])
    case not(PlanNode)
    case atLeast(Int, [PlanNode])
    case constant(Bool)

    /// Fields the plan reads, for showing what matched.
    func collectFields(into set: inout [FieldID]) {
        switch self {
        case .field(let id, let tests):
            if !set.contains(id) { set.append(id) }
            for case .fieldReference(let other, _) in tests where !set.contains(other) { set.append(other) }
        case .exists(let id, _): if !set.contains(id) { set.append(id) }
        case .keyword, .constant: break
        case .and(let nodes), .or(let nodes), .atLeast(_, let nodes):
            for node in nodes { node.collectFields(into: &set) }
        case .not(let node): node.collectFields(into: &set)
        }
    }
}

@inline(__always)
func compare(_ x: Double, _ op: CountCondition.Operator, _ bound: Double) -> Bool {
    switch op {
    case .gt: x > bound
    case .gte: x >= bound
    case .lt: x < bound
    case .lte: x <= bound
    case .eq: x == bound
    case .neq: x != bound
    }
}

/// Value of a hexadecimal digit (either case).
@inline(__always)
func hexDigitValue(_ byte: UInt8) -> Int? {
    if byte >= 0x30 && byte <= 0x39 { return Int(byte - 0x30) }
    let lowered = byte | 0x20
    if lowered >= 0x61 && lowered <= 0x66 { return Int(lowered - 0x61 + 10) }
    return nil
}

/// Decimal (or `0x` hexadecimal) number from bytes, without allocating.
func parseNumber(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
    var index = 0
    let count = bytes.count
    while index < count, bytes[index] == 0x20 { index += 1 }
    guard index < count else { return nil }
    var negative = false
    if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
        negative = bytes[index] == UInt8(ascii: "-")
        index += 1
    }
    if count - index > 2, bytes[index] == UInt8(ascii: "0"), bytes[index + 1] | 0x20 == UInt8(ascii: "x") {
        var value: UInt64 = 0
        index += 2
        guard index < count else { return nil }
        while index < count {
            guard let digit = hexDigitValue(bytes[index]) else { return nil }
            value = value &* 16 &+ UInt64(digit)
            index += 1
        }
        return negative ? -Double(value) : Double(value)
    }
    var mantissa: Double = 0
    var digits = 0
    while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
        mantissa = mantissa * 10 + Double(bytes[index] - 0x30)
        index += 1
        digits += 1
    }
    if index < count, bytes[index] == UInt8(ascii: ".") {
        index += 1
        var scale = 0.1
        while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            mantissa += Double(bytes[index] - 0x30) * scale
            scale /= 10
            index += 1
            digits += 1
        }
    }
    guard digits > 0 else { return nil }
    if index < count, bytes[index] | 0x20 == UInt8(ascii: "e") {
        index += 1
        var exponentNegative = false
        if index < count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            exponentNegative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var exponent = 0
        var exponentDigits = 0
        while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39, exponent < 400 {
            exponent = exponent * 10 + Int(bytes[index] - 0x30)
            index += 1
            exponentDigits += 1
        }
        guard exponentDigits > 0 else { return nil }
        mantissa *= pow(10, Double(exponentNegative ? -exponent : exponent))
    }
    while index < count, bytes[index] == 0x20 { index += 1 }
    guard index == count else { return nil }
    return negative ? -mantissa : mantissa
}

// MARK: - IP addresses

/// An IPv4 or IPv6 address as 128 bits (IPv4 in the low 32 bits, flagged).
struct IPAddress: Sendable, Hashable {
    var high: UInt64
    var low: UInt64
    var isV4: Bool

    init(high: UInt64, low: UInt64, isV4: Bool) {
        self.high = high
        self.low = low
        self.isV4 = isV4
    }

    init?(_ text: String) {
        var copy = text
        guard let parsed = copy.withUTF8({ IPAddress(bytes: $0) }) else { return nil }
        self = parsed
    }

    init?(bytes: UnsafeBufferPointer<UInt8>) {
        if let v4 = IPAddress.parseV4(bytes, 0, bytes.count) {
            self.init(high: 0, low: UInt64(v4), isV4: true)
            return
        }
        guard let (high, low) = IPAddress.parseV6(bytes) else { return nil }
        // IPv4-mapped addresses compare as IPv4.
        if high == 0, low >> 32 == 0xFFFF {
            self.init(high: 0, low: low & 0xFFFF_FFFF, isV4: true)
        } else {
            self.init(high: high, low: low, isV4: false)
        }
    }

    static func parseV4(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt32? {
        var result: UInt32 = 0
        var octets = 0
        var index = start
        while octets < 4 {
            var value = 0
            var digits = 0
            while index < end, bytes[index] >= 0x30, bytes[index] <= 0x39, digits < 4 {
                value = value * 10 + Int(bytes[index] - 0x30)
                index += 1
                digits += 1
            }
            guard digits > 0, digits < 4, value <= 255 else { return nil }
            result = result << 8 | UInt32(value)
            octets += 1
            if octets < 4 {
                guard index < end, bytes[index] == UInt8(ascii: ".") else { return nil }
                index += 1
            }
        }
        return index == end ? result : nil
    }

    static func parseV6(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        var end = bytes.count
        // Zone index (fe80::1%eth0) is ignored.
        for index in 0..<bytes.count where bytes[index] == UInt8(ascii: "%") {
            end = index
            break
        }
        var groups: [UInt16] = []
        groups.reserveCapacity(8)
        var gap: Int? = nil
        var index = 0
        if end >= 2, bytes[0] == UInt8(ascii: ":"), bytes[1] == UInt8(ascii: ":") {
            gap = 0
            index = 2
        } else if end >= 1, bytes[0] == UInt8(ascii: ":") {
            return nil
        }
        while index < end {
            // Embedded IPv4 at the tail.
            var dot = false
            var scan = index
            while scan < end, bytes[scan] != UInt8(ascii: ":") {
                if bytes[scan] == UInt8(ascii: ".") { dot = true }
                scan += 1
            }
            if dot {
                guard scan == end, let v4 = parseV4(bytes, index, end) else { return nil }
                groups.append(UInt16(v4 >> 16))
                groups.append(UInt16(v4 & 0xFFFF))
                index = end
                break
            }
            var value = 0
            var digits = 0
            while index < end, digits < 5, let digit = hexDigitValue(bytes[index]) {
                value = value * 16 + digit
                digits += 1
                index += 1
            }
            guard digits > 0, digits <= 4 else { return nil }
            groups.append(UInt16(value))
            if index == end { break }
            guard bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            if index < end, bytes[index] == UInt8(ascii: ":") {
                guard gap == nil else { return nil }
                gap = groups.count
                index += 1
            } else if index == end {
                return nil
            }
        }
        if let gap {
            guard groups.count < 8 else { return nil }
            groups.insert(contentsOf: Array(repeating: 0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for k in 0..<4 { high = high << 16 | UInt64(groups[k]) }
        for k in 4..<8 { low = low << 16 | UInt64(groups[k]) }
        return (high, low)
    }
}

/// A network block for the `cidr` modifier.
struct CIDRBlock: Sendable, Hashable {
    var network: IPAddress
    var prefix: Int

    init?(_ text: String) {
        let pieces = text.split(separator: "/", omittingEmptySubsequences: false)
        guard let address = IPAddress(String(pieces[0])) else { return nil }
        let maximum = address.isV4 ? 32 : 128
        var prefix = maximum
        if pieces.count == 2 {
            guard let value = Int(pieces[1]), value >= 0, value <= maximum else { return nil }
            prefix = value
        } else if pieces.count > 2 {
            return nil
        }
        self.network = address
        self.prefix = prefix
    }

    func contains(_ address: IPAddress) -> Bool {
        guard address.isV4 == network.isV4 else { return false }
        if network.isV4 {
            if prefix == 0 { return true }
            let mask = UInt64(0xFFFF_FFFF) << UInt64(32 - prefix) & 0xFFFF_FFFF
            return address.low & mask == network.low & mask
        }
        if prefix == 0 { return true }
        if prefix <= 64 {
            let mask = prefix == 64 ? UInt64.max : ~(UInt64.max >> UInt64(prefix))
            return address.high & mask == network.high & mask
        }
        guard address.high == network.high else { return false }
        let bits = prefix - 64
        let mask = bits == 64 ? UInt64.max : ~(UInt64.max >> UInt64(bits))
        return address.low & mask == network.low & mask
    }
}
