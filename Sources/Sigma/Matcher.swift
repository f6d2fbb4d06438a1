/// Evaluates a ``RuleSet`` against events. One matcher per thread: it keeps per-thread caches and scratch space, so
/// that evaluating an event allocates nothing once warm.
public final class Matcher {
    public let ruleSet: RuleSet
    @exclusivity(unchecked) var groups: [RuleGroup] = []
    var groupBySignature: [[Int32]: Int] = [:]
    var groupByKeyHash: [UInt64: (key: [UInt8], group: Int)] = [:]
    @exclusivity(unchecked) var keyScratch: [UInt8] = []
    @exclusivity(unchecked) var signatureScratch: [Int32] = []
    @exclusivity(unchecked) var ruleStamp: [UInt32]
    @exclusivity(unchecked) var serial: UInt32 = 0
    @exclusivity(unchecked) var candidates: [Int32] = []
    /// Rules evaluated in full so far (candidates the prefilter let through).
    public private(set) var evaluations = 0
    static let keyCacheLimit = 16_384

    public init(ruleSet: RuleSet) {
        self.ruleSet = ruleSet
        ruleStamp = Array(repeating: 0, count: ruleSet.rules.count)
        candidates.reserveCapacity(max(16, ruleSet.rules.count))
        keyScratch.reserveCapacity(256)
    }

    /// A fresh event buffer for this rule set.
    public func makeEvent() -> Event { Event(registry: ruleSet.registry) }

    /// Number of distinct event kinds seen so far.
    public var groupCount: Int { groups.count }

    /// Calls `body` with the index (in ``RuleSet/rules``) of every rule the event matches.
    public func forEachMatch(_ event: Event, _ body: (Int) -> Void) {
        for alias in ruleSet.globalAliases { event.alias(alias.target, from: alias.source) }
        let groupNumber = groupIndex(for: event)
        var group = groups[groupNumber]
        for alias in group.aliases { event.alias(alias.target, from: alias.source) }
        if group.sample != nil { group = learn(groupNumber, event) }

        serial &+= 1
        if serial == 0 {
            for index in ruleStamp.indices { ruleStamp[index] = 0 }
            serial = 1
        }
        candidates.removeAll(keepingCapacity: true)
        for rule in group.always { mark(rule) }
        event.low.withUnsafeBufferPointer { low in
            guard let base = low.baseAddress else { return }
            for index in group.fields {
                var valueIndex = event.first(index.field!)
                while valueIndex >= 0 {
                    let value = event.values[Int(valueIndex)]
                    let start = base + Int(value.start)
                    let length = Int(value.length)
                    if let table = index.grams { scan(start, length, table) }
                    if let table = index.exact { probe(exactKey(start, length), table) }
                    if let table = index.affixes {
                        for prefix in index.prefixLengths where prefix <= length {
                            probe(affixKey(start, prefix, suffix: false), table)
                        }
                        for suffix in index.suffixLengths where suffix <= length {
                            probe(affixKey(start + length - suffix, suffix, suffix: true), table)
                        }
                    }
                    valueIndex = value.next
                }
            }
            if let table = group.anyTable {
                for value in event.values where value.kind != .null {
                    scan(base + Int(value.start), Int(value.length), table)
                }
            }
        }
        if candidates.isEmpty { return }
        evaluations += candidates.count
        let rules = ruleSet.rules
        Evaluator.run(event, ruleSet.program) { evaluator in
            for candidate in candidates where evaluator.evaluate(rules[Int(candidate)].root) {
                body(Int(candidate))
            }
        }
    }

    /// Records the event in the group's sample; once the sample is complete, rebuilds the group's index from it.
    func learn(_ number: Int, _ event: Event) -> RuleGroup {
        let group = groups[number]
        event.low.withUnsafeBufferPointer { low in
            guard let base = low.baseAddress else { return }
            group.sample!.events += 1
            for index in group.fields {
                var valueIndex = event.first(index.field!)
                while valueIndex >= 0 {
                    let value = event.values[Int(valueIndex)]
                    group.sample!.record(field: index.field, base + Int(value.start), Int(value.length))
                    valueIndex = value.next
                }
            }
        }
        guard group.sample!.events >= RuleGroup.sampleSize else { return group }
        let rebuilt = RuleGroup(
            rules: ruleSet.rules, members: group.members, aliases: group.aliases, learned: group.sample)
        groups[number] = rebuilt
        return rebuilt
    }

    @inline(__always)
    func mark(_ rule: Int32) {
        if ruleStamp[Int(rule)] != serial {
            ruleStamp[Int(rule)] = serial
            candidates.append(rule)
        }
    }

    @inline(__always)
    func scan(_ start: UnsafePointer<UInt8>, _ length: Int, _ table: GramTable) {
        guard length >= Prefilter.gramLength else { return }
        let mask = table.mask
        table.keys.withUnsafeBufferPointer { keys in
            table.starts.withUnsafeBufferPointer { starts in
                for offset in 0...(length - Prefilter.gramLength) {
                    let gram = Prefilter.gramKey(start + offset)
                    var slot = GramTable.slot(gram, mask)
                    while true {
                        let postingStart = starts[slot]
                        if postingStart < 0 { break }
                        if keys[slot] == gram {
                            let count = Int(table.counts[slot])
                            for k in 0..<count { mark(table.postings[Int(postingStart) + k]) }
                            break
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    @inline(__always)
    func probe(_ key: UInt32, _ table: GramTable) {
        var slot = GramTable.slot(key, table.mask)
        while true {
            let postingStart = table.starts[slot]
            if postingStart < 0 { return }
            if table.keys[slot] == key {
                for k in 0..<Int(table.counts[slot]) { mark(table.postings[Int(postingStart) + k]) }
                return
            }
            slot = (slot + 1) & table.mask
        }
    }

    // MARK: Event kinds

    func groupIndex(for event: Event) -> Int {
        keyScratch.removeAll(keepingCapacity: true)
        for field in ruleSet.discriminators {
            let index = event.first(field)
            if index >= 0 {
                let value = event.values[Int(index)]
                keyScratch.append(1)
                for offset in Int(value.start)..<Int(value.start + value.length) {
                    keyScratch.append(event.low[offset])
                }
            }
            keyScratch.append(0)
        }
        let hash = hashBytes(keyScratch)
        if let cached = groupByKeyHash[hash], cached.key == keyScratch { return cached.group }
        let group = resolveGroup(event)
        if groupByKeyHash.count >= Self.keyCacheLimit { groupByKeyHash.removeAll(keepingCapacity: true) }
        groupByKeyHash[hash] = (keyScratch, group)
        return group
    }

    /// Which mapping conditions the event meets, as a signature; one group per signature.
    func resolveGroup(_ event: Event) -> Int {
        signatureScratch.removeAll(keepingCapacity: true)
        Evaluator.run(event, ruleSet.program) { evaluator in
            for (entryIndex, conditions) in ruleSet.entryConditions.enumerated() {
                for (conditionIndex, condition) in conditions.enumerated() {
                    let met = condition.values.allSatisfy { field, accepted in
                        var index = event.first(field)
                        while index >= 0 {
                            let value = event.values[Int(index)]
                            let bytes = evaluator.slice(evaluator.low, value)
                            if accepted.contains(where: { $0.matches(bytes) }) { return true }
                            index = value.next
                        }
                        return false
                    }
                    if met { signatureScratch.append(Int32(entryIndex << 8 | conditionIndex)) }
                }
            }
        }
        if let existing = groupBySignature[signatureScratch] { return existing }
        let matchedEntries = Set(signatureScratch.map { Int($0 >> 8) })
        var aliases: [(FieldID, FieldID)] = []
        for code in signatureScratch {
            aliases += ruleSet.entryConditions[Int(code >> 8)][Int(code & 0xFF)].aliases
        }
        let members = ruleSet.rules.indices.filter { index in
            guard let entries = ruleSet.rules[index].entries else { return matchedEntries.isEmpty }
            return entries.contains(where: matchedEntries.contains)
        }
        let group = RuleGroup(rules: ruleSet.rules, members: members, aliases: aliases)
        groups.append(group)
        groupBySignature[signatureScratch] = groups.count - 1
        return groups.count - 1
    }
}
