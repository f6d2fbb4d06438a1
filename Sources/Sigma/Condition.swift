/// The condition language of a detection: `selection and not 1 of filter_*`.
public indirect enum ConditionExpression: Sendable, Equatable {
    case search(String)
    case and([ConditionExpression])
    case or([ConditionExpression])
    case not(ConditionExpression)
    /// `N of pattern`; `count == nil` means `all of`. `pattern == nil` means `them`.
    case quantified(count: Int?, pattern: String?)
}

public struct ConditionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Recursive-descent parser; precedence `not` > `and` > `or`, keywords case-insensitive.
public struct ConditionParser {
    enum Token: Equatable {
        case word(String)
        case open, close, pipe
    }

    var tokens: [Token]
    var position = 0

    public static func parse(_ text: String) throws -> ConditionExpression {
        var parser = ConditionParser(tokens: try tokenize(text))
        if parser.tokens.isEmpty { throw ConditionError(message: "empty condition") }
        let expression = try parser.parseOr(depth: 0)
        if parser.position < parser.tokens.count {
            if parser.tokens[parser.position] == .pipe {
                throw ConditionError(
                    message: "aggregation expressions (\"| count() …\") are deprecated; use a correlation rule")
            }
            throw ConditionError(message: "unexpected \(parser.describe(parser.tokens[parser.position])) in condition")
        }
        return expression
    }

    static func tokenize(_ text: String) throws -> [Token] {
        var tokens: [Token] = []
        var current = ""
        func flush() {
            if !current.isEmpty { tokens.append(.word(current)) }
            current = ""
        }
        for character in text {
            switch character {
            case "(": flush(); tokens.append(.open)
            case ")": flush(); tokens.append(.close)
            case "|": flush(); tokens.append(.pipe)
            case _ where character.isWhitespace: flush()
            default: current.append(character)
            }
        }
        flush()
        return tokens
    }

    func describe(_ token: Token) -> String {
        switch token {
        case .word(let word): "\"\(word)\""
        case .open: "\"(\""
        case .close: "\")\""
        case .pipe: "\"|\""
        }
    }

    func keyword(_ token: Token?, _ word: String) -> Bool {
        if case .word(let text)? = token { return text.lowercased() == word }
        return false
    }

    var current: Token? { position < tokens.count ? tokens[position] : nil }

    mutating func parseOr(depth: Int) throws -> ConditionExpression {
        var items = [try parseAnd(depth: depth)]
        while keyword(current, "or") {
            position += 1
            items.append(try parseAnd(depth: depth))
        }
        return items.count == 1 ? items[0] : .or(items)
    }

    mutating func parseAnd(depth: Int) throws -> ConditionExpression {
        var items = [try parseNot(depth: depth)]
        while keyword(current, "and") {
            position += 1
            items.append(try parseNot(depth: depth))
        }
        return items.count == 1 ? items[0] : .and(items)
    }

    mutating func parseNot(depth: Int) throws -> ConditionExpression {
        guard depth < 64 else { throw ConditionError(message: "condition nested too deeply") }
        if keyword(current, "not") {
            position += 1
            return .not(try parseNot(depth: depth + 1))
        }
        return try parsePrimary(depth: depth)
    }

    mutating func parsePrimary(depth: Int) throws -> ConditionExpression {
        guard let token = current else { throw ConditionError(message: "condition ends too early") }
        switch token {
        case .open:
            position += 1
            let inner = try parseOr(depth: depth + 1)
            guard current == .close else { throw ConditionError(message: "missing \")\" in condition") }
            position += 1
            return inner
        case .close, .pipe:
            throw ConditionError(message: "unexpected \(describe(token)) in condition")
        case .word(let word):
            let lowered = word.lowercased()
            if ["and", "or", "of"].contains(lowered) {
                throw ConditionError(message: "unexpected \"\(word)\" in condition")
            }
            if keyword(position + 1 < tokens.count ? tokens[position + 1] : nil, "of") {
                let count: Int?
                if lowered == "all" {
                    count = nil
                } else if lowered == "any" {
                    count = 1
                } else if let number = Int(word), number > 0 {
                    count = number
                } else {
                    throw ConditionError(message: "\"\(word) of\" needs a positive number, \"all\" or \"any\"")
                }
                position += 2
                guard case .word(let target)? = current else {
                    throw ConditionError(message: "\"of\" must be followed by a search pattern or \"them\"")
                }
                position += 1
                return .quantified(count: count, pattern: target.lowercased() == "them" ? nil : target)
            }
            position += 1
            return .search(word)
        }
    }
}
