/// IHE ATNA audit messages (DICOM PS3.15 A.5 `AuditMessage` XML, and the older RFC 3881 spelling) read as record
/// accesses: the requesting `ActiveParticipant` is the user, the `ParticipantObjectIdentification` with type
/// code 1 (person) and role 1 (patient) the patient, `PurposeOfUse` ETREAT an emergency access.
public enum ATNAMessage {
    public static let maximumBytes = 256 << 10

    /// Returns nil for a valid audit message that records no patient access (a login, a node start).
    public static func access(_ bytes: [UInt8], defaultOffset: Int32) throws(PrivacyInputError) -> AccessEvent? {
        guard bytes.count <= maximumBytes else { throw PrivacyInputError("ATNA message larger than 256 KiB") }
        let elements = try XMLElements.scan(bytes)
        guard elements.contains(where: { $0.name == "AuditMessage" }) else {
            throw PrivacyInputError("not an ATNA audit message: no AuditMessage element")
        }
        guard let identification = elements.first(where: { $0.name == "EventIdentification" }) else {
            throw PrivacyInputError("ATNA: EventIdentification is missing")
        }
        guard let text = identification["EventDateTime"], let time = Instant(iso: text, defaultOffset: defaultOffset)
        else { throw PrivacyInputError("ATNA: EventDateTime is missing or not an ISO 8601 time") }
        var user: String?
        var firstUser: String?
        var patient: String?
        var emergency = false
        var justification = ""
        var source = ""
        var inPatientObject = false
        for element in elements {
            switch element.name {
            case "ActiveParticipant":
                guard let id = element["UserID"], !id.isEmpty else { continue }
                // A person's login: the alternative id is often the directory account, UserID the session.
                let person = element["AlternativeUserID"].flatMap { $0.isEmpty ? nil : $0 } ?? id
                if firstUser == nil, element["NetworkAccessPointTypeCode"] == nil { firstUser = person }
                if element["UserIsRequestor"]?.lowercased() == "true", user == nil { user = person }
            case "PurposeOfUse":
                if element["csd-code"] == "ETREAT" || element["code"] == "ETREAT" { emergency = true }
                if let original = element["originalText"], !original.isEmpty, original != "ETREAT" {
                    justification = original
                }
            case "AuditSourceIdentification":
                source = element["AuditSourceID"] ?? ""
            case "ParticipantObjectIdentification":
                inPatientObject =
                    element["ParticipantObjectTypeCode"] == "1"
                    && element["ParticipantObjectTypeCodeRole"] == "1"
                if inPatientObject, patient == nil, let id = element["ParticipantObjectID"] {
                    // CX: `id^^^&authority&ISO`.
                    let value = String(id.prefix { $0 != "^" })
                    if !value.isEmpty { patient = value }
                }
            case "ParticipantObjectDetail":
                if inPatientObject, ["justification", "reason"].contains(element["type"]?.lowercased() ?? "") {
                    justification = element["value"] ?? justification
                }
            default: break
            }
        }
        guard let patient else { return nil }
        guard let user = user ?? firstUser else {
            throw PrivacyInputError("ATNA: no ActiveParticipant identifies the user")
        }
        return AccessEvent(
            id: AccessInput.fallbackID(bytes), time: time, user: user, patient: patient,
            action: identification["EventActionCode"] ?? "R", emergency: emergency,
            justification: emergency ? justification : "", source: source)
    }

    /// The XML inside a syslog message whose MSGID is `IHE+RFC-3881` (RFC 5424 header, then the XML, possibly
    /// after a UTF-8 BOM). Nil when the message is not an ATNA audit record.
    public static func payload(ofSyslog message: [UInt8]) -> [UInt8]? {
        let text = String(decoding: message.prefix(512), as: UTF8.self)
        guard text.contains("IHE+RFC-3881") || text.contains("IHE+RFC3881"),
            let start = message.firstIndex(of: UInt8(ascii: "<")).flatMap({ first in
                message[(first + 1)...].firstIndex(of: UInt8(ascii: "<"))
            })
        else { return nil }
        // The first `<` is the syslog priority; the XML starts at the next one.
        return Array(message[start...])
    }
}

/// Start tags and their attributes, in document order: all ATNA needs from XML. Comments, processing
/// instructions, CDATA and DOCTYPE are skipped (a DOCTYPE is refused: no entity expansion, ever).
enum XMLElements {
    struct Element {
        var name: String
        var attributes: [(String, String)]
        subscript(_ key: String) -> String? { attributes.first { $0.0 == key }?.1 }
    }

    static func scan(_ bytes: [UInt8]) throws(PrivacyInputError) -> [Element] {
        var elements: [Element] = []
        var index = 0
        let count = bytes.count
        func fail(_ text: String) -> PrivacyInputError { PrivacyInputError("ATNA XML: \(text) at byte \(index)") }
        while index < count {
            guard bytes[index] == UInt8(ascii: "<") else {
                index += 1
                continue
            }
            if bytes[index...].starts(with: Array("<!--".utf8)) {
                guard let end = find(Array("-->".utf8), in: bytes, from: index) else { throw fail("unclosed comment") }
                index = end + 3
                continue
            }
            if bytes[index...].starts(with: Array("<![CDATA[".utf8)) {
                guard let end = find(Array("]]>".utf8), in: bytes, from: index) else { throw fail("unclosed CDATA") }
                index = end + 3
                continue
            }
            if bytes[index...].starts(with: Array("<!".utf8)) { throw fail("DOCTYPE and declarations are refused") }
            if index + 1 < count, bytes[index + 1] == UInt8(ascii: "?") || bytes[index + 1] == UInt8(ascii: "/") {
                guard let end = bytes[index...].firstIndex(of: UInt8(ascii: ">")) else { throw fail("unclosed tag") }
                index = end + 1
                continue
            }
            index += 1
            let nameStart = index
            while index < count, !isSpace(bytes[index]), bytes[index] != UInt8(ascii: ">"),
                bytes[index] != UInt8(ascii: "/")
            {
                index += 1
            }
            var name = String(decoding: bytes[nameStart..<index], as: UTF8.self)
            if let colon = name.lastIndex(of: ":") { name = String(name[name.index(after: colon)...]) }
            guard !name.isEmpty else { throw fail("empty tag name") }
            var attributes: [(String, String)] = []
            while true {
                while index < count, isSpace(bytes[index]) { index += 1 }
                guard index < count else { throw fail("unclosed tag <\(name)") }
                if bytes[index] == UInt8(ascii: ">") {
                    index += 1
                    break
                }
                if bytes[index] == UInt8(ascii: "/") {
                    index += 1
                    continue
                }
                let keyStart = index
                while index < count, bytes[index] != UInt8(ascii: "="), !isSpace(bytes[index]),
                    bytes[index] != UInt8(ascii: ">")
                {
                    index += 1
                }
                let key = String(decoding: bytes[keyStart..<index], as: UTF8.self)
                while index < count, isSpace(bytes[index]) { index += 1 }
                guard index < count, bytes[index] == UInt8(ascii: "=") else {
                    throw fail("attribute \(key) has no value")
                }
                index += 1
                while index < count, isSpace(bytes[index]) { index += 1 }
                guard index < count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                    throw fail("attribute \(key) is not quoted")
                }
                let quote = bytes[index]
                index += 1
                let valueStart = index
                while index < count, bytes[index] != quote { index += 1 }
                guard index < count else { throw fail("attribute \(key) never closes") }
                attributes.append((key, decodeEntities(bytes[valueStart..<index])))
                index += 1
            }
            elements.append(Element(name: name, attributes: attributes))
            if elements.count > 10_000 { throw fail("more than 10,000 elements") }
        }
        return elements
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        var index = from
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], bytes[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    static func decodeEntities(_ bytes: ArraySlice<UInt8>) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            result += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semicolon) <= 10 else {
                result += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "amp": result += "&"
            case "lt": result += "<"
            case "gt": result += ">"
            case "quot": result += "\""
            case "apos": result += "'"
            default:
                let number =
                    entity.hasPrefix("#x")
                    ? UInt32(entity.dropFirst(2), radix: 16) : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                if let number, let scalar = Unicode.Scalar(number) {
                    result.unicodeScalars.append(scalar)
                } else {
                    result += "&\(entity);"
                }
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return result + rest
    }
}
