import Foundation

/// One header field: the name as written and the value unfolded. ``value`` has RFC 2047 encoded words decoded;
/// ``raw`` keeps them (for Received, Authentication-Results and addresses, which are parsed from the raw form).
public struct HeaderField: Sendable, Hashable {
    public var name: String
    public var raw: String

    public init(name: String, raw: String) {
        self.name = name
        self.raw = raw
    }

    /// The value with encoded words decoded.
    public var value: String { EncodedWords.decode(raw) }
}

/// The header fields of a message or a MIME part, in order.
public struct HeaderList: Sendable, Hashable {
    public var fields: [HeaderField]

    public init(_ fields: [HeaderField] = []) { self.fields = fields }

    /// The first field called `name` (case-insensitive), decoded.
    public subscript(_ name: String) -> String? { first(name)?.value }

    public func first(_ name: String) -> HeaderField? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }

    public func all(_ name: String) -> [HeaderField] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }

    /// Parses a header block (lines up to the first empty one). Returns the fields, the index where the body
    /// starts, and defects (lines that are neither a field nor a continuation).
    static func parse(_ bytes: ArraySlice<UInt8>) -> (HeaderList, body: Int, defects: [String]) {
        var fields: [HeaderField] = []
        var defects: [String] = []
        var index = bytes.startIndex
        var first = true
        while index < bytes.endIndex {
            let lineEnd = bytes[index...].firstIndex(of: 0x0A) ?? bytes.endIndex
            var contentEnd = lineEnd
            if contentEnd > index, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            let line = bytes[index..<contentEnd]
            let next = lineEnd < bytes.endIndex ? lineEnd + 1 : lineEnd
            if line.isEmpty { return (HeaderList(fields), next, defects) }
            defer { first = false }
            // An mbox separator before the first field.
            if first, line.starts(with: Array("From ".utf8)) {
                index = next
                continue
            }
            let text = headerText(line)
            if line.first == 0x20 || line.first == 0x09 {
                if fields.isEmpty {
                    defects.append("continuation line before any header field")
                } else {
                    fields[fields.count - 1].raw += text
                }
            } else if let colon = text.firstIndex(of: ":"),
                case let name = text[..<colon].trimmingCharacters(in: .whitespaces), !name.isEmpty,
                name.allSatisfy({ $0.isASCII && !$0.isWhitespace })
            {
                fields.append(
                    HeaderField(name: name, raw: String(text[text.index(after: colon)...]).trimmingLeadingSpace))
            } else {
                // Not a header: the header block ended without its blank line (a pasted or broken message).
                if fields.isEmpty { return (HeaderList(), bytes.startIndex, defects) }
                defects.append("header block ends without a blank line")
                return (HeaderList(fields), index, defects)
            }
            index = next
        }
        return (HeaderList(fields), bytes.endIndex, defects)
    }

    /// Header bytes as text: UTF-8 (RFC 6532) when valid, Windows-1252 otherwise.
    static func headerText(_ bytes: ArraySlice<UInt8>) -> String {
        String(validating: bytes, as: UTF8.self) ?? Charset.windows1252(bytes)
    }
}

extension String {
    var trimmingLeadingSpace: String {
        String(drop(while: { $0 == " " || $0 == "\t" }))
    }
}

/// RFC 2047 encoded words: `=?charset?B|Q?text?=`, white space between two adjacent words dropped.
public enum EncodedWords {
    public static func decode(_ value: String) -> String {
        guard value.contains("=?") else { return value }
        var out = ""
        var rest = Substring(value)
        var pendingSpace = Substring()
        var lastWasWord = false
        while let start = rest.range(of: "=?") {
            let before = rest[..<start.lowerBound]
            let inner = rest[start.upperBound...]
            let fields = inner.split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, fields[3].hasPrefix("="), !fields[0].isEmpty,
                ["b", "q"].contains(fields[1].lowercased()),
                !fields[2].contains(" ")
            else {
                out += pendingSpace + before + "=?"
                pendingSpace = ""
                rest = inner
                lastWasWord = false
                continue
            }
            if !(lastWasWord && before.allSatisfy(\.isWhitespace)) { out += pendingSpace + before }
            let encoded = Array(fields[2].utf8)
            let bytes: [UInt8] =
                fields[1].uppercased() == "B"
                ? TransferEncoding.base64(encoded).bytes
                : TransferEncoding.quotedPrintable(encoded, underscoreIsSpace: true)
            out += Charset.decode(bytes, label: String(fields[0])).text
            rest = fields[3].dropFirst()
            pendingSpace = ""
            lastWasWord = true
        }
        return out + pendingSpace + rest
    }
}

/// A structured header value such as `text/plain; charset="utf-8"`: the first token in lower case and its
/// parameters (names lower-cased; RFC 2231 continuations, charsets and percent-encoding decoded; RFC 2047
/// words decoded in quoted values, as Outlook writes file names).
public struct ParameterizedValue: Sendable, Hashable {
    public var token: String
    public var parameters: [String: String]

    public init(_ raw: String) {
        var scanner = Array(raw.unicodeScalars)[...]
        token = Self.readToken(&scanner).lowercased()
        var plain: [String: String] = [:]
        var extended: [String: [(Int, Bool, String)]] = [:]
        while let semicolon = scanner.firstIndex(of: ";") {
            scanner = scanner[(semicolon + 1)...]
            let name = Self.readToken(&scanner).lowercased()
            Self.skipSpace(&scanner)
            guard scanner.first == "=", !name.isEmpty else { continue }
            scanner = scanner.dropFirst()
            Self.skipSpace(&scanner)
            let value: String
            if scanner.first == "\"" {
                value = Self.readQuoted(&scanner)
            } else {
                value = Self.readToken(&scanner)
            }
            // name*, name*0, name*0*
            if let star = name.firstIndex(of: "*") {
                let base = String(name[..<star])
                let suffix = name[name.index(after: star)...]
                let encoded = suffix.isEmpty || suffix.hasSuffix("*")
                let number = Int(suffix.trimmingCharacters(in: CharacterSet(charactersIn: "*"))) ?? 0
                extended[base, default: []].append((number, encoded, value))
            } else {
                plain[name] = EncodedWords.decode(value)
            }
        }
        for (name, pieces) in extended {
            var charset: String?
            var bytes: [UInt8] = []
            for (offset, piece) in pieces.sorted(by: { $0.0 < $1.0 }).enumerated() {
                var text = Substring(piece.2)
                if piece.1, offset == 0 {
                    let parts = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                    if parts.count == 3 {
                        charset = String(parts[0])
                        text = parts[2]
                    }
                }
                bytes += piece.1 ? Self.percentDecoded(text) : Array(text.utf8)
            }
            plain[name] = Charset.decode(bytes, label: charset ?? "utf-8").text
        }
        parameters = plain
    }

    static func percentDecoded(_ text: Substring) -> [UInt8] {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = TransferEncoding.hex(bytes[index + 1]), let low = TransferEncoding.hex(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }

    static func skipSpace(_ scanner: inout ArraySlice<Unicode.Scalar>) {
        while let first = scanner.first {
            if first == " " || first == "\t" || first == "\r" || first == "\n" {
                scanner = scanner.dropFirst()
            } else if first == "(" {
                // A comment, possibly nested.
                var depth = 0
                while let character = scanner.first {
                    scanner = scanner.dropFirst()
                    if character == "(" { depth += 1 }
                    if character == ")" {
                        depth -= 1
                        if depth == 0 { break }
                    }
                }
            } else {
                return
            }
        }
    }

    static func readToken(_ scanner: inout ArraySlice<Unicode.Scalar>) -> String {
        skipSpace(&scanner)
        var out = String.UnicodeScalarView()
        while let first = scanner.first, first != ";", first != "=", first != " ", first != "\t", first != "\"",
            first != "(", first != "\r", first != "\n"
        {
            out.append(first)
            scanner = scanner.dropFirst()
        }
        skipSpace(&scanner)
        return String(out)
    }

    static func readQuoted(_ scanner: inout ArraySlice<Unicode.Scalar>) -> String {
        scanner = scanner.dropFirst()
        var out = String.UnicodeScalarView()
        while let first = scanner.first {
            scanner = scanner.dropFirst()
            if first == "\"" { break }
            if first == "\\", let escaped = scanner.first {
                out.append(escaped)
                scanner = scanner.dropFirst()
            } else {
                out.append(first)
            }
        }
        skipSpace(&scanner)
        return String(out)
    }
}

/// An address from a From, To, Reply-To, Sender or Return-Path field.
public struct MailAddress: Sendable, Hashable, Codable {
    public var name: String
    public var address: String

    public init(name: String, address: String) {
        self.name = name
        self.address = address
    }

    /// The domain after the last `@`, lower-cased, without a trailing dot.
    public var domain: String {
        guard let at = address.lastIndex(of: "@") else { return "" }
        return String(address[address.index(after: at)...]).lowercased().trimmingCharacters(
            in: CharacterSet(charactersIn: ". >"))
    }

    /// Every address in a field value, leniently: `Name <a@b>`, bare `a@b`, groups, comments, quoted names with
    /// commas. Encoded words in display names are decoded.
    public static func list(_ raw: String) -> [MailAddress] {
        var addresses: [MailAddress] = []
        var current = ""
        var inQuote = false
        var depth = 0
        var inAngle = false
        var pieces: [String] = []
        for character in raw {
            switch character {
            case "\"" where depth == 0: inQuote.toggle()
            case "(" where !inQuote: depth += 1
            case ")" where !inQuote: depth = max(0, depth - 1)
            case "<" where !inQuote && depth == 0: inAngle = true
            case ">" where !inQuote && depth == 0: inAngle = false
            default: break
            }
            if (character == "," || character == ";") && !inQuote && depth == 0 && !inAngle {
                pieces.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current)
        for var piece in pieces {
            // Group syntax: `Undisclosed recipients: a@b`.
            if let colon = piece.firstIndex(of: ":"), !piece[..<colon].contains("<"), !piece[..<colon].contains("@"),
                !piece[..<colon].contains("\"")
            {
                piece = String(piece[piece.index(after: colon)...])
            }
            if let open = piece.lastIndex(of: "<") {
                let close = piece[open...].firstIndex(of: ">") ?? piece.endIndex
                let address = piece[piece.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
                var name = piece[..<open].trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
                    name = String(name.dropFirst().dropLast())
                }
                guard !address.isEmpty else { continue }
                addresses.append(MailAddress(name: EncodedWords.decode(name), address: address))
            } else {
                let withoutComments = piece.replacingOccurrences(
                    of: "\\([^)]*\\)", with: " ", options: .regularExpression)
                let address = withoutComments.trimmingCharacters(in: .whitespaces)
                guard address.contains("@"), !address.contains(" ") else { continue }
                addresses.append(MailAddress(name: "", address: address))
            }
        }
        return addresses
    }
}
