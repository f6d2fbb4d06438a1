import Foundation
import Yams

/// How Sigma logsources map to event conditions (the role pySigma pipelines play): for each logsource, the
/// discriminating field values its events carry (channel, event id, syslog program…) and the field aliases those
/// events need (Security 4688 `NewProcessName` read as Sysmon's `Image`).
public struct LogsourceMapping: Sendable {
    public struct Condition: Sendable {
        /// field → accepted values (case-insensitive, `*` and `?` wildcards).
        public var values: [String: [String]]
        /// Sigma field → event field, for events meeting this condition.
        public var fields: [String: String]
    }

    public struct Entry: Sendable {
        public var logsource: Logsource
        public var when: [Condition]
    }

    public var entries: [Entry] = []
    /// Event field → other spellings read when it is absent (Winlogbeat's `winlog.event_id` for `EventID`…).
    public var aliases: [String: [String]] = [:]
    public var timestampFields: [String] = []
    public var hostFields: [String] = []

    public init() {}

    /// The mappings shipped with Hygie (Windows, Sysmon, Linux).
    public static func builtIn() throws -> LogsourceMapping {
        var mapping = LogsourceMapping()
        for name in ["windows", "linux"] {
            guard
                let url = Bundle.module.url(forResource: name, withExtension: "yml", subdirectory: "Resources/mappings")
            else { throw MappingError(message: "built-in mapping \(name).yml is missing from the bundle") }
            mapping.merge(try parse(String(contentsOf: url, encoding: .utf8), file: "\(name).yml"))
        }
        return mapping
    }

    public struct MappingError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    /// Adds `other`; its entries replace ours for the same logsource.
    public mutating func merge(_ other: LogsourceMapping) {
        let replaced = Set(other.entries.map(\.logsource))
        entries = entries.filter { !replaced.contains($0.logsource) } + other.entries
        for (key, values) in other.aliases { aliases[key, default: []].append(contentsOf: values) }
        for field in other.timestampFields where !timestampFields.contains(field) { timestampFields.append(field) }
        for field in other.hostFields where !hostFields.contains(field) { hostFields.append(field) }
    }

    /// Reads a mapping file.
    public static func parse(_ text: String, file: String) throws -> LogsourceMapping {
        func fail(_ message: String, _ node: Node?) -> MappingError {
            MappingError(message: "\(file):\(node?.mark?.line ?? 1): \(message)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw MappingError(message: "\(file): \(RuleLoader.yamlDiagnostic(error, file: file).description)")
        }
        guard let root, case .mapping(let map) = root else { throw fail("a mapping file is a YAML mapping", root) }
        var mapping = LogsourceMapping()
        func strings(_ node: Node) throws -> [String] {
            switch node {
            case .scalar(let scalar): return [scalar.string]
            case .sequence(let items):
                return try items.map { item in
                    guard let text = item.scalar?.string else { throw fail("expected a list of strings", item) }
                    return text
                }
            default: throw fail("expected a string or a list of strings", node)
            }
        }
        for (keyNode, value) in map {
            switch keyNode.scalar?.string {
            case "timestamp": mapping.timestampFields = try strings(value)
            case "host": mapping.hostFields = try strings(value)
            case "aliases":
                guard case .mapping(let aliasMap) = value else { throw fail("aliases is a mapping", value) }
                for (target, sources) in aliasMap {
                    guard let name = target.scalar?.string else { throw fail("alias names are strings", target) }
                    mapping.aliases[name] = try strings(sources)
                }
            case "sources":
                guard case .sequence(let items) = value else { throw fail("sources is a list", value) }
                for item in items {
                    guard case .mapping(let entryMap) = item, let logsourceNode = entryMap["logsource"],
                        case .mapping(let logsourceMap) = logsourceNode
                    else { throw fail("each source has a logsource mapping", item) }
                    let logsource = Logsource(
                        product: logsourceMap["product"]?.string, category: logsourceMap["category"]?.string,
                        service: logsourceMap["service"]?.string)
                    guard case .sequence(let conditions)? = entryMap["when"], !conditions.isEmpty else {
                        throw fail("each source has a non-empty \"when\" list", item)
                    }
                    var parsed: [Condition] = []
                    for condition in conditions {
                        guard case .mapping(let conditionMap) = condition else {
                            throw fail("each condition is a mapping of field values", condition)
                        }
                        var values: [String: [String]] = [:]
                        var fields: [String: String] = [:]
                        for (fieldNode, fieldValue) in conditionMap {
                            guard let field = fieldNode.scalar?.string else {
                                throw fail("field names are strings", fieldNode)
                            }
                            if field == "fields" {
                                guard case .mapping(let fieldMap) = fieldValue else {
                                    throw fail("fields maps Sigma fields to event fields", fieldValue)
                                }
                                for (sigmaField, eventField) in fieldMap {
                                    guard let from = sigmaField.scalar?.string, let to = eventField.scalar?.string
                                    else {
                                        throw fail("fields maps Sigma fields to event fields", sigmaField)
                                    }
                                    fields[from] = to
                                }
                            } else {
                                values[field] = try strings(fieldValue)
                            }
                        }
                        parsed.append(Condition(values: values, fields: fields))
                    }
                    mapping.entries.append(Entry(logsource: logsource, when: parsed))
                }
            default:
                throw fail(
                    "unknown key \"\(keyNode.scalar?.string ?? "?")\" (timestamp, host, aliases, sources)", keyNode)
            }
        }
        return mapping
    }

    /// Entries that apply to a rule's logsource: the exact (product, category, service); failing that, the product
    /// entry. `nil` when the mapping does not know the logsource.
    func entries(for logsource: Logsource) -> [Int]? {
        let exact = entries.indices.filter {
            entries[$0].logsource
                == Logsource(
                    product: logsource.product, category: logsource.category, service: logsource.service)
        }
        if !exact.isEmpty { return exact }
        // Category-only or service-only entries (no product) also match.
        let loose = entries.indices.filter { index in
            let entry = entries[index].logsource
            return entry.product == nil && (entry.category ?? logsource.category) == logsource.category
                && (entry.service ?? logsource.service) == logsource.service
                && (entry.category != nil || entry.service != nil)
        }
        if !loose.isEmpty { return loose }
        if logsource.product != nil {
            let productOnly = entries.indices.filter {
                entries[$0].logsource == Logsource(product: logsource.product)
            }
            if !productOnly.isEmpty { return productOnly }
        }
        return nil
    }
}
