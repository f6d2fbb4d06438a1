/// What a correlation counts: a detection rule or another correlation.
public enum CorrelationSource: Sendable, Hashable {
    case rule(Int)
    case correlation(Int)
}

public struct CompiledCorrelation: Sendable {
    public internal(set) var index: Int
    public let metadata: RuleMetadata
    public let correlation: Correlation
    var sources: [CorrelationSource]
    public internal(set) var reported: Bool

    /// Field names a source rule's events must provide (group-by through aliases, and the counted field).
    func fieldNames(forRule rule: RuleMetadata) -> [String] {
        var names = correlation.groupBy.map { groupField in
            aliasedName(groupField, for: rule)
        }
        if let field = correlation.field { names.append(field) }
        return names
    }

    func aliasedName(_ groupField: String, for rule: RuleMetadata) -> String {
        if let perRule = correlation.aliases[groupField] {
            if let name = rule.name, let field = perRule[name] { return field }
            if let id = rule.id, let field = perRule[id] { return field }
        }
        return groupField
    }

    /// Topological order of correlations (inner first), or the members of a cycle.
    static func order(_ correlations: [CompiledCorrelation]) -> (order: [Int], cycle: [Int]?) {
        var state: [Int: Int] = [:]  // 1 visiting, 2 done
        var order: [Int] = []
        var cycle: [Int]?
        let byIndex = Dictionary(correlations.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        func visit(_ index: Int, _ path: [Int]) {
            if cycle != nil { return }
            if state[index] == 2 { return }
            if state[index] == 1 {
                cycle = path
                return
            }
            state[index] = 1
            for case .correlation(let other) in byIndex[index]?.sources ?? [] { visit(other, path + [index]) }
            state[index] = 2
            order.append(index)
        }
        for correlation in correlations { visit(correlation.index, []) }
        return (order, cycle)
    }
}

/// One input to correlations: a rule match (or an inner correlation's result) with the fields correlations need.
public struct CorrelationInput: Sendable {
    public var time: Double
    public var source: CorrelationSource
    public var fields: [String: String]

    public init(time: Double, source: CorrelationSource, fields: [String: String]) {
        self.time = time
        self.source = source
        self.fields = fields
    }
}

/// A correlation that fired.
public struct CorrelationHit: Sendable {
    public var correlation: Int
    public var first: Double
    public var last: Double
    /// group-by field → value.
    public var group: [String: String]
    /// The count, distinct count or aggregate the condition tested.
    public var value: Double
    /// Number of events (or inner hits) in the window.
    public var events: Int
}

/// Evaluates correlations over the inputs gathered during a run. Inputs may arrive in any order (several files):
/// they are sorted by time before windows are computed, so windows cross input files.
public struct CorrelationEngine: Sendable {
    public let ruleSet: RuleSet
    public private(set) var inputs: [CorrelationInput] = []
    /// Inputs dropped because their event had no readable time.
    public private(set) var untimed = 0

    public init(ruleSet: RuleSet) { self.ruleSet = ruleSet }

    public mutating func add(_ input: CorrelationInput) { inputs.append(input) }

    public mutating func addUntimed() { untimed += 1 }

    public mutating func merge(_ other: CorrelationEngine) {
        inputs += other.inputs
        untimed += other.untimed
    }

    /// Runs every correlation (inner ones first, their hits feeding outer ones); returns all hits in time order.
    public func run() -> [CorrelationHit] {
        var pool = inputs
        var hits: [CorrelationHit] = []
        for index in CompiledCorrelation.order(ruleSet.correlations).order {
            let compiled = ruleSet.correlations[index]
            let sources = Set(compiled.sources)
            let relevant = pool.filter { sources.contains($0.source) }.sorted { $0.time < $1.time }
            let produced = evaluate(compiled, relevant)
            hits += produced
            for hit in produced {
                pool.append(CorrelationInput(time: hit.last, source: .correlation(index), fields: hit.group))
            }
        }
        return hits.sorted { $0.last < $1.last }
    }

    func sourceMetadata(_ source: CorrelationSource) -> RuleMetadata {
        switch source {
        case .rule(let index): ruleSet.rules[index].metadata
        case .correlation(let index): ruleSet.correlations[index].metadata
        }
    }

    func groupKey(_ compiled: CompiledCorrelation, _ input: CorrelationInput) -> [String: String] {
        let metadata = sourceMetadata(input.source)
        var key: [String: String] = [:]
        for field in compiled.correlation.groupBy {
            let name = compiled.aliasedName(field, for: metadata)
            key[field] = input.fields[name] ?? input.fields[field] ?? ""
        }
        return key
    }

    func evaluate(_ compiled: CompiledCorrelation, _ inputs: [CorrelationInput]) -> [CorrelationHit] {
        let correlation = compiled.correlation
        let span = correlation.timespan
        var windows: [[String: String]: [CorrelationInput]] = [:]
        var hits: [CorrelationHit] = []

        func hit(_ group: [String: String], _ window: [CorrelationInput], _ value: Double) -> CorrelationHit {
            CorrelationHit(
                correlation: compiled.index, first: window.first?.time ?? 0, last: window.last?.time ?? 0, group: group,
                value: value, events: window.count)
        }

        func measure(_ window: [CorrelationInput]) -> Double? {
            switch correlation.type {
            case .eventCount: return Double(window.count)
            case .valueCount:
                return Double(Set(window.compactMap { $0.fields[correlation.field!] }).count)
            case .temporal:
                return Double(Set(window.map(\.source)).count)
            case .temporalOrdered:
                var need = 0
                for input in window where need < compiled.sources.count && input.source == compiled.sources[need] {
                    need += 1
                }
                return Double(need)
            case .valueSum, .valueAvg, .valueMedian, .valuePercentile:
                let numbers = window.compactMap { $0.fields[correlation.field!].flatMap(Double.init) }.sorted()
                guard !numbers.isEmpty else { return nil }
                switch correlation.type {
                case .valueSum: return numbers.reduce(0, +)
                case .valueAvg: return numbers.reduce(0, +) / Double(numbers.count)
                case .valueMedian: return percentile(numbers, 50)
                default: return percentile(numbers, correlation.percentile ?? 95)
                }
            }
        }

        func accepts(_ value: Double) -> Bool {
            if let condition = correlation.condition { return condition.accepts(value) }
            // temporal without condition: every rule must be seen.
            return value >= Double(Set(compiled.sources).count)
                && (correlation.type != .temporalOrdered || value >= Double(compiled.sources.count))
        }

        let sliding = correlation.condition?.isLowerBoundOnly ?? true
        if sliding {
            // Windows slide with each event; a group fires once, then starts afresh.
            for input in inputs {
                let group = groupKey(compiled, input)
                var window = windows[group] ?? []
                window.append(input)
                if let firstInside = window.firstIndex(where: { input.time - $0.time <= span }), firstInside > 0 {
                    window.removeFirst(firstInside)
                }
                if let value = measure(window), accepts(value) {
                    hits.append(hit(group, window, value))
                    window.removeAll()
                }
                windows[group] = window
            }
        } else {
            // Upper bounds ("fewer than"): fixed windows opened by a group's first event, judged when they close.
            var opened: [[String: String]: Double] = [:]
            func close(_ group: [String: String]) {
                guard let window = windows[group], !window.isEmpty else { return }
                if let value = measure(window), accepts(value) { hits.append(hit(group, window, value)) }
                windows[group] = []
            }
            for input in inputs {
                let group = groupKey(compiled, input)
                if let start = opened[group], input.time - start > span { close(group) }
                if windows[group]?.isEmpty ?? true { opened[group] = input.time }
                windows[group, default: []].append(input)
            }
            for group in windows.keys { close(group) }
        }
        return hits
    }

    func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard sorted.count > 1 else { return sorted[0] }
        let rank = p / 100 * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - Double(lower))
    }
}
