import Foundation

/// A value a single-comparison indicator looks for, normalised the way log fields are normalised before lookup.
public enum IOC: Sendable, Hashable, CustomStringConvertible {
    case ip(IPNetwork)
    case domain(String)
    case url(String)
    case hash(algorithm: String, value: String)
    case email(String)

    public var kind: String {
        switch self {
        case .ip: return "ip"
        case .domain: return "domain"
        case .url: return "url"
        case .hash: return "hash"
        case .email: return "email"
        }
    }

    public var value: String {
        switch self {
        case .ip(let network): return network.description
        case .domain(let text), .url(let text), .email(let text): return text
        case .hash(_, let text): return text
        }
    }

    public var description: String { "\(kind):\(value)" }

    /// The STIX observable type and property this IOC stands for (for sightings and exports).
    public var stixPath: String {
        switch self {
        case .ip(let network): return network.isIPv6 ? "ipv6-addr:value" : "ipv4-addr:value"
        case .domain: return "domain-name:value"
        case .url: return "url:value"
        case .hash(let algorithm, _): return "file:hashes.'\(algorithm)'"
        case .email: return "email-addr:value"
        }
    }

    /// The STIX pattern that looks for exactly this value.
    public var stixPattern: String {
        "[\(stixPath) \(stixOperator) '\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'"))']"
    }

    var stixOperator: String {
        if case .ip(let network) = self, network.prefixLength < network.bitCount { return "ISSUBSET" }
        return "="
    }

    /// Lowercase (ASCII), without trailing dots. Lookups normalise log values the same way, byte by byte.
    public static func normalizedDomain(_ text: String) -> String {
        String(decoding: Normalization.bytes(text, .domain), as: UTF8.self)
    }

    /// Scheme and host are case-insensitive (ASCII); the rest of a URL is kept as is.
    public static func normalizedURL(_ text: String) -> String {
        String(decoding: Normalization.bytes(text, .url), as: UTF8.self)
    }

    static let hashAlgorithms: [String: String] = [
        "md5": "MD5", "sha-1": "SHA-1", "sha1": "SHA-1", "sha-256": "SHA-256", "sha256": "SHA-256",
        "sha-512": "SHA-512", "sha512": "SHA-512", "sha3-256": "SHA3-256", "sha3-512": "SHA3-512", "ssdeep": "SSDEEP",
        "tlsh": "TLSH",
    ]

    /// Builds an IOC from a STIX object path and a literal, when the pair is one the index handles.
    init?(path: ObjectPath, op: PropertyTest.Operator, literal: String) {
        guard case .property(let first) = path.steps.first else { return nil }
        switch (path.objectType, path.steps.count, first) {
        case ("ipv4-addr", 1, "value"), ("ipv6-addr", 1, "value"):
            guard let network = IPNetwork(literal), network.isIPv6 == (path.objectType == "ipv6-addr") else {
                return nil
            }
            if op == .equal, network.prefixLength < network.bitCount, !literal.contains("/") { return nil }
            self = .ip(network)
        case ("domain-name", 1, "value"):
            guard op == .equal else { return nil }
            self = .domain(Self.normalizedDomain(literal))
        case ("url", 1, "value"):
            guard op == .equal else { return nil }
            self = .url(Self.normalizedURL(literal))
        case ("email-addr", 1, "value"):
            guard op == .equal else { return nil }
            self = .email(String(decoding: Normalization.bytes(literal, .lower), as: UTF8.self))
        case ("file", 2, "hashes"):
            guard op == .equal, case .property(let name) = path.steps[1],
                let algorithm = Self.hashAlgorithms[name.lowercased()]
            else { return nil }
            self = .hash(
                algorithm: algorithm, value: String(decoding: Normalization.bytes(literal, .lower), as: UTF8.self))
        default:
            return nil
        }
    }

    /// The IOCs of a pattern that is only a disjunction of equality (or `IN`, or CIDR `ISSUBSET`) tests on
    /// addresses, domains, URLs, e-mail addresses and file hashes, without qualifiers; nil for any other pattern
    /// (those are evaluated over observed data, not indexed).
    public static func extract(from pattern: STIXPattern) -> [IOC]? {
        var found: [IOC] = []
        func observation(_ expression: ObservationExpression) -> Bool {
            switch expression {
            case .observation(let comparison): return self.comparison(comparison, into: &found)
            case .or(let left, let right): return observation(left) && observation(right)
            default: return false
            }
        }
        return observation(pattern.expression) && !found.isEmpty ? found : nil
    }

    static func comparison(_ expression: ComparisonExpression, into found: inout [IOC]) -> Bool {
        switch expression {
        case .or(let left, let right):
            return comparison(left, into: &found) && comparison(right, into: &found)
        case .and:
            return false
        case .test(let test):
            guard !test.negated else { return false }
            switch (test.op, test.value) {
            case (.equal, .string(let text)), (.isSubset, .string(let text)):
                guard let ioc = IOC(path: test.path, op: test.op, literal: text) else { return false }
                found.append(ioc)
                return true
            case (.in, .set(let items)):
                for item in items {
                    guard case .string(let text) = item, let ioc = IOC(path: test.path, op: .equal, literal: text)
                    else {
                        return false
                    }
                    found.append(ioc)
                }
                return true
            default:
                return false
            }
        }
    }
}

/// How a kind of value is normalised before it is compared: the same rules for indicators (when indexed) and for
/// log values (when looked up), applied byte by byte so that a lookup allocates nothing.
enum Normalization {
    case domain  // ASCII lowercase, trailing dots dropped
    case url  // scheme and host in ASCII lowercase
    case lower  // ASCII lowercase (hashes, e-mail addresses)

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }

    /// Calls `body` with each normalised byte.
    @inline(__always)
    static func forEach(_ bytes: UnsafeBufferPointer<UInt8>, _ mode: Normalization, _ body: (UInt8) -> Void) {
        var end = bytes.count
        if mode == .domain { while end > 0, bytes[end - 1] == UInt8(ascii: ".") { end -= 1 } }
        if mode == .url {
            // Lowercase up to the end of the host: the first '/', '?' or '#' after "://". Without a scheme, as is.
            var hasScheme = false
            var scan = 0
            while scan + 2 < min(end, 24) {
                if bytes[scan] == UInt8(ascii: ":"), bytes[scan + 1] == UInt8(ascii: "/"),
                    bytes[scan + 2] == UInt8(ascii: "/")
                {
                    hasScheme = true
                    break
                }
                scan += 1
            }
            if !hasScheme {
                for index in 0..<end { body(bytes[index]) }
                return
            }
            var index = 0
            var slashes = 0
            var inHost = false
            var lowering = true
            while index < end {
                let byte = bytes[index]
                if lowering {
                    if inHost, byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") {
                        lowering = false
                        body(byte)
                    } else {
                        body(lower(byte))
                        if !inHost {
                            if byte == UInt8(ascii: "/") { slashes += 1 } else if slashes > 0 { slashes = 0 }
                            if slashes == 2 { inHost = true }
                        }
                    }
                } else {
                    body(byte)
                }
                index += 1
            }
            return
        }
        for index in 0..<end { body(lower(bytes[index])) }
    }

    static func bytes(_ text: String, _ mode: Normalization) -> [UInt8] {
        var text = text
        return text.withUTF8 { buffer in
            var out: [UInt8] = []
            out.reserveCapacity(buffer.count)
            forEach(buffer, mode) { out.append($0) }
            return out
        }
    }

    /// FNV-1a over the normalised bytes, seeded by kind. Candidates are confirmed by full comparison, so a
    /// collision can cost a lookup but never produce a false match.
    static func key(_ text: String, _ mode: Normalization, kind: UInt8) -> UInt64 {
        var text = text
        return text.withUTF8 { buffer in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(kind)
            forEach(buffer, mode) { byte in
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
            return hash
        }
    }
}

/// Looks up log values among many single-comparison indicators in constant time per value: 64-bit keys of the
/// normalised value for names, URLs, hashes and e-mail addresses (confirmed by comparing the values on a hit),
/// integer keys for addresses, one table per prefix length in use for CIDR ranges.
///
/// Each IOC maps to the `Int32` references of the indicators that carry it.
public struct IOCIndex: Sendable {
    /// Built by ``finish()``: most log values match nothing, and the filter says so from one cache line instead
    /// of a probe into a table of a million entries.
    var filter: BlockedBloomFilter?
    var keys: [UInt64: Ref] = [:]
    /// The normalised value behind each key, to confirm a hit.
    var values: [UInt64: [UInt8]] = [:]
    var ipv4: [UInt32: Ref] = [:]
    var ipv4Ranges: [(prefix: Int, mask: UInt32, table: [UInt32: Ref])] = []
    var ipv6: [IPv6Key: Ref] = [:]
    var ipv6Ranges: [Int: [IPv6Key: Ref]] = [:]
    var overflow: [[Int32]] = []
    public private(set) var count = 0

    struct IPv6Key: Hashable, Sendable {
        var high: UInt64
        var low: UInt64
    }

    /// One indicator reference inline, or (negative) an index into `overflow` when several share a value.
    struct Ref: Sendable {
        var raw: Int32
    }

    static let domainKind: UInt8 = 1
    static let urlKind: UInt8 = 2
    static let hashKind: UInt8 = 3
    static let emailKind: UInt8 = 4

    public init() {}

    public var isEmpty: Bool { count == 0 }

    static func add(_ ref: Int32, to slot: inout Ref?, overflow: inout [[Int32]]) {
        guard let existing = slot else {
            slot = Ref(raw: ref)
            return
        }
        if existing.raw >= 0 {
            overflow.append([existing.raw, ref])
            slot = Ref(raw: -Int32(overflow.count))
        } else {
            overflow[Int(-existing.raw) - 1].append(ref)
        }
    }

    @inline(__always)
    func refs(_ slot: Ref?) -> [Int32] {
        guard let slot else { return [] }
        return slot.raw >= 0 ? [slot.raw] : overflow[Int(-slot.raw) - 1]
    }

    public mutating func insert(_ ioc: IOC, ref: Int32) {
        precondition(ref >= 0, "indicator references are non-negative")
        count += 1
        filter = nil
        switch ioc {
        case .ip(let network):
            if network.isIPv6 {
                let key = IPv6Key(high: network.high, low: network.low)
                if network.prefixLength == 128 {
                    Self.add(ref, to: &ipv6[key], overflow: &overflow)
                } else {
                    Self.add(ref, to: &ipv6Ranges[network.prefixLength, default: [:]][key], overflow: &overflow)
                }
            } else {
                let key = UInt32(truncatingIfNeeded: network.low)
                if network.prefixLength == 32 {
                    Self.add(ref, to: &ipv4[key], overflow: &overflow)
                } else {
                    var position = ipv4Ranges.firstIndex { $0.prefix == network.prefixLength }
                    if position == nil {
                        ipv4Ranges.append(
                            (
                                network.prefixLength,
                                UInt32(truncatingIfNeeded: IPNetwork.mask32(network.prefixLength)), [:]
                            ))
                        position = ipv4Ranges.count - 1
                    }
                    Self.add(ref, to: &ipv4Ranges[position!].table[key], overflow: &overflow)
                }
            }
        case .domain(let text): insert(text, .domain, kind: Self.domainKind, ref: ref)
        case .url(let text): insert(text, .url, kind: Self.urlKind, ref: ref)
        case .hash(_, let text): insert(text, .lower, kind: Self.hashKind, ref: ref)
        case .email(let text): insert(text, .lower, kind: Self.emailKind, ref: ref)
        }
    }

    /// Builds the filter that lets most lookups stop early; call once every indicator is inserted (inserting
    /// afterwards drops the filter).
    public mutating func finish() {
        var filter = BlockedBloomFilter(expected: count)
        for key in keys.keys { filter.insert(Self.mix(key)) }
        for key in ipv4.keys { filter.insert(Self.mix(UInt64(key) | 32 << 32)) }
        for range in ipv4Ranges {
            for key in range.table.keys { filter.insert(Self.mix(UInt64(key) | UInt64(range.prefix) << 32)) }
        }
        for key in ipv6.keys { filter.insert(Self.mix(key.high ^ key.low.rotated)) }
        for table in ipv6Ranges.values {
            for key in table.keys { filter.insert(Self.mix(key.high ^ key.low.rotated)) }
        }
        self.filter = filter
    }

    /// splitmix64's finaliser: spreads any 64-bit key over the filter's bits.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func insert(_ text: String, _ mode: Normalization, kind: UInt8, ref: Int32) {
        var key = Normalization.key(text, mode, kind: kind)
        let normalized = Normalization.bytes(text, mode)
        // Two different values with the same 64-bit key: probe the next key (never seen in practice).
        while let existing = values[key], existing != normalized { key &+= 0x9E37_79B9_7F4A_7C15 }
        values[key] = normalized
        Self.add(ref, to: &keys[key], overflow: &overflow)
    }

    func lookup(_ text: String, _ mode: Normalization, kind: UInt8) -> [Int32] {
        var key = Normalization.key(text, mode, kind: kind)
        if let filter, !filter.mayContain(Self.mix(key)) { return [] }
        guard keys[key] != nil else { return [] }
        let normalized = Normalization.bytes(text, mode)
        while let stored = values[key] {
            if stored == normalized { return refs(keys[key]) }
            key &+= 0x9E37_79B9_7F4A_7C15
        }
        return []
    }

    /// Indicators whose address or range contains `address` (text form; anything else finds nothing).
    public func lookup(ip address: String) -> [Int32] {
        if let v4 = IPNetwork.parseIPv4(Substring(address)) { return lookup(ipv4: v4) }
        guard address.contains(":"), let (high, low) = IPNetwork.parseIPv6(Substring(address)) else { return [] }
        var found: [Int32] = []
        if filter?.mayContain(Self.mix(high ^ low.rotated)) ?? true {
            found = refs(ipv6[IPv6Key(high: high, low: low)])
        }
        for (prefix, table) in ipv6Ranges {
            let (mh, ml) = IPNetwork.mask128(prefix)
            let key = IPv6Key(high: high & mh, low: low & ml)
            if filter?.mayContain(Self.mix(key.high ^ key.low.rotated)) ?? true { found += refs(table[key]) }
        }
        return found
    }

    public func lookup(ipv4 address: UInt32) -> [Int32] {
        var found: [Int32] = []
        if filter?.mayContain(Self.mix(UInt64(address) | 32 << 32)) ?? true { found = refs(ipv4[address]) }
        for range in ipv4Ranges {
            let masked = address & range.mask
            if let filter, !filter.mayContain(Self.mix(UInt64(masked) | UInt64(range.prefix) << 32)) { continue }
            if let slot = range.table[masked] { found += refs(slot) }
        }
        return found
    }

    /// Exact lookups, as a STIX `=` comparison means (a domain indicator does not match its subdomains).
    public func lookup(domain: String) -> [Int32] { lookup(domain, .domain, kind: Self.domainKind) }
    public func lookup(url: String) -> [Int32] { lookup(url, .url, kind: Self.urlKind) }
    public func lookup(hash: String) -> [Int32] { lookup(hash, .lower, kind: Self.hashKind) }
    public func lookup(email: String) -> [Int32] { lookup(email, .lower, kind: Self.emailKind) }
}

extension UInt64 {
    /// Rotated so that an IPv6 network and its host part do not cancel out when combined.
    var rotated: UInt64 { (self << 29) | (self >> 35) }
}

/// A blocked Bloom filter (Putze, Sanders, Singler 2007): each key sets 8 bits inside one 512-bit block, so a test
/// reads one cache line. About 16 bits per key: under 1 % false positives.
struct BlockedBloomFilter: Sendable {
    var words: [UInt64]
    let blockMask: Int

    init(expected: Int) {
        var blocks = 1
        while blocks * 512 < max(expected, 1) * 16 { blocks <<= 1 }
        words = Array(repeating: 0, count: blocks * 8)
        blockMask = blocks - 1
    }

    @inline(__always)
    mutating func insert(_ hash: UInt64) {
        let base = (Int(truncatingIfNeeded: hash >> 40) & blockMask) &* 8
        var bits = hash
        for _ in 0..<8 {
            let bit = Int(bits & 511)
            words[base + (bit >> 6)] |= 1 << UInt64(bit & 63)
            bits = (bits >> 9) | (bits << 55)
        }
    }

    @inline(__always)
    func mayContain(_ hash: UInt64) -> Bool {
        let base = (Int(truncatingIfNeeded: hash >> 40) & blockMask) &* 8
        var bits = hash
        return words.withUnsafeBufferPointer { buffer in
            for _ in 0..<8 {
                let bit = Int(bits & 511)
                if buffer[base + (bit >> 6)] & (1 << UInt64(bit & 63)) == 0 { return false }
                bits = (bits >> 9) | (bits << 55)
            }
            return true
        }
    }
}
