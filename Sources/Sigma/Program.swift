/// All rules of a set lowered to flat arrays of plain structs, so that evaluating a rule walks indices and
/// compares bytes without reference counting.
struct Program: Sendable {
    enum OpKind: UInt8 { case and, or, not, atLeast, field, exists, keyword, constant }
    enum TestKind: UInt8 {
        case equals, prefix, suffix, contains, glob, regex, cidr, numeric, timePart, null, fieldReference
    }

    struct Op: Sendable {
        var kind: OpKind
        /// and/or/atLeast: first child (in `children`); not: child op; field/exists: field id; constant: 0/1.
        var a: Int32
        /// and/or/atLeast: child count; field/keyword: first test; exists: wanted (0/1).
        var b: Int32
        /// atLeast: required count; field/keyword: test count.
        var c: Int32
    }

    struct Test: Sendable {
        var kind: TestKind
        var cased: Bool
        var op: CountCondition.Operator = .eq
        var part: TimePart = .year
        /// Bytes (in `bytes`), glob tokens (in `globs`), regex or CIDR index, or field id.
        var start: Int32 = 0
        var length: Int32 = 0
        var number: Double = 0
    }

    var ops: [Op] = []
    var children: [Int32] = []
    var tests: [Test] = []
    var bytes: [UInt8] = []
    var globs: [Int16] = []
    var regexes: [RegexBox] = []
    var cidrs: [CIDRBlock] = []

    /// Appends a plan; returns its root op.
    mutating func lower(_ node: PlanNode) -> Int32 {
        switch node {
        case .and(let nodes), .or(let nodes), .atLeast(_, let nodes):
            let lowered = nodes.map { lower($0) }
            let first = Int32(children.count)
            children += lowered
            var kind = OpKind.and
            var required: Int32 = 0
            if case .or = node { kind = .or }
            if case .atLeast(let count, _) = node {
                kind = .atLeast
                required = Int32(count)
            }
            ops.append(Op(kind: kind, a: first, b: Int32(lowered.count), c: required))
        case .not(let inner):
            let child = lower(inner)
            ops.append(Op(kind: .not, a: child, b: 0, c: 0))
        case .field(let field, let valueTests):
            let first = Int32(tests.count)
            for test in valueTests { tests.append(lower(test)) }
            ops.append(Op(kind: .field, a: field, b: first, c: Int32(valueTests.count)))
        case .keyword(let valueTests):
            let first = Int32(tests.count)
            for test in valueTests { tests.append(lower(test)) }
            ops.append(Op(kind: .keyword, a: 0, b: first, c: Int32(valueTests.count)))
        case .exists(let field, let wanted):
            ops.append(Op(kind: .exists, a: field, b: wanted ? 1 : 0, c: 0))
        case .constant(let value):
            ops.append(Op(kind: .constant, a: value ? 1 : 0, b: 0, c: 0))
        }
        return Int32(ops.count - 1)
    }

    mutating func store(_ needle: [UInt8]) -> (Int32, Int32) {
        let start = Int32(bytes.count)
        bytes += needle
        return (start, Int32(needle.count))
    }

    mutating func lower(_ test: ValueTest) -> Test {
        switch test {
        case .string(let comparison, let cased):
            switch comparison {
            case .equals(let needle):
                let (start, length) = store(needle)
                return Test(kind: .equals, cased: cased, start: start, length: length)
            case .prefix(let needle):
                let (start, length) = store(needle)
                return Test(kind: .prefix, cased: cased, start: start, length: length)
            case .suffix(let needle):
                let (start, length) = store(needle)
                return Test(kind: .suffix, cased: cased, start: start, length: length)
            case .contains(let needle):
                let (start, length) = store(needle)
                return Test(kind: .contains, cased: cased, start: start, length: length)
            case .glob(let tokens):
                let start = Int32(globs.count)
                globs += tokens
                return Test(kind: .glob, cased: cased, start: start, length: Int32(tokens.count))
            }
        case .regex(let box):
            // A literal every match holds (found in the lowercased value before running the expression) and the
            // shortest possible match.
            regexes.append(box)
            let analysis = Prefilter.analyzeRegex(box.pattern)
            let (start, length) = store(analysis.literal.map(asciiLower))
            return Test(
                kind: .regex, cased: true, op: .eq, part: .year, start: start, length: length,
                number: Double(regexes.count - 1) + Double(analysis.minimumLength) * 1_000_000)
        case .cidr(let block):
            cidrs.append(block)
            return Test(kind: .cidr, cased: false, start: Int32(cidrs.count - 1))
        case .numeric(let op, let bound):
            return Test(kind: .numeric, cased: false, op: op, number: bound)
        case .timePart(let part, let op, let bound):
            return Test(kind: .timePart, cased: false, op: op, part: part, number: bound)
        case .null:
            return Test(kind: .null, cased: false)
        case .fieldReference(let field, let cased):
            return Test(kind: .fieldReference, cased: cased, start: field)
        }
    }
}

/// Evaluates lowered rules against one event.
struct Evaluator {
    let event: Event
    let raw: UnsafeBufferPointer<UInt8>
    let low: UnsafeBufferPointer<UInt8>
    let values: UnsafeBufferPointer<Event.Value>
    let ops: UnsafeBufferPointer<Program.Op>
    let children: UnsafeBufferPointer<Int32>
    let tests: UnsafeBufferPointer<Program.Test>
    let needles: UnsafeBufferPointer<UInt8>
    let globs: UnsafeBufferPointer<Int16>
    let program: Program

    static func run<R>(_ event: Event, _ program: Program, _ body: (Evaluator) -> R) -> R {
        event.raw.withUnsafeBufferPointer { raw in
            event.low.withUnsafeBufferPointer { low in
                event.values.withUnsafeBufferPointer { values in
                    program.ops.withUnsafeBufferPointer { ops in
                        program.children.withUnsafeBufferPointer { children in
                            program.tests.withUnsafeBufferPointer { tests in
                                program.bytes.withUnsafeBufferPointer { needles in
                                    program.globs.withUnsafeBufferPointer { globs in
                                        body(
                                            Evaluator(
                                                event: event, raw: raw, low: low, values: values, ops: ops,
                                                children: children, tests: tests, needles: needles, globs: globs,
                                                program: program))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    func slice(_ buffer: UnsafeBufferPointer<UInt8>, _ value: Event.Value) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: buffer.baseAddress.map { $0 + Int(value.start) }, count: Int(value.length))
    }

    func evaluate(_ index: Int32) -> Bool {
        let op = ops[Int(index)]
        switch op.kind {
        case .and:
            for k in 0..<Int(op.b) where !evaluate(children[Int(op.a) + k]) { return false }
            return true
        case .or:
            for k in 0..<Int(op.b) where evaluate(children[Int(op.a) + k]) { return true }
            return false
        case .atLeast:
            var hits: Int32 = 0
            for k in 0..<Int(op.b) where evaluate(children[Int(op.a) + k]) {
                hits += 1
                if hits >= op.c { return true }
            }
            return false
        case .not:
            return !evaluate(op.a)
        case .exists:
            return event.has(op.a) == (op.b == 1)
        case .constant:
            return op.a == 1
        case .field:
            var valueIndex = event.first(op.a)
            if valueIndex < 0 {
                for k in 0..<Int(op.c) where tests[Int(op.b) + k].kind == .null { return true }
                return false
            }
            while valueIndex >= 0 {
                let value = values[Int(valueIndex)]
                for k in 0..<Int(op.c) where passes(tests[Int(op.b) + k], value) { return true }
                valueIndex = value.next
            }
            return false
        case .keyword:
            for value in values where value.kind != .null {
                for k in 0..<Int(op.c) where passes(tests[Int(op.b) + k], value) { return true }
            }
            return false
        }
    }

    @inline(__always)
    func needle(_ test: Program.Test) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: needles.baseAddress.map { $0 + Int(test.start) }, count: Int(test.length))
    }

    func passes(_ test: Program.Test, _ value: Event.Value) -> Bool {
        switch test.kind {
        case .equals:
            if value.kind == .null { return false }
            return Int(value.length) == Int(test.length)
                && memoryEqual(needle(test), slice(test.cased ? raw : low, value))
        case .prefix:
            if value.kind == .null || value.length < test.length { return false }
            let haystack = slice(test.cased ? raw : low, value)
            return memoryEqual(needle(test), UnsafeBufferPointer(rebasing: haystack[0..<Int(test.length)]))
        case .suffix:
            if value.kind == .null || value.length < test.length { return false }
            let haystack = slice(test.cased ? raw : low, value)
            return memoryEqual(
                needle(test), UnsafeBufferPointer(rebasing: haystack[(Int(value.length) - Int(test.length))...]))
        case .contains:
            if value.kind == .null || value.length < test.length { return false }
            return find(needle(test), in: slice(test.cased ? raw : low, value), from: 0) != nil
        case .glob:
            if value.kind == .null { return false }
            return globMatch(
                UnsafeBufferPointer(rebasing: globs[Int(test.start)..<Int(test.start + test.length)]),
                slice(test.cased ? raw : low, value))
        case .null:
            return value.kind == .null
        case .regex:
            if value.kind == .null { return false }
            let regex = Int(test.number.truncatingRemainder(dividingBy: 1_000_000))
            let minimumLength = Int(test.number / 1_000_000)
            if Int(value.length) < minimumLength { return false }
            if test.length > 0, find(needle(test), in: slice(low, value), from: 0) == nil { return false }
            return program.regexes[regex].matches(slice(raw, value))
        case .cidr:
            guard value.kind == .string, let address = IPAddress(bytes: slice(raw, value)) else { return false }
            return program.cidrs[Int(test.start)].contains(address)
        case .numeric:
            guard value.kind != .null, let number = parseNumber(slice(raw, value)) else { return false }
            return compare(number, test.op, test.number)
        case .timePart:
            guard value.kind != .null, let date = DateParts(bytes: slice(raw, value)) else { return false }
            return compare(Double(date.value(of: test.part)), test.op, test.number)
        case .fieldReference:
            if value.kind == .null { return false }
            let mine = slice(test.cased ? raw : low, value)
            var index = event.first(test.start)
            while index >= 0 {
                let candidate = values[Int(index)]
                if candidate.kind != .null, memoryEqual(mine, slice(test.cased ? raw : low, candidate)) { return true }
                index = candidate.next
            }
            return false
        }
    }
}
