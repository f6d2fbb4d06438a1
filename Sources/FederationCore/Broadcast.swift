public import Foundation
public import STIX

/// An alert a coordinator sends to every member establishment (an exploited VPN flaw, a ransomware campaign):
/// the products concerned and the indicators to look for. Each member's instance answers on its own, from its
/// inventory and its threat-intelligence hits.
public struct Broadcast: Sendable, Hashable, Codable {
    public var uid: String
    public var title: String
    public var summary: String
    /// `low`, `medium`, `high`, `critical`.
    public var severity: String
    /// How far the indicators may travel at the member (never RED: a broadcast is meant to be shared).
    public var tlp: String
    /// CVE ids, advisory references (CERT-FR, CERT Santé).
    public var references: [String]
    public var products: [ProductRange]
    /// STIX patterns of single observables (`[ipv4-addr:value = '203.0.113.7']`).
    public var indicators: [String]
    public var publishedAt: Date
    public var answerBy: Date?

    enum CodingKeys: String, CodingKey {
        case uid, title, summary, severity, tlp, references, products, indicators
        case publishedAt = "published_at", answerBy = "answer_by"
    }

    public init(
        uid: String, title: String, summary: String, severity: String, tlp: String, references: [String],
        products: [ProductRange], indicators: [String], publishedAt: Date, answerBy: Date?
    ) {
        self.uid = uid
        self.title = title
        self.summary = summary
        self.severity = severity
        self.tlp = tlp
        self.references = references
        self.products = products
        self.indicators = indicators
        self.publishedAt = publishedAt
        self.answerBy = answerBy
    }

    public static let severities = ["low", "medium", "high", "critical"]

    /// Sizes, values and patterns: what a member receives is checked again before it acts on it.
    public func validate() throws(FederationError) {
        try FederationText.check(uid, "uid", max: 100, required: true)
        try FederationText.check(title, "title", max: 300, required: true)
        try FederationText.check(summary, "summary", max: 4000, multiline: true)
        guard Self.severities.contains(severity) else {
            throw FederationError.invalid("severity is one of \(Self.severities.joined(separator: ", "))")
        }
        guard let level = TLP(name: tlp), level < .red else {
            throw FederationError.invalid("a broadcast is TLP:CLEAR, GREEN, AMBER or AMBER+STRICT")
        }
        guard products.count <= 100, indicators.count <= 1000, references.count <= 50 else {
            throw FederationError.invalid("at most 100 products, 1,000 indicators and 50 references")
        }
        guard !products.isEmpty || !indicators.isEmpty else {
            throw FederationError.invalid("name at least one affected product or one indicator")
        }
        for reference in references { try FederationText.check(reference, "reference", max: 300) }
        for product in products { try product.validate() }
        for pattern in indicators {
            guard BroadcastIndicators.observables(pattern) != nil else {
                throw FederationError.invalid("indicator \"\(pattern.prefix(120))\" is not a single-observable pattern")
            }
        }
    }
}

/// A product concerned by a broadcast: a vendor and product (as inventories and advisories name them) or a CPE,
/// with an optional version range. No version bound means every version.
public struct ProductRange: Sendable, Hashable, Codable {
    public var vendor: String
    public var product: String
    /// A CPE 2.3 name (`cpe:2.3:o:fortinet:fortios:*:*:*:*:*:*:*:*`), when the coordinator has one.
    public var cpe: String?
    /// Inclusive lower bound.
    public var versionStart: String?
    /// Upper bound, excluded unless `endInclusive`.
    public var versionEnd: String?
    public var endInclusive: Bool

    enum CodingKeys: String, CodingKey {
        case vendor, product, cpe
        case versionStart = "version_start", versionEnd = "version_end", endInclusive = "end_inclusive"
    }

    public init(
        vendor: String, product: String, cpe: String? = nil, versionStart: String? = nil, versionEnd: String? = nil,
        endInclusive: Bool = false
    ) {
        self.vendor = vendor
        self.product = product
        self.cpe = cpe
        self.versionStart = versionStart
        self.versionEnd = versionEnd
        self.endInclusive = endInclusive
    }

    /// `fortinet fortios ≥ 7.0, < 7.2.5`
    public var text: String {
        var bounds: [String] = []
        if let versionStart { bounds.append("≥ \(versionStart)") }
        if let versionEnd { bounds.append("\(endInclusive ? "≤" : "<") \(versionEnd)") }
        return "\(vendor) \(product) \(bounds.isEmpty ? "(all versions)" : bounds.joined(separator: ", "))"
    }

    public func validate() throws(FederationError) {
        try FederationText.check(vendor, "product.vendor", max: 100, required: cpe == nil)
        try FederationText.check(product, "product.product", max: 100, required: cpe == nil)
        for (value, field) in [(cpe, "product.cpe"), (versionStart, "version_start"), (versionEnd, "version_end")] {
            if let value { try FederationText.check(value, field, max: 300, required: true) }
        }
        if let cpe, !cpe.hasPrefix("cpe:2.3:") { throw FederationError.invalid("product.cpe is a CPE 2.3 name") }
    }

    /// Reads the one-line form coordinators type: `vendor product [>= start] [< end | <= end]`, or a CPE 2.3
    /// name followed by the same optional bounds (`cpe:2.3:a:ivanti:connect_secure:*:… < 22.7`).
    public static func parse(line: String) throws(FederationError) -> ProductRange {
        var words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        var start: String?
        var end: String?
        var inclusive = false
        var index = 0
        var names: [String] = []
        while index < words.count {
            let word = words[index]
            if [">=", "≥", "<", "<=", "≤"].contains(word) {
                guard index + 1 < words.count else {
                    throw FederationError.invalid("\"\(line)\": a bound needs a version")
                }
                let version = words[index + 1].trimmingCharacters(in: CharacterSet(charactersIn: ","))
                if word == ">=" || word == "≥" {
                    start = version
                } else {
                    end = version
                    inclusive = word != "<"
                }
                index += 2
            } else {
                names.append(word.trimmingCharacters(in: CharacterSet(charactersIn: ",")))
                index += 1
            }
        }
        words = names.filter { !$0.isEmpty }
        let range: ProductRange
        if let first = words.first, first.hasPrefix("cpe:2.3:") {
            let parts = first.split(separator: ":", omittingEmptySubsequences: false)
            guard words.count == 1, parts.count >= 5 else {
                throw FederationError.invalid("\"\(line)\": one CPE 2.3 name, then optional bounds")
            }
            range = ProductRange(
                vendor: String(parts[3]), product: String(parts[4]), cpe: first, versionStart: start, versionEnd: end,
                endInclusive: inclusive)
        } else {
            guard words.count >= 2 else {
                throw FederationError.invalid("\"\(line)\": write the vendor then the product (then optional bounds)")
            }
            range = ProductRange(
                vendor: words[0], product: words.dropFirst().joined(separator: " "), versionStart: start,
                versionEnd: end, endInclusive: inclusive)
        }
        try range.validate()
        return range
    }
}

/// A member's answer to a broadcast: affected, not affected or unknown, with counts that show why (no host
/// name, no address, no person) and an optional comment by its security team.
public struct BroadcastAnswer: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case affected
        case notAffected = "not_affected"
        case unknown
    }

    public var broadcastUID: String
    public var status: Status
    /// False once the establishment's team has confirmed or corrected the automatic answer.
    public var automatic: Bool
    /// Inventory assets running an affected version.
    public var affectedAssets: Int
    /// Of those, assets marked as exposed to the Internet.
    public var exposedAssets: Int
    /// Assets running the product at a version that cannot be compared (or none declared).
    public var unknownVersionAssets: Int
    /// Assets in the establishment's inventory (zero: the answer cannot be "not affected").
    public var inventoryAssets: Int
    /// Times the broadcast's indicators were seen in the establishment's logs.
    public var indicatorHits: Int
    public var comment: String
    public var answeredAt: Date

    enum CodingKeys: String, CodingKey {
        case status, automatic, comment
        case broadcastUID = "broadcast_uid", affectedAssets = "affected_assets", exposedAssets = "exposed_assets"
        case unknownVersionAssets = "unknown_version_assets", inventoryAssets = "inventory_assets"
        case indicatorHits = "indicator_hits", answeredAt = "answered_at"
    }

    public init(
        broadcastUID: String, status: Status, automatic: Bool, affectedAssets: Int, exposedAssets: Int,
        unknownVersionAssets: Int, inventoryAssets: Int, indicatorHits: Int, comment: String, answeredAt: Date
    ) {
        self.broadcastUID = broadcastUID
        self.status = status
        self.automatic = automatic
        self.affectedAssets = affectedAssets
        self.exposedAssets = exposedAssets
        self.unknownVersionAssets = unknownVersionAssets
        self.inventoryAssets = inventoryAssets
        self.indicatorHits = indicatorHits
        self.comment = comment
        self.answeredAt = answeredAt
    }

    /// The automatic answer: affected when an asset runs an affected version or an indicator was seen; not
    /// affected only when the inventory is not empty and nothing is uncertain; unknown otherwise.
    public static func decide(
        affectedAssets: Int, unknownVersionAssets: Int, inventoryAssets: Int, indicatorHits: Int
    ) -> Status {
        if affectedAssets > 0 || indicatorHits > 0 { return .affected }
        if inventoryAssets == 0 || unknownVersionAssets > 0 { return .unknown }
        return .notAffected
    }

    public func validate() throws(FederationError) {
        try FederationText.check(broadcastUID, "broadcast_uid", max: 100, required: true)
        try FederationText.check(comment, "comment", max: 2000, multiline: true)
        for count in [affectedAssets, exposedAssets, unknownVersionAssets, inventoryAssets, indicatorHits] {
            guard (0...10_000_000).contains(count) else { throw FederationError.invalid("counts are positive") }
        }
    }
}

/// Indicator lines of a broadcast.
public enum BroadcastIndicators {
    /// The observables of a pattern made only of equality tests on addresses, domains, URLs, e-mail addresses
    /// and file hashes; nil for anything else.
    public static func observables(_ pattern: String) -> [IOC]? {
        guard pattern.count <= 2000, let parsed = try? PatternParser.parse(pattern) else { return nil }
        return IOC.extract(from: parsed)
    }

    /// One line as a coordinator types it: a STIX pattern, or a bare value whose kind is recognised (address or
    /// CIDR, MD5/SHA-1/SHA-256, URL, e-mail address, domain). Defanged forms (`hxxp`, `[.]`) are accepted.
    public static func pattern(line: String) throws(FederationError) -> String {
        let text = line.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("[") {
            guard observables(text) != nil else {
                throw FederationError.invalid("\"\(text.prefix(120))\" is not a single-observable STIX pattern")
            }
            return text
        }
        let value = text.replacingOccurrences(of: "[.]", with: ".").replacingOccurrences(of: "(.)", with: ".")
            .replacingOccurrences(of: "hxxp", with: "http", options: [.caseInsensitive, .anchored])
        let hex = value.allSatisfy(\.isHexDigit)
        let path: String
        if IPNetwork(value) != nil {
            path = value.contains(":") ? "ipv6-addr:value" : "ipv4-addr:value"
        } else if hex, [32, 40, 64].contains(value.count) {
            path = "file:hashes.'\(value.count == 32 ? "MD5" : value.count == 40 ? "SHA-1" : "SHA-256")'"
        } else if value.contains("://") {
            path = "url:value"
        } else if value.contains("@") {
            path = "email-addr:value"
        } else {
            path = "domain-name:value"
        }
        let quoted = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        let op = path.hasPrefix("ipv") && value.contains("/") ? "ISSUBSET" : "="
        let pattern = "[\(path) \(op) '\(quoted)']"
        guard !value.isEmpty, !value.contains(where: \.isWhitespace), observables(pattern) != nil else {
            throw FederationError.invalid("\"\(text.prefix(120))\" is not an address, hash, URL, e-mail or domain")
        }
        return pattern
    }
}

/// Length and control-character checks shared by the protocol's types.
enum FederationText {
    static func check(_ value: String, _ field: String, max: Int, required: Bool = false, multiline: Bool = false)
        throws(FederationError)
    {
        if required, value.trimmingCharacters(in: .whitespaces).isEmpty {
            throw FederationError.invalid("\(field) is required")
        }
        let forbidden: (Character) -> Bool = multiline ? { $0 == "\u{0}" } : { $0.isNewline || $0 == "\u{0}" }
        guard value.count <= max, !value.contains(where: forbidden) else {
            throw FederationError.invalid("\(field) is longer than \(max) characters or holds control characters")
        }
    }
}
