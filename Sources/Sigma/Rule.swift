/// The Sigma rule model: what a rule says, independent of how it is evaluated.
///
/// Rules come from YAML (see ``RuleLoader``) and are compiled into an evaluation plan by ``RuleSet``.

/// Severity of a rule, in increasing order.
public enum SigmaLevel: Int, Sendable, Comparable, CaseIterable, Codable {
    case informational, low, medium, high, critical

    public init?(name: String) {
        switch name.lowercased() {
        case "informational": self = .informational
        case "low": self = .low
        case "medium": self = .medium
        case "high": self = .high
        case "critical": self = .critical
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .informational: "informational"
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        case .critical: "critical"
        }
    }

    public static func < (lhs: SigmaLevel, rhs: SigmaLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where a rule's events come from.
public struct Logsource: Sendable, Hashable {
    public var product: String?
    public var category: String?
    public var service: String?
    public var definition: String?

    public init(product: String? = nil, category: String? = nil, service: String? = nil, definition: String? = nil) {
        self.product = product?.lowercased()
        self.category = category?.lowercased()
        self.service = service?.lowercased()
        self.definition = definition
    }

    public var description: String {
        [product.map { "product:\($0)" }, category.map { "category:\($0)" }, service.map { "service:\($0)" }]
            .compactMap { $0 }.joined(separator: " ")
    }
}

/// A link to another rule (`related:`).
public struct RelatedRule: Sendable, Hashable {
    public var id: String
    public var type: String
}

/// Position of a construct in a rule file, for error messages.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// Metadata every rule kind shares.
public struct RuleMetadata: Sendable {
    public var title: String
    public var id: String?
    public var name: String?
    public var status: String?
    public var description: String?
    public var license: String?
    public var author: String?
    public var references: [String]
    public var date: String?
    public var modified: String?
    public var tags: [String]
    public var level: SigmaLevel?
    public var falsepositives: [String]
    public var fields: [String]
    public var related: [RelatedRule]
    public var taxonomy: String?
    public var scope: [String]
    public var location: SourceLocation

    /// MITRE ATT&CK tags (`attack.*`).
    public var attackTags: [String] { tags.filter { $0.lowercased().hasPrefix("attack.") } }

    /// The identifier shown to users: the id when present, otherwise the name or title.
    public var displayID: String { id ?? name ?? title }
}

/// One value of a detection item, as written in YAML.
public enum RawValue: Sendable, Hashable {
    case string(String)
    /// A number, kept as written so that `4688` and `"4688"` compare alike.
    case number(String)
    case bool(Bool)
    case null
}

/// `Field|mod1|mod2: values`.
public struct DetectionItem: Sendable {
    /// `nil` for keyword (full-text) searches.
    public var field: String?
    public var modifiers: [String]
    public var values: [RawValue]
    public var line: Int
}

/// A named search of the `detection` section: items ANDed (map) or alternatives ORed (list of maps / keywords).
public indirect enum SearchDefinition: Sendable {
    /// A map: every item must match.
    case allOf([DetectionItem])
    /// A list: one element must match.
    case anyOf([SearchDefinition])
    /// Keyword values (full-text search).
    case keywords(DetectionItem)
}

public struct Detection: Sendable {
    public var searches: [String: SearchDefinition]
    /// Search identifiers in their written order (for `them` and patterns).
    public var order: [String]
    public var conditions: [String]
    public var conditionLine: Int
    public var timeframe: String?
}

/// Kinds of correlation (Sigma correlation specification v2.1).
public enum CorrelationType: String, Sendable, CaseIterable {
    case eventCount = "event_count"
    case valueCount = "value_count"
    case temporal = "temporal"
    case temporalOrdered = "temporal_ordered"
    case valueSum = "value_sum"
    case valueAvg = "value_avg"
    case valuePercentile = "value_percentile"
    case valueMedian = "value_median"

    var needsField: Bool {
        switch self {
        case .eventCount, .temporal, .temporalOrdered: false
        default: true
        }
    }
}

/// Comparison of a correlation condition (`gte: 10`; several comparisons are ANDed to form ranges).
public struct CountCondition: Sendable, Hashable {
    public enum Operator: String, Sendable, CaseIterable { case gt, gte, lt, lte, eq, neq }
    public struct Comparison: Sendable, Hashable {
        public var op: Operator
        public var value: Double
    }
    public var comparisons: [Comparison]

    public func accepts(_ x: Double) -> Bool {
        comparisons.allSatisfy { comparison in
            switch comparison.op {
            case .gt: x > comparison.value
            case .gte: x >= comparison.value
            case .lt: x < comparison.value
            case .lte: x <= comparison.value
            case .eq: x == comparison.value
            case .neq: x != comparison.value
            }
        }
    }

    /// Whether the condition can only become true as a count grows (`gt`/`gte` only).
    var isLowerBoundOnly: Bool { comparisons.allSatisfy { $0.op == .gt || $0.op == .gte } }
}

public struct Correlation: Sendable {
    public var type: CorrelationType
    public var rules: [String]
    public var groupBy: [String]
    public var timespan: Double
    public var condition: CountCondition?
    public var field: String?
    /// For `value_percentile`: which percentile (default 50).
    public var percentile: Double?
    /// alias → (rule name → field)
    public var aliases: [String: [String: String]]
    public var generate: Bool
}

public struct FilterDefinition: Sendable {
    public var rules: [String]
    public var detection: Detection
}

public enum RuleBody: Sendable {
    case detection(logsource: Logsource, detection: Detection)
    case correlation(Correlation)
    case filter(logsource: Logsource, filter: FilterDefinition)
}

/// A rule as loaded from YAML, before compilation.
public struct SigmaRule: Sendable {
    public var metadata: RuleMetadata
    public var body: RuleBody

    public var logsource: Logsource? {
        switch body {
        case .detection(let logsource, _), .filter(let logsource, _): logsource
        case .correlation: nil
        }
    }
}
