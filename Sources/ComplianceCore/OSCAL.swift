import Foundation
public import STIX

/// NIST OSCAL documents (JSON): catalogs and profiles in, assessment results in and out.
///
/// Each document keeps the JSON it was read from (member order and number literals included), so writing it
/// back loses nothing; typed accessors read what Hygie uses and the readers refuse documents whose required
/// fields are missing.
public enum OSCAL {
    public static let version = "1.1.2"
    public static let maximumBytes = 32 << 20

    public enum Document: Sendable, Hashable {
        case catalog(Catalog)
        case profile(Profile)
        case assessmentResults(AssessmentResults)

        public var json: JSONValue {
            switch self {
            case .catalog(let catalog): return .object([.init("catalog", catalog.raw)])
            case .profile(let profile): return .object([.init("profile", profile.raw)])
            case .assessmentResults(let results): return .object([.init("assessment-results", results.raw)])
            }
        }
    }

    public static func read(_ bytes: some Collection<UInt8>) throws(FrameworkError) -> Document {
        guard bytes.count <= maximumBytes else { throw FrameworkError("OSCAL document larger than 32 MiB") }
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes, maximumDepth: 64)
        } catch {
            throw FrameworkError("OSCAL document is not valid JSON: \(error)")
        }
        guard let members = root.members, members.count == 1, let top = members.first else {
            throw FrameworkError("an OSCAL document is an object with one member (catalog, profile…)")
        }
        switch top.key {
        case "catalog": return .catalog(try Catalog(top.value))
        case "profile": return .profile(try Profile(top.value))
        case "assessment-results": return .assessmentResults(try AssessmentResults(top.value))
        default:
            throw FrameworkError("unsupported OSCAL model \(top.key): expected catalog, profile or assessment-results")
        }
    }

    /// `metadata` with its required `title`, `last-modified`, `version` and `oscal-version`.
    static func metadata(_ value: JSONValue, in model: String) throws(FrameworkError) -> (
        title: String, version: String
    ) {
        guard let metadata = value["metadata"], metadata.members != nil else {
            throw FrameworkError("OSCAL \(model) has no metadata")
        }
        for key in ["title", "last-modified", "version", "oscal-version"] where metadata[key]?.stringValue == nil {
            throw FrameworkError("OSCAL \(model) metadata.\(key) is required")
        }
        return (metadata["title"]!.stringValue!, metadata["version"]!.stringValue!)
    }

    static func uuid(_ value: JSONValue, in model: String) throws(FrameworkError) -> String {
        guard let uuid = value["uuid"]?.stringValue, UUID(uuidString: uuid) != nil else {
            throw FrameworkError("OSCAL \(model) needs a uuid")
        }
        return uuid
    }

    public struct Catalog: Sendable, Hashable {
        public var raw: JSONValue
        public var uuid: String
        public var title: String
        public var version: String

        public init(_ raw: JSONValue) throws(FrameworkError) {
            self.raw = raw
            uuid = try OSCAL.uuid(raw, in: "catalog")
            (title, version) = try OSCAL.metadata(raw, in: "catalog")
            var seen = Set<String>()
            try Catalog.check(raw, seen: &seen)
        }

        /// Every group and control has an id (unique) and a title.
        static func check(_ value: JSONValue, seen: inout Set<String>) throws(FrameworkError) {
            for key in ["groups", "controls"] {
                for child in value[key]?.arrayValue ?? [] {
                    guard let title = child["title"]?.stringValue, !title.isEmpty else {
                        throw FrameworkError("OSCAL catalog: a \(key == "groups" ? "group" : "control") has no title")
                    }
                    if let id = child["id"]?.stringValue {
                        guard seen.insert(id).inserted else { throw FrameworkError("OSCAL catalog: id \(id) twice") }
                    } else if key == "controls" {
                        throw FrameworkError("OSCAL catalog: control \(title) has no id")
                    }
                    try check(child, seen: &seen)
                }
            }
        }

        public var controlIDs: [String] {
            var ids: [String] = []
            func walk(_ value: JSONValue, group: Bool) {
                for child in value["groups"]?.arrayValue ?? [] { walk(child, group: true) }
                for control in value["controls"]?.arrayValue ?? [] {
                    if let id = control["id"]?.stringValue { ids.append(id) }
                    walk(control, group: false)
                }
            }
            walk(raw, group: true)
            return ids
        }

        /// The catalog as a Hygie framework: groups become themes, controls (and their enhancements) assessable
        /// requirements; the statement part becomes the description, the guidance part the annotation.
        public func framework() -> Framework {
            let base = "urn:oscal:catalog:\(uuid.lowercased())"
            var framework = Framework(urn: base, refID: title, name: title)
            framework.description = raw["metadata"]?["remarks"]?.stringValue
            func add(_ value: JSONValue, isGroup: Bool, parent: String?, depth: Int, index: Int) {
                let id = value["id"]?.stringValue ?? "group-\(depth)-\(index)"
                var node = RequirementNode(urn: "\(base):\(id)", depth: depth, assessable: !isGroup)
                node.parentURN = parent
                node.refID = Catalog.label(value) ?? id
                node.name = value["title"]?.stringValue
                node.description = Catalog.prose(value, named: ["statement", "overview"])
                node.annotation = Catalog.prose(value, named: ["guidance"])
                if let objective = Catalog.prose(value, named: ["assessment-objective", "objective"]) {
                    node.typicalEvidence = objective
                }
                framework.nodes.append(node)
                for (offset, child) in (value["groups"]?.arrayValue ?? []).enumerated() {
                    add(child, isGroup: true, parent: node.urn, depth: depth + 1, index: offset)
                }
                for (offset, control) in (value["controls"]?.arrayValue ?? []).enumerated() {
                    add(control, isGroup: false, parent: node.urn, depth: depth + 1, index: offset)
                }
            }
            for (offset, group) in (raw["groups"]?.arrayValue ?? []).enumerated() {
                add(group, isGroup: true, parent: nil, depth: 1, index: offset)
            }
            for (offset, control) in (raw["controls"]?.arrayValue ?? []).enumerated() {
                add(control, isGroup: false, parent: nil, depth: 1, index: offset)
            }
            return framework
        }

        /// The catalog as a library holding one framework.
        public func library() -> FrameworkLibrary {
            let framework = framework()
            var library = FrameworkLibrary(
                urn: "urn:oscal:library:\(uuid.lowercased())", refID: title, name: title, locale: "en", version: 1)
            library.description = framework.description
            library.provider = raw["metadata"]?["parties"]?.arrayValue?.first?["name"]?.stringValue
            library.packager = "oscal"
            library.publicationDate = raw["metadata"]?["published"]?.stringValue
            library.copyright = "OSCAL catalog, version \(version)"
            library.frameworks = [framework]
            return library
        }

        /// The `label` property (`AC-1`) when there is one.
        static func label(_ value: JSONValue) -> String? {
            for prop in value["props"]?.arrayValue ?? [] where prop["name"]?.stringValue == "label" {
                return prop["value"]?.stringValue
            }
            return nil
        }

        /// Prose of the parts named `names`, sub-parts included, one paragraph per part.
        static func prose(_ value: JSONValue, named names: Set<String>) -> String? {
            var paragraphs: [String] = []
            func collect(_ part: JSONValue) {
                if let text = part["prose"]?.stringValue {
                    let label = label(part).map { "\($0) " } ?? ""
                    paragraphs.append(label + text)
                }
                for child in part["parts"]?.arrayValue ?? [] { collect(child) }
            }
            for part in value["parts"]?.arrayValue ?? [] where names.contains(part["name"]?.stringValue ?? "") {
                collect(part)
            }
            return paragraphs.isEmpty ? nil : paragraphs.joined(separator: "\n")
        }
    }

    public struct Profile: Sendable, Hashable {
        public struct Import: Sendable, Hashable {
            public var href: String
            public var includeAll: Bool
            public var includedIDs: [String]
        }

        public var raw: JSONValue
        public var uuid: String
        public var title: String
        public var imports: [Import]

        public init(_ raw: JSONValue) throws(FrameworkError) {
            self.raw = raw
            uuid = try OSCAL.uuid(raw, in: "profile")
            title = try OSCAL.metadata(raw, in: "profile").title
            guard let list = raw["imports"]?.arrayValue, !list.isEmpty else {
                throw FrameworkError("OSCAL profile needs at least one import")
            }
            var imports: [Import] = []
            for item in list {
                guard let href = item["href"]?.stringValue else {
                    throw FrameworkError("OSCAL profile import has no href")
                }
                var ids: [String] = []
                for selection in item["include-controls"]?.arrayValue ?? [] {
                    for id in selection["with-ids"]?.arrayValue ?? [] {
                        if let text = id.stringValue { ids.append(text) }
                    }
                }
                imports.append(Import(href: href, includeAll: item["include-all"] != nil, includedIDs: ids))
            }
            self.imports = imports
        }
    }

    public struct AssessmentResults: Sendable, Hashable {
        public var raw: JSONValue
        public var uuid: String
        public var title: String
        public var results: [JSONValue]

        public init(_ raw: JSONValue) throws(FrameworkError) {
            self.raw = raw
            uuid = try OSCAL.uuid(raw, in: "assessment-results")
            title = try OSCAL.metadata(raw, in: "assessment-results").title
            guard raw["import-ap"]?["href"]?.stringValue != nil else {
                throw FrameworkError("OSCAL assessment-results needs import-ap.href")
            }
            guard let results = raw["results"]?.arrayValue, !results.isEmpty else {
                throw FrameworkError("OSCAL assessment-results needs at least one result")
            }
            for result in results {
                for key in ["uuid", "title", "description", "start"] where result[key]?.stringValue == nil {
                    throw FrameworkError("OSCAL result.\(key) is required")
                }
                for finding in result["findings"]?.arrayValue ?? [] {
                    let state = finding["target"]?["status"]?["state"]?.stringValue
                    guard state == "satisfied" || state == "not-satisfied" else {
                        throw FrameworkError("OSCAL finding state must be satisfied or not-satisfied")
                    }
                }
            }
            self.results = results
        }

        public func count(_ key: String) -> Int {
            results.reduce(0) { $0 + ($1[key]?.arrayValue?.count ?? 0) }
        }

        /// `target-id` → state of every finding.
        public var findingStates: [String: String] {
            var states: [String: String] = [:]
            for result in results {
                for finding in result["findings"]?.arrayValue ?? [] {
                    if let id = finding["target"]?["target-id"]?.stringValue,
                        let state = finding["target"]?["status"]?["state"]?.stringValue
                    {
                        states[id] = state
                    }
                }
            }
            return states
        }
    }

    /// An OSCAL `token` (NCName-like) made from a reference: `1.R` → `req-1.R`, spaces → `-`.
    public static func token(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let ok = CharacterSet.alphanumerics.contains(scalar) || scalar == "." || scalar == "-" || scalar == "_"
            scalars.append(ok ? scalar : "-")
        }
        var result = String(scalars)
        if result.isEmpty
            || !(result.unicodeScalars.first.map { CharacterSet.letters.contains($0) || $0 == "_" } ?? false)
        {
            result = "req-" + result
        }
        return result
    }
}
