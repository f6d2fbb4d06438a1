import Foundation

/// One observation a pattern is matched against: an `observed-data` SDO's time span, count and the
/// cyber-observable objects it refers to (keyed by id, or by the legacy `objects` keys "0", "1", …).
public struct Observation: Sendable {
    public var firstObserved: STIXTimestamp
    public var lastObserved: STIXTimestamp
    public var numberObserved: Int
    public var objects: [String: JSONValue]
    /// The keys of the objects a comparison starts from (`object_refs`); the others are only reached through
    /// references. All objects when nil (the legacy `objects` container).
    public var roots: Set<String>?

    public init(
        firstObserved: STIXTimestamp, lastObserved: STIXTimestamp, numberObserved: Int = 1,
        objects: [String: JSONValue],
        roots: Set<String>? = nil
    ) {
        self.firstObserved = firstObserved
        self.lastObserved = lastObserved
        self.numberObserved = numberObserved
        self.objects = objects
        self.roots = roots
    }

    /// Builds observations from the `observed-data` objects of a bundle, resolving `object_refs` against
    /// the bundle's other objects.
    public static func from(bundle objects: [JSONValue]) throws(STIXError) -> [Observation] {
        var byID: [String: JSONValue] = [:]
        for object in objects {
            if let id = object["id"]?.stringValue { byID[id] = object }
        }
        var result: [Observation] = []
        for object in objects where object["type"]?.stringValue == "observed-data" {
            let id = object["id"]?.stringValue ?? "observed-data"
            guard let first = object["first_observed"]?.stringValue.flatMap(STIXTimestamp.init),
                let last = object["last_observed"]?.stringValue.flatMap(STIXTimestamp.init)
            else { throw STIXError("\(id): first_observed and last_observed are required") }
            var scos: [String: JSONValue] = [:]
            var roots: Set<String>?
            if let refs = object["object_refs"]?.arrayValue {
                let named = Set(refs.compactMap(\.stringValue))
                roots = named
                // The referenced objects, and what they reference in turn (a file's parent directory), for paths.
                var pending = Array(named)
                while let ref = pending.popLast() {
                    guard scos[ref] == nil else { continue }
                    guard let target = byID[ref] else {
                        if named.contains(ref) {
                            throw STIXError("\(id): object_refs names \(ref), which is not in the bundle")
                        }
                        continue
                    }
                    scos[ref] = target
                    for member in target.members ?? []
                    where member.key.hasSuffix("_ref") || member.key.hasSuffix("_refs") {
                        if let next = member.value.stringValue { pending.append(next) }
                        pending += (member.value.arrayValue ?? []).compactMap(\.stringValue)
                    }
                }
            } else if let legacy = object["objects"]?.members {
                for member in legacy { scos[member.key] = member.value }
            }
            result.append(
                Observation(
                    firstObserved: first, lastObserved: last, numberObserved: object["number_observed"]?.intValue ?? 1,
                    objects: scos, roots: roots))
        }
        return result
    }

}

/// Evaluates a parsed pattern over observations, as the STIX 2.1 specification describes (and as the OASIS
/// `stix2-matcher` does): each observation expression binds to distinct observations; AND/OR combine
/// bindings; FOLLOWEDBY needs the right side to start after the left side ends; WITHIN bounds a binding's
/// span; REPEATS needs that many disjoint bindings; START/STOP bounds observation times.
public struct PatternMatcher {
    /// Combining bindings is exponential in the worst case; past this many the search stops (and fails closed).
    public static let maximumBindings = 10_000

    public let pattern: STIXPattern
    public init(_ pattern: STIXPattern) { self.pattern = pattern }

    public func matches(_ observations: [Observation]) -> Bool {
        !bindings(pattern.expression, observations).isEmpty
    }

    /// The ids of observations (indices) taking part in the first match, if any.
    public func firstMatch(_ observations: [Observation]) -> [Int]? {
        bindings(pattern.expression, observations).first?.sorted()
    }

    typealias Binding = Set<Int>

    func bindings(_ expression: ObservationExpression, _ observations: [Observation]) -> [Binding] {
        switch expression {
        case .observation(let comparison):
            return observations.indices.filter { evaluate(comparison, in: observations[$0]) != nil }.map { [$0] }
        case .or(let left, let right):
            var seen = Set<Binding>()
            return (bindings(left, observations) + bindings(right, observations)).filter { seen.insert($0).inserted }
        case .and(let left, let right):
            return combine(bindings(left, observations), bindings(right, observations)) { _, _ in true }
        case .followedBy(let left, let right):
            return combine(bindings(left, observations), bindings(right, observations)) { a, b in
                let end = a.map { observations[$0].lastObserved }.max()
                let start = b.map { observations[$0].firstObserved }.min()
                guard let end, let start else { return false }
                return start >= end
            }
        case .qualified(let inner, let qualifier):
            let found = bindings(inner, observations)
            switch qualifier {
            case .within(let seconds):
                // A window longer than Int64 microseconds (about 292,000 years) is no limit.
                let microseconds = seconds * 1_000_000
                let limit = microseconds < Double(Int64.max) ? Int64(microseconds) : Int64.max
                return found.filter { binding in
                    guard let first = binding.map({ observations[$0].firstObserved }).min(),
                        let last = binding.map({ observations[$0].lastObserved }).max()
                    else { return false }
                    return last.microseconds - first.microseconds <= limit
                }
            case .startStop(let start, let stop):
                return found.filter { binding in
                    binding.allSatisfy {
                        observations[$0].firstObserved >= start && observations[$0].lastObserved < stop
                    }
                }
            case .repeats(let times):
                // An observed-data standing for n identical observations counts n times.
                var result: [Binding] = []
                for binding in found where binding.count == 1 {
                    if let index = binding.first, observations[index].numberObserved >= times { result.append(binding) }
                }
                var current = found
                for _ in 1..<times {
                    current = combine(current, found) { _, _ in true }
                    if current.isEmpty { break }
                }
                return result + current.filter { !result.contains($0) }
            }
        }
    }

    func combine(_ left: [Binding], _ right: [Binding], _ accept: (Binding, Binding) -> Bool) -> [Binding] {
        var out: [Binding] = []
        var seen = Set<Binding>()
        for a in left {
            for b in right where a.isDisjoint(with: b) && accept(a, b) {
                let merged = a.union(b)
                if seen.insert(merged).inserted {
                    out.append(merged)
                    if out.count >= Self.maximumBindings { return out }
                }
            }
        }
        return out
    }

    /// Per object type, the keys of the objects that satisfy the expression; nil when it does not hold.
    /// Tests on the same type joined by AND must hold for the same object.
    func evaluate(_ expression: ComparisonExpression, in observation: Observation) -> [String: Set<String>]? {
        switch expression {
        case .test(let test):
            var keys = Set<String>()
            for (key, object) in observation.objects
            where object["type"]?.stringValue == test.path.objectType && (observation.roots?.contains(key) ?? true) {
                if Self.holds(test, on: object, observation) { keys.insert(key) }
            }
            return keys.isEmpty ? nil : [test.path.objectType: keys]
        case .and(let left, let right):
            guard let a = evaluate(left, in: observation), let b = evaluate(right, in: observation) else { return nil }
            var merged = a
            for (type, keys) in b {
                if let existing = merged[type] {
                    let common = existing.intersection(keys)
                    if common.isEmpty { return nil }
                    merged[type] = common
                } else {
                    merged[type] = keys
                }
            }
            return merged
        case .or(let left, let right):
            let a = evaluate(left, in: observation)
            let b = evaluate(right, in: observation)
            guard let a else { return b }
            guard let b else { return a }
            return a.merging(b) { $0.union($1) }
        }
    }

    /// Values an object path reaches, following `_ref`/`_refs` into the observation's other objects.
    static func values(of path: ObjectPath, from object: JSONValue, _ observation: Observation) -> [JSONValue] {
        var current: [JSONValue] = [object]
        for (position, step) in path.steps.enumerated() {
            var next: [JSONValue] = []
            for value in current {
                switch step {
                case .property(let name):
                    guard let child = value[name] else { continue }
                    let isLast = position == path.steps.count - 1
                    if !isLast, name.hasSuffix("_ref"), let ref = child.stringValue,
                        let target = observation.objects[ref]
                    {
                        next.append(target)
                    } else if !isLast, name.hasSuffix("_refs"), let refs = child.arrayValue {
                        // `…_refs[0].value` indexes the list first; keep the list, dereference at the index step.
                        next.append(
                            .array(refs.map { ref in ref.stringValue.flatMap { observation.objects[$0] } ?? ref }))
                    } else {
                        next.append(child)
                    }
                case .index(let index):
                    if let list = value.arrayValue, index < list.count { next.append(list[index]) }
                case .anyIndex:
                    if let list = value.arrayValue { next.append(contentsOf: list) }
                }
            }
            current = next
            if current.isEmpty { return [] }
        }
        return current
    }

    static func holds(_ test: PropertyTest, on object: JSONValue, _ observation: Observation) -> Bool {
        let found = values(of: test.path, from: object, observation)
        if test.op == .exists { return !found.isEmpty }
        guard let literal = test.value else { return false }
        for value in found {
            if let result = compare(value, test.op, literal) {
                if result != test.negated { return true }
            }
        }
        return false
    }

    /// nil when the value and the literal cannot be compared (a type mismatch never matches, even with NOT).
    static func compare(_ value: JSONValue, _ op: PropertyTest.Operator, _ literal: PatternLiteral) -> Bool? {
        switch op {
        case .in:
            guard case .set(let items) = literal else { return nil }
            var comparable = false
            for item in items {
                if let equal = compare(value, .equal, item) {
                    comparable = true
                    if equal { return true }
                }
            }
            return comparable ? false : nil
        case .like:
            guard case .string(let text) = value, case .string(let pattern) = literal else { return nil }
            return likeMatch(Array(text.unicodeScalars), Array(pattern.unicodeScalars))
        case .matches:
            guard case .string(let text) = value, case .string(let pattern) = literal,
                let regex = try? NSRegularExpression(pattern: pattern)  // validated when the pattern was parsed
            else { return nil }
            return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        case .isSubset, .isSuperset:
            guard case .string(let text) = value, case .string(let other) = literal,
                let mine = IPNetwork(text), let theirs = IPNetwork(other)
            else { return nil }
            return op == .isSubset ? theirs.contains(mine) : mine.contains(theirs)
        case .exists:
            return true
        case .equal, .notEqual, .greater, .less, .greaterOrEqual, .lessOrEqual:
            guard let order = order(value, literal) else { return nil }
            switch op {
            case .equal: return order == 0
            case .notEqual: return order != 0
            case .greater: return order > 0
            case .less: return order < 0
            case .greaterOrEqual: return order >= 0
            default: return order <= 0
            }
        }
    }

    /// -1, 0 or 1 comparing a JSON value with a literal of a compatible type.
    static func order(_ value: JSONValue, _ literal: PatternLiteral) -> Int? {
        func sign<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }
        switch (value, literal) {
        case (.string(let text), .string(let other)):
            if text.utf8.elementsEqual(other.utf8) { return 0 }
            return text.utf8.lexicographicallyPrecedes(other.utf8) ? -1 : 1
        case (.string(let text), .timestamp(let stamp)):
            guard let mine = STIXTimestamp(text) else { return nil }
            return sign(mine, stamp)
        case (.string(let text), .binary(let bytes)):
            guard let data = Data(base64Encoded: text) else { return nil }
            return Array(data) == bytes ? 0 : (Array(data).lexicographicallyPrecedes(bytes) ? -1 : 1)
        case (.string(let text), .hex(let bytes)):
            let mine = PatternLexer.hexBytes(text) ?? Data(base64Encoded: text).map(Array.init)
            guard let mine else { return nil }
            return mine == bytes ? 0 : (mine.lexicographicallyPrecedes(bytes) ? -1 : 1)
        case (.number(let text), .integer(let number)):
            if let mine = Int(text) { return sign(mine, number) }
            guard let mine = Double(text) else { return nil }
            return sign(mine, Double(number))
        case (.number(let text), .float(let number)):
            guard let mine = Double(text) else { return nil }
            return sign(mine, number)
        case (.bool(let flag), .bool(let other)):
            return flag == other ? 0 : 1
        default:
            return nil
        }
    }

    /// SQL LIKE: `%` any run, `_` one character; iterative with backtracking to the last `%`.
    static func likeMatch(_ text: [Unicode.Scalar], _ pattern: [Unicode.Scalar]) -> Bool {
        var t = 0
        var p = 0
        var star = -1
        var mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "_" || (pattern[p] != "%" && pattern[p] == text[t]) {
                t += 1
                p += 1
            } else if p < pattern.count, pattern[p] == "%" {
                star = p
                mark = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "%" { p += 1 }
        return p == pattern.count
    }
}
