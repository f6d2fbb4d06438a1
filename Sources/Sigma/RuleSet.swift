/// A compiled detection rule.
public struct CompiledRule: Sendable {
    public let index: Int
    public let metadata: RuleMetadata
    public let logsource: Logsource
    let plan: PlanNode
    /// Root of the rule in the set's ``Program``.
    var root: Int32 = 0
    /// Fields the rule reads, shown as what matched.
    public let fields: [FieldID]
    /// Mapping entries the rule's logsource resolves to; `nil` when unmapped.
    let entries: [Int]?
    /// Alternatives of which one must be found in the event for the rule to match (prefilter); `nil` when the rule
    /// cannot be narrowed that way.
    let literals: [RequiredLiteral]?
    /// Whether matches are reported on their own (false for rules only used by correlations).
    public let reported: Bool
    /// Correlations fed by this rule.
    public let correlations: [Int]
    /// Fields the correlations need from this rule's events.
    public let correlationFields: [(name: String, id: FieldID)]
}

/// A literal the prefilter looks for: in one field, or in any value (`field == nil`, keyword searches).
struct RequiredLiteral: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// Somewhere in the value (indexed by a 4-byte gram).
        case gram
        /// The whole value.
        case exact
        /// A short start or end of the value (shorter than a gram).
        case prefix, suffix
    }
    var field: FieldID?
    var bytes: [UInt8]
    var kind: Kind = .gram
}

/// Options that select rules and fill placeholders.
public struct RuleSetOptions: Sendable {
    public var minimumLevel: SigmaLevel?
    /// Keep rules carrying at least one of these tags (case-insensitive); empty keeps all.
    public var tags: [String]
    /// Values of `%placeholder%` names for the `expand` modifier.
    public var placeholders: [String: [String]]
    /// More fields the caller reads from events (entities shown with alerts), registered before the set is frozen.
    public var extraFields: [String] = []

    public init(minimumLevel: SigmaLevel? = nil, tags: [String] = [], placeholders: [String: [String]] = [:]) {
        self.minimumLevel = minimumLevel
        self.tags = tags
        self.placeholders = placeholders
    }
}

/// Rules compiled against one mapping, ready to evaluate on many threads.
public final class RuleSet: @unchecked Sendable {
    public let registry: FieldRegistry
    public let rules: [CompiledRule]
    public let correlations: [CompiledCorrelation]
    /// Rules refused while loading or compiling.
    public let diagnostics: [RuleDiagnostic]
    /// Rules left out by level or tag selection.
    public let deselected: Int
    let mapping: LogsourceMapping
    let discriminators: [FieldID]
    let entryConditions: [[CompiledCondition]]
    let globalAliases: [(target: FieldID, source: FieldID)]
    let timestampFields: [FieldID]
    let hostFields: [FieldID]
    let program: Program

    struct CompiledCondition: Sendable {
        var values: [(field: FieldID, accepted: [StringComparison])]
        var aliases: [(target: FieldID, source: FieldID)]
    }

    /// Number of rules that produce matches (detection rules reported on their own, and correlations).
    public var loadedCount: Int { rules.count + correlations.count }

    /// Counts of refused rules by reason.
    public var skippedByReason: [String: Int] {
        diagnostics.reduce(into: [:]) { $0[$1.reason, default: 0] += 1 }
    }

    public init(
        rules input: [SigmaRule], diagnostics loadDiagnostics: [RuleDiagnostic] = [],
        mapping: LogsourceMapping, options: RuleSetOptions = RuleSetOptions()
    ) {
        let registry = FieldRegistry()
        var diagnostics = loadDiagnostics
        self.mapping = mapping

        // Fields every event may need.
        let timestampFields = mapping.timestampFields.map { registry.intern($0) }
        let hostFields = mapping.hostFields.map { registry.intern($0) }
        var globalAliases: [(FieldID, FieldID)] = []
        for (target, sources) in mapping.aliases.sorted(by: { $0.key < $1.key }) {
            let targetID = registry.intern(target)
            for source in sources { globalAliases.append((targetID, registry.intern(source))) }
        }
        var discriminators: [FieldID] = []
        var entryConditions: [[CompiledCondition]] = []
        for entry in mapping.entries {
            entryConditions.append(
                entry.when.map { condition in
                    let values = condition.values.sorted(by: { $0.key < $1.key }).map { field, accepted in
                        let id = registry.intern(field)
                        if !discriminators.contains(id) { discriminators.append(id) }
                        return (id, accepted.map { StringComparison(SigmaPattern(sigma: $0), cased: false) })
                    }
                    let aliases = condition.fields.sorted(by: { $0.key < $1.key }).map {
                        (registry.intern($0.key), registry.intern($0.value))
                    }
                    return CompiledCondition(values: values, aliases: aliases)
                })
        }

        // Index rules by id and name for correlations and filters.
        var detectionRules: [(SigmaRule, Logsource, Detection)] = []
        var correlationRules: [SigmaRule] = []
        var filterRules: [SigmaRule] = []
        for rule in input {
            switch rule.body {
            case .detection(let logsource, let detection): detectionRules.append((rule, logsource, detection))
            case .correlation: correlationRules.append(rule)
            case .filter: filterRules.append(rule)
            }
        }

        // Compile detections.
        var plans: [Int: PlanNode] = [:]
        for (index, (rule, _, detection)) in detectionRules.enumerated() {
            let compiler = DetectionCompiler(
                registry: registry, placeholders: options.placeholders, file: rule.metadata.location.file,
                title: rule.metadata.title)
            do {
                plans[index] = try compiler.compile(detection)
            } catch let diagnostic as RuleDiagnostic {
                diagnostics.append(diagnostic)
            } catch {
                diagnostics.append(
                    RuleDiagnostic(
                        reason: "invalid", message: "\(error)", location: rule.metadata.location,
                        ruleTitle: rule.metadata.title))
            }
        }

        // Apply filters (meta filter rules): the rule's condition AND the filter's.
        for filterRule in filterRules {
            guard case .filter(let logsource, let filter) = filterRule.body else { continue }
            let compiler = DetectionCompiler(
                registry: registry, placeholders: options.placeholders, file: filterRule.metadata.location.file,
                title: filterRule.metadata.title)
            let filterPlan: PlanNode
            do {
                filterPlan = try compiler.compile(filter.detection)
            } catch let diagnostic as RuleDiagnostic {
                diagnostics.append(diagnostic)
                continue
            } catch {
                continue
            }
            var applied = 0
            for (index, (rule, ruleLogsource, _)) in detectionRules.enumerated() {
                guard let plan = plans[index] else { continue }
                let targeted: Bool
                if filter.rules.isEmpty {
                    targeted = Self.logsource(ruleLogsource, isCoveredBy: logsource)
                } else {
                    targeted = filter.rules.contains { $0 == rule.metadata.id || $0 == rule.metadata.name }
                }
                if targeted {
                    plans[index] = .and([plan, filterPlan])
                    applied += 1
                }
            }
            if applied == 0 {
                diagnostics.append(
                    RuleDiagnostic(
                        reason: "filter", message: "filter applies to no loaded rule",
                        location: filterRule.metadata.location,
                        ruleTitle: filterRule.metadata.title))
            }
        }

        // Correlations: resolve references (ids or names; correlations may chain).
        var referenceIndex: [String: CorrelationSource] = [:]
        for (index, (rule, _, _)) in detectionRules.enumerated() where plans[index] != nil {
            if let id = rule.metadata.id { referenceIndex[id] = .rule(index) }
            if let name = rule.metadata.name { referenceIndex[name] = .rule(index) }
        }
        for (index, rule) in correlationRules.enumerated() {
            if let id = rule.metadata.id { referenceIndex[id] = .correlation(index) }
            if let name = rule.metadata.name { referenceIndex[name] = .correlation(index) }
        }
        var correlations: [CompiledCorrelation?] = Array(repeating: nil, count: correlationRules.count)
        for (index, rule) in correlationRules.enumerated() {
            guard case .correlation(let correlation) = rule.body else { continue }
            var sources: [CorrelationSource] = []
            var missing: [String] = []
            for reference in correlation.rules {
                if let source = referenceIndex[reference] { sources.append(source) } else { missing.append(reference) }
            }
            if !missing.isEmpty {
                diagnostics.append(
                    RuleDiagnostic(
                        reason: "correlation",
                        message: "correlation refers to unknown or refused rules: \(missing.joined(separator: ", "))",
                        location: rule.metadata.location, ruleTitle: rule.metadata.title))
                continue
            }
            correlations[index] = CompiledCorrelation(
                index: index, metadata: rule.metadata, correlation: correlation, sources: sources, reported: true)
        }
        // A correlation referring to a refused correlation is refused too; detect cycles.
        var changed = true
        while changed {
            changed = false
            for index in correlations.indices {
                guard let compiled = correlations[index] else { continue }
                for case .correlation(let other) in compiled.sources where correlations[other] == nil || other == index
                {
                    diagnostics.append(
                        RuleDiagnostic(
                            reason: "correlation", message: "correlation depends on a refused correlation or on itself",
                            location: compiled.metadata.location, ruleTitle: compiled.metadata.title))
                    correlations[index] = nil
                    changed = true
                    break
                }
            }
        }
        if let cycle = CompiledCorrelation.order(correlations.compactMap { $0 }).cycle {
            for index in cycle {
                if let compiled = correlations[index] {
                    diagnostics.append(
                        RuleDiagnostic(
                            reason: "correlation", message: "correlations refer to each other in a cycle",
                            location: compiled.metadata.location, ruleTitle: compiled.metadata.title))
                }
                correlations[index] = nil
            }
        }
        // Rules and correlations used by a correlation are only reported if it says `generate: true`.
        var usedBy: [Int: [Int]] = [:]
        var silencedRules = Set<Int>()
        var silencedCorrelations = Set<Int>()
        for compiled in correlations.compactMap({ $0 }) {
            for source in compiled.sources {
                switch source {
                case .rule(let index):
                    usedBy[index, default: []].append(compiled.index)
                    if !compiled.correlation.generate { silencedRules.insert(index) }
                case .correlation(let index):
                    if !compiled.correlation.generate { silencedCorrelations.insert(index) }
                }
            }
        }
        var finalCorrelations: [CompiledCorrelation] = []
        var renumber: [Int: Int] = [:]
        for compiled in correlations.compactMap({ $0 }) {
            renumber[compiled.index] = finalCorrelations.count
            finalCorrelations.append(compiled)
        }
        finalCorrelations = finalCorrelations.enumerated().map { position, compiled in
            var copy = compiled
            copy.index = position
            copy.sources = compiled.sources.map { source in
                if case .correlation(let other) = source { return .correlation(renumber[other]!) }
                return source
            }
            copy.reported = !silencedCorrelations.contains(compiled.index)
            return copy
        }

        // Select and finish detection rules.
        var compiledRules: [CompiledRule] = []
        var deselected = 0
        var ruleRenumber: [Int: Int] = [:]
        for (index, (rule, logsource, _)) in detectionRules.enumerated() {
            guard let plan = plans[index] else { continue }
            let usedByCorrelation = usedBy[index] != nil
            if !usedByCorrelation, !Self.selected(rule.metadata, options) {
                deselected += 1
                continue
            }
            var fields: [FieldID] = []
            plan.collectFields(into: &fields)
            var correlationFieldNames: [String] = []
            for correlationIndex in usedBy[index] ?? [] {
                guard let newIndex = renumber[correlationIndex] else { continue }
                for name in finalCorrelations[newIndex].fieldNames(forRule: rule.metadata)
                where !correlationFieldNames.contains(name) {
                    correlationFieldNames.append(name)
                }
            }
            ruleRenumber[index] = compiledRules.count
            compiledRules.append(
                CompiledRule(
                    index: compiledRules.count, metadata: rule.metadata, logsource: logsource, plan: plan,
                    fields: fields,
                    entries: mapping.entries(for: logsource), literals: Prefilter.requiredLiterals(plan),
                    reported: !silencedRules.contains(index) && Self.selected(rule.metadata, options),
                    correlations: (usedBy[index] ?? []).compactMap { renumber[$0] },
                    correlationFields: correlationFieldNames.map { ($0, registry.intern($0)) }))
        }
        finalCorrelations = finalCorrelations.map { compiled in
            var copy = compiled
            copy.sources = compiled.sources.map { source in
                if case .rule(let old) = source { return .rule(ruleRenumber[old] ?? -1) }
                return source
            }
            if !Self.selected(compiled.metadata, options) { copy.reported = false }
            return copy
        }

        var program = Program()
        for index in compiledRules.indices { compiledRules[index].root = program.lower(compiledRules[index].plan) }
        self.program = program
        for name in options.extraFields { registry.intern(name) }
        registry.freeze()
        self.registry = registry
        self.rules = compiledRules
        self.correlations = finalCorrelations
        self.diagnostics = diagnostics
        self.deselected = deselected
        self.discriminators = discriminators
        self.entryConditions = entryConditions
        self.globalAliases = globalAliases
        self.timestampFields = timestampFields
        self.hostFields = hostFields
    }

    static func selected(_ metadata: RuleMetadata, _ options: RuleSetOptions) -> Bool {
        if let minimum = options.minimumLevel, (metadata.level ?? .medium) < minimum { return false }
        if !options.tags.isEmpty {
            let wanted = Set(options.tags.map { $0.lowercased() })
            if !metadata.tags.contains(where: { wanted.contains($0.lowercased()) }) { return false }
        }
        return true
    }

    static func logsource(_ rule: Logsource, isCoveredBy filter: Logsource) -> Bool {
        (filter.product == nil || filter.product == rule.product)
            && (filter.category == nil || filter.category == rule.category)
            && (filter.service == nil || filter.service == rule.service)
    }
}

extension RuleSet {
    /// The event's time (seconds since 1970) from the mapping's timestamp fields, if one parses.
    public func time(of event: Event) -> Double? {
        for field in timestampFields {
            var index = event.first(field)
            while index >= 0 {
                let value = event.values[Int(index)]
                let parsed = event.raw.withUnsafeBufferPointer { raw in
                    DateParts(
                        bytes: UnsafeBufferPointer(rebasing: raw[Int(value.start)..<Int(value.start + value.length)]))
                }
                if let parsed { return parsed.epochSeconds }
                index = value.next
            }
        }
        return nil
    }

    /// The event's host name from the mapping's host fields.
    public func host(of event: Event) -> String? {
        for field in hostFields {
            if let value = event.string(field), !value.isEmpty { return value }
        }
        return nil
    }
}
