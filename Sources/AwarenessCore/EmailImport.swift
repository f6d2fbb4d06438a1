import Foundation

/// Reads an existing message (.eml, RFC 5322 + MIME) to start a template from it: its subject and its first
/// text and HTML parts, decoded (base64, quoted-printable; UTF-8, ISO-8859-1, Windows-1252), nested multiparts
/// followed. Attachments are left out (they are added to the template on purpose, not by accident).
public enum EmailImport {
    public struct Message: Sendable, Hashable {
        public var subject: String
        public var text: String
        public var html: String
    }

    public static let maximumSize = 10 << 20

    public static func read(_ bytes: [UInt8]) throws(TemplateError) -> Message {
        guard bytes.count <= maximumSize else { throw TemplateError("the message is larger than 10 MiB") }
        let (headers, body) = split(bytes)
        guard !headers.isEmpty,
            headers.contains(where: { $0.0 == "subject" || $0.0 == "content-type" || $0.0 == "from" })
        else { throw TemplateError("this is not an e-mail message (.eml): no headers found") }
        var message = Message(subject: decodeWords(value(headers, "subject") ?? ""), text: "", html: "")
        walk(headers, body, into: &message, depth: 0)
        guard !message.text.isEmpty || !message.html.isEmpty else {
            throw TemplateError("the message has no text or HTML part")
        }
        return message
    }

    /// Headers (lower-cased names, unfolded values) and the body after the blank line.
    static func split(_ bytes: [UInt8]) -> ([(String, String)], [UInt8]) {
        var headers: [(String, String)] = []
        var index = 0
        var lineStart = 0
        while index < bytes.count {
            guard bytes[index] == 0x0A else {
                index += 1
                continue
            }
            var line = Array(bytes[lineStart..<index])
            if line.last == 0x0D { line.removeLast() }
            index += 1
            lineStart = index
            if line.isEmpty { return (headers, Array(bytes[index...])) }
            let text = String(decoding: line, as: UTF8.self)
            if text.first == " " || text.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].1 += " " + text.trimmingCharacters(in: .whitespaces)
            } else if let colon = text.firstIndex(of: ":") {
                headers.append(
                    (
                        text[..<colon].lowercased(),
                        text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    ))
            } else {
                return (headers, Array(bytes[lineStart...]))
            }
        }
        return (headers, [])
    }

    static func value(_ headers: [(String, String)], _ name: String) -> String? {
        headers.first { $0.0 == name }?.1
    }

    /// `type/subtype` in lower case and the parameters.
    static func contentType(_ headers: [(String, String)]) -> (String, [String: String]) {
        let raw = value(headers, "content-type") ?? "text/plain"
        var parts = raw.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        let type = parts.isEmpty ? "text/plain" : parts.removeFirst().lowercased()
        var parameters: [String: String] = [:]
        for part in parts {
            guard let equals = part.firstIndex(of: "=") else { continue }
            parameters[part[..<equals].lowercased().trimmingCharacters(in: .whitespaces)] =
                part[part.index(after: equals)...].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        }
        return (type, parameters)
    }

    static func walk(_ headers: [(String, String)], _ body: [UInt8], into message: inout Message, depth: Int) {
        guard depth < 10 else { return }
        let (type, parameters) = contentType(headers)
        if type.hasPrefix("multipart/"), let boundary = parameters["boundary"], !boundary.isEmpty {
            for part in parts(body, boundary: boundary) {
                let (partHeaders, partBody) = split(part)
                walk(partHeaders, partBody, into: &message, depth: depth + 1)
            }
            return
        }
        if (value(headers, "content-disposition") ?? "").lowercased().hasPrefix("attachment") { return }
        guard type == "text/plain" || type == "text/html" else { return }
        let decoded = decodeBody(body, encoding: (value(headers, "content-transfer-encoding") ?? "").lowercased())
        let text = string(decoded, charset: parameters["charset"] ?? "utf-8")
        if type == "text/plain", message.text.isEmpty { message.text = text }
        if type == "text/html", message.html.isEmpty { message.html = text }
    }

    static func parts(_ body: [UInt8], boundary: String) -> [[UInt8]] {
        let text = String(decoding: body, as: UTF8.self)
        let pieces = text.components(separatedBy: "--" + boundary)
        guard pieces.count > 2 else { return [] }
        return pieces.dropFirst().prefix(while: { !$0.hasPrefix("--") }).map { piece in
            var bytes = Array(piece.utf8)
            if bytes.first == 0x0D { bytes.removeFirst() }
            if bytes.first == 0x0A { bytes.removeFirst() }
            return bytes
        }
    }

    static func decodeBody(_ body: [UInt8], encoding: String) -> [UInt8] {
        switch encoding {
        case "base64":
            let clean = String(decoding: body, as: UTF8.self).filter { !$0.isWhitespace }
            return Data(base64Encoded: clean, options: .ignoreUnknownCharacters).map(Array.init) ?? []
        case "quoted-printable":
            return quotedPrintable(body)
        default:
            return body
        }
    }

    static func quotedPrintable(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < body.count {
            let byte = body[index]
            if byte == UInt8(ascii: "="), index + 1 < body.count {
                if body[index + 1] == 0x0A {
                    index += 2
                    continue
                }
                if body[index + 1] == 0x0D, index + 2 < body.count, body[index + 2] == 0x0A {
                    index += 3
                    continue
                }
                if index + 2 < body.count,
                    let value = UInt8(String(decoding: body[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
                {
                    out.append(value)
                    index += 3
                    continue
                }
            }
            out.append(byte)
            index += 1
        }
        return out
    }

    static func string(_ bytes: [UInt8], charset: String) -> String {
        let data = Data(bytes)
        switch charset.lowercased() {
        case "iso-8859-1", "latin1", "iso8859-1": return String(data: data, encoding: .isoLatin1) ?? ""
        case "windows-1252", "cp1252": return String(data: data, encoding: .windowsCP1252) ?? ""
        default: return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// RFC 2047 encoded words (`=?charset?B|Q?…?=`) in a header value; spaces between two words disappear.
    public static func decodeWords(_ value: String) -> String {
        var out = ""
        var rest = Substring(value)
        var lastWasWord = false
        while let start = rest.range(of: "=?") {
            let before = rest[..<start.lowerBound]
            if !(lastWasWord && before.allSatisfy(\.isWhitespace)) { out += before }
            let inner = rest[start.upperBound...]
            let fields = inner.split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, fields[3].hasPrefix("="), let charset = fields.first, fields[1].count == 1 else {
                out += "=?"
                rest = inner
                lastWasWord = false
                continue
            }
            let encoded = fields[2]
            var bytes: [UInt8]
            if fields[1].uppercased() == "B" {
                bytes = Data(base64Encoded: String(encoded)).map(Array.init) ?? Array(encoded.utf8)
            } else {
                bytes = quotedPrintable(Array(encoded.replacingOccurrences(of: "_", with: " ").utf8))
            }
            out += string(bytes, charset: String(charset.split(separator: "*").first ?? charset))
            rest = fields[3].dropFirst()
            lastWasWord = true
        }
        return out + rest
    }
}
