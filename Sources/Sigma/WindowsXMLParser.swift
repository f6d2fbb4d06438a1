/// Reads one Windows event in XML (`<Event><System>…</System><EventData><Data Name="…">…</Data>…</EventData></Event>`)
/// into an ``Event`` with the usual flat names: `Provider_Name`, `Guid`, `EventID`, `SystemTime`, `Channel`,
/// `Computer`, `UserID`, and each `Data` under its `Name` (unnamed `Data` elements give `Data` several values).
/// `RenderingInfo` is skipped.
public struct WindowsXMLParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let event: Event
    var index = 0
    var stack: [(start: Int, count: Int, hadChildren: Bool, dataName: [UInt8]?)] = []
    var text: [UInt8] = []
    var key: [UInt8] = []
    var skipDepth: Int?

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, into event: Event) throws(EventParseError) {
        event.reset()
        var parser = WindowsXMLParser(bytes: bytes, event: event)
        try parser.run()
        if event.isEmpty { throw EventParseError(message: "no event fields in XML", offset: 0) }
    }

    func error(_ message: String) -> EventParseError { EventParseError(message: message, offset: index) }

    func startsWith(_ word: StaticString, at position: Int) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count else { return false }
        for k in 0..<count where bytes[position + k] != word.utf8Start[k] { return false }
        return true
    }

    mutating func skipPast(_ word: StaticString) throws(EventParseError) {
        let needle = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard let found = find(needle, in: bytes, from: index) else { throw error("unterminated markup") }
        index = found + needle.count
    }

    mutating func run() throws(EventParseError) {
        while index < bytes.count {
            let byte = bytes[index]
            if byte != UInt8(ascii: "<") {
                if !stack.isEmpty && skipDepth == nil { try readText() } else { index += 1 }
                continue
            }
            if startsWith("<!--", at: index) {
                try skipPast("-->")
            } else if startsWith("<![CDATA[", at: index) {
                let begin = index + 9
                index = begin
                try skipPast("]]>")
                if skipDepth == nil { text.append(contentsOf: bytes[begin..<(index - 3)]) }
            } else if startsWith("<?", at: index) || startsWith("<!", at: index) {
                try skipPast(">")
            } else if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                try closeTag()
            } else {
                try openTag()
            }
            if stack.isEmpty && !event.isEmpty { return }
        }
        if !stack.isEmpty { throw error("unclosed element") }
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        !(byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == UInt8(ascii: ">")
            || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "="))
    }

    mutating func readName() -> (Int, Int) {
        let start = index
        while index < bytes.count, Self.isNameByte(bytes[index]) { index += 1 }
        // Drop a namespace prefix.
        var nameStart = start
        for k in start..<index where bytes[k] == UInt8(ascii: ":") { nameStart = k + 1 }
        return (nameStart, index - nameStart)
    }

    func name(_ range: (Int, Int)) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[range.0..<(range.0 + range.1)])
    }

    func nameIs(_ range: (Int, Int), _ word: StaticString) -> Bool {
        memoryEqual(name(range), UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func openTag() throws(EventParseError) {
        index += 1
        let element = readName()
        guard element.1 > 0 else { throw error("empty element name") }
        guard stack.count < 64 else { throw error("elements nested too deeply") }
        if !stack.isEmpty { stack[stack.count - 1].hadChildren = true }
        if skipDepth == nil, nameIs(element, "RenderingInfo") { skipDepth = stack.count }
        var dataName: [UInt8]?
        // Attributes.
        while true {
            skipSpace()
            guard index < bytes.count else { throw error("unterminated tag") }
            if bytes[index] == UInt8(ascii: ">") {
                index += 1
                stack.append((element.0, element.1, false, dataName))
                text.removeAll(keepingCapacity: true)
                return
            }
            if bytes[index] == UInt8(ascii: "/") {
                guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") else {
                    throw error("invalid tag end")
                }
                index += 2
                // Empty element: `<Data Name="X"/>` is an empty value.
                if skipDepth == nil, let dataName {
                    emit(key: dataName, value: [])
                }
                return
            }
            let attribute = readName()
            guard attribute.1 > 0 else { throw error("invalid attribute") }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw error("attribute without value") }
            index += 1
            skipSpace()
            guard index < bytes.count, bytes[index] == 0x22 || bytes[index] == 0x27 else {
                throw error("attribute value must be quoted")
            }
            let quote = bytes[index]
            index += 1
            let valueStart = index
            while index < bytes.count, bytes[index] != quote { index += 1 }
            guard index < bytes.count else { throw error("unterminated attribute value") }
            let rawValue = UnsafeBufferPointer(rebasing: bytes[valueStart..<index])
            index += 1
            if skipDepth != nil || nameIs(attribute, "xmlns") || startsWithXMLNS(attribute) { continue }
            let value = decodeEntities(rawValue)
            if nameIs(attribute, "Name") && (nameIs(element, "Data") || nameIs(element, "Param")) {
                // "Source Name" is read as "SourceName", as flat exports write it.
                dataName = value.filter(JSONEventParser.isNameByte)
                continue
            }
            key.removeAll(keepingCapacity: true)
            if nameIs(attribute, "Name") {
                key.append(contentsOf: name(element))
                key.append(UInt8(ascii: "_"))
            }
            key.append(contentsOf: name(attribute))
            emit(key: key, value: value)
        }
    }

    func startsWithXMLNS(_ attribute: (Int, Int)) -> Bool {
        attribute.0 >= 6 && bytes[attribute.0 - 1] == UInt8(ascii: ":")
            && memoryEqual(
                UnsafeBufferPointer(rebasing: bytes[(attribute.0 - 6)..<(attribute.0 - 1)]),
                UnsafeBufferPointer(start: StaticString("xmlns").utf8Start, count: 5))
    }

    mutating func closeTag() throws(EventParseError) {
        index += 2
        let element = readName()
        while index < bytes.count, bytes[index] != UInt8(ascii: ">") { index += 1 }
        index += 1
        guard let top = stack.popLast() else { throw error("unexpected closing tag") }
        guard memoryEqual(name((top.start, top.count)), name(element)) else { throw error("mismatched closing tag") }
        if let depth = skipDepth {
            if stack.count == depth { skipDepth = nil }
            text.removeAll(keepingCapacity: true)
            return
        }
        if !top.hadChildren {
            let value = decodeEntities(text)
            if let dataName = top.dataName {
                emit(key: dataName, value: value)
            } else if !value.isEmpty || nameIs((top.start, top.count), "Data") {
                key.removeAll(keepingCapacity: true)
                key.append(contentsOf: name((top.start, top.count)))
                emit(key: key, value: value)
            }
        }
        text.removeAll(keepingCapacity: true)
    }

    mutating func readText() throws(EventParseError) {
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
        text.append(contentsOf: bytes[start..<index])
    }

    func decodeEntities<C: Collection>(_ input: C) -> [UInt8] where C.Element == UInt8, C.Index == Int {
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var position = input.startIndex
        while position < input.endIndex {
            let byte = input[position]
            if byte != UInt8(ascii: "&") {
                output.append(byte)
                position += 1
                continue
            }
            guard let semicolon = input[position...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                output.append(byte)
                position += 1
                continue
            }
            let entity = String(decoding: input[(position + 1)..<semicolon], as: UTF8.self)
            var scalar: UInt32?
            switch entity {
            case "lt": scalar = 0x3C
            case "gt": scalar = 0x3E
            case "amp": scalar = 0x26
            case "quot": scalar = 0x22
            case "apos": scalar = 0x27
            default:
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    scalar = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    scalar = UInt32(entity.dropFirst(), radix: 10)
                }
            }
            if let scalar, let unicode = Unicode.Scalar(scalar) {
                output.append(contentsOf: Array(String(Character(unicode)).utf8))
                position = semicolon + 1
            } else {
                output.append(byte)
                position += 1
            }
        }
        return output
    }

    mutating func emit(key: [UInt8], value: [UInt8]) {
        let start = event.valueCursor
        value.withUnsafeBufferPointer { event.appendValueBytes($0) }
        _ = key.withUnsafeBufferPointer { event.finishValue(key: $0, kind: .string, start: start) }
    }
}
