#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A Sigma string value with its wildcards: literal runs, `*` (any run) and `?` (one character).
struct SigmaPattern: Sendable, Hashable {
    enum Part: Sendable, Hashable {
        case literal([UInt8])
        case anyRun
        case oneCharacter
    }

    var parts: [Part]

    /// Parses a Sigma value: `*` and `?` are wildcards; `\*`, `\?` and `\\` escape them; other backslashes are literal.
    init(sigma text: String) {
        var parts: [Part] = []
        var literal: [UInt8] = []
        var escaped = false
        func flush() {
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = []
        }
        for byte in text.utf8 {
            if escaped {
                if byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "\\") {
                    literal.append(byte)
                } else {
                    literal.append(UInt8(ascii: "\\"))
                    literal.append(byte)
                }
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "*") {
                flush()
                if parts.last != .anyRun { parts.append(.anyRun) }
            } else if byte == UInt8(ascii: "?") {
                flush()
                parts.append(.oneCharacter)
            } else {
                literal.append(byte)
            }
        }
        if escaped { literal.append(UInt8(ascii: "\\")) }
        flush()
        self.parts = parts
    }

    init(literal bytes: [UInt8]) { parts = bytes.isEmpty ? [] : [.literal(bytes)] }

    init(parts: [Part]) { self.parts = parts }

    /// The bytes when the pattern has no wildcard.
    var plainBytes: [UInt8]? {
        if parts.isEmpty { return [] }
        if parts.count == 1, case .literal(let bytes) = parts[0] { return bytes }
        return nil
    }

    func wrapped(prefixAny: Bool, suffixAny: Bool) -> SigmaPattern {
        var result = parts
        if prefixAny, result.first != .anyRun { result.insert(.anyRun, at: 0) }
        if suffixAny, result.last != .anyRun { result.append(.anyRun) }
        return SigmaPattern(parts: result)
    }

    /// Applies `transform` to each literal run (wildcards kept).
    func mapLiterals(_ transform: ([UInt8]) -> [UInt8]) -> SigmaPattern {
        SigmaPattern(
            parts: parts.map { part in
                if case .literal(let bytes) = part { return .literal(transform(bytes)) }
                return part
            })
    }
}

/// How a string pattern is compared, chosen from the pattern's shape.
enum StringComparison: Sendable {
    case equals([UInt8])
    case prefix([UInt8])
    case suffix([UInt8])
    case contains([UInt8])
    case glob([Int16])

    init(_ pattern: SigmaPattern, cased: Bool) {
        let pattern = cased ? pattern : pattern.mapLiterals { $0.map(asciiLower) }
        let parts = pattern.parts
        switch parts.count {
        case 0:
            self = .equals([])
            return
        case 1:
            switch parts[0] {
            case .literal(let bytes): self = .equals(bytes)
            case .anyRun, .oneCharacter: self = .glob(globTokens(parts))
            }
            return
        case 2:
            if case .literal(let bytes) = parts[0], parts[1] == .anyRun {
                self = .prefix(bytes)
                return
            }
            if parts[0] == .anyRun, case .literal(let bytes) = parts[1] {
                self = .suffix(bytes)
                return
            }
        case 3:
            if parts[0] == .anyRun, parts[2] == .anyRun, case .literal(let bytes) = parts[1] {
                self = .contains(bytes)
                return
            }
        default: break
        }
        self = .glob(globTokens(parts))
    }

    @inline(__always)
    func matches(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        switch self {
        case .equals(let needle): return needle.withUnsafeBufferPointer { memoryEqual($0, value) }
        case .prefix(let needle):
            guard value.count >= needle.count else { return false }
            return needle.withUnsafeBufferPointer {
                memoryEqual($0, UnsafeBufferPointer(rebasing: value[0..<needle.count]))
            }
        case .suffix(let needle):
            guard value.count >= needle.count else { return false }
            return needle.withUnsafeBufferPointer {
                memoryEqual($0, UnsafeBufferPointer(rebasing: value[(value.count - needle.count)...]))
            }
        case .contains(let needle):
            return needle.withUnsafeBufferPointer { find($0, in: value, from: 0) != nil }
        case .glob(let tokens):
            return globMatch(tokens, value)
        }
    }
}

/// First index of `needle` in `haystack` at or after `from` (memchr for the first byte, then memcmp).
@inline(__always)
func find(_ needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
    let n = needle.count
    if n == 0 { return from }
    let h = haystack.count
    if h - from < n { return nil }
    guard let base = haystack.baseAddress, let needleBase = needle.baseAddress else { return nil }
    let first = Int32(needle[0])
    var index = from
    let last = h - n
    while index <= last {
        guard let hit = memchr(base + index, first, last - index + 1) else { return nil }
        let position = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        if n == 1 || memcmp(base + position + 1, needleBase + 1, n - 1) == 0 { return position }
        index = position + 1
    }
    return nil
}

/// Wildcard tokens: a byte, `anyRunToken` or `oneCharacterToken`.
let anyRunToken: Int16 = -1
let oneCharacterToken: Int16 = -2

func globTokens(_ parts: [SigmaPattern.Part]) -> [Int16] {
    var tokens: [Int16] = []
    for part in parts {
        switch part {
        case .literal(let bytes): tokens.append(contentsOf: bytes.map { Int16($0) })
        case .anyRun: tokens.append(anyRunToken)
        case .oneCharacter: tokens.append(oneCharacterToken)
        }
    }
    return tokens
}

/// Wildcard match over bytes in O(n·m) (single backtrack point); `?` consumes one UTF-8 character.
func globMatch(_ tokens: [Int16], _ value: UnsafeBufferPointer<UInt8>) -> Bool {
    tokens.withUnsafeBufferPointer { globMatch($0, value) }
}

func globMatch(_ tokens: UnsafeBufferPointer<Int16>, _ value: UnsafeBufferPointer<UInt8>) -> Bool {
    @inline(__always) func characterLength(_ index: Int) -> Int {
        let byte = value[index]
        let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
        return min(length, value.count - index)
    }
    let n = value.count
    let m = tokens.count
    var s = 0
    var p = 0
    var starP = -1
    var starS = 0
    while s < n {
        if p < m, tokens[p] == oneCharacterToken {
            s += characterLength(s)
            p += 1
        } else if p < m, tokens[p] >= 0, UInt8(tokens[p]) == value[s] {
            s += 1
            p += 1
        } else if p < m, tokens[p] == anyRunToken {
            starP = p
            starS = s
            p += 1
        } else if starP >= 0 {
            p = starP + 1
            starS += characterLength(starS)
            s = starS
        } else {
            return false
        }
    }
    while p < m, tokens[p] == anyRunToken { p += 1 }
    return p == m
}
