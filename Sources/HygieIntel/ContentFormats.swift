import Crypto
import Foundation
import STIX

/// UUIDs derived from names, so that the same input always gives the same STIX id.
enum DerivedUUID {
    /// RFC 4122 version 5 (SHA-1) — what STIX 2.1 §2.9 prescribes for cyber-observable ids.
    static func v5(namespace: UUID, name: String) -> String {
        var data = withUnsafeBytes(of: namespace.uuid) { Data($0) }
        data.append(contentsOf: Array(name.utf8))
        var bytes = Array(Insecure.SHA1.hash(data: data).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    /// A stable id with the layout of a version 4 UUID (STIX wants v4 for domain objects), from SHA-256.
    static func make(namespace: String, name: String) -> String {
        var bytes = Array(SHA256.hash(data: Data("\(namespace)\u{0}\(name)".utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    static func format(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// The STIX namespace for observable ids (STIX 2.1 §2.9).
    static let stixNamespace = UUID(uuidString: "00abedb4-aa42-466c-9c01-fed23315a9b7")!
}

/// Builds STIX indicators for plain values (CSV rows, MISP attributes, sightings).
enum IndicatorBuilder {
    /// Maps a value kind as people write it (`ip`, `domain`, `sha256`, `ip-dst`…) to an IOC.
    static func ioc(kind: String, value: String) -> IOC? {
        let value = value.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { return nil }
        switch kind.lowercased() {
        case "ip", "ipv4", "ipv6", "ip-src", "ip-dst", "ipv4-addr", "ipv6-addr", "cidr":
            return IPNetwork(value).map(IOC.ip)
        case "domain", "hostname", "domain-name", "fqdn":
            return value.contains(".") && !value.contains(" ") ? .domain(IOC.normalizedDomain(value)) : nil
        case "url", "uri", "link":
            return value.contains("://") ? .url(IOC.normalizedURL(value)) : nil
        case "email", "email-src", "email-dst", "email-addr", "e-mail":
            return value.contains("@") ? .email(value.lowercased()) : nil
        case "md5", "sha1", "sha-1", "sha256", "sha-256", "sha512", "sha-512":
            let algorithm: String
            switch kind.lowercased().replacingOccurrences(of: "-", with: "") {
            case "md5": algorithm = "MD5"
            case "sha1": algorithm = "SHA-1"
            case "sha256": algorithm = "SHA-256"
            default: algorithm = "SHA-512"
            }
            let expected = ["MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128][algorithm]
            guard value.count == expected, value.allSatisfy(\.isHexDigit) else { return nil }
            return .hash(algorithm: algorithm, value: value.lowercased())
        case "hash":
            let algorithm = [32: "MD5", 40: "SHA-1", 64: "SHA-256", 128: "SHA-512"][value.count]
            guard let algorithm, value.allSatisfy(\.isHexDigit) else { return nil }
            return .hash(algorithm: algorithm, value: value.lowercased())
        default:
            return nil
        }
    }

    static func indicator(
        ioc: IOC, id: String, name: String?, description: String?, tlp: TLP?, createdBy: String?, created: Date,
        validFrom: Date?, validUntil: Date?, confidence: Int?, labels: [String]
    ) -> JSONValue {
        let stamp = STIXTimestamp(created).stixString
        var members: [JSONValue.Member] = [
            .init("type", .string("indicator")), .init("spec_version", .string("2.1")), .init("id", .string(id)),
            .init("created", .string(stamp)), .init("modified", .string(stamp)),
            .init("name", .string(name ?? "\(ioc.kind) \(ioc.value)")),
        ]
        if let description, !description.isEmpty { members.append(.init("description", .string(description))) }
        members += [
            .init("indicator_types", .array([.string("malicious-activity")])),
            .init("pattern", .string(ioc.stixPattern)), .init("pattern_type", .string("stix")),
            .init("valid_from", .string(validFrom.map(timestamp) ?? stamp)),
        ]
        if let validUntil { members.append(.init("valid_until", .string(timestamp(validUntil)))) }
        if let confidence { members.append(.init("confidence", .number(String(confidence)))) }
        if !labels.isEmpty { members.append(.init("labels", .array(labels.map(JSONValue.string)))) }
        if let createdBy { members.append(.init("created_by_ref", .string(createdBy))) }
        if let tlp { members.append(.init("object_marking_refs", .array([.string(tlp.markingDefinitionID)]))) }
        return .object(members)
    }

    static func timestamp(_ date: Date) -> String {
        STIXTimestamp(date).stixString
    }

    /// Dates in CSV and MISP: RFC 3339, a bare date, or seconds since 1970.
    static func date(_ text: String) -> Date? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if let stamp = STIXTimestamp(text) {
            return Date(timeIntervalSince1970: Double(stamp.microseconds) / 1_000_000)
        }
        if let stamp = STIXTimestamp(text + "T00:00:00Z") {
            return Date(timeIntervalSince1970: Double(stamp.microseconds) / 1_000_000)
        }
        if let seconds = Int(text), seconds > 0 { return Date(timeIntervalSince1970: Double(seconds)) }
        return nil
    }
}

/// Indicator CSV: one indicator per row, `type,value[,name,description,tlp,valid_from,valid_until,confidence,labels]`
/// (labels separated by `;`). A first row starting with `type` is a header. RFC 4180 quoting.
enum IndicatorCSV {
    static func read(_ bytes: [UInt8], identity: JSONValue, now: Date) throws(IntelError) -> [STIXBundle.Entry] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw IntelError.unreadable("the CSV file is not valid UTF-8")
        }
        let rows = parse(text)
        guard !rows.isEmpty else { throw IntelError.unreadable("the CSV file has no rows") }
        let createdBy = identity["id"]?.stringValue
        var entries: [STIXBundle.Entry] = [STIXBundle.Entry(json: identity)]
        for (number, row) in rows.enumerated() {
            if number == 0, row.first?.lowercased() == "type" { continue }
            if row.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            func field(_ index: Int) -> String? {
                guard index < row.count else { return nil }
                let value = row[index].trimmingCharacters(in: .whitespaces)
                return value.isEmpty ? nil : value
            }
            let line = "line \(number + 1)"
            guard row.count >= 2, let kind = field(0), let value = field(1) else {
                entries.append(.init(failure: "\(line): a row needs a type and a value"))
                continue
            }
            guard let ioc = IndicatorBuilder.ioc(kind: kind, value: value) else {
                entries.append(
                    .init(
                        failure:
                            "\(line): '\(value)' is not a valid \(kind) (types: ip, domain, url, email, md5, sha1, sha256, sha512)"
                    ))
                continue
            }
            var tlp: TLP?
            if let text = field(4) {
                guard let level = TLP(name: text) else {
                    entries.append(.init(failure: "\(line): unknown TLP '\(text)'"))
                    continue
                }
                tlp = level
            }
            let validFrom = field(5).flatMap(IndicatorBuilder.date)
            let validUntil = field(6).flatMap(IndicatorBuilder.date)
            if field(5) != nil && validFrom == nil || field(6) != nil && validUntil == nil {
                entries.append(.init(failure: "\(line): dates are RFC 3339 (2026-01-31T00:00:00Z) or YYYY-MM-DD"))
                continue
            }
            let confidence = field(7).flatMap { Int($0) }
            let id = "indicator--" + DerivedUUID.make(namespace: "hygie-csv", name: "\(createdBy ?? "")|\(ioc)")
            entries.append(
                .init(
                    json: IndicatorBuilder.indicator(
                        ioc: ioc, id: id, name: field(2), description: field(3), tlp: tlp, createdBy: createdBy,
                        created: now,
                        validFrom: validFrom, validUntil: validUntil, confidence: confidence,
                        labels: field(8)?.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) } ?? [])))
        }
        return entries
    }

    /// RFC 4180 rows (quoted fields, doubled quotes, CRLF or LF).
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        while let scalar = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if scalar == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            quoted = false
                            pending = next
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty: quoted = true
            case ",":
                row.append(field)
                field = ""
            case "\r": continue
            case "\n":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            default: field.unicodeScalars.append(scalar)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}

/// MISP event JSON (`{"Event": {...}}`, `{"response": [...]}` or a list of events): each event becomes a
/// `report`; each attribute flagged `to_ids` of a type Hygie can match becomes an `indicator` with the
/// attribute's UUID; the event's `tlp:` tag becomes the TLP marking.
enum MISPImport {
    static func read(_ bytes: [UInt8], now: Date) throws(IntelError) -> [STIXBundle.Entry] {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw IntelError.unreadable("invalid JSON: \(error.description)")
        }
        var events: [JSONValue] = []
        if let event = document["Event"] {
            events = [event]
        } else if let list = document["response"]?.arrayValue ?? document.arrayValue {
            events = list.compactMap { $0["Event"] }
        }
        guard !events.isEmpty else { throw IntelError.unreadable("no MISP event found (expected {\"Event\": {...}})") }
        var entries: [STIXBundle.Entry] = []
        for event in events {
            let info = event["info"]?.stringValue ?? "MISP event"
            let tags = (event["Tag"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            let tlp = tags.compactMap { $0.lowercased().hasPrefix("tlp:") ? TLP(name: $0) : nil }.max()
            let published = event["date"]?.stringValue.flatMap(IndicatorBuilder.date) ?? now
            var attributes = event["Attribute"]?.arrayValue ?? []
            for object in event["Object"]?.arrayValue ?? [] { attributes += object["Attribute"]?.arrayValue ?? [] }
            var refs: [String] = []
            for attribute in attributes {
                guard attribute["to_ids"]?.boolValue == true || attribute["to_ids"]?.stringValue == "1" else {
                    continue
                }
                let type = attribute["type"]?.stringValue ?? ""
                let raw = attribute["value"]?.stringValue ?? ""
                // Composite types (`domain|ip`, `filename|sha256`, `ip-dst|port`): the first part that can be matched.
                var ioc = IndicatorBuilder.ioc(kind: type, value: raw)
                if ioc == nil, type.contains("|") {
                    let values = raw.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                    for (index, kind) in type.split(separator: "|").enumerated()
                    where index < values.count && ioc == nil {
                        ioc = IndicatorBuilder.ioc(kind: String(kind), value: values[index])
                    }
                }
                let uuid =
                    attribute["uuid"]?.stringValue.flatMap { UUID(uuidString: $0) }?.uuidString.lowercased()
                    ?? DerivedUUID.make(namespace: "hygie-misp", name: "\(type)|\(raw)")
                let id = "indicator--" + uuid
                guard let ioc else {
                    entries.append(
                        .init(failure: "MISP attribute \(type) '\(raw)' cannot be matched in logs", claimedID: id))
                    continue
                }
                let created = attribute["timestamp"]?.stringValue.flatMap(IndicatorBuilder.date) ?? published
                entries.append(
                    .init(
                        json: IndicatorBuilder.indicator(
                            ioc: ioc, id: id, name: "\(info): \(type) \(raw)",
                            description: attribute["comment"]?.stringValue,
                            tlp: tlp, createdBy: nil, created: created, validFrom: created, validUntil: nil,
                            confidence: nil,
                            labels: [attribute["category"]?.stringValue].compactMap { $0 })))
                refs.append(id)
            }
            guard !refs.isEmpty else { continue }
            let eventID =
                event["uuid"]?.stringValue.flatMap { UUID(uuidString: $0) }?.uuidString.lowercased()
                ?? DerivedUUID.make(namespace: "hygie-misp-event", name: info)
            let stamp = IndicatorBuilder.timestamp(published)
            var report: [JSONValue.Member] = [
                .init("type", .string("report")), .init("spec_version", .string("2.1")),
                .init("id", .string("report--" + eventID)), .init("created", .string(stamp)),
                .init("modified", .string(stamp)), .init("name", .string(info)), .init("published", .string(stamp)),
                .init("report_types", .array([.string("threat-report")])),
                .init("object_refs", .array(refs.map(JSONValue.string))),
                .init("labels", .array(tags.filter { !$0.lowercased().hasPrefix("tlp:") }.map(JSONValue.string))),
            ]
            if report.last?.value.arrayValue?.isEmpty == true { report.removeLast() }
            if let tlp { report.append(.init("object_marking_refs", .array([.string(tlp.markingDefinitionID)]))) }
            entries.append(.init(json: .object(report)))
        }
        return entries
    }
}
