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

    public static func normalizedDomain(_ text: String) -> String {
        var lower = text.lowercased()
        while lower.hasSuffix(".") { lower.removeLast() }
        return lower
    }

    /// Scheme and host are case-insensitive; the rest of a URL is kept as is.
    public static func normalizedURL(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let afterScheme = text[schemeEnd.upperBound...]
        let hostEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        return text[..<schemeEnd.upperBound].lowercased() + afterScheme[..<hostEnd].lowercased()
            + afterScheme[hostEnd...]
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
            self = .email(literal.lowercased())
        case ("file", 2, "hashes"):
            guard op == .equal, case .property(let name) = path.steps[1],
                let algorithm = Self.hashAlgorithms[name.lowercased()]
            else { return nil }
            self = .hash(algorithm: algorithm, value: literal.lowercased())
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

/// Looks up log values among many single-comparison indicators in constant time per value
/// (hash tables; one table per prefix length in use for CIDR ranges).
///
/// Each IOC maps to the `Int32` references of the indicators that carry it.
public struct IOCIndex: Sendable {
    var strings: [String: Ref] = [:]  // "d:" domain, "u:" url, "h:" hash, "e:" e-mail
    var ipv4: [UInt32: Ref] = [:]
    var ipv4Ranges: [Int: [UInt32: Ref]] = [:]
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

    func refs(_ slot: Ref?) -> [Int32] {
        guard let slot else { return [] }
        return slot.raw >= 0 ? [slot.raw] : overflow[Int(-slot.raw) - 1]
    }

    public mutating func insert(_ ioc: IOC, ref: Int32) {
        precondition(ref >= 0, "indicator references are non-negative")
        count += 1
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
                    Self.add(ref, to: &ipv4Ranges[network.prefixLength, default: [:]][key], overflow: &overflow)
                }
            }
        case .domain(let text): Self.add(ref, to: &strings["d:" + text], overflow: &overflow)
        case .url(let text): Self.add(ref, to: &strings["u:" + text], overflow: &overflow)
        case .hash(_, let text): Self.add(ref, to: &strings["h:" + text], overflow: &overflow)
        case .email(let text): Self.add(ref, to: &strings["e:" + text], overflow: &overflow)
        }
    }

    /// Indicators whose address or range contains `address` (text form; anything else finds nothing).
    public func lookup(ip address: String) -> [Int32] {
        if let v4 = IPNetwork.parseIPv4(Substring(address)) { return lookup(ipv4: v4) }
        guard address.contains(":"), let (high, low) = IPNetwork.parseIPv6(Substring(address)) else { return [] }
        var found = refs(ipv6[IPv6Key(high: high, low: low)])
        for (prefix, table) in ipv6Ranges {
            let (mh, ml) = IPNetwork.mask128(prefix)
            found += refs(table[IPv6Key(high: high & mh, low: low & ml)])
        }
        return found
    }

    public func lookup(ipv4 address: UInt32) -> [Int32] {
        var found = refs(ipv4[address])
        for (prefix, table) in ipv4Ranges {
            found += refs(table[address & UInt32(truncatingIfNeeded: IPNetwork.mask32(prefix))])
        }
        return found
    }

    /// Exact lookups, as a STIX `=` comparison means (a domain indicator does not match its subdomains).
    public func lookup(domain: String) -> [Int32] { refs(strings["d:" + IOC.normalizedDomain(domain)]) }
    public func lookup(url: String) -> [Int32] { refs(strings["u:" + IOC.normalizedURL(url)]) }
    public func lookup(hash: String) -> [Int32] { refs(strings["h:" + hash.lowercased()]) }
    public func lookup(email: String) -> [Int32] { refs(strings["e:" + email.lowercased()]) }
}
