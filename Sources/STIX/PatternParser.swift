import Foundation

/// Tokens of the STIX patterning grammar (STIXPattern.g4, STIX 2.1).
enum PatternToken: Equatable {
    case leftBracket, rightBracket, leftParen, rightParen, comma, colon, dot, asterisk
    case compare(PropertyTest.Operator)  // = != < <= > >=
    /// AND OR NOT FOLLOWEDBY LIKE MATCHES ISSUBSET ISSUPERSET EXISTS IN START STOP WITHIN SECONDS REPEATS TIMES
    case keyword(String)
    case identifier(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case binary([UInt8])
    case hex([UInt8])
    case timestamp(STIXTimestamp)
    case end
}

struct PatternLexer {
    static let keywords: Set<String> = [
        "AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS", "IN", "START", "STOP",
        "WITHIN", "SECONDS", "REPEATS", "TIMES",
    ]

    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "-")
    }

    let bytes: [UInt8]
    var position = 0
    /// Where the last token read started.
    var tokenStart = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    func error(_ message: String, at offset: Int? = nil) -> PatternError {
        PatternError(message: message, offset: offset ?? tokenStart)
    }

    mutating func next() throws(PatternError) -> PatternToken {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        tokenStart = position
        guard position < bytes.count else { return .end }
        let byte = bytes[position]
        func peek(_ offset: Int) -> UInt8? { position + offset < bytes.count ? bytes[position + offset] : nil }
        switch byte {
        case UInt8(ascii: "["): position += 1; return .leftBracket
        case UInt8(ascii: "]"): position += 1; return .rightBracket
        case UInt8(ascii: "("): position += 1; return .leftParen
        case UInt8(ascii: ")"): position += 1; return .rightParen
        case UInt8(ascii: ","): position += 1; return .comma
        case UInt8(ascii: ":"): position += 1; return .colon
        case UInt8(ascii: "*"): position += 1; return .asterisk
        case UInt8(ascii: "="):
            position += 1
            if peek(0) == UInt8(ascii: "=") { position += 1 }  // `==` is accepted as `=` by the grammar
            return .compare(.equal)
        case UInt8(ascii: "!"):
            guard peek(1) == UInt8(ascii: "=") else { throw error("expected '!='") }
            position += 2
            return .compare(.notEqual)
        case UInt8(ascii: "<"):
            if peek(1) == UInt8(ascii: ">") {
                position += 2
                return .compare(.notEqual)
            }
            if peek(1) == UInt8(ascii: "=") {
                position += 2
                return .compare(.lessOrEqual)
            }
            position += 1
            return .compare(.less)
        case UInt8(ascii: ">"):
            if peek(1) == UInt8(ascii: "=") {
                position += 2
                return .compare(.greaterOrEqual)
            }
            position += 1
            return .compare(.greater)
        case UInt8(ascii: "'"):
            return .string(try quoted())
        case UInt8(ascii: "."):
            if let next = peek(1), next >= 0x30, next <= 0x39 { return try number() }
            position += 1
            return .dot
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"):
            return try number()
        default:
            if (byte == UInt8(ascii: "b") || byte == UInt8(ascii: "h") || byte == UInt8(ascii: "t"))
                && peek(1) == UInt8(ascii: "'")
            {
                position += 1
                let start = tokenStart
                let body = try quoted()
                switch byte {
                case UInt8(ascii: "b"):
                    guard let data = Data(base64Encoded: body) else {
                        throw error("invalid base64 in binary literal", at: start)
                    }
                    return .binary(Array(data))
                case UInt8(ascii: "h"):
                    guard let decoded = Self.hexBytes(body) else { throw error("invalid hex literal", at: start) }
                    return .hex(decoded)
                default:
                    guard let stamp = STIXTimestamp(body) else {
                        throw error("invalid timestamp literal '\(body)' (RFC 3339 UTC expected)", at: start)
                    }
                    return .timestamp(stamp)
                }
            }
            guard Self.isIdentifierByte(byte), byte != UInt8(ascii: "-") else {
                throw error("unexpected character '\(String(decoding: [byte], as: UTF8.self))'")
            }
            let start = position
            while position < bytes.count, Self.isIdentifierByte(bytes[position]) { position += 1 }
            let word = String(decoding: bytes[start..<position], as: UTF8.self)
            if Self.keywords.contains(word) { return .keyword(word) }
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            return .identifier(word)
        }
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x61...0x66: return byte - 0x61 + 10
        case 0x41...0x46: return byte - 0x41 + 10
        default: return nil
        }
    }

    /// A single-quoted string; `\'` and `\\` are the only escapes.
    mutating func quoted() throws(PatternError) -> String {
        let start = position
        position += 1
        var out: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "'") {
                position += 1
                return String(decoding: out, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                guard position + 1 < bytes.count, [UInt8(ascii: "'"), UInt8(ascii: "\\")].contains(bytes[position + 1])
                else {
                    throw error("invalid escape in string literal (only \\' and \\\\ are allowed)", at: position)
                }
                out.append(bytes[position + 1])
                position += 2
                continue
            }
            out.append(byte)
            position += 1
        }
        throw error("unterminated string literal", at: start)
    }

    mutating func number() throws(PatternError) -> PatternToken {
        let start = position
        if bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
        var digits = 0
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
            position += 1
            digits += 1
        }
        var isFloat = false
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isFloat = true
            position += 1
            var fraction = 0
            while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                position += 1
                fraction += 1
            }
            guard fraction > 0 else { throw error("invalid number", at: start) }
        } else if digits == 0 {
            throw error("invalid number", at: start)
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isFloat {
            guard let value = Double(text) else { throw error("invalid number", at: start) }
            return .float(value)
        }
        guard let value = Int(text.hasPrefix("+") ? String(text.dropFirst()) : text) else {
            throw error("integer out of range", at: start)
        }
        return .integer(value)
    }
}

/// Recursive-descent parser for STIX patterns, with the grammar's precedence:
/// FOLLOWEDBY < OR < AND between observations; OR < AND inside brackets; qualifiers bind to the
/// observation expression on their left.
public struct PatternParser {
    /// Patterns longer than this, or nested deeper, are refused rather than risking the stack.
    public static let maximumLength = 256 * 1024
    public static let maximumDepth = 64

    var lexer: PatternLexer
    var token: PatternToken = .end
    var depth = 0

    public static func parse(_ text: String) throws(PatternError) -> STIXPattern {
        guard text.utf8.count <= maximumLength else {
            throw PatternError(message: "pattern longer than \(maximumLength) bytes", offset: 0)
        }
        var parser = PatternParser(lexer: PatternLexer(text))
        try parser.advance()
        let expression = try parser.observationExpressions()
        guard parser.token == .end else { throw parser.lexer.error("unexpected \(parser.describe(parser.token))") }
        return STIXPattern(source: text, expression: expression)
    }

    mutating func advance() throws(PatternError) { token = try lexer.next() }

    func describe(_ token: PatternToken) -> String {
        switch token {
        case .end: return "end of pattern"
        case .keyword(let word): return "'\(word)'"
        case .identifier(let word): return "'\(word)'"
        case .string(let text): return "string '\(text)'"
        default: return "token"
        }
    }

    mutating func expect(_ expected: PatternToken, _ what: String) throws(PatternError) {
        guard token == expected else { throw lexer.error("expected \(what), found \(describe(token))") }
        try advance()
    }

    mutating func enter() throws(PatternError) {
        depth += 1
        if depth > Self.maximumDepth { throw lexer.error("pattern nested deeper than \(Self.maximumDepth) levels") }
    }

    mutating func observationExpressions() throws(PatternError) -> ObservationExpression {
        var left = try observationOr()
        while token == .keyword("FOLLOWEDBY") {
            try advance()
            left = .followedBy(left, try observationOr())
        }
        return left
    }

    mutating func observationOr() throws(PatternError) -> ObservationExpression {
        var left = try observationAnd()
        while token == .keyword("OR") {
            try advance()
            left = .or(left, try observationAnd())
        }
        return left
    }

    mutating func observationAnd() throws(PatternError) -> ObservationExpression {
        var left = try qualifiedObservation()
        while token == .keyword("AND") {
            try advance()
            left = .and(left, try qualifiedObservation())
        }
        return left
    }

    mutating func qualifiedObservation() throws(PatternError) -> ObservationExpression {
        try enter()
        defer { depth -= 1 }
        var expression: ObservationExpression
        switch token {
        case .leftBracket:
            try advance()
            expression = .observation(try comparisonOr())
            try expect(.rightBracket, "']'")
        case .leftParen:
            try advance()
            expression = try observationExpressions()
            try expect(.rightParen, "')'")
        default:
            throw lexer.error("expected '[' or '(' to start an observation expression, found \(describe(token))")
        }
        while true {
            switch token {
            case .keyword("WITHIN"):
                try advance()
                let seconds: Double
                switch token {
                case .integer(let value) where value > 0: seconds = Double(value)
                case .float(let value) where value > 0: seconds = value
                default: throw lexer.error("WITHIN needs a positive number of seconds")
                }
                try advance()
                try expect(.keyword("SECONDS"), "SECONDS")
                expression = .qualified(expression, .within(seconds: seconds))
            case .keyword("REPEATS"):
                try advance()
                guard case .integer(let times) = token, times > 0 else {
                    throw lexer.error("REPEATS needs a positive integer")
                }
                try advance()
                try expect(.keyword("TIMES"), "TIMES")
                expression = .qualified(expression, .repeats(times: times))
            case .keyword("START"):
                try advance()
                guard case .timestamp(let start) = token else { throw lexer.error("START needs a t'…' timestamp") }
                try advance()
                try expect(.keyword("STOP"), "STOP")
                guard case .timestamp(let stop) = token else { throw lexer.error("STOP needs a t'…' timestamp") }
                guard start < stop else { throw lexer.error("START must be earlier than STOP") }
                try advance()
                expression = .qualified(expression, .startStop(start: start, stop: stop))
            default:
                return expression
            }
        }
    }

    mutating func comparisonOr() throws(PatternError) -> ComparisonExpression {
        var left = try comparisonAnd()
        while token == .keyword("OR") {
            try advance()
            left = .or(left, try comparisonAnd())
        }
        return left
    }

    mutating func comparisonAnd() throws(PatternError) -> ComparisonExpression {
        var left = try propertyTest()
        while token == .keyword("AND") {
            try advance()
            left = .and(left, try propertyTest())
        }
        return left
    }

    mutating func propertyTest() throws(PatternError) -> ComparisonExpression {
        try enter()
        defer { depth -= 1 }
        if token == .leftParen {
            try advance()
            let inner = try comparisonOr()
            try expect(.rightParen, "')'")
            return inner
        }
        if token == .keyword("EXISTS") {
            try advance()
            return .test(PropertyTest(path: try objectPath(), negated: false, op: .exists, value: nil))
        }
        let path = try objectPath()
        var negated = false
        if token == .keyword("NOT") {
            negated = true
            try advance()
        }
        let start = lexer.tokenStart
        let op: PropertyTest.Operator
        switch token {
        case .compare(let comparison): op = comparison
        case .keyword("IN"): op = .in
        case .keyword("LIKE"): op = .like
        case .keyword("MATCHES"): op = .matches
        case .keyword("ISSUBSET"): op = .isSubset
        case .keyword("ISSUPERSET"): op = .isSuperset
        default: throw lexer.error("expected a comparison operator after \(path), found \(describe(token))")
        }
        try advance()
        let value: PatternLiteral
        switch op {
        case .in:
            try expect(.leftParen, "'(' after IN")
            var items: [PatternLiteral] = []
            while true {
                items.append(try primitive())
                if token == .comma {
                    try advance()
                    continue
                }
                try expect(.rightParen, "',' or ')' in the IN list")
                break
            }
            value = .set(items)
        case .like, .matches, .isSubset, .isSuperset:
            guard case .string(let text) = token else { throw lexer.error("\(op.rawValue) needs a string literal") }
            try advance()
            if op == .matches {
                do {
                    _ = try NSRegularExpression(pattern: text)
                } catch {
                    throw PatternError(message: "invalid regular expression '\(text)'", offset: start)
                }
            }
            if op == .isSubset || op == .isSuperset, IPNetwork(text) == nil {
                throw PatternError(
                    message: "\(op.rawValue) needs an IP address or CIDR range, not '\(text)'", offset: start)
            }
            value = .string(text)
        case .greater, .less, .greaterOrEqual, .lessOrEqual:
            value = try primitive()
            if case .bool = value { throw lexer.error("booleans cannot be ordered") }
        default:
            value = try primitive()
        }
        return .test(PropertyTest(path: path, negated: negated, op: op, value: value))
    }

    mutating func primitive() throws(PatternError) -> PatternLiteral {
        let literal: PatternLiteral
        switch token {
        case .string(let text): literal = .string(text)
        case .integer(let value): literal = .integer(value)
        case .float(let value): literal = .float(value)
        case .bool(let value): literal = .bool(value)
        case .binary(let value): literal = .binary(value)
        case .hex(let value): literal = .hex(value)
        case .timestamp(let value): literal = .timestamp(value)
        default: throw lexer.error("expected a literal value, found \(describe(token))")
        }
        try advance()
        return literal
    }

    /// `type:first.second[0].'quoted name'[*]`
    mutating func objectPath() throws(PatternError) -> ObjectPath {
        guard case .identifier(let type) = token else {
            throw lexer.error("expected an object path such as file:name, found \(describe(token))")
        }
        guard STIXObject.isValidType(type) else { throw lexer.error("invalid object type '\(type)'") }
        try advance()
        try expect(.colon, "':' after the object type")
        var steps: [ObjectPath.Step] = [.property(try propertyName(after: "'\(type):'"))]
        while true {
            if token == .dot {
                try advance()
                steps.append(.property(try propertyName(after: "'.'")))
            } else if token == .leftBracket {
                try advance()
                switch token {
                case .integer(let index) where index >= 0: steps.append(.index(index))
                case .asterisk: steps.append(.anyIndex)
                default: throw lexer.error("expected a list index or '*'")
                }
                try advance()
                try expect(.rightBracket, "']' after the list index")
            } else {
                return ObjectPath(objectType: type, steps: steps)
            }
        }
    }

    /// A property name: a plain identifier (no hyphen, as in the grammar) or a quoted string.
    mutating func propertyName(after what: String) throws(PatternError) -> String {
        let name: String
        switch token {
        case .identifier(let word):
            guard !word.contains("-") else {
                throw lexer.error("property name '\(word)' contains '-': quote it ('\(word)')")
            }
            name = word
        case .string(let text): name = text
        default: throw lexer.error("expected a property name after \(what)")
        }
        try advance()
        return name
    }
}
