import Foundation

/// Turns a rule's detection into an evaluation plan.
struct DetectionCompiler {
    let registry: FieldRegistry
    let placeholders: [String: [String]]
    let file: String
    let title: String

    func fail(_ reason: String, _ message: String, line: Int) -> RuleDiagnostic {
        RuleDiagnostic(
            reason: reason, message: message, location: SourceLocation(file: file, line: line), ruleTitle: title)
    }

    func compile(_ detection: Detection) throws -> PlanNode {
        var compiled: [String: PlanNode] = [:]
        for name in detection.order {
            compiled[name] = try compileSearch(detection.searches[name]!)
        }
        var conditions: [PlanNode] = []
        for text in detection.conditions {
            let expression: ConditionExpression
            do {
                expression = try ConditionParser.parse(text)
            } catch let error as ConditionError {
                throw fail("condition", error.message, line: detection.conditionLine)
            }
            conditions.append(try resolve(expression, compiled, order: detection.order, line: detection.conditionLine))
        }
        return conditions.count == 1 ? conditions[0] : .or(conditions)
    }

    func resolve(_ expression: ConditionExpression, _ searches: [String: PlanNode], order: [String], line: Int) throws
        -> PlanNode
    {
        switch expression {
        case .search(let name):
            guard let node = searches[name] else {
                throw fail("condition", "condition names \"\(name)\", which the detection does not define", line: line)
            }
            return node
        case .and(let items): return .and(try items.map { try resolve($0, searches, order: order, line: line) })
        case .or(let items): return .or(try items.map { try resolve($0, searches, order: order, line: line) })
        case .not(let item): return .not(try resolve(item, searches, order: order, line: line))
        case .quantified(let count, let pattern):
            let names: [String]
            if let pattern {
                let matcher = StringComparison(SigmaPattern(sigma: pattern), cased: true)
                names = order.filter { name in
                    var copy = name
                    return copy.withUTF8 { matcher.matches($0) }
                }
                if names.isEmpty {
                    throw fail("condition", "pattern \"\(pattern)\" matches no search of the detection", line: line)
                }
            } else {
                names = order.filter { !$0.hasPrefix("_") }
            }
            let nodes = names.map { searches[$0]! }
            guard let count else { return .and(nodes) }
            if count == 1 { return .or(nodes) }
            return .atLeast(count, nodes)
        }
    }

    func compileSearch(_ search: SearchDefinition) throws -> PlanNode {
        switch search {
        case .allOf(let items):
            let nodes = try items.map(compileItem)
            return nodes.count == 1 ? nodes[0] : .and(nodes)
        case .anyOf(let alternatives):
            let nodes = try alternatives.map(compileSearch)
            return nodes.count == 1 ? nodes[0] : .or(nodes)
        case .keywords(let item):
            return try compileItem(item)
        }
    }

    // MARK: Modifiers

    enum Transform {
        case utf16le, utf16be, utf16, base64, base64offset, windash, expand
    }

    enum Kind {
        case string, regex, cidr, numeric(CountCondition.Operator), exists, fieldReference, time(TimePart)
    }

    func compileItem(_ item: DetectionItem) throws -> PlanNode {
        var transforms: [Transform] = []
        var kind = Kind.string
        var contains = false
        var startsWith = false
        var endsWith = false
        var all = false
        var cased = false
        var negate = false
        var regexOptions: NSRegularExpression.Options = []
        var timeComparison: CountCondition.Operator?
        let displayName = ([item.field ?? ""] + item.modifiers).joined(separator: "|")
        for modifier in item.modifiers {
            switch modifier {
            case "contains": contains = true
            case "startswith": startsWith = true
            case "endswith": endsWith = true
            case "all": all = true
            case "cased": cased = true
            case "neq": negate = true
            case "wide", "utf16le": transforms.append(.utf16le)
            case "utf16be": transforms.append(.utf16be)
            case "utf16": transforms.append(.utf16)
            case "base64": transforms.append(.base64)
            case "base64offset": transforms.append(.base64offset)
            case "windash": transforms.append(.windash)
            case "expand": transforms.append(.expand)
            case "re": kind = .regex
            case "i", "m", "s":
                guard case .regex = kind else {
                    throw fail("modifier", "\"\(modifier)\" only follows \"re\" (in \(displayName))", line: item.line)
                }
                regexOptions.insert(
                    modifier == "i"
                        ? .caseInsensitive : modifier == "m" ? .anchorsMatchLines : .dotMatchesLineSeparators)
            case "cidr": kind = .cidr
            case "gt", "gte", "lt", "lte":
                let op = CountCondition.Operator(rawValue: modifier)!
                if case .time = kind { timeComparison = op } else { kind = .numeric(op) }
            case "exists": kind = .exists
            case "fieldref": kind = .fieldReference
            case _ where TimePart(rawValue: modifier) != nil: kind = .time(TimePart(rawValue: modifier)!)
            default:
                throw fail("modifier", "unknown modifier \"\(modifier)\" (in \(displayName))", line: item.line)
            }
        }
        if [contains, startsWith, endsWith].filter({ $0 }).count > 1 {
            throw fail(
                "modifier", "contains, startswith and endswith exclude each other (in \(displayName))", line: item.line)
        }
        if item.values.isEmpty { throw fail("detection", "\(displayName) has no value", line: item.line) }

        let field: FieldID? = item.field.map { registry.intern($0) }

        func node(_ tests: [ValueTest]) -> PlanNode {
            if let field { return .field(field, tests) }
            return .keyword(tests)
        }

        switch kind {
        case .exists:
            guard let field else { throw fail("modifier", "exists needs a field", line: item.line) }
            guard item.values.count == 1, case .bool(let wanted) = item.values[0] else {
                throw fail("modifier", "exists takes true or false (in \(displayName))", line: item.line)
            }
            return .exists(field, wanted)
        case .numeric(let op):
            let tests = try item.values.map { value -> ValueTest in
                guard case .number(let text) = value, let number = Double(text) else {
                    throw fail("modifier", "\(op.rawValue) needs a number (in \(displayName))", line: item.line)
                }
                return .numeric(op, number)
            }
            return combine(tests.map { node([$0]) }, all: all, negate: negate)
        case .time(let part):
            let tests = try item.values.map { value -> ValueTest in
                guard case .number(let text) = value, let number = Double(text) else {
                    throw fail("modifier", "\(part.rawValue) needs a number (in \(displayName))", line: item.line)
                }
                return .timePart(part, timeComparison ?? .eq, number)
            }
            return combine(tests.map { node([$0]) }, all: all, negate: negate)
        case .cidr:
            let tests = try item.values.map { value -> ValueTest in
                guard let text = value.text, let block = CIDRBlock(text) else {
                    throw fail(
                        "modifier", "invalid network \"\(value.text ?? "null")\" (in \(displayName))", line: item.line)
                }
                return .cidr(block)
            }
            return combine(tests.map { node([$0]) }, all: all, negate: negate)
        case .regex:
            let tests = try item.values.map { value -> ValueTest in
                guard let text = value.text else {
                    throw fail("modifier", "re needs a string (in \(displayName))", line: item.line)
                }
                do {
                    return .regex(try RegexBox(text, options: regexOptions))
                } catch {
                    throw fail("regex", "invalid regular expression \"\(text)\" (in \(displayName))", line: item.line)
                }
            }
            return combine(tests.map { node([$0]) }, all: all, negate: negate)
        case .fieldReference:
            let tests = try item.values.map { value -> ValueTest in
                guard let text = value.text else {
                    throw fail("modifier", "fieldref needs a field name (in \(displayName))", line: item.line)
                }
                return .fieldReference(registry.intern(text), cased: cased)
            }
            return combine(tests.map { node([$0]) }, all: all, negate: negate)
        case .string:
            var perValue: [[ValueTest]] = []
            for value in item.values {
                if case .null = value {
                    perValue.append([.null])
                    continue
                }
                var texts = [value.text ?? ""]
                if transforms.contains(where: { if case .expand = $0 { true } else { false } }) {
                    texts = try expand(texts[0], displayName: displayName, line: item.line)
                }
                var patterns = texts.map { SigmaPattern(sigma: $0) }
                for transform in transforms {
                    patterns = try apply(transform, to: patterns, displayName: displayName, line: item.line)
                }
                // Keywords are full-text searches: found anywhere in a value unless anchored.
                let implicitContains = field == nil && !startsWith && !endsWith
                let tests = patterns.map { pattern in
                    ValueTest.string(
                        StringComparison(
                            pattern.wrapped(
                                prefixAny: contains || endsWith || implicitContains,
                                suffixAny: contains || startsWith || implicitContains),
                            cased: cased), cased: cased)
                }
                perValue.append(tests)
            }
            if all && !negate { return .and(perValue.map { node($0) }) }
            let merged = node(perValue.flatMap { $0 })
            return negate ? .not(merged) : merged
        }
    }

    func combine(_ nodes: [PlanNode], all: Bool, negate: Bool) -> PlanNode {
        let combined: PlanNode
        if nodes.count == 1 {
            combined = nodes[0]
        } else if all {
            combined = .and(nodes)
        } else {
            // Merge into one field test when possible.
            var tests: [ValueTest] = []
            var field: FieldID?
            var mergeable = true
            for node in nodes {
                switch node {
                case .field(let id, let more) where field == nil || field == id:
                    field = id
                    tests += more
                default: mergeable = false
                }
            }
            if mergeable, let field {
                combined = .field(field, tests)
            } else {
                combined = .or(nodes)
            }
        }
        return negate ? .not(combined) : combined
    }

    func expand(_ text: String, displayName: String, line: Int) throws -> [String] {
        var results = [""]
        var rest = text[...]
        while let open = rest.firstIndex(of: "%") {
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "%") else { break }
            let name = String(rest[afterOpen..<close])
            let prefix = String(rest[..<open])
            guard let values = placeholders[name], !values.isEmpty else {
                throw fail(
                    "placeholder",
                    "placeholder %\(name)% has no value (in \(displayName)); give it with --placeholders",
                    line: line)
            }
            results = results.flatMap { head in values.map { head + prefix + $0 } }
            rest = rest[rest.index(after: close)...]
        }
        return results.map { $0 + rest }
    }

    func apply(_ transform: Transform, to patterns: [SigmaPattern], displayName: String, line: Int) throws
        -> [SigmaPattern]
    {
        switch transform {
        case .expand:
            return patterns
        case .utf16le, .utf16be, .utf16:
            return patterns.map { pattern in
                var first = true
                return pattern.mapLiterals { bytes in
                    var out: [UInt8] = []
                    if transform == .utf16, first { out = [0xFF, 0xFE] }
                    first = false
                    for unit in String(decoding: bytes, as: UTF8.self).utf16 {
                        if transform == .utf16be {
                            out += [UInt8(unit >> 8), UInt8(unit & 0xFF)]
                        } else {
                            out += [UInt8(unit & 0xFF), UInt8(unit >> 8)]
                        }
                    }
                    return out
                }
            }
        case .base64, .base64offset:
            var out: [SigmaPattern] = []
            for pattern in patterns {
                guard let bytes = pattern.plainBytes else {
                    throw fail("modifier", "wildcards cannot be base64-encoded (in \(displayName))", line: line)
                }
                if transform == .base64 {
                    out.append(SigmaPattern(literal: Array(Data(bytes).base64EncodedString().utf8)))
                } else {
                    let starts = [0, 2, 3]
                    let ends = [0, 3, 2]
                    for shift in 0..<3 {
                        let encoded = Array(
                            Data(Array(repeating: UInt8(ascii: " "), count: shift) + bytes).base64EncodedString().utf8)
                        let trim = ends[(bytes.count + shift) % 3]
                        let upper = encoded.count - trim
                        if starts[shift] < upper {
                            out.append(SigmaPattern(literal: Array(encoded[starts[shift]..<upper])))
                        }
                    }
                }
            }
            return out
        case .windash:
            return patterns.flatMap(windashVariants)
        }
    }

    /// Every spelling of option dashes: `-`, `/`, en dash, em dash, horizontal bar, at the start of a word.
    func windashVariants(_ pattern: SigmaPattern) -> [SigmaPattern] {
        let dashes: [[UInt8]] = [[0x2D], [0x2F], [0xE2, 0x80, 0x93], [0xE2, 0x80, 0x94], [0xE2, 0x80, 0x95]]
        var results: [[SigmaPattern.Part]] = [[]]
        for part in pattern.parts {
            guard case .literal(let bytes) = part else {
                results = results.map { $0 + [part] }
                continue
            }
            // Split literal into segments at option dashes.
            var variants: [[UInt8]] = [[]]
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                let previousIsWord = index > 0 && isWordByte(bytes[index - 1])
                if (byte == 0x2D || byte == 0x2F) && !previousIsWord && variants.count < 625 {
                    variants = variants.flatMap { head in dashes.map { head + $0 } }
                } else {
                    variants = variants.map { $0 + [byte] }
                }
                index += 1
            }
            results = results.flatMap { head in variants.map { head + [.literal($0)] } }
        }
        return results.map { SigmaPattern(parts: $0) }
    }

    func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x5F || byte >= 0x80
    }
}

extension RawValue {
    var text: String? {
        switch self {
        case .string(let text), .number(let text): text
        case .bool(let value): value ? "true" : "false"
        case .null: nil
        }
    }
}
