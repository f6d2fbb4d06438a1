/// Narrowing rules before evaluation: each rule is indexed by a 4-byte gram of a literal it cannot match without,
/// per field; an event is only evaluated against rules whose grams occur in its values.
enum Prefilter {
    static let gramLength = 4

    /// Literal alternatives of which one must occur for `node` to be true; `nil` when none can be derived.
    static func requiredLiterals(_ node: PlanNode) -> [RequiredLiteral]? {
        guard let literals = need(node) else { return nil }
        var seen = Set<RequiredLiteral>()
        return literals.filter { seen.insert($0).inserted }
    }

    static func need(_ node: PlanNode) -> [RequiredLiteral]? {
        switch node {
        case .field(let id, let tests): return literals(of: tests, field: id)
        case .keyword(let tests): return literals(of: tests, field: nil)
        case .exists, .constant, .not: return nil
        case .and(let nodes):
            var best: [RequiredLiteral]?
            var bestCost = Int.max
            for child in nodes {
                guard let candidate = need(child) else { continue }
                let cost = candidate.reduce(0) { $0 + ($1.bytes.count < 6 ? 3 : 2) + ($1.field == nil ? 4 : 0) }
                if cost < bestCost {
                    best = candidate
                    bestCost = cost
                }
            }
            return best
        case .or(let nodes), .atLeast(_, let nodes):
            var all: [RequiredLiteral] = []
            for child in nodes {
                guard let literals = need(child) else { return nil }
                all += literals
            }
            return all
        }
    }

    static func literals(of tests: [ValueTest], field: FieldID?) -> [RequiredLiteral]? {
        var result: [RequiredLiteral] = []
        for test in tests {
            guard case .string(let comparison, _) = test else { return nil }
            let bytes: [UInt8]
            switch comparison {
            case .equals(let b), .prefix(let b), .suffix(let b), .contains(let b): bytes = b
            case .glob(let tokens):
                var best: [UInt8] = []
                var current: [UInt8] = []
                for token in tokens {
                    if token >= 0 {
                        current.append(UInt8(token))
                    } else {
                        if current.count > best.count { best = current }
                        current = []
                    }
                }
                if current.count > best.count { best = current }
                bytes = best
            }
            guard bytes.count >= gramLength else { return nil }
            result.append(RequiredLiteral(field: field, bytes: bytes.map(asciiLower)))
        }
        return result.isEmpty ? nil : result
    }

    /// Grams that occur in most events of a kind; avoided when a literal offers another.
    static let commonGrams: Set<[UInt8]> = Set(
        [
            ".exe", "exe ", "c:\\w", ":\\wi", "\\win", "wind", "indo", "ndow", "dows", "ows\\", "\\sys", "syst", "yste",
            "stem", "tem3", "em32", "m32\\", "\\pro", "prog", "rogr", "ogra", "gram", "ram ", "file", "iles", "\\use",
            "user", "sers", "ers\\", "micr", "icro", "cros", "roso", "osof", "soft", "oft\\", "\\mic", "c:\\u", ":\\us",
            "c:\\p", ":\\pr", "hklm", "\\sof", "\\cur", "curr", "urre", "rren", "rent", "ntve", "vers", "ersi", "rsio",
            "sion", ".dll", "dll\"", "\\app", "appd", "ppda", "pdat", "data", "ata\\", "loca", "ocal", "\\loc", "\\tem",
            "temp", "emp\\", "powe", "ower", "wers", "ersh", "rshe", "shel", "hell", "cmd.", "md.e", "d.ex",
        ].map { Array($0.utf8) })

    @inline(__always)
    static func gramKey(_ pointer: UnsafePointer<UInt8>) -> UInt32 {
        UnsafeRawPointer(pointer).loadUnaligned(as: UInt32.self)
    }

    static func gramKey(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        Array(bytes).withUnsafeBufferPointer { gramKey($0.baseAddress!) }
    }
}

/// Open-addressing map from a gram to the rules indexed under it.
struct GramTable: Sendable {
    var keys: [UInt32]
    var starts: [Int32]
    var counts: [Int32]
    var postings: [Int32]
    var mask: Int

    init(_ pairs: [(gram: UInt32, rule: Int32)]) {
        let sorted = pairs.sorted { $0.gram != $1.gram ? $0.gram < $1.gram : $0.rule < $1.rule }
        var distinct: [(UInt32, Int32, Int32)] = []
        var postings: [Int32] = []
        for pair in sorted {
            if let last = distinct.last, last.0 == pair.gram {
                if postings.last != pair.rule {
                    postings.append(pair.rule)
                    distinct[distinct.count - 1].2 += 1
                }
            } else {
                distinct.append((pair.gram, Int32(postings.count), 1))
                postings.append(pair.rule)
            }
        }
        var capacity = 16
        while capacity < distinct.count * 2 { capacity *= 2 }
        keys = Array(repeating: 0, count: capacity)
        starts = Array(repeating: -1, count: capacity)
        counts = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        self.postings = postings
        for (gram, start, count) in distinct {
            var slot = GramTable.slot(gram, mask)
            while starts[slot] >= 0 { slot = (slot + 1) & mask }
            keys[slot] = gram
            starts[slot] = start
            counts[slot] = count
        }
    }

    @inline(__always)
    static func slot(_ gram: UInt32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(gram) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }
}

/// The rules that apply to one kind of event (one combination of channel, event id… values), with their index.
final class RuleGroup {
    let always: [Int32]
    let fieldTables: [(field: FieldID, table: GramTable)]
    let anyTable: GramTable?
    let aliases: [(target: FieldID, source: FieldID)]
    let ruleCount: Int

    init(rules: [CompiledRule], members: [Int], aliases: [(target: FieldID, source: FieldID)]) {
        self.aliases = aliases
        ruleCount = members.count
        var always: [Int32] = []
        // Count how many literals share each gram, per field, to pick rare grams.
        var frequency: [Int64: Int] = [:]
        func fieldKey(_ field: FieldID?) -> Int64 { Int64(field ?? -1) << 32 }
        for index in members {
            guard let literals = rules[index].literals else { continue }
            for literal in literals {
                var seen = Set<UInt32>()
                for start in 0...(literal.bytes.count - Prefilter.gramLength) {
                    let gram = Prefilter.gramKey(literal.bytes[start..<start + Prefilter.gramLength])
                    if seen.insert(gram).inserted { frequency[fieldKey(literal.field) | Int64(gram), default: 0] += 1 }
                }
            }
        }
        var perField: [FieldID: [(UInt32, Int32)]] = [:]
        var anyPairs: [(UInt32, Int32)] = []
        for index in members {
            guard let literals = rules[index].literals else {
                always.append(Int32(index))
                continue
            }
            for literal in literals {
                var bestGram: UInt32 = 0
                var bestScore = Int.max
                for start in 0...(literal.bytes.count - Prefilter.gramLength) {
                    let slice = literal.bytes[start..<start + Prefilter.gramLength]
                    let gram = Prefilter.gramKey(slice)
                    var score = frequency[fieldKey(literal.field) | Int64(gram)] ?? 0
                    if Prefilter.commonGrams.contains(Array(slice)) { score += 10_000 }
                    if slice.allSatisfy({ $0 == 0x20 || $0 == 0 }) { score += 20_000 }
                    if score <= bestScore {
                        bestScore = score
                        bestGram = gram
                    }
                }
                if let field = literal.field {
                    perField[field, default: []].append((bestGram, Int32(index)))
                } else {
                    anyPairs.append((bestGram, Int32(index)))
                }
            }
        }
        self.always = always
        fieldTables = perField.sorted { $0.key < $1.key }.map { ($0.key, GramTable($0.value.map { ($0.0, $0.1) })) }
        anyTable = anyPairs.isEmpty ? nil : GramTable(anyPairs.map { ($0.0, $0.1) })
    }
}
