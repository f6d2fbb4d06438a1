/// Narrowing rules before evaluation: each rule is indexed by a 4-byte gram of a literal it cannot match without,
/// per field; an event is only evaluated against rules whose grams occur in its values.
enum Prefilter {
    static let gramLength = 4

    /// Literal alternatives of which one must occur for `node` to be true; `nil` when none can be derived.
    /// Among the children of an `and`, the set with the lowest `cost` (expected share of events it lets through)
    /// is kept.
    static func requiredLiterals(_ node: PlanNode, cost: ([RequiredLiteral]) -> Double = staticCost)
        -> [RequiredLiteral]?
    {
        guard let literals = need(node, cost) else { return nil }
        var seen = Set<RequiredLiteral>()
        return literals.filter { seen.insert($0).inserted }
    }

    static func need(_ node: PlanNode, _ cost: ([RequiredLiteral]) -> Double) -> [RequiredLiteral]? {
        switch node {
        case .field(let id, let tests): return literals(of: tests, field: id)
        case .keyword(let tests): return literals(of: tests, field: nil)
        case .exists, .constant, .not: return nil
        case .and(let nodes):
            var best: [RequiredLiteral]?
            var bestCost = Double.infinity
            for child in nodes {
                guard let candidate = need(child, cost) else { continue }
                let candidateCost = cost(candidate)
                if candidateCost < bestCost {
                    best = candidate
                    bestCost = candidateCost
                }
            }
            return best
        case .or(let nodes), .atLeast(_, let nodes):
            var all: [RequiredLiteral] = []
            for child in nodes {
                guard let literals = need(child, cost) else { return nil }
                all += literals
            }
            return all
        }
    }

    /// Values that most Windows events carry, whatever the kind.
    static let commonValues: Set<[UInt8]> = Set(
        [
            "medium", "high", "system", "low", "microsoft corporation", "microsoft® windows® operating system",
            "true", "false", "-", "s-1-5-18", "s-1-16-8192", "s-1-16-12288", "s-1-16-16384", "s-1-16-4096",
            "nt authority\\system", "tcp", "udp", "setvalue", "%%1936", "%%1937", "%%1938",
        ].map { Array($0.utf8) })

    /// Expected share of events a literal set lets through, without knowledge of the events.
    static func staticCost(_ literals: [RequiredLiteral]) -> Double {
        literals.reduce(0) { total, literal in
            var share: Double
            switch literal.kind {
            case .exact:
                share = commonValues.contains(literal.bytes) ? 0.5 : literal.bytes.count <= 2 ? 0.1 : 0.01
            case .prefix, .suffix:
                share = 0.1
            case .gram:
                var allCommon = true
                for start in 0...(literal.bytes.count - gramLength)
                where !commonGrams.contains(Array(literal.bytes[start..<start + gramLength])) {
                    allCommon = false
                    break
                }
                share = allCommon ? 0.5 : literal.bytes.count < 6 ? 0.03 : 0.01
            }
            return total + share + (literal.field == nil ? 0.02 : 0)
        }
    }

    static func literals(of tests: [ValueTest], field: FieldID?) -> [RequiredLiteral]? {
        var result: [RequiredLiteral] = []
        for test in tests {
            switch test {
            case .string(let comparison, _):
                switch comparison {
                case .equals(let bytes):
                    // Exact values are indexed whole, whatever their length (not for keywords: they search
                    // every value).
                    guard field != nil else { return nil }
                    result.append(RequiredLiteral(field: field, bytes: bytes.map(asciiLower), kind: .exact))
                case .prefix(let bytes) where bytes.count < gramLength:
                    guard field != nil, !bytes.isEmpty else { return nil }
                    result.append(RequiredLiteral(field: field, bytes: bytes.map(asciiLower), kind: .prefix))
                case .suffix(let bytes) where bytes.count < gramLength:
                    guard field != nil, !bytes.isEmpty else { return nil }
                    result.append(RequiredLiteral(field: field, bytes: bytes.map(asciiLower), kind: .suffix))
                case .prefix(let bytes), .suffix(let bytes), .contains(let bytes):
                    guard bytes.count >= gramLength else { return nil }
                    result.append(RequiredLiteral(field: field, bytes: bytes.map(asciiLower), kind: .gram))
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
                    guard best.count >= gramLength else { return nil }
                    result.append(RequiredLiteral(field: field, bytes: best.map(asciiLower), kind: .gram))
                }
            case .regex(let box):
                guard let literal = regexRequiredLiteral(box.pattern), literal.count >= gramLength else { return nil }
                result.append(RequiredLiteral(field: field, bytes: literal.map(asciiLower), kind: .gram))
            default:
                return nil
            }
        }
        return result.isEmpty ? nil : result
    }

    /// The longest literal run every match of a regular expression contains, when one can be read off simply
    /// (no top-level alternation; groups, classes and escapes other than punctuation end a run).
    static func regexRequiredLiteral(_ pattern: String) -> [UInt8]? {
        let literal = analyzeRegex(pattern).literal
        return literal.isEmpty ? nil : literal
    }

    static let quantifierEnds: Set<UInt8> = Set("?*+}".utf8)
    static let zeroWidthEscapes: Set<UInt8> = Set("bBAzZG".utf8)

    /// A literal every match contains (possibly empty) and a lower bound of a match's length in bytes.
    static func analyzeRegex(_ pattern: String) -> (literal: [UInt8], minimumLength: Int) {
        let bytes = Array(pattern.utf8)
        var best: [UInt8] = []
        var run: [UInt8] = []
        var length = 0
        var lastAtom = 0
        var index = 0
        func endRun() {
            if run.count > best.count { best = run }
            run = []
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "|"):
                return ([], 0)
            case UInt8(ascii: "("):
                // Groups count for nothing (they may hold alternatives); a top-level `|` inside one is fine.
                endRun()
                var depth = 1
                index += 1
                while index < bytes.count, depth > 0 {
                    if bytes[index] == UInt8(ascii: "\\") {
                        index += 2
                        continue
                    }
                    if bytes[index] == UInt8(ascii: "(") { depth += 1 }
                    if bytes[index] == UInt8(ascii: ")") { depth -= 1 }
                    index += 1
                }
                lastAtom = 0
                continue
            case UInt8(ascii: "["):
                endRun()
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "^") { index += 1 }
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1 }
                while index < bytes.count, bytes[index] != UInt8(ascii: "]") {
                    if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                    index += 1
                }
                index += 1
                length += 1
                lastAtom = 1
                continue
            case UInt8(ascii: "?"), UInt8(ascii: "*"):
                // The previous atom is optional (a lazy `?` after a quantifier changes nothing).
                if index > 0, quantifierEnds.contains(bytes[index - 1]) {
                    index += 1
                    continue
                }
                if !run.isEmpty { run.removeLast() }
                endRun()
                length -= lastAtom
                lastAtom = 0
            case UInt8(ascii: "{"):
                let closing = bytes[index...].firstIndex(of: UInt8(ascii: "}")) ?? bytes.count
                let inside = String(decoding: bytes[(index + 1)..<min(closing, bytes.count)], as: UTF8.self)
                let minimum = Int(inside.split(separator: ",", omittingEmptySubsequences: false).first ?? "") ?? 0
                if minimum == 0, !run.isEmpty { run.removeLast() }
                endRun()
                length += lastAtom * (minimum - 1)
                lastAtom = 0
                index = closing + 1
                continue
            case UInt8(ascii: "+"):
                endRun()
            case UInt8(ascii: "."):
                endRun()
                length += 1
                lastAtom = 1
            case UInt8(ascii: "^"), UInt8(ascii: "$"):
                endRun()
                lastAtom = 0
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { return ([], 0) }
                let next = bytes[index + 1]
                let isWordLike =
                    (next >= 0x30 && next <= 0x39) || (next | 0x20 >= 0x61 && next | 0x20 <= 0x7A) || next >= 0x80
                if isWordLike {
                    endRun()
                    // \b, \B, \A, \z… match no character.
                    let zeroWidth = zeroWidthEscapes.contains(next)
                    lastAtom = zeroWidth ? 0 : 1
                } else {
                    run.append(next)
                    lastAtom = 1
                }
                length += lastAtom
                index += 2
                continue
            default:
                run.append(byte)
                length += 1
                lastAtom = 1
            }
            index += 1
        }
        endRun()
        return (best, max(0, length))
    }

    /// Grams that occur in most events of a kind; avoided when a literal offers another.
    static let commonGrams: Set<[UInt8]> = Set(
        [
            ".exe", "exe ", "c:\\w", ":\\wi", "\\win", "wind", "indo", "ndow", "dows", "ows\\", "\\sys", "syst", "yste",
            "stem", "tem3", "em32", "m32\\", "\\pro", "prog", "rogr", "ogra", "gram", "ram ", "file", "iles", "\\use",
            "user", "sers", "ers\\", "micr", "icro", "cros", "roso", "osof", "soft", "oft\\", "\\mic", "c:\\u", ":\\us",
            "c:\\p", ":\\pr", "hklm", "\\sof", "\\cur", "curr", "urre", "rren", "rent", "ntve", "vers", "ersi", "rsio",
            "sion", ".dll", "dll\"", "\\app", "appd", "ppda", "pdat", "data", "ata\\", "loca", "ocal", "\\loc", "\\tem",
            "temp", "emp\\", "powe", "ower", "wers", "ersh", "rshe", "shel", "hell", "cmd.", "md.e", "d.ex", "corp",
            "orpo", "rpor", "pora", "orat", "rati", "atio", "tion", " cor", "sof", "ft c", "t co",
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

/// Index of one field's values within a rule group.
struct FieldIndex {
    var field: FieldID?
    var grams: GramTable?
    /// Whole values, by hash.
    var exact: GramTable?
    /// Short prefixes and suffixes, by hash of (length, side, bytes).
    var affixes: GramTable?
    var prefixLengths: [Int]
    var suffixLengths: [Int]
}

@inline(__always)
func affixKey(_ pointer: UnsafePointer<UInt8>, _ length: Int, suffix: Bool) -> UInt32 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(length) ^ (suffix ? 0x100 : 0)
    for k in 0..<length { hash = (hash ^ UInt64(pointer[k])) &* 0x100_0000_01b3 }
    return UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
}

@inline(__always)
func exactKey(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> UInt32 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for k in 0..<length { hash = (hash ^ UInt64(pointer[k])) &* 0x100_0000_01b3 }
    return UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
}

/// What a sample of a kind's events looked like: how often each gram and whole value occurred per field, so that
/// the index can avoid literals most events carry.
struct GroupSample {
    var events = 0
    var grams: [Int64: Int32] = [:]
    var exact: [Int64: Int32] = [:]

    static func key(_ field: FieldID?, _ gram: UInt32) -> Int64 { Int64(field ?? -1) << 32 | Int64(gram) }

    mutating func record(field: FieldID?, _ start: UnsafePointer<UInt8>, _ length: Int) {
        exact[Self.key(field, exactKey(start, length)), default: 0] += 1
        guard length >= Prefilter.gramLength else { return }
        for offset in 0...(length - Prefilter.gramLength) {
            grams[Self.key(field, Prefilter.gramKey(start + offset)), default: 0] += 1
        }
    }

    /// Share of sampled events in which a literal would be found (upper bound from its rarest gram).
    func share(_ literal: RequiredLiteral) -> Double {
        let n = Double(max(events, 1))
        switch literal.kind {
        case .exact:
            let key = literal.bytes.withUnsafeBufferPointer {
                exactKey($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count)
            }
            return Double(exact[Self.key(literal.field, key)] ?? 0) / n
        case .prefix, .suffix:
            return 0.1
        case .gram:
            var rarest = Int32.max
            for start in 0...(literal.bytes.count - Prefilter.gramLength) {
                let gram = Prefilter.gramKey(literal.bytes[start..<start + Prefilter.gramLength])
                rarest = min(rarest, grams[Self.key(literal.field, gram)] ?? 0)
            }
            return Double(rarest) / n
        }
    }

    func cost(_ literals: [RequiredLiteral]) -> Double {
        literals.reduce(0) { $0 + share($1) + 0.001 }
    }
}

/// The rules that apply to one kind of event (one combination of channel, event id… values), with their index.
final class RuleGroup {
    let always: [Int32]
    let fields: [FieldIndex]
    static let sampleSize = 400
    let anyTable: GramTable?
    let aliases: [(target: FieldID, source: FieldID)]

    let members: [Int]
    /// Set while the group learns from its first events.
    var sample: GroupSample?

    init(
        rules: [CompiledRule], members: [Int], aliases: [(target: FieldID, source: FieldID)],
        learned: GroupSample? = nil
    ) {
        self.aliases = aliases
        self.members = members
        sample = learned == nil ? GroupSample() : nil
        // With a sample of events, each rule is indexed under the literals its events least often carry.
        let literalSets: [Int: [RequiredLiteral]?] = Dictionary(
            uniqueKeysWithValues: members.map { index in
                if let learned {
                    return (index, Prefilter.requiredLiterals(rules[index].plan, cost: learned.cost))
                }
                return (index, rules[index].literals)
            })
        var always: [Int32] = []
        // Count how many literals share each gram, per field, to pick rare grams.
        var frequency: [Int64: Int] = [:]
        func fieldKey(_ field: FieldID?) -> Int64 { Int64(field ?? -1) << 32 }
        for index in members {
            for literal in (literalSets[index] ?? nil) ?? [] where literal.kind == .gram {
                var seen = Set<UInt32>()
                for start in 0...(literal.bytes.count - Prefilter.gramLength) {
                    let gram = Prefilter.gramKey(literal.bytes[start..<start + Prefilter.gramLength])
                    if seen.insert(gram).inserted { frequency[fieldKey(literal.field) | Int64(gram), default: 0] += 1 }
                }
            }
        }
        struct Pending {
            var grams: [(gram: UInt32, rule: Int32)] = []
            var exact: [(gram: UInt32, rule: Int32)] = []
            var affixes: [(gram: UInt32, rule: Int32)] = []
            var prefixLengths = Set<Int>()
            var suffixLengths = Set<Int>()
        }
        var pending: [FieldID: Pending] = [:]
        var anyPairs: [(gram: UInt32, rule: Int32)] = []
        for index in members {
            guard let literals = literalSets[index] ?? nil else {
                always.append(Int32(index))
                continue
            }
            for literal in literals {
                let rule = Int32(index)
                switch literal.kind {
                case .exact:
                    let key = literal.bytes.withUnsafeBufferPointer {
                        exactKey($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count)
                    }
                    pending[literal.field!, default: Pending()].exact.append((key, rule))
                case .prefix, .suffix:
                    let suffix = literal.kind == .suffix
                    let key = literal.bytes.withUnsafeBufferPointer {
                        affixKey($0.baseAddress!, $0.count, suffix: suffix)
                    }
                    pending[literal.field!, default: Pending()].affixes.append((key, rule))
                    if suffix {
                        pending[literal.field!]!.suffixLengths.insert(literal.bytes.count)
                    } else {
                        pending[literal.field!]!.prefixLengths.insert(literal.bytes.count)
                    }
                case .gram:
                    var bestGram: UInt32 = 0
                    var bestScore = Int.max
                    for start in 0...(literal.bytes.count - Prefilter.gramLength) {
                        let slice = literal.bytes[start..<start + Prefilter.gramLength]
                        let gram = Prefilter.gramKey(slice)
                        var score = frequency[fieldKey(literal.field) | Int64(gram)] ?? 0
                        if let learned {
                            score += Int(learned.grams[GroupSample.key(literal.field, gram)] ?? 0) * 1_000
                        } else if Prefilter.commonGrams.contains(Array(slice)) {
                            score += 10_000
                        }
                        if slice.allSatisfy({ $0 == 0x20 || $0 == 0 }) { score += 20_000 }
                        if score <= bestScore {
                            bestScore = score
                            bestGram = gram
                        }
                    }
                    if let field = literal.field {
                        pending[field, default: Pending()].grams.append((bestGram, rule))
                    } else {
                        anyPairs.append((bestGram, rule))
                    }
                }
            }
        }
        self.always = always
        fields = pending.sorted { $0.key < $1.key }.map { field, entry in
            FieldIndex(
                field: field, grams: entry.grams.isEmpty ? nil : GramTable(entry.grams),
                exact: entry.exact.isEmpty ? nil : GramTable(entry.exact),
                affixes: entry.affixes.isEmpty ? nil : GramTable(entry.affixes),
                prefixLengths: entry.prefixLengths.sorted(), suffixLengths: entry.suffixLengths.sorted())
        }
        anyTable = anyPairs.isEmpty ? nil : GramTable(anyPairs)
    }
}
