/// Outlook .msg files ([MS-OXMSG]): a compound file whose streams `__substg1.0_PPPPTTTT` hold MAPI properties
/// (P = property id, T = type: 001F UTF-16LE, 001E 8-bit, 0102 binary, 000D embedded object).
///
/// ``read(_:limits:)`` turns one into a ``MailMessage`` so that triage treats both formats alike: the original
/// transport headers (PR_TRANSPORT_MESSAGE_HEADERS) when Outlook kept them, otherwise headers made from the
/// subject and sender properties; the text and HTML bodies; attachments (by value, and attached .msg messages
/// as nested messages).
public enum OutlookMessage {
    enum Property: UInt16 {
        case subject = 0x0037
        case transportHeaders = 0x007D
        case senderName = 0x0C1A
        case senderAddress = 0x0C1F
        case senderSMTP = 0x5D01
        case displayTo = 0x0E04
        case body = 0x1000
        case html = 0x1013
        case messageID = 0x1035
        case attachData = 0x3701
        case attachFilename = 0x3704
        case attachLongFilename = 0x3707
        case attachMIMETag = 0x370E
        case displayName = 0x3001
    }

    public static func read(_ bytes: [UInt8], limits: MailLimits = MailLimits()) throws(MailParseError) -> MailMessage {
        guard bytes.count <= limits.maximumSize else {
            throw MailParseError("the .msg file is larger than \(limits.maximumSize >> 20) MiB")
        }
        let file = try CompoundFile(bytes)
        var budget = limits.maximumParts
        return try message(file, storage: 0, depth: 0, limits: limits, budget: &budget, size: bytes.count)
    }

    static func message(
        _ file: CompoundFile, storage: Int, depth: Int, limits: MailLimits, budget: inout Int, size: Int
    ) throws(MailParseError) -> MailMessage {
        guard depth < limits.maximumDepth else { throw MailParseError(".msg: attached messages nested too deeply") }
        var defects: [String] = []
        let properties = Properties(file: file, storage: storage)
        guard
            properties.has(.subject) || properties.has(.transportHeaders) || properties.has(.body)
                || properties.has(.senderName)
        else {
            throw MailParseError("this compound file is not an Outlook message (no subject, headers or body)")
        }
        var headers: HeaderList
        if let transport = properties.string(.transportHeaders), !transport.isEmpty {
            let (parsed, _, problems) = HeaderList.parse(Array(transport.utf8)[...])
            headers = parsed
            defects += problems.map { "transport headers: \($0)" }
            // The transport headers describe the MIME body Outlook no longer has.
            headers.fields.removeAll {
                ["content-type", "content-transfer-encoding"].contains($0.name.lowercased())
            }
        } else {
            defects.append("the .msg has no transport headers (saved before sending or stripped): no Received chain")
            headers = HeaderList()
            if let subject = properties.string(.subject) {
                headers.fields.append(HeaderField(name: "Subject", raw: subject))
            }
            let address = properties.string(.senderSMTP) ?? properties.string(.senderAddress) ?? ""
            let name = properties.string(.senderName) ?? ""
            if !address.isEmpty || !name.isEmpty {
                headers.fields.append(
                    HeaderField(name: "From", raw: address.contains("@") ? "\"\(name)\" <\(address)>" : name))
            }
            if let id = properties.string(.messageID) {
                headers.fields.append(HeaderField(name: "Message-ID", raw: id))
            }
        }
        headers.fields.append(HeaderField(name: "Content-Type", raw: "multipart/mixed; boundary=\"msg\""))
        var children: [MIMEPart] = []
        if let body = properties.string(.body) {
            children.append(
                MIMEPart(
                    headers: HeaderList(), mediaType: "text/plain", parameters: ["charset": "utf-8"],
                    content: .single(Array(body.utf8))))
        }
        if let html = properties.bytes(.html) {
            // PR_BODY_HTML is binary in the message's code page; UTF-8 or Windows-1252 in practice.
            let text = Charset.decode(
                html, label: String(validating: html, as: UTF8.self) == nil ? "windows-1252" : "utf-8")
            children.append(
                MIMEPart(
                    headers: HeaderList(), mediaType: "text/html", parameters: ["charset": "utf-8"],
                    content: .single(Array(text.text.utf8))))
        }
        for attachment in file.children(of: storage)
        where file.entries[attachment].name.lowercased().hasPrefix("__attach_version1.0_") {
            budget -= 1
            guard budget > 0 else {
                defects.append("too many attachments, rest left out")
                break
            }
            let props = Properties(file: file, storage: attachment)
            let name = props.string(.attachLongFilename) ?? props.string(.attachFilename) ?? props.string(.displayName)
            let type = props.string(.attachMIMETag)?.lowercased() ?? "application/octet-stream"
            let disposition = HeaderList([HeaderField(name: "Content-Disposition", raw: "attachment")])
            if let embedded = props.storage(.attachData) {
                do {
                    let nested = try message(
                        file, storage: embedded, depth: depth + 1, limits: limits, budget: &budget, size: 0)
                    children.append(
                        MIMEPart(
                            headers: disposition, mediaType: "message/rfc822", disposition: "attachment",
                            filename: name, content: .message(nested)))
                } catch {
                    defects.append("attached message \(name ?? "?"): \(error.description)")
                }
            } else if let data = props.bytes(.attachData) {
                children.append(
                    MIMEPart(
                        headers: disposition, mediaType: type.contains("/") ? type : "application/octet-stream",
                        disposition: "attachment", filename: name ?? "attachment", content: .single(data)))
            } else {
                defects.append("attachment \(name ?? "?") has no data (a link or an OLE object)")
            }
        }
        let root = MIMEPart(
            headers: headers, mediaType: "multipart/mixed", parameters: ["boundary": "msg"],
            content: .multipart(children))
        return MailMessage(root: root, defects: defects, size: size)
    }

    /// The property streams directly under one storage.
    struct Properties {
        let file: CompoundFile
        var streams: [String: Int] = [:]

        init(file: CompoundFile, storage: Int) {
            self.file = file
            for child in file.children(of: storage) {
                let name = file.entries[child].name.uppercased()
                guard name.hasPrefix("__SUBSTG1.0_"), name.count == 20 else { continue }
                streams[String(name.suffix(8))] = child
            }
        }

        func key(_ property: Property, _ type: String) -> String {
            let hex = String(property.rawValue, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - hex.count) + hex + type
        }

        func has(_ property: Property) -> Bool {
            ["001F", "001E", "0102", "000D"].contains { streams[key(property, $0)] != nil }
        }

        func string(_ property: Property) -> String? {
            if let index = streams[key(property, "001F")], let bytes = try? file.stream(index) {
                var units: [UInt16] = []
                units.reserveCapacity(bytes.count / 2)
                var offset = 0
                while offset + 1 < bytes.count {
                    units.append(UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)
                    offset += 2
                }
                while units.last == 0 { units.removeLast() }
                return String(decoding: units, as: UTF16.self)
            }
            if let index = streams[key(property, "001E")], var bytes = try? file.stream(index) {
                while bytes.last == 0 { bytes.removeLast() }
                return String(validating: bytes, as: UTF8.self) ?? Charset.windows1252(bytes)
            }
            return nil
        }

        func bytes(_ property: Property) -> [UInt8]? {
            if let index = streams[key(property, "0102")], let bytes = try? file.stream(index) { return bytes }
            return string(property).map { Array($0.utf8) }
        }

        func storage(_ property: Property) -> Int? {
            guard let index = streams[key(property, "000D")], file.entries[index].kind == .storage else { return nil }
            return index
        }
    }
}
