/// The STIX 2.1 patterning language (STIX 2.1 part 9): syntax tree.
public indirect enum ObservationExpression: Sendable, Hashable {
    case observation(ComparisonExpression)
    case and(ObservationExpression, ObservationExpression)
    case or(ObservationExpression, ObservationExpression)
    case followedBy(ObservationExpression, ObservationExpression)
    case qualified(ObservationExpression, Qualifier)
}

public enum Qualifier: Sendable, Hashable {
    case within(seconds: Double)
    case repeats(times: Int)
    case startStop(start: STIXTimestamp, stop: STIXTimestamp)
}

public indirect enum ComparisonExpression: Sendable, Hashable {
    case and(ComparisonExpression, ComparisonExpression)
    case or(ComparisonExpression, ComparisonExpression)
    case test(PropertyTest)
}

public struct PropertyTest: Sendable, Hashable {
    public enum Operator: String, Sendable, Hashable {
        case equal = "=", notEqual = "!=", greater = ">", less = "<", greaterOrEqual = ">=", lessOrEqual = "<="
        case `in` = "IN", like = "LIKE", matches = "MATCHES", isSubset = "ISSUBSET", isSuperset = "ISSUPERSET"
        case exists = "EXISTS"
    }

    public var path: ObjectPath
    public var negated: Bool
    public var op: Operator
    /// nil only for `EXISTS`.
    public var value: PatternLiteral?
}

public struct ObjectPath: Sendable, Hashable, CustomStringConvertible {
    public enum Step: Sendable, Hashable {
        case property(String)
        case index(Int)
        case anyIndex
    }

    public var objectType: String
    public var steps: [Step]

    /// `file:hashes.'SHA-256'`
    public var description: String {
        var text = objectType + ":"
        for (position, step) in steps.enumerated() {
            switch step {
            case .property(let name):
                if position > 0 { text += "." }
                let plain = name.utf8.allSatisfy { PatternLexer.isIdentifierByte($0) && $0 != UInt8(ascii: "-") }
                text += plain ? name : "'" + name + "'"
            case .index(let index): text += "[\(index)]"
            case .anyIndex: text += "[*]"
            }
        }
        return text
    }
}

public enum PatternLiteral: Sendable, Hashable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case binary([UInt8])
    case hex([UInt8])
    case timestamp(STIXTimestamp)
    case set([PatternLiteral])
}

/// A parsed pattern: the tree plus the source text.
public struct STIXPattern: Sendable, Hashable {
    public var source: String
    public var expression: ObservationExpression
}

public struct PatternError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at character \(offset + 1)" }
}
