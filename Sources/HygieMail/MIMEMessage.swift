public import Foundation

/// A file attached to a message.
public struct MailAttachment: Sendable, Hashable, Codable {
    public var name: String
    public var contentType: String
    public var data: Data

    public init(name: String, contentType: String, data: Data) {
        self.name = name
        self.contentType = contentType
        self.data = data
    }
}

/// An RFC 5322 message with a text part, an HTML part (`multipart/alternative` when both are present),
/// attachments (`multipart/mixed` around it) and extra headers. ``render(date:domain:)`` writes it with CRLF
/// line ends, RFC 2047 encoded words in headers, quoted-printable text and base64 attachments.
public struct MIMEMessage: Sendable, Hashable {
    public var fromName: String?
    public var from: String
    public var to: [String]
    public var subject: String
    public var text: String?
    public var html: String?
    public var attachments: [MailAttachment]
    /// Extra headers (name, value), after the standard ones.
    public var headers: [MailHeader]
    /// Without angle brackets; generated when nil.
    public var messageID: String?

    public init(
        fromName: String? = nil, from: String, to: [String], subject: String, text: String? = nil, html: String? = nil,
        attachments: [MailAttachment] = [], headers: [MailHeader] = [], messageID: String? = nil
    ) {
        self.fromName = fromName
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.attachments = attachments
        self.headers = headers
        self.messageID = messageID
    }

    /// Headers the caller may not set: the message writes them itself.
    static let reservedHeaders: Set<String> = [
        "from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "content-type",
        "content-transfer-encoding",
    ]

    /// The message, CRLF line ends, not yet dot-stuffed (``SMTPClient`` does that while sending).
    public func render(date: Date = Date(), domain: String) throws(MailError) -> String {
        for address in to + [from] where !SMTPClient.isAddress(address) {
            throw MailError.invalid("not an e-mail address: \(address)")
        }
        guard !to.isEmpty else { throw MailError.invalid("no recipient") }
        var lines = [
            "From: " + MIME.address(from, name: fromName), "To: " + to.joined(separator: ", "),
            "Subject: " + MIME.encodedWord(subject), "Date: " + MIME.date(date),
            "Message-ID: <\(messageID ?? "\(UUID().uuidString.lowercased())@\(domain)")>", "MIME-Version: 1.0",
        ]
        for header in headers {
            guard !Self.reservedHeaders.contains(header.name.lowercased()) else {
                throw MailError.invalid("header \(header.name) is written by Hygie itself")
            }
            lines.append("\(header.name): " + MIME.encodedWord(header.value))
        }
        var boundaryCounter = 0
        func boundary() -> String {
            boundaryCounter += 1
            return "=_hygie_\(boundaryCounter)_\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        }
        // The body (text, HTML or both) as (headers, body lines).
        var parts: [(String, [String])] = []
        if let text { parts.append(("text/plain; charset=utf-8", MIME.quotedPrintable(text))) }
        if let html { parts.append(("text/html; charset=utf-8", MIME.quotedPrintable(html))) }
        if parts.isEmpty { parts.append(("text/plain; charset=utf-8", [])) }
        var body: (type: String, encoding: String?, lines: [String])
        if parts.count == 1 {
            body = (parts[0].0, "quoted-printable", parts[0].1)
        } else {
            let mark = boundary()
            var out: [String] = []
            for (type, content) in parts {
                out += ["--" + mark, "Content-Type: " + type, "Content-Transfer-Encoding: quoted-printable", ""]
                out += content
            }
            out.append("--" + mark + "--")
            body = ("multipart/alternative; boundary=\"\(mark)\"", nil, out)
        }
        if !attachments.isEmpty {
            let mark = boundary()
            var out = ["--" + mark, "Content-Type: " + body.type]
            if let encoding = body.encoding { out.append("Content-Transfer-Encoding: " + encoding) }
            out += [""] + body.lines
            for attachment in attachments {
                let type =
                    attachment.contentType.allSatisfy { $0.isASCII && !$0.isWhitespace && $0 != ";" }
                        && attachment.contentType.contains("/") ? attachment.contentType : "application/octet-stream"
                out += [
                    "--" + mark, "Content-Type: \(type); " + MIME.parameter("name", attachment.name),
                    "Content-Transfer-Encoding: base64",
                    "Content-Disposition: attachment; " + MIME.parameter("filename", attachment.name), "",
                ]
                out += attachment.data.base64EncodedString(options: .lineLength76Characters)
                    .components(separatedBy: "\r\n")
            }
            out.append("--" + mark + "--")
            body = ("multipart/mixed; boundary=\"\(mark)\"", nil, out)
        }
        lines.append("Content-Type: " + body.type)
        if let encoding = body.encoding { lines.append("Content-Transfer-Encoding: " + encoding) }
        lines.append("")
        lines += body.lines
        return lines.joined(separator: "\r\n")
    }
}

/// A header the caller adds; the name must be an RFC 5322 field name, the value goes on one line.
public struct MailHeader: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) throws(MailError) {
        guard !name.isEmpty, name.count <= 76,
            name.unicodeScalars.allSatisfy({ (33...126).contains($0.value) && $0 != ":" })
        else { throw MailError.invalid("not a header name: \(name.prefix(80))") }
        self.name = name
        self.value = value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}

/// The encodings of RFC 2045 and RFC 2047.
public enum MIME {
    /// Quoted-printable (RFC 2045 section 6.7) of UTF-8 text, as CRLF lines of at most 76 characters; line
    /// breaks in the text become CRLF, spaces before a break are encoded, and a line never starts with a dot
    /// that SMTP would have to stuff (it is encoded as `=2E`).
    public static func quotedPrintable(_ text: String) -> [String] {
        var lines: [String] = []
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        for sourceLine in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            let bytes = Array(sourceLine.utf8)
            var line = ""
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                var piece: String
                switch byte {
                case 0x20, 0x09:
                    piece = isLast ? hex(byte) : String(UnicodeScalar(byte))
                case 0x2E where line.isEmpty:
                    piece = hex(byte)
                case 33...60, 62...126:
                    piece = String(UnicodeScalar(byte))
                default:
                    piece = hex(byte)
                }
                if line.count + piece.count > 75 {
                    lines.append(line + "=")
                    line = ""
                    if piece == "." { piece = hex(byte) }
                }
                line += piece
            }
            lines.append(line)
        }
        return lines
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "=" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
    }

    /// The text as is when it is printable ASCII, otherwise RFC 2047 `=?utf-8?B?…?=` words of at most 75
    /// characters, folded on several lines, never splitting a character.
    public static func encodedWord(_ text: String) -> String {
        let clean = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.unicodeScalars.allSatisfy({ (32...126).contains($0.value) }) && !clean.contains("=?") {
            return clean
        }
        // 75 - "=?utf-8?B?".count - "?=".count = 63 base64 characters: 45 bytes per word at most.
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in clean {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    /// `"Name" <address>` with the name encoded when needed, or the bare address.
    public static func address(_ address: String, name: String?) -> String {
        guard let name, !name.isEmpty else { return address }
        let plain = name.unicodeScalars.allSatisfy { (32...126).contains($0.value) }
        if plain {
            let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(quoted)\" <\(address)>"
        }
        return encodedWord(name) + " <\(address)>"
    }

    /// A `key="value"` parameter: quoted ASCII, or RFC 2231 `key*=utf-8''…` for other values.
    static func parameter(_ key: String, _ value: String) -> String {
        let clean = value.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
        if clean.unicodeScalars.allSatisfy({ (32...126).contains($0.value) && $0 != "\"" && $0 != "\\" }) {
            return "\(key)=\"\(clean)\""
        }
        return "\(key)*=utf-8''" + (clean.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "file")
    }

    /// RFC 5322 date in UTC.
    public static func date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return
            "\(days[(parts.weekday ?? 1) - 1]), \(two(parts.day)) \(months[(parts.month ?? 1) - 1]) \(parts.year ?? 1970) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }
}
