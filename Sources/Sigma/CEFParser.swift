/// Reads an ArcSight Common Event Format record (`CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|ext`),
/// alone or as the message of a syslog line, into an ``Event``.
///
/// Header fields become `cef_version`, `deviceVendor`, `deviceProduct`, `deviceVersion`, `signatureId` (also
/// `deviceEventClassId`), `name`, `severity`; extension pairs keep their keys (`src`, `suser`, `act`…), and a custom
/// string's label names a second copy of its value (`cs1Label=Rule cs1=Block` also gives `Rule: Block`).
// SPEC: Micro Focus ArcSight "Implementing ArcSight CEF" rev. 25: `\|` and `\\` escaped in the header; `\=`, `\\`,
// `\n`, `\r` in extension values; a value runs until the space before the next `key=`.
public enum CEFParser {
    /// Whether the text (after optional spaces) starts a CEF record.
    public static func isCEF(_ text: Substring) -> Bool {
        text.drop(while: { $0 == " " }).hasPrefix("CEF:")
    }

    /// Parses `bytes` (a CEF record) into `event`, which is reset first unless `reset` is false.
    /// - Throws: ``EventParseError`` when the record has fewer than seven header fields.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, into event: Event, reset: Bool = true)
        throws(EventParseError)
    {
        if reset { event.reset() }
        try parse(Substring(decoding: bytes, as: UTF8.self), into: event)
    }

    static func parse(_ text: Substring, into event: Event) throws(EventParseError) {
        var rest = text.drop(while: { $0 == " " })
        guard rest.hasPrefix("CEF:") else { throw EventParseError(message: "not a CEF record", offset: 0) }
        rest = rest.dropFirst(4)
        var header: [String] = []
        var current = ""
        var escaped = false
        while header.count < 7, let character = rest.first {
            rest = rest.dropFirst()
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "|" {
                header.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        guard header.count == 7 else {
            throw EventParseError(message: "a CEF header needs seven fields separated by |", offset: 0)
        }
        let names = [
            "cef_version", "deviceVendor", "deviceProduct", "deviceVersion", "signatureId", "name", "severity",
        ]
        event.add(key: "log_format", value: "cef")
        for (name, value) in zip(names, header) { event.add(key: name, value: value) }
        event.add(key: "deviceEventClassId", value: header[4])
        let pairs = extensionPairs(rest)
        var labels: [String: String] = [:]
        for (key, value) in pairs where key.hasSuffix("Label") { labels[String(key.dropLast(5))] = value }
        for (key, value) in pairs {
            event.add(key: key, value: value)
            if let label = labels[key], !label.isEmpty { event.add(key: label, value: value) }
        }
    }

    /// Splits `key=value key2=value with spaces` into pairs; values are unescaped.
    static func extensionPairs(_ text: Substring) -> [(String, String)] {
        var pairs: [(String, String)] = []
        // Positions of unescaped `=` preceded by a key token.
        let characters = Array(text)
        var keyStarts: [(keyStart: Int, equals: Int)] = []
        var index = 0
        while index < characters.count {
            if characters[index] == "\\" {
                index += 2
                continue
            }
            if characters[index] == "=" {
                var start = index
                while start > 0, isKeyCharacter(characters[start - 1]) { start -= 1 }
                if start < index, start == 0 || characters[start - 1] == " " { keyStarts.append((start, index)) }
            }
            index += 1
        }
        for (position, entry) in keyStarts.enumerated() {
            let valueEnd = position + 1 < keyStarts.count ? keyStarts[position + 1].keyStart : characters.count
            var value = ""
            var cursor = entry.equals + 1
            while cursor < valueEnd {
                let character = characters[cursor]
                if character == "\\", cursor + 1 < valueEnd {
                    let next = characters[cursor + 1]
                    switch next {
                    case "n": value.append("\n")
                    case "r": value.append("\r")
                    default: value.append(next)
                    }
                    cursor += 2
                    continue
                }
                value.append(character)
                cursor += 1
            }
            while value.last == " " { value.removeLast() }
            pairs.append((String(characters[entry.keyStart..<entry.equals]), value))
        }
        return pairs
    }

    static func isKeyCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "_" || character == ".")
    }
}
