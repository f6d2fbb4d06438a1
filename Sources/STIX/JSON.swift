/// A JSON value that keeps what STIX needs for a lossless round trip: member order, and numbers as
/// their literal text (so `1.0` stays `1.0` and large integers keep every digit).
public enum JSONValue: Sendable, Hashable {
    case object([Member])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The member named `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var members: [Member]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// An integer value (a number literal without fraction or exponent that fits in 64 bits).
    public var intValue: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }

    /// Returns a copy of this object with `key` set to `value` (appended when new, replaced in place otherwise).
    public func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].value = value
        } else {
            members.append(Member(key, value))
        }
        return .object(members)
    }

    /// Returns a copy of this object without `key`.
    public func removing(_ key: String) -> JSONValue {
        guard case .object(let members) = self else { return self }
        return .object(members.filter { $0.key != key })
    }
}

/// Why a JSON text was refused, with the byte offset of the problem.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

/// A strict JSON reader (RFC 8259): valid UTF-8 only, no duplicate keys, bounded nesting, no trailing text.
///
/// `parseTopLevelArrayMember` also reports where each element of one top-level array member starts and
/// ends, so an envelope's objects can be stored byte for byte as they were sent.
public struct JSONParser: ~Copyable {
    public static let defaultMaximumDepth = 100

    let base: UnsafePointer<UInt8>
    var pointer: UnsafePointer<UInt8>
    let end: UnsafePointer<UInt8>
    let maximumDepth: Int
    var scratch: [UInt8] = []

    init(_ buffer: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        // An empty buffer still needs a valid address to compare against.
        let start = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        base = start
        pointer = start
        end = start + buffer.count
        self.maximumDepth = maximumDepth
    }

    /// Parses one complete JSON text.
    public static func parse(_ bytes: some Collection<UInt8>, maximumDepth: Int = defaultMaximumDepth)
        throws(JSONParseError)
        -> JSONValue
    {
        let array = Array(bytes)
        let result: Result<JSONValue, JSONParseError> = array.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer, maximumDepth: maximumDepth)
            do throws(JSONParseError) {
                let value = try parser.parseDocument()
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    public static func parse(_ text: String, maximumDepth: Int = defaultMaximumDepth) throws(JSONParseError)
        -> JSONValue
    {
        try parse(Array(text.utf8), maximumDepth: maximumDepth)
    }

    /// Parses a JSON object and, for its member `key` when it is an array, returns each element's value
    /// and its exact byte range in `bytes`.
    public static func parseTopLevelArrayMember(_ bytes: [UInt8], key: String, maximumDepth: Int = defaultMaximumDepth)
        throws(JSONParseError) -> (document: JSONValue, elements: [(value: JSONValue, range: Range<Int>)])
    {
        let result: Result<(JSONValue, [(value: JSONValue, range: Range<Int>)]), JSONParseError> =
            bytes.withUnsafeBufferPointer { buffer in
                var parser = JSONParser(buffer, maximumDepth: maximumDepth)
                do throws(JSONParseError) {
                    return .success(try parser.parseEnvelope(key: key))
                } catch {
                    return .failure(error)
                }
            }
        let (document, elements) = try result.get()
        return (document, elements)
    }

    func error(_ message: String) -> JSONParseError {
        JSONParseError(message: message, offset: pointer - base)
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipSpace()
        let value = try parseValue(depth: 0)
        skipSpace()
        if pointer < end { throw error("unexpected text after the JSON value") }
        return value
    }

    mutating func parseEnvelope(key: String) throws(JSONParseError) -> (
        JSONValue, [(value: JSONValue, range: Range<Int>)]
    ) {
        skipSpace()
        guard pointer < end, pointer.pointee == UInt8(ascii: "{") else { throw error("expected a JSON object") }
        pointer += 1
        var members: [JSONValue.Member] = []
        var keys = Set<String>()
        var elements: [(value: JSONValue, range: Range<Int>)] = []
        skipSpace()
        if pointer < end, pointer.pointee == UInt8(ascii: "}") {
            pointer += 1
        } else {
            while true {
                skipSpace()
                guard pointer < end, pointer.pointee == UInt8(ascii: "\"") else {
                    throw error("expected a member name")
                }
                let name = try parseString()
                guard keys.insert(name).inserted else { throw error("duplicate member \"\(name)\"") }
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                if name == key, pointer < end, pointer.pointee == UInt8(ascii: "[") {
                    pointer += 1
                    var values: [JSONValue] = []
                    skipSpace()
                    if pointer < end, pointer.pointee == UInt8(ascii: "]") {
                        pointer += 1
                    } else {
                        while true {
                            skipSpace()
                            let start = pointer - base
                            let value = try parseValue(depth: 2)
                            elements.append((value, start..<(pointer - base)))
                            values.append(value)
                            skipSpace()
                            guard pointer < end else { throw error("unterminated array") }
                            let byte = pointer.pointee
                            pointer += 1
                            if byte == UInt8(ascii: "]") { break }
                            if byte != UInt8(ascii: ",") { throw error("expected ',' or ']'") }
                        }
                    }
                    members.append(.init(name, .array(values)))
                } else {
                    members.append(.init(name, try parseValue(depth: 1)))
                }
                skipSpace()
                guard pointer < end else { throw error("unterminated object") }
                let byte = pointer.pointee
                pointer += 1
                if byte == UInt8(ascii: "}") { break }
                if byte != UInt8(ascii: ",") { throw error("expected ',' or '}'") }
            }
        }
        skipSpace()
        if pointer < end { throw error("unexpected text after the JSON value") }
        return (.object(members), elements)
    }

    @inline(__always)
    mutating func skipSpace() {
        while pointer < end {
            let byte = pointer.pointee
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { pointer += 1 } else { return }
        }
    }

    mutating func expect(_ byte: UInt8) throws(JSONParseError) {
        guard pointer < end, pointer.pointee == byte else {
            throw error("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        pointer += 1
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard pointer < end else { throw error("unexpected end of input") }
        switch pointer.pointee {
        case UInt8(ascii: "{"):
            guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth) levels") }
            pointer += 1
            var members: [JSONValue.Member] = []
            skipSpace()
            if pointer < end, pointer.pointee == UInt8(ascii: "}") {
                pointer += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard pointer < end, pointer.pointee == UInt8(ascii: "\"") else {
                    throw error("expected a member name")
                }
                let name = try parseString()
                // Objects are small: a linear scan beats hashing every key.
                if members.contains(where: { $0.key == name }) { throw error("duplicate member \"\(name)\"") }
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                members.append(.init(name, try parseValue(depth: depth + 1)))
                skipSpace()
                guard pointer < end else { throw error("unterminated object") }
                let byte = pointer.pointee
                pointer += 1
                if byte == UInt8(ascii: "}") { return .object(members) }
                if byte != UInt8(ascii: ",") { throw error("expected ',' or '}'") }
            }
        case UInt8(ascii: "["):
            guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth) levels") }
            pointer += 1
            var values: [JSONValue] = []
            skipSpace()
            if pointer < end, pointer.pointee == UInt8(ascii: "]") {
                pointer += 1
                return .array(values)
            }
            while true {
                skipSpace()
                values.append(try parseValue(depth: depth + 1))
                skipSpace()
                guard pointer < end else { throw error("unterminated array") }
                let byte = pointer.pointee
                pointer += 1
                if byte == UInt8(ascii: "]") { return .array(values) }
                if byte != UInt8(ascii: ",") { throw error("expected ',' or ']'") }
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard end - pointer >= count else { throw error("invalid literal") }
        let bytes = word.utf8Start
        for index in 0..<count where pointer[index] != bytes[index] {
            throw error("invalid literal")
        }
        pointer += count
    }

    mutating func parseNumber() throws(JSONParseError) -> String {
        let start = pointer
        if pointer.pointee == UInt8(ascii: "-") { pointer += 1 }
        guard pointer < end, isDigit(pointer.pointee) else { throw error("invalid number") }
        if pointer.pointee == UInt8(ascii: "0") {
            pointer += 1
            if pointer < end, isDigit(pointer.pointee) { throw error("invalid number: leading zero") }
        } else {
            while pointer < end, isDigit(pointer.pointee) { pointer += 1 }
        }
        if pointer < end, pointer.pointee == UInt8(ascii: ".") {
            pointer += 1
            guard pointer < end, isDigit(pointer.pointee) else {
                throw error("invalid number: digit expected after '.'")
            }
            while pointer < end, isDigit(pointer.pointee) { pointer += 1 }
        }
        if pointer < end, pointer.pointee == UInt8(ascii: "e") || pointer.pointee == UInt8(ascii: "E") {
            pointer += 1
            if pointer < end, pointer.pointee == UInt8(ascii: "+") || pointer.pointee == UInt8(ascii: "-") {
                pointer += 1
            }
            guard pointer < end, isDigit(pointer.pointee) else {
                throw error("invalid number: exponent digits expected")
            }
            while pointer < end, isDigit(pointer.pointee) { pointer += 1 }
        }
        return String(decoding: UnsafeBufferPointer(start: start, count: pointer - start), as: UTF8.self)
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Reads a string starting at its opening quote; checks UTF-8 and escapes.
    mutating func parseString() throws(JSONParseError) -> String {
        pointer += 1
        let start = pointer
        // Fast path: plain ASCII without escapes.
        while pointer < end {
            let byte = pointer.pointee
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(start: start, count: pointer - start), as: UTF8.self)
                pointer += 1
                return text
            }
            if byte == UInt8(ascii: "\\") || byte >= 0x80 || byte < 0x20 { break }
            pointer += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: start, count: pointer - start))
        while pointer < end {
            let byte = pointer.pointee
            switch byte {
            case UInt8(ascii: "\""):
                pointer += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                pointer += 1
                guard pointer < end else { throw error("unterminated escape") }
                let escape = pointer.pointee
                pointer += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escape)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard end - pointer >= 6, pointer[0] == UInt8(ascii: "\\"), pointer[1] == UInt8(ascii: "u")
                        else {
                            throw error("unpaired surrogate in \\u escape")
                        }
                        pointer += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                    scratch.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw error("invalid escape")
                }
            case 0..<0x20:
                throw error("control character in string")
            case 0x80...:
                try copyUTF8Sequence()
            default:
                scratch.append(byte)
                pointer += 1
            }
        }
        throw error("unterminated string")
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard end - pointer >= 4 else { throw error("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = pointer.pointee
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            pointer += 1
        }
        return value
    }

    /// Copies one well-formed UTF-8 multi-byte sequence (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
    mutating func copyUTF8Sequence() throws(JSONParseError) {
        let lead = pointer.pointee
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: throw error("invalid UTF-8")
        }
        guard end - pointer >= length else { throw error("invalid UTF-8") }
        let second = pointer[1]
        guard second >= lower, second <= upper else { throw error("invalid UTF-8") }
        for index in 2..<max(2, length) where pointer[index] & 0xC0 != 0x80 {
            throw error("invalid UTF-8")
        }
        scratch.append(contentsOf: UnsafeBufferPointer(start: pointer, count: length))
        pointer += length
    }
}

/// Serialises `JSONValue`s compactly; strings are escaped as RFC 8259 requires, nothing more.
public enum JSONWriter {
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, to: &out)
        return out
    }

    public static func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    public static func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let text): writeString(text, to: &out)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        }
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    public static func writeString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
