import Foundation
import RecordInput
import Yams

/// Why a rule was refused, with where it is.
public struct RuleDiagnostic: Sendable, Error, CustomStringConvertible {
    /// A short stable key used to count refusals ("yaml", "missing-field", "condition", …).
    public var reason: String
    public var message: String
    public var location: SourceLocation
    public var ruleTitle: String?

    public init(reason: String, message: String, location: SourceLocation, ruleTitle: String? = nil) {
        self.reason = reason
        self.message = message
        self.location = location
        self.ruleTitle = ruleTitle
    }

    public var description: String {
        "\(location): \(reason): \(message)" + (ruleTitle.map { " (rule \"\($0)\")" } ?? "")
    }
}

/// Reads Sigma rules (one or several YAML documents per file) and reports non-conforming ones.
public enum RuleLoader {
    public static let knownStatuses: Set<String> = ["stable", "test", "experimental", "deprecated", "unsupported"]

    /// Parses every YAML document of `text`. Documents that do not conform are reported, not returned.
    public static func parse(_ text: String, file: String) -> (rules: [SigmaRule], diagnostics: [RuleDiagnostic]) {
        var rules: [SigmaRule] = []
        var diagnostics: [RuleDiagnostic] = []
        let parser: Parser
        do {
            parser = try Parser(yaml: text)
        } catch {
            return ([], [yamlDiagnostic(error, file: file)])
        }
        var documentLine = 1
        while true {
            let node: Node?
            do {
                node = try parser.nextRoot()
            } catch {
                diagnostics.append(yamlDiagnostic(error, file: file))
                break
            }
            guard let node else { break }
            documentLine = node.mark?.line ?? documentLine
            do {
                rules.append(try rule(from: node, file: file))
            } catch let diagnostic as RuleDiagnostic {
                diagnostics.append(diagnostic)
            } catch {
                diagnostics.append(
                    RuleDiagnostic(
                        reason: "invalid", message: "\(error)", location: SourceLocation(file: file, line: documentLine)
                    ))
            }
        }
        return (rules, diagnostics)
    }

    static func yamlDiagnostic(_ error: any Error, file: String) -> RuleDiagnostic {
        var line = 1
        var message = "\(error)"
        if let yamlError = error as? YamlError {
            switch yamlError {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
                line = mark.line
                message = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            case .composer(let context, let problem, let mark, _):
                line = mark.line
                message = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            default:
                break
            }
        }
        return RuleDiagnostic(reason: "yaml", message: message, location: SourceLocation(file: file, line: line))
    }

    // MARK: - Documents

    static func rule(from node: Node, file: String) throws -> SigmaRule {
        let line = node.mark?.line ?? 1
        func fail(_ reason: String, _ message: String, at: Node? = nil, title: String? = nil) -> RuleDiagnostic {
            RuleDiagnostic(
                reason: reason, message: message,
                location: SourceLocation(file: file, line: at?.mark?.line ?? line), ruleTitle: title)
        }
        guard case .mapping(let map) = node else {
            throw fail("not-a-rule", "a rule document must be a mapping")
        }
        let title: String
        if let titleNode = map["title"] {
            guard let text = titleNode.scalar?.string, !text.isEmpty, titleNode.scalar?.isNotNull == true else {
                throw fail("invalid-field", "title must be a non-empty string", at: titleNode)
            }
            guard text.count <= 256 else {
                throw fail("invalid-field", "title longer than 256 characters", at: titleNode)
            }
            title = text
        } else {
            throw fail("missing-field", "title is required")
        }
        var meta = RuleMetadata(
            title: title, id: nil, name: nil, status: nil, description: nil, license: nil, author: nil, references: [],
            date: nil, modified: nil, tags: [], level: nil, falsepositives: [], fields: [], related: [], taxonomy: nil,
            scope: [], location: SourceLocation(file: file, line: line))

        func string(_ key: String) throws -> String? {
            guard let value = map[key] else { return nil }
            guard case .scalar(let scalar) = value else {
                throw fail("invalid-field", "\(key) must be a string", at: value, title: title)
            }
            return scalar.isNull ? nil : scalar.string
        }
        func strings(_ key: String) throws -> [String] {
            guard let value = map[key] else { return [] }
            switch value {
            case .scalar(let scalar): return scalar.isNull ? [] : [scalar.string]
            case .sequence(let sequence):
                return try sequence.map { item in
                    guard let text = item.scalar?.string else {
                        throw fail("invalid-field", "\(key) must be a list of strings", at: item, title: title)
                    }
                    return text
                }
            default: throw fail("invalid-field", "\(key) must be a list of strings", at: value, title: title)
            }
        }
        meta.id = try string("id")
        meta.name = try string("name")
        meta.status = try string("status")
        if let status = meta.status, !knownStatuses.contains(status) {
            throw fail("invalid-field", "unknown status \"\(status)\"", at: map["status"], title: title)
        }
        meta.description = try string("description")
        meta.license = try string("license")
        meta.author = try string("author")
        meta.references = try strings("references")
        meta.date = try string("date")
        meta.modified = try string("modified")
        meta.tags = try strings("tags")
        meta.falsepositives = try strings("falsepositives")
        meta.fields = try strings("fields")
        meta.taxonomy = try string("taxonomy")
        meta.scope = try strings("scope")
        if let levelText = try string("level") {
            guard let level = SigmaLevel(name: levelText) else {
                throw fail("invalid-field", "unknown level \"\(levelText)\"", at: map["level"], title: title)
            }
            meta.level = level
        }
        if let related = map["related"] {
            guard case .sequence(let items) = related else {
                throw fail("invalid-field", "related must be a list", at: related, title: title)
            }
            for item in items {
                guard let id = item["id"]?.string, let type = item["type"]?.string else {
                    throw fail("invalid-field", "related entries need id and type", at: item, title: title)
                }
                meta.related.append(RelatedRule(id: id, type: type))
            }
        }

        let hasDetection = map["detection"] != nil
        let hasCorrelation = map["correlation"] != nil
        let hasFilter = map["filter"] != nil
        if [hasDetection, hasCorrelation, hasFilter].filter({ $0 }).count > 1 {
            throw fail("invalid-field", "a rule has exactly one of detection, correlation or filter", title: title)
        }
        if hasCorrelation {
            let correlation = try parseCorrelation(map["correlation"]!, meta: meta, fail: fail)
            return SigmaRule(metadata: meta, body: .correlation(correlation))
        }
        guard let logsourceNode = map["logsource"] else {
            throw fail("missing-field", "logsource is required", title: title)
        }
        let logsource = try parseLogsource(logsourceNode, title: title, fail: fail)
        if hasFilter {
            let filterNode = map["filter"]!
            guard case .mapping(let filterMap) = filterNode else {
                throw fail("filter", "filter must be a mapping", at: filterNode, title: title)
            }
            var targets: [String] = []
            if let rulesNode = filterMap["rules"] {
                switch rulesNode {
                case .scalar(let scalar): targets = scalar.isNull ? [] : [scalar.string]
                case .sequence(let sequence): targets = sequence.compactMap { $0.scalar?.string }
                default:
                    throw fail(
                        "filter", "filter.rules must be a list of rule ids or names", at: rulesNode, title: title)
                }
            }
            let detection = try parseDetection(
                filterMap, node: filterNode, ignoring: ["rules"], title: title, file: file, fail: fail)
            return SigmaRule(
                metadata: meta,
                body: .filter(logsource: logsource, filter: FilterDefinition(rules: targets, detection: detection)))
        }
        guard let detectionNode = map["detection"] else {
            throw fail("missing-field", "detection is required", title: title)
        }
        guard case .mapping(let detectionMap) = detectionNode else {
            throw fail("detection", "detection must be a mapping", at: detectionNode, title: title)
        }
        let detection = try parseDetection(
            detectionMap, node: detectionNode, ignoring: [], title: title, file: file, fail: fail)
        return SigmaRule(metadata: meta, body: .detection(logsource: logsource, detection: detection))
    }

    typealias Fail = (String, String, Node?, String?) -> RuleDiagnostic

    static func parseLogsource(
        _ node: Node, title: String, fail: (String, String, Node?, String?) -> RuleDiagnostic
    ) throws -> Logsource {
        guard case .mapping(let map) = node else {
            throw fail("invalid-field", "logsource must be a mapping", node, title)
        }
        func text(_ key: String) throws -> String? {
            guard let value = map[key] else { return nil }
            guard let scalar = value.scalar else {
                throw fail("invalid-field", "logsource.\(key) must be a string", value, title)
            }
            return scalar.isNull ? nil : scalar.string
        }
        let logsource = Logsource(
            product: try text("product"), category: try text("category"), service: try text("service"),
            definition: try text("definition"))
        return logsource
    }

    // MARK: - Detection

    static func parseDetection(
        _ map: Node.Mapping, node: Node, ignoring: Set<String>, title: String, file: String,
        fail: (String, String, Node?, String?) -> RuleDiagnostic
    ) throws -> Detection {
        var searches: [String: SearchDefinition] = [:]
        var order: [String] = []
        var conditions: [String] = []
        var conditionLine = node.mark?.line ?? 1
        var timeframe: String?
        for (keyNode, value) in map {
            guard let key = keyNode.scalar?.string else {
                throw fail("detection", "detection keys must be strings", keyNode, title)
            }
            if ignoring.contains(key) { continue }
            switch key {
            case "condition":
                conditionLine = value.mark?.line ?? conditionLine
                switch value {
                case .scalar(let scalar) where scalar.isNotNull: conditions = [scalar.string]
                case .sequence(let items):
                    conditions = try items.map { item in
                        guard let text = item.scalar?.string else {
                            throw fail("condition", "condition list must hold strings", item, title)
                        }
                        return text
                    }
                default: throw fail("condition", "condition must be a string", value, title)
                }
            case "timeframe":
                timeframe = value.scalar?.string
            default:
                if searches[key] != nil {
                    throw fail("detection", "search \"\(key)\" defined twice", keyNode, title)
                }
                searches[key] = try parseSearch(value, name: key, title: title, fail: fail)
                order.append(key)
            }
        }
        guard !conditions.isEmpty, conditions.allSatisfy({ !$0.trimmingCharactersInSpace().isEmpty }) else {
            throw fail("missing-field", "detection.condition is required", node, title)
        }
        guard !searches.isEmpty else { throw fail("detection", "detection defines no search", node, title) }
        return Detection(
            searches: searches, order: order, conditions: conditions, conditionLine: conditionLine, timeframe: timeframe
        )
    }

    static func parseSearch(
        _ node: Node, name: String, title: String, fail: (String, String, Node?, String?) -> RuleDiagnostic
    ) throws -> SearchDefinition {
        switch node {
        case .mapping(let map):
            var items: [DetectionItem] = []
            for (keyNode, value) in map {
                guard let key = keyNode.scalar?.string else {
                    throw fail("detection", "field names must be strings", keyNode, title)
                }
                var parts = key.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                let field = parts.removeFirst()
                let values = try parseValues(value, field: key, title: title, fail: fail)
                items.append(
                    DetectionItem(
                        field: field.isEmpty ? nil : field, modifiers: parts, values: values,
                        line: keyNode.mark?.line ?? 1))
            }
            if items.isEmpty { throw fail("detection", "search \"\(name)\" is an empty map", node, title) }
            return .allOf(items)
        case .sequence(let elements):
            if elements.isEmpty { throw fail("detection", "search \"\(name)\" is an empty list", node, title) }
            if elements.allSatisfy({ $0.scalar != nil }) {
                let values = try parseValues(node, field: name, title: title, fail: fail)
                return .keywords(DetectionItem(field: nil, modifiers: [], values: values, line: node.mark?.line ?? 1))
            }
            return .anyOf(
                try elements.map { element in
                    if element.scalar != nil {
                        let values = try parseValues(element, field: name, title: title, fail: fail)
                        return .keywords(
                            DetectionItem(field: nil, modifiers: [], values: values, line: element.mark?.line ?? 1))
                    }
                    return try parseSearch(element, name: name, title: title, fail: fail)
                })
        case .scalar:
            let values = try parseValues(node, field: name, title: title, fail: fail)
            return .keywords(DetectionItem(field: nil, modifiers: [], values: values, line: node.mark?.line ?? 1))
        case .alias:
            throw fail("detection", "YAML aliases are not allowed in detections", node, title)
        }
    }

    static func parseValues(
        _ node: Node, field: String, title: String, fail: (String, String, Node?, String?) -> RuleDiagnostic
    ) throws -> [RawValue] {
        switch node {
        case .scalar(let scalar): return [rawValue(scalar)]
        case .sequence(let items):
            return try items.map { item in
                guard case .scalar(let scalar) = item else {
                    throw fail("detection", "values of \(field) must be scalars", item, title)
                }
                return rawValue(scalar)
            }
        case .mapping:
            throw fail("detection", "values of \(field) must be scalars or a list of scalars", node, title)
        case .alias:
            throw fail("detection", "YAML aliases are not allowed in detections", node, title)
        }
    }

    static func rawValue(_ scalar: Node.Scalar) -> RawValue {
        if scalar.style != .plain { return .string(scalar.string) }
        let node = Node.scalar(scalar)
        if node.null != nil { return .null }
        if let value = node.bool { return .bool(value) }
        if node.int != nil || node.float != nil { return .number(scalar.string) }
        return .string(scalar.string)
    }

    // MARK: - Correlation

    static func parseCorrelation(
        _ node: Node, meta: RuleMetadata, fail: (String, String, Node?, String?) -> RuleDiagnostic
    ) throws -> Correlation {
        let title = meta.title
        guard case .mapping(let map) = node else {
            throw fail("correlation", "correlation must be a mapping", node, title)
        }
        guard let typeText = map["type"]?.scalar?.string else {
            throw fail("correlation", "correlation.type is required", node, title)
        }
        guard let type = CorrelationType(rawValue: typeText) else {
            throw fail(
                "correlation",
                "unknown correlation type \"\(typeText)\" (expected \(CorrelationType.allCases.map(\.rawValue).joined(separator: ", ")))",
                map["type"], title)
        }
        var rules: [String] = []
        switch map["rules"] {
        case .scalar(let scalar)?: rules = [scalar.string]
        case .sequence(let items)?: rules = items.compactMap { $0.scalar?.string }
        default: throw fail("correlation", "correlation.rules must list rule ids or names", node, title)
        }
        if rules.isEmpty { throw fail("correlation", "correlation.rules is empty", node, title) }
        var groupBy: [String] = []
        switch map["group-by"] {
        case .scalar(let scalar)?: groupBy = [scalar.string]
        case .sequence(let items)?: groupBy = items.compactMap { $0.scalar?.string }
        case nil: groupBy = []
        default: throw fail("correlation", "group-by must be a list of fields", map["group-by"], title)
        }
        guard let spanText = map["timespan"]?.scalar?.string else {
            throw fail("correlation", "correlation.timespan is required", node, title)
        }
        guard let timespan = parseTimespan(spanText) else {
            throw fail(
                "correlation", "timespan \"\(spanText)\" must be a number and a unit s, m, h, d or w", map["timespan"],
                title)
        }
        var condition: CountCondition?
        var field: String?
        var percentile: Double?
        if let conditionNode = map["condition"] {
            guard case .mapping(let conditionMap) = conditionNode else {
                throw fail("correlation", "correlation.condition must be a mapping", conditionNode, title)
            }
            var comparisons: [CountCondition.Comparison] = []
            for (keyNode, value) in conditionMap {
                let key = keyNode.scalar?.string ?? ""
                if key == "field" {
                    field = value.scalar?.string
                    continue
                }
                if key == "percentile" {
                    guard let number = value.scalar.flatMap({ Double($0.string) }), number >= 0, number <= 100 else {
                        throw fail("correlation", "percentile must be a number between 0 and 100", value, title)
                    }
                    percentile = number
                    continue
                }
                guard let op = CountCondition.Operator(rawValue: key) else {
                    throw fail(
                        "correlation", "unknown condition operator \"\(key)\" (gt, gte, lt, lte, eq, neq)", keyNode,
                        title)
                }
                guard let number = value.scalar.flatMap({ Double($0.string) }) else {
                    throw fail("correlation", "condition \(key) needs a number", value, title)
                }
                comparisons.append(.init(op: op, value: number))
            }
            if comparisons.isEmpty { throw fail("correlation", "condition has no comparison", conditionNode, title) }
            condition = CountCondition(comparisons: comparisons)
        }
        switch type {
        case .temporal, .temporalOrdered: break
        default:
            if condition == nil { throw fail("correlation", "\(type.rawValue) needs a condition", node, title) }
        }
        if type.needsField, field == nil {
            throw fail("correlation", "\(type.rawValue) needs condition.field", map["condition"] ?? node, title)
        }
        var aliases: [String: [String: String]] = [:]
        if let aliasNode = map["aliases"] {
            guard case .mapping(let aliasMap) = aliasNode else {
                throw fail("correlation", "aliases must be a mapping", aliasNode, title)
            }
            for (aliasKey, perRule) in aliasMap {
                guard let alias = aliasKey.scalar?.string, case .mapping(let ruleMap) = perRule else {
                    throw fail("correlation", "each alias maps rule names to fields", aliasKey, title)
                }
                var entries: [String: String] = [:]
                for (ruleKey, fieldNode) in ruleMap {
                    guard let rule = ruleKey.scalar?.string, let fieldName = fieldNode.scalar?.string else {
                        throw fail("correlation", "each alias maps rule names to fields", ruleKey, title)
                    }
                    entries[rule] = fieldName
                }
                aliases[alias] = entries
            }
        }
        var generate = false
        if let generateNode = map["generate"] ?? nil {
            generate = generateNode.bool ?? false
        }
        return Correlation(
            type: type, rules: rules, groupBy: groupBy, timespan: timespan, condition: condition, field: field,
            percentile: percentile, aliases: aliases, generate: generate)
    }

    /// `30s`, `5m`, `1h`, `2d`, `1w` → seconds.
    public static func parseTimespan(_ text: String) -> Double? {
        guard let unit = text.last, let number = Double(text.dropLast()), number > 0 else { return nil }
        switch unit {
        case "s": return number
        case "m": return number * 60
        case "h": return number * 3600
        case "d": return number * 86400
        case "w": return number * 604800
        default: return nil
        }
    }
}

extension String {
    func trimmingCharactersInSpace() -> Substring {
        var view = self[...]
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return view
    }
}

extension Node.Scalar {
    /// A plain `~`, `null` or empty scalar.
    var isNull: Bool { style == .plain && Node.scalar(self).null != nil }
    var isNotNull: Bool { !isNull }
}

extension RuleLoader {
    /// Rule files under `paths` (files as given; directories searched for `.yml`/`.yaml`, sorted).
    public static func ruleFiles(_ paths: [String]) throws -> [String] {
        try expandPaths(paths, missing: "rule file or directory") { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }
    }

    /// Loads every rule of `paths`; unreadable files and non-conforming rules become diagnostics.
    public static func load(_ paths: [String]) throws -> (rules: [SigmaRule], diagnostics: [RuleDiagnostic], files: Int)
    {
        let files = try ruleFiles(paths)
        var rules: [SigmaRule] = []
        var diagnostics: [RuleDiagnostic] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                diagnostics.append(
                    RuleDiagnostic(
                        reason: "unreadable", message: "cannot read file", location: SourceLocation(file: file, line: 0)
                    ))
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                diagnostics.append(
                    RuleDiagnostic(
                        reason: "encoding", message: "not UTF-8 text", location: SourceLocation(file: file, line: 0)))
                continue
            }
            let parsed = parse(text, file: file)
            rules += parsed.rules
            diagnostics += parsed.diagnostics
        }
        return (rules, diagnostics, files.count)
    }

    /// Hygie's own rules for hospital threats, shipped with the program.
    public static var builtInRulesDirectory: String? {
        Bundle.module.url(forResource: "rules", withExtension: nil, subdirectory: "Resources")?.path
    }
}
