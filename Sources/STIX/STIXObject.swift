import Foundation

/// Why a STIX object or bundle was refused.
public struct STIXError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One validated STIX 2.1 object. The JSON is kept whole (custom and unknown properties included), so
/// writing `json` back gives the object as it was received.
public struct STIXObject: Sendable, Hashable {
    public enum Category: String, Sendable {
        case domain, relationship, observable, meta, bundle
    }

    public let json: JSONValue
    public let type: String
    public let id: String
    public let specVersion: String?
    public let created: STIXTimestamp?
    public let modified: STIXTimestamp?

    /// Validates `json` as a STIX 2.1 object (required and common properties, identifiers, timestamps,
    /// references, and the pattern of STIX indicators).
    public init(json: JSONValue) throws(STIXError) {
        guard let members = json.members else { throw STIXError("a STIX object must be a JSON object") }
        guard let type = json["type"]?.stringValue else { throw STIXError("missing required property 'type'") }
        guard Self.isValidType(type) else { throw STIXError("invalid type '\(type)'") }
        guard let id = json["id"]?.stringValue else { throw STIXError("\(type): missing required property 'id'") }
        guard Self.isValidIdentifier(id), id.hasPrefix(type + "--") else {
            throw STIXError("\(type): invalid id '\(id)' (expected '\(type)--' followed by a UUID)")
        }
        self.json = json
        self.type = type
        self.id = id
        let category = Self.category(of: type)
        if category == .bundle { throw STIXError("a bundle cannot be stored as an object") }

        let specVersion = json["spec_version"]
        if let specVersion {
            guard let text = specVersion.stringValue, text == "2.1" else {
                throw STIXError("\(id): spec_version must be \"2.1\"")
            }
            self.specVersion = text
        } else if category == .observable {
            self.specVersion = nil
        } else {
            throw STIXError("\(id): missing required property 'spec_version'")
        }

        func timestamp(_ key: String, required: Bool) throws(STIXError) -> STIXTimestamp? {
            guard let value = json[key] else {
                if required { throw STIXError("\(id): missing required property '\(key)'") }
                return nil
            }
            guard let text = value.stringValue, let stamp = STIXTimestamp(text) else {
                throw STIXError("\(id): '\(key)' is not an RFC 3339 UTC timestamp")
            }
            return stamp
        }
        let needsDates = category == .domain || category == .relationship
        created = try timestamp("created", required: needsDates || type == "marking-definition")
        modified = try timestamp("modified", required: needsDates)
        if let created, let modified, modified < created {
            throw STIXError("\(id): 'modified' is earlier than 'created'")
        }
        for member in members {
            try Self.checkCommon(member, of: id)
        }
        try Self.checkRequired(json, type: type, id: id)
    }

    /// The version TAXII uses: `modified`, else `created`; nil for objects with neither (observables),
    /// whose version is the date they were added.
    public var version: STIXTimestamp? { modified ?? created }

    public var isRevoked: Bool { json["revoked"]?.boolValue ?? false }

    public var markingRefs: [String] { json["object_marking_refs"]?.arrayValue?.compactMap(\.stringValue) ?? [] }

    /// The strictest TLP the object is marked with.
    public var tlp: TLP? {
        if type == "marking-definition", TLP(markingDefinitionID: id) != nil {
            return .clear  // the published TLP definitions themselves are public
        }
        return TLP.strictest(in: markingRefs)
    }

    public var name: String? { json["name"]?.stringValue }

    public static func category(of type: String) -> Category {
        switch type {
        case "relationship", "sighting": return .relationship
        case "marking-definition", "language-content", "extension-definition": return .meta
        case "bundle": return .bundle
        default: return observableTypes.contains(type) ? .observable : .domain
        }
    }

    public static let observableTypes: Set<String> = [
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "file",
        "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process", "software", "url",
        "user-account", "windows-registry-key", "x509-certificate",
    ]

    /// `type` per STIX 2.1 §3.1: 3–250 characters, lowercase ASCII letters, digits and single hyphens.
    public static func isValidType(_ type: String) -> Bool {
        let bytes = Array(type.utf8)
        guard bytes.count >= 3, bytes.count <= 250 else { return false }
        guard let first = bytes.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { return false }
        var previousHyphen = false
        for byte in bytes {
            let isHyphen = byte == UInt8(ascii: "-")
            guard
                isHyphen || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            else { return false }
            if isHyphen && previousHyphen { return false }
            previousHyphen = isHyphen
        }
        return true
    }

    /// `type--UUID` with a well-formed RFC 4122 UUID (lowercase or uppercase hex).
    public static func isValidIdentifier(_ id: String) -> Bool {
        guard let range = id.range(of: "--") else { return false }
        let type = String(id[..<range.lowerBound])
        let uuid = id[range.upperBound...]
        guard isValidType(type), uuid.utf8.count == 36 else { return false }
        for (index, byte) in uuid.utf8.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                if byte != UInt8(ascii: "-") { return false }
            } else if !((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
                || (byte >= 0x41 && byte <= 0x46))
            {
                return false
            }
        }
        return true
    }

    static func checkCommon(_ member: JSONValue.Member, of id: String) throws(STIXError) {
        let key = member.key
        let value = member.value
        guard key.utf8.count <= 250, key.utf8.count >= 1 else { throw STIXError("\(id): property name too long") }
        if key.hasSuffix("_ref") {
            guard let ref = value.stringValue, isValidIdentifier(ref) else {
                throw STIXError("\(id): '\(key)' must be a STIX identifier")
            }
        } else if key.hasSuffix("_refs") {
            guard let refs = value.arrayValue, !refs.isEmpty,
                refs.allSatisfy({ $0.stringValue.map(isValidIdentifier) ?? false })
            else { throw STIXError("\(id): '\(key)' must be a non-empty list of STIX identifiers") }
        }
        switch key {
        case "confidence":
            guard let number = value.intValue, (0...100).contains(number) else {
                throw STIXError("\(id): 'confidence' must be an integer from 0 to 100")
            }
        case "revoked":
            guard value.boolValue != nil else { throw STIXError("\(id): 'revoked' must be a boolean") }
        case "labels":
            guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw STIXError("\(id): 'labels' must be a list of strings")
            }
        case "external_references":
            guard let list = value.arrayValue,
                list.allSatisfy({ $0["source_name"]?.stringValue != nil })
            else { throw STIXError("\(id): each external reference needs a 'source_name'") }
        case "granular_markings":
            guard let list = value.arrayValue,
                list.allSatisfy({ $0["selectors"]?.arrayValue?.isEmpty == false })
            else { throw STIXError("\(id): each granular marking needs 'selectors'") }
        case "extensions":
            guard value.members != nil else { throw STIXError("\(id): 'extensions' must be an object") }
        case "first_seen", "last_seen", "valid_from", "valid_until", "published", "first_observed", "last_observed",
            "start_time", "stop_time":
            guard value.stringValue.flatMap(STIXTimestamp.init) != nil else {
                throw STIXError("\(id): '\(key)' is not an RFC 3339 UTC timestamp")
            }
        default:
            break
        }
    }

    static let requiredByType: [String: [String]] = [
        "attack-pattern": ["name"], "campaign": ["name"], "course-of-action": ["name"],
        "grouping": ["context", "object_refs"], "identity": ["name"], "infrastructure": ["name"],
        "intrusion-set": ["name"], "malware": ["is_family"], "malware-analysis": ["product"],
        "note": ["content", "object_refs"], "observed-data": ["first_observed", "last_observed", "number_observed"],
        "opinion": ["opinion", "object_refs"], "report": ["name", "published", "object_refs"],
        "threat-actor": ["name"], "tool": ["name"], "vulnerability": ["name"],
        "indicator": ["pattern", "pattern_type", "valid_from"],
        "relationship": ["relationship_type", "source_ref", "target_ref"], "sighting": ["sighting_of_ref"],
        "location": [], "language-content": ["object_ref", "contents"],
        "extension-definition": ["name", "schema", "version", "extension_types", "created_by_ref"],
        "ipv4-addr": ["value"], "ipv6-addr": ["value"], "domain-name": ["value"], "url": ["value"],
        "email-addr": ["value"], "mac-addr": ["value"], "mutex": ["name"], "directory": ["path"],
        "autonomous-system": ["number"], "software": ["name"], "network-traffic": ["protocols"],
        "windows-registry-key": [], "email-message": ["is_multipart"],
    ]

    static func checkRequired(_ json: JSONValue, type: String, id: String) throws(STIXError) {
        for key in requiredByType[type] ?? [] where json[key] == nil {
            throw STIXError("\(id): missing required property '\(key)'")
        }
        switch type {
        case "indicator":
            guard let pattern = json["pattern"]?.stringValue, !pattern.isEmpty else {
                throw STIXError("\(id): 'pattern' must be a non-empty string")
            }
            guard let patternType = json["pattern_type"]?.stringValue else {
                throw STIXError("\(id): 'pattern_type' must be a string")
            }
            if patternType == "stix" {
                do {
                    _ = try PatternParser.parse(pattern)
                } catch {
                    throw STIXError("\(id): invalid STIX pattern: \(error.description)")
                }
            }
            if let from = json["valid_from"]?.stringValue.flatMap(STIXTimestamp.init),
                let until = json["valid_until"]?.stringValue.flatMap(STIXTimestamp.init), until <= from
            {
                throw STIXError("\(id): 'valid_until' must be later than 'valid_from'")
            }
        case "malware":
            guard let family = json["is_family"]?.boolValue else {
                throw STIXError("\(id): 'is_family' must be a boolean")
            }
            if family, json["name"] == nil { throw STIXError("\(id): a malware family needs a 'name'") }
        case "observed-data":
            guard let count = json["number_observed"]?.intValue, (1...999_999_999).contains(count) else {
                throw STIXError("\(id): 'number_observed' must be an integer from 1 to 999,999,999")
            }
            guard json["object_refs"] != nil || json["objects"] != nil else {
                throw STIXError("\(id): observed-data needs 'object_refs'")
            }
        case "sighting":
            if let count = json["count"] {
                guard let number = count.intValue, (0...999_999_999).contains(number) else {
                    throw STIXError("\(id): 'count' must be an integer from 0 to 999,999,999")
                }
            }
        case "file":
            guard json["hashes"] != nil || json["name"] != nil else {
                throw STIXError("\(id): a file needs 'hashes' or 'name'")
            }
        case "location":
            guard
                json["region"] != nil || json["country"] != nil
                    || (json["latitude"] != nil && json["longitude"] != nil)
            else { throw STIXError("\(id): a location needs 'region', 'country' or 'latitude' and 'longitude'") }
        case "marking-definition":
            guard json["definition"] != nil || json["extensions"] != nil else {
                throw STIXError("\(id): a marking definition needs 'definition' or 'extensions'")
            }
        default:
            break
        }
        if let hashes = json["hashes"] {
            guard let members = hashes.members, !members.isEmpty,
                members.allSatisfy({ $0.value.stringValue?.isEmpty == false })
            else { throw STIXError("\(id): 'hashes' must map algorithm names to values") }
        }
    }
}

/// Reading STIX content: a bundle or a TAXII envelope, each object validated on its own.
public enum STIXBundle {
    /// One element of a bundle or envelope: its validated object, or why it was refused.
    public struct Entry: Sendable {
        public var result: Result<STIXObject, STIXError>
        /// The exact bytes the element had in the input.
        public var bytes: ArraySlice<UInt8>
        /// The id the element claimed, even when it was refused (for status reports).
        public var claimedID: String?

        /// An element built by a program (imports from other formats): validated like a received one.
        public init(json: JSONValue) {
            result = Result { () throws(STIXError) -> STIXObject in try STIXObject(json: json) }
            bytes = ArraySlice(JSONWriter.bytes(json))
            claimedID = json["id"]?.stringValue
        }

        /// An element that could not even be turned into STIX (a bad CSV row, an unsupported MISP attribute).
        public init(failure message: String, claimedID: String? = nil) {
            result = .failure(STIXError(message))
            bytes = []
            self.claimedID = claimedID
        }

        init(result: Result<STIXObject, STIXError>, bytes: ArraySlice<UInt8>, claimedID: String?) {
            self.result = result
            self.bytes = bytes
            self.claimedID = claimedID
        }
    }

    /// Parses `{"objects": [...]}` (TAXII envelope) or `{"type": "bundle", ...}`. A document that is not JSON,
    /// or not an object with an `objects` list, is an error; objects are validated one by one.
    public static func read(_ bytes: [UInt8], maximumDepth: Int = JSONParser.defaultMaximumDepth) throws(STIXError)
        -> [Entry]
    {
        let parsed: (document: JSONValue, elements: [(value: JSONValue, range: Range<Int>)])
        do {
            parsed = try JSONParser.parseTopLevelArrayMember(bytes, key: "objects", maximumDepth: maximumDepth)
        } catch {
            throw STIXError("invalid JSON: \(error.description)")
        }
        if let type = parsed.document["type"]?.stringValue, type != "bundle" {
            throw STIXError("expected a bundle or an envelope, found a '\(type)' object")
        }
        guard let objects = parsed.document["objects"] else {
            throw STIXError("the document has no 'objects' list")
        }
        guard objects.arrayValue != nil else { throw STIXError("'objects' must be a list") }
        return parsed.elements.map { element in
            let result = Result { () throws(STIXError) -> STIXObject in try STIXObject(json: element.value) }
            return Entry(result: result, bytes: bytes[element.range], claimedID: element.value["id"]?.stringValue)
        }
    }

    /// A bundle holding `objects` (written as given).
    public static func write(_ objects: [JSONValue], id: String? = nil) -> [UInt8] {
        let id = id ?? "bundle--" + UUID().uuidString.lowercased()
        var out = Array("{\"type\":\"bundle\",\"id\":\"\(id)\",\"objects\":[".utf8)
        for (index, object) in objects.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.write(object, to: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}
