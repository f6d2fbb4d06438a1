import Foundation

/// Why a message could not be read at all. Anything less (a missing boundary, a bad charset, stray base64)
/// is a ``MailMessage/defects`` entry: a reported e-mail is triaged even when it is damaged.
public struct MailParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}

/// Bounds for reading untrusted messages.
public struct MailLimits: Sendable, Hashable {
    /// Largest message accepted, in bytes.
    public var maximumSize: Int
    /// Deepest nesting of multiparts and attached messages; deeper parts are kept undecoded.
    public var maximumDepth: Int
    /// Most MIME parts in one message, nested messages included.
    public var maximumParts: Int

    public init(maximumSize: Int = 60 << 20, maximumDepth: Int = 24, maximumParts: Int = 2_000) {
        self.maximumSize = maximumSize
        self.maximumDepth = maximumDepth
        self.maximumParts = maximumParts
    }
}

/// A MIME entity: its header fields and its content, decoded from its transfer encoding.
public struct MIMEPart: Sendable {
    public indirect enum Content: Sendable {
        /// A leaf: the decoded bytes.
        case single([UInt8])
        /// A multipart's children, in order.
        case multipart([MIMEPart])
        /// An attached message (`message/rfc822`, or an .eml/.msg attachment read as one).
        case message(MailMessage)
    }

    public var headers: HeaderList
    /// `type/subtype` in lower case (`text/plain` when absent or unreadable).
    public var mediaType: String
    public var parameters: [String: String]
    /// `attachment`, `inline` or empty.
    public var disposition: String
    /// The file name from Content-Disposition or Content-Type, decoded.
    public var filename: String?
    public var content: Content

    public init(
        headers: HeaderList, mediaType: String, parameters: [String: String] = [:], disposition: String = "",
        filename: String? = nil, content: Content
    ) {
        self.headers = headers
        self.mediaType = mediaType
        self.parameters = parameters
        self.disposition = disposition
        self.filename = filename
        self.content = content
    }

    /// The decoded bytes of a leaf (empty for containers).
    public var bytes: [UInt8] {
        if case .single(let bytes) = content { return bytes }
        return []
    }

    /// Whether this leaf is an attachment rather than a body: a disposition of `attachment`, a file name, or a
    /// type that is not text.
    public var isAttachment: Bool {
        guard case .single = content else { return false }
        if disposition == "attachment" || filename != nil { return true }
        return !(mediaType.hasPrefix("text/") || mediaType.hasPrefix("multipart/"))
    }
}

/// A parsed e-mail message (RFC 5322 + MIME): the top-level headers, the MIME tree and what was damaged.
public struct MailMessage: Sendable {
    public var root: MIMEPart
    /// Problems found while reading, with where they were found (`part 1.2: …`).
    public var defects: [String]
    /// Bytes read.
    public var size: Int

    public var headers: HeaderList { root.headers }
    public var subject: String { headers["Subject"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
    public var from: MailAddress? { headers.first("From").flatMap { MailAddress.list($0.raw).first } }
    public var replyTo: [MailAddress] { headers.first("Reply-To").map { MailAddress.list($0.raw) } ?? [] }
    public var returnPath: MailAddress? { headers.first("Return-Path").flatMap { MailAddress.list($0.raw).first } }
    public var messageID: String? {
        headers["Message-ID"]?.trimmingCharacters(in: CharacterSet(charactersIn: "<> \t"))
    }

    public init(root: MIMEPart, defects: [String] = [], size: Int = 0) {
        self.root = root
        self.defects = defects
        self.size = size
    }

    /// Reads a message. Throws only when the input is not a message at all or is over the limits' size.
    public static func parse(_ bytes: [UInt8], limits: MailLimits = MailLimits()) throws(MailParseError)
        -> MailMessage
    {
        guard !bytes.isEmpty else { throw MailParseError("the message is empty") }
        guard bytes.count <= limits.maximumSize else {
            throw MailParseError(
                "the message is \(bytes.count / 1_048_576) MiB, more than the \(limits.maximumSize >> 20) MiB accepted")
        }
        guard looksLikeMessage(bytes[...]) else {
            throw MailParseError("this is not an e-mail message: no From, Subject, Date or Received header found")
        }
        var reader = MIMEReader(limits: limits)
        return reader.message(bytes[...], path: "", depth: 0)
    }

    /// Whether the bytes start with a header block naming at least one field every message has.
    static func looksLikeMessage(_ bytes: ArraySlice<UInt8>) -> Bool {
        let known: Set = ["from", "to", "subject", "date", "received", "message-id", "content-type", "return-path"]
        return HeaderList.parse(bytes.prefix(256 << 10)).0.fields.contains { known.contains($0.name.lowercased()) }
    }

    /// Every leaf part, depth first, including those of attached messages when `nested`.
    public func leaves(nested: Bool = false) -> [MIMEPart] {
        var out: [MIMEPart] = []
        func walk(_ part: MIMEPart) {
            switch part.content {
            case .single: out.append(part)
            case .multipart(let children): children.forEach(walk)
            case .message(let message): if nested { walk(message.root) }
            }
        }
        walk(root)
        return out
    }

    /// Messages attached to this one (one level).
    public var attachedMessages: [(part: MIMEPart, message: MailMessage)] {
        var out: [(MIMEPart, MailMessage)] = []
        func walk(_ part: MIMEPart) {
            switch part.content {
            case .single: break
            case .multipart(let children): children.forEach(walk)
            case .message(let message): out.append((part, message))
            }
        }
        if case .multipart(let children) = root.content { children.forEach(walk) }
        return out
    }

    /// The text bodies (text/plain leaves that are not attachments), decoded to strings.
    public var textBodies: [String] { bodies("text/plain") }
    /// The HTML bodies.
    public var htmlBodies: [String] { bodies("text/html") }

    func bodies(_ type: String) -> [String] {
        leaves().filter { $0.mediaType == type && $0.disposition != "attachment" && $0.filename == nil }.map {
            Charset.decode($0.bytes, label: $0.parameters["charset"]).text
        }
    }

    /// Attachments (leaf parts that are files), not those of attached messages.
    public var attachments: [MIMEPart] { leaves().filter(\.isAttachment) }
}

/// The recursive reader behind ``MailMessage/parse(_:limits:)``.
struct MIMEReader {
    let limits: MailLimits
    var parts = 0
    var defects: [String] = []

    init(limits: MailLimits) { self.limits = limits }

    mutating func message(_ bytes: ArraySlice<UInt8>, path: String, depth: Int) -> MailMessage {
        let outer = defects
        defects = []
        let root = part(bytes, path: path, depth: depth, defaultType: "text/plain")
        let message = MailMessage(root: root, defects: defects, size: bytes.count)
        defects = outer + defects
        return message
    }

    mutating func note(_ path: String, _ text: String) {
        guard defects.count < 100 else { return }
        defects.append(path.isEmpty ? text : "part \(path): \(text)")
    }

    mutating func part(_ bytes: ArraySlice<UInt8>, path: String, depth: Int, defaultType: String) -> MIMEPart {
        parts += 1
        let (headers, bodyStart, headerDefects) = HeaderList.parse(bytes)
        headerDefects.forEach { note(path, $0) }
        let body = bytes[bodyStart...]
        let type = ParameterizedValue(headers.first("Content-Type")?.raw ?? defaultType)
        var mediaType = type.token
        if !mediaType.contains("/") || mediaType.hasSuffix("/") || mediaType.hasPrefix("/") {
            if headers.first("Content-Type") != nil { note(path, "unreadable Content-Type \"\(type.token)\"") }
            mediaType = defaultType
        }
        let disposition = ParameterizedValue(headers.first("Content-Disposition")?.raw ?? "")
        let filename = disposition.parameters["filename"] ?? type.parameters["name"]
        var result = MIMEPart(
            headers: headers, mediaType: mediaType, parameters: type.parameters, disposition: disposition.token,
            filename: filename.flatMap { $0.isEmpty ? nil : $0 }, content: .single([]))
        let encoding = headers["Content-Transfer-Encoding"] ?? ""
        guard depth < limits.maximumDepth, parts < limits.maximumParts else {
            note(
                path,
                depth >= limits.maximumDepth
                    ? "nested too deeply, left undecoded" : "too many parts, rest left undecoded")
            result.content = .single(Array(body))
            return result
        }
        if mediaType.hasPrefix("multipart/") {
            guard let boundary = type.parameters["boundary"], !boundary.isEmpty else {
                note(path, "multipart without a boundary, read as text")
                result.mediaType = "text/plain"
                result.content = .single(Array(body))
                return result
            }
            let (pieces, closed) = Self.split(body, boundary: Array(("--" + boundary).utf8))
            if !closed { note(path, "the closing boundary is missing (truncated message?)") }
            if pieces.isEmpty { note(path, "multipart without any part") }
            var children: [MIMEPart] = []
            for (offset, piece) in pieces.enumerated() {
                guard parts < limits.maximumParts else {
                    note(path, "too many parts, rest left out")
                    break
                }
                let childPath = path.isEmpty ? "\(offset + 1)" : "\(path).\(offset + 1)"
                children.append(
                    part(
                        piece, path: childPath, depth: depth + 1,
                        defaultType: mediaType == "multipart/digest" ? "message/rfc822" : "text/plain"))
            }
            result.content = .multipart(children)
            return result
        }
        let (decoded, defect) = TransferEncoding.decode(body, encoding: encoding)
        if let defect { note(path, defect) }
        if mediaType == "message/rfc822" || mediaType == "message/global" {
            let nestedPath = path.isEmpty ? "message" : "\(path).message"
            if MailMessage.looksLikeMessage(decoded[...]) {
                result.content = .message(message(decoded[...], path: nestedPath, depth: depth + 1))
            } else {
                note(path, "attached message/rfc822 is not a message")
                result.content = .single(decoded)
            }
            return result
        }
        if mediaType.hasPrefix("text/"), let charset = type.parameters["charset"],
            let problem = Charset.decode(decoded.prefix(65_536), label: charset).defect
        {
            note(path, problem)
        }
        result.content = .single(decoded)
        return result
    }

    /// The parts between delimiter lines (`--boundary`, optionally followed by blanks), and whether the
    /// closing delimiter (`--boundary--`) was found. The line break before a delimiter belongs to it.
    static func split(_ body: ArraySlice<UInt8>, boundary: [UInt8]) -> ([ArraySlice<UInt8>], closed: Bool) {
        var pieces: [ArraySlice<UInt8>] = []
        var start: Int?
        var index = body.startIndex
        while index < body.endIndex {
            let lineEnd = body[index...].firstIndex(of: 0x0A) ?? body.endIndex
            let line = body[index..<lineEnd]
            if line.count >= boundary.count, line.starts(with: boundary) {
                let rest = line.dropFirst(boundary.count)
                let closing = rest.starts(with: [0x2D, 0x2D])
                let tail = closing ? rest.dropFirst(2) : rest
                if tail.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    if let start {
                        var end = index
                        if end > start, body[end - 1] == 0x0A { end -= 1 }
                        if end > start, body[end - 1] == 0x0D { end -= 1 }
                        pieces.append(body[start..<max(start, end)])
                    }
                    if closing { return (pieces, true) }
                    start = lineEnd < body.endIndex ? lineEnd + 1 : lineEnd
                }
            }
            index = lineEnd < body.endIndex ? lineEnd + 1 : lineEnd
        }
        if let start, start < body.endIndex { pieces.append(body[start...]) }
        return (pieces, false)
    }
}
