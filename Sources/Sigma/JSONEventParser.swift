/// A JSON parse failure, with the byte offset.
public struct EventParseError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

/// Streaming JSON reader that fills an ``Event`` directly from bytes, without building Foundation objects.
///
/// Nested objects are flattened: a leaf is filed under its last key (`Event.EventData.Image` → `Image`) and, when
/// nested, under its dotted path too. EVTX-style attributes follow the usual flat names (`Provider.#attributes.Name`
/// → `Provider_Name`, `TimeCreated.#attributes.SystemTime` → `SystemTime`, `EventID.#text` → `EventID`). Lists give
/// a field several values.
public struct JSONEventParser {
    static let maximumDepth = 64

    var pointer: UnsafePointer<UInt8>
    var end: UnsafePointer<UInt8>
    let base: UnsafePointer<UInt8>
    let event: Event
    /// Path of keys: bytes and the offsets where each key starts.
    var pathBytes: [UInt8] = []
    var pathStarts: [Int] = []
    var name: [UInt8] = []

    /// Parses one JSON object into `event` (which is reset first).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, into event: Event, reset: Bool = true)
        throws(EventParseError)
    {
        if reset { event.reset() }
        guard let start = bytes.baseAddress, bytes.count > 0 else {
            throw EventParseError(message: "empty record", offset: 0)
        }
        var parser = JSONEventParser(pointer: start, end: start + bytes.count, base: start, event: event)
        parser.pathBytes.reserveCapacity(128)
        parser.name.reserveCapacity(64)
        parser.skipSpace()
        guard parser.pointer < parser.end, parser.pointer.pointee == UInt8(ascii: "{") else {
            throw parser.error("expected a JSON object")
        }
        try parser.parseObject(depth: 0)
        parser.skipSpace()
        if parser.pointer < parser.end { throw parser.error("trailing characters after the object") }
    }

    func error(_ message: String) -> EventParseError {
        EventParseError(message: message, offset: pointer - base)
    }

    @inline(__always)
    mutating func skipSpace() {
        while pointer < end {
            let byte = pointer.pointee
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { pointer += 1 } else { return }
        }
    }

    mutating func parseObject(depth: Int) throws(EventParseError) {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        pointer += 1  // {
        skipSpace()
        if pointer < end, pointer.pointee == UInt8(ascii: "}") {
            pointer += 1
            return
        }
        while true {
            skipSpace()
            guard pointer < end, pointer.pointee == UInt8(ascii: "\"") else { throw error("expected a key") }
            pathStarts.append(pathBytes.count)
            try readString(toValue: false)
            skipSpace()
            guard pointer < end, pointer.pointee == UInt8(ascii: ":") else { throw error("expected ':'") }
            pointer += 1
            skipSpace()
            try parseValue(depth: depth + 1)
            pathBytes.removeSubrange(pathStarts.removeLast()...)
            skipSpace()
            guard pointer < end else { throw error("unterminated object") }
            let byte = pointer.pointee
            pointer += 1
            if byte == UInt8(ascii: ",") { continue }
            if byte == UInt8(ascii: "}") { return }
            throw error("expected ',' or '}'")
        }
    }

    mutating func parseArray(depth: Int) throws(EventParseError) {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        pointer += 1  // [
        skipSpace()
        if pointer < end, pointer.pointee == UInt8(ascii: "]") {
            pointer += 1
            return
        }
        while true {
            skipSpace()
            try parseValue(depth: depth + 1)
            skipSpace()
            guard pointer < end else { throw error("unterminated array") }
            let byte = pointer.pointee
            pointer += 1
            if byte == UInt8(ascii: ",") { continue }
            if byte == UInt8(ascii: "]") { return }
            throw error("expected ',' or ']'")
        }
    }

    mutating func parseValue(depth: Int) throws(EventParseError) {
        guard pointer < end else { throw error("expected a value") }
        let start = event.valueCursor
        switch pointer.pointee {
        case UInt8(ascii: "{"): try parseObject(depth: depth)
        case UInt8(ascii: "["): try parseArray(depth: depth)
        case UInt8(ascii: "\""):
            try readString(toValue: true)
            fileLeaf(kind: .string, start: start)
        case UInt8(ascii: "t"):
            try literal("true")
            fileLeaf(kind: .bool, start: start)
        case UInt8(ascii: "f"):
            try literal("false")
            fileLeaf(kind: .bool, start: start)
        case UInt8(ascii: "n"):
            try expect("null")
            fileLeaf(kind: .null, start: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let numberStart = pointer
            pointer += 1
            while pointer < end {
                let byte = pointer.pointee
                if (byte >= 0x30 && byte <= 0x39) || byte == 0x2E || byte == 0x65 || byte == 0x45 || byte == 0x2B
                    || byte == 0x2D
                {
                    pointer += 1
                } else {
                    break
                }
            }
            let number = UnsafeBufferPointer(start: numberStart, count: pointer - numberStart)
            guard parseNumber(number) != nil else { throw error("invalid number") }
            event.appendValueBytes(number)
            fileLeaf(kind: .number, start: start)
        default:
            throw error("unexpected character")
        }
    }

    mutating func expect(_ word: StaticString) throws(EventParseError) {
        let count = word.utf8CodeUnitCount
        guard end - pointer >= count else { throw error("invalid literal") }
        for index in 0..<count where pointer[index] != word.utf8Start[index] { throw error("invalid literal") }
        pointer += count
    }

    mutating func literal(_ word: StaticString) throws(EventParseError) {
        try expect(word)
        event.appendValueBytes(UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    /// Reads a JSON string at `pointer` (on the opening quote), unescaped, appended to the event's value arenas
    /// (`toValue`) or to the key path.
    mutating func readString(toValue: Bool) throws(EventParseError) {
        pointer += 1
        while true {
            // Fast run of plain bytes.
            let runStart = pointer
            while pointer < end {
                let byte = pointer.pointee
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { break }
                pointer += 1
            }
            if pointer > runStart {
                let run = UnsafeBufferPointer(start: runStart, count: pointer - runStart)
                if toValue { event.appendValueBytes(run) } else { pathBytes.append(contentsOf: run) }
            }
            guard pointer < end else { throw error("unterminated string") }
            if pointer.pointee == UInt8(ascii: "\"") {
                pointer += 1
                return
            }
            // Escape.
            pointer += 1
            guard pointer < end else { throw error("unterminated escape") }
            let escape = pointer.pointee
            pointer += 1
            var decoded: UInt8
            switch escape {
            case UInt8(ascii: "\""): decoded = 0x22
            case UInt8(ascii: "\\"): decoded = 0x5C
            case UInt8(ascii: "/"): decoded = 0x2F
            case UInt8(ascii: "b"): decoded = 0x08
            case UInt8(ascii: "f"): decoded = 0x0C
            case UInt8(ascii: "n"): decoded = 0x0A
            case UInt8(ascii: "r"): decoded = 0x0D
            case UInt8(ascii: "t"): decoded = 0x09
            case UInt8(ascii: "u"):
                var scalar = try readHex4()
                if scalar >= 0xD800, scalar < 0xDC00 {
                    guard end - pointer >= 6, pointer[0] == UInt8(ascii: "\\"), pointer[1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate")
                    }
                    pointer += 2
                    let low = try readHex4()
                    guard low >= 0xDC00, low < 0xE000 else { throw error("invalid surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00, scalar < 0xE000 {
                    throw error("unpaired surrogate")
                }
                appendUTF8(scalar, toValue: toValue)
                continue
            default:
                throw error("invalid escape")
            }
            if toValue { event.appendValueByte(decoded) } else { pathBytes.append(decoded) }
        }
    }

    mutating func readHex4() throws(EventParseError) -> UInt32 {
        guard end - pointer >= 4 else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = hexDigitValue(pointer.pointee) else { throw error("invalid \\u escape") }
            value = value << 4 | UInt32(digit)
            pointer += 1
        }
        return value
    }

    mutating func appendUTF8(_ scalar: UInt32, toValue: Bool) {
        var bytes: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        let count: Int
        switch scalar {
        case 0..<0x80:
            bytes.0 = UInt8(scalar)
            count = 1
        case 0x80..<0x800:
            bytes.0 = UInt8(0xC0 | (scalar >> 6))
            bytes.1 = UInt8(0x80 | (scalar & 0x3F))
            count = 2
        case 0x800..<0x10000:
            bytes.0 = UInt8(0xE0 | (scalar >> 12))
            bytes.1 = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            bytes.2 = UInt8(0x80 | (scalar & 0x3F))
            count = 3
        default:
            bytes.0 = UInt8(0xF0 | (scalar >> 18))
            bytes.1 = UInt8(0x80 | ((scalar >> 12) & 0x3F))
            bytes.2 = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            bytes.3 = UInt8(0x80 | (scalar & 0x3F))
            count = 4
        }
        let encoded = [bytes.0, bytes.1, bytes.2, bytes.3]
        for index in 0..<count {
            if toValue { event.appendValueByte(encoded[index]) } else { pathBytes.append(encoded[index]) }
        }
    }

    // MARK: Flattening

    func segment(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        let start = pathStarts[index]
        let stop = index + 1 < pathStarts.count ? pathStarts[index + 1] : pathBytes.count
        return pathBytes.withUnsafeBufferPointer { UnsafeBufferPointer(rebasing: $0[start..<stop]) }
    }

    @inline(__always)
    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x5F || byte >= 0x80
    }

    static func equals(_ segment: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        memoryEqual(segment, UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    mutating func fileLeaf(kind: ValueKind, start: Int) {
        let depth = pathStarts.count
        guard depth > 0 else { return }
        // Flat events: the key is the name.
        if depth == 1 {
            event.finishValue(key: segment(0), kind: kind, start: start)
            return
        }
        name.removeAll(keepingCapacity: true)
        var last = depth - 1
        if Self.equals(segment(last), "#text") { last -= 1 }
        if last >= 1, Self.equals(segment(last - 1), "#attributes") {
            let attribute = segment(last)
            if Self.equals(attribute, "Name"), last >= 2 {
                name.append(contentsOf: segment(last - 2))
                name.append(UInt8(ascii: "_"))
            }
            name.append(contentsOf: attribute)
        } else {
            name.append(contentsOf: segment(last))
        }
        // Nested names lose characters other than letters, digits and `_` ("Source Name" → "SourceName"), as
        // flat exports write them; the name as written stays reachable too.
        var cleaned = name.count
        if name.contains(where: { !JSONEventParser.isNameByte($0) }) {
            let original = name
            name.removeAll(where: { !JSONEventParser.isNameByte($0) })
            cleaned = name.count
            name.append(contentsOf: original)
        }
        let index = name.withUnsafeBufferPointer {
            event.finishValue(key: UnsafeBufferPointer(rebasing: $0[0..<cleaned]), kind: kind, start: start)
        }
        if cleaned < name.count {
            name.withUnsafeBufferPointer {
                event.fileValue(index, underKey: UnsafeBufferPointer(rebasing: $0[cleaned...]))
            }
        }
        // Dotted path of the meaningful segments.
        name.removeAll(keepingCapacity: true)
        var parts = 0
        for position in 0..<depth {
            let part = segment(position)
            if Self.equals(part, "#attributes") || Self.equals(part, "#text") { continue }
            if parts > 0 { name.append(UInt8(ascii: ".")) }
            name.append(contentsOf: part)
            parts += 1
        }
        if parts > 1 { name.withUnsafeBufferPointer { event.fileValue(index, underKey: $0) } }
    }
}
