public import Foundation
import Yams

/// Reads CISO Assistant library YAML (`backend/library/libraries/*.yaml`): the header, then `objects` with a
/// `framework` (flat `requirement_nodes` made a tree by `parent_urn` and `depth`), `reference_controls` and
/// `requirement_mapping_sets`. Hygie's own built-in frameworks use the same format plus a `hygie` block per
/// node (evidence validity, coverage, indicator binding), so one reader serves both.
public enum LibraryReader {
    /// Bigger files are refused before parsing (the largest real library is 2.9 MB).
    public static let maximumBytes = 32 << 20
    /// Caps on list lengths, so a hostile file cannot make the importer loop for hours.
    public static let maximumNodes = 50_000
    public static let maximumMappings = 200_000

    public static func read(_ data: Data) throws(FrameworkError) -> FrameworkLibrary {
        guard data.count <= maximumBytes else {
            throw FrameworkError("library larger than \(maximumBytes >> 20) MiB")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FrameworkError("library is not UTF-8 text")
        }
        return try read(text)
    }

    public static func read(_ text: String) throws(FrameworkError) -> FrameworkLibrary {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw FrameworkError("library is empty") }
            root = node
        } catch let error as FrameworkError {
            throw error
        } catch {
            throw FrameworkError("not valid YAML: \(yamlMessage(error))")
        }
        guard root.mapping != nil else { throw FrameworkError("library must be a YAML mapping") }
        let context = Context(path: "library")
        let urn = try context.required(root, "urn")
        var library = FrameworkLibrary(
            urn: urn,
            refID: try context.string(root, "ref_id") ?? urn,
            name: try context.required(root, "name"),
            locale: try context.string(root, "locale") ?? "en",
            version: try context.int(root, "version") ?? 1)
        library.description = try context.string(root, "description")
        library.copyright = try context.string(root, "copyright")
        library.publicationDate = try context.string(root, "publication_date")
        library.provider = try context.string(root, "provider")
        library.packager = try context.string(root, "packager")
        library.dependencies = try context.strings(root, "dependencies")
        library.translations = try context.translations(root)
        guard let objects = root["objects"], objects.mapping != nil else {
            throw FrameworkError("library \(urn) has no objects")
        }
        if let frameworkNode = objects["framework"] {
            library.frameworks.append(try framework(frameworkNode))
        }
        if let controls = objects["reference_controls"] {
            for node in try context.path("reference_controls").list(controls) {
                library.referenceControls.append(try referenceControl(node))
            }
        }
        if let sets = objects["requirement_mapping_sets"] {
            for node in try context.path("requirement_mapping_sets").list(sets) {
                library.mappingSets.append(try mappingSet(node))
            }
        } else if let single = objects["requirement_mapping_set"] {
            library.mappingSets.append(try mappingSet(single))
        }
        if library.frameworks.isEmpty && library.referenceControls.isEmpty && library.mappingSets.isEmpty {
            throw FrameworkError("library \(urn) holds no framework, reference control or mapping set")
        }
        return library
    }

    static func framework(_ node: Node) throws(FrameworkError) -> Framework {
        let context = Context(path: "framework")
        var framework = Framework(
            urn: try context.required(node, "urn"),
            refID: try context.string(node, "ref_id") ?? "",
            name: try context.required(node, "name"))
        framework.description = try context.string(node, "description")
        framework.translations = try context.translations(node)
        framework.minScore = try context.int(node, "min_score")
        framework.maxScore = try context.int(node, "max_score")
        if let minimum = framework.minScore, let maximum = framework.maxScore, minimum > maximum {
            throw FrameworkError("framework \(framework.urn): min_score \(minimum) above max_score \(maximum)")
        }
        if let scores = node["scores_definition"] {
            for item in try context.path("scores_definition").list(scores) {
                let itemContext = context.path("scores_definition")
                guard let score = try itemContext.int(item, "score") else {
                    throw FrameworkError("framework \(framework.urn): a score definition has no score")
                }
                framework.scores.append(
                    ScoreDefinition(
                        score: score, name: try itemContext.string(item, "name") ?? String(score),
                        description: try itemContext.string(item, "description")))
            }
        }
        if let groups = node["implementation_groups_definition"] {
            let groupContext = context.path("implementation_groups_definition")
            for item in try groupContext.list(groups) {
                framework.implementationGroups.append(
                    ImplementationGroup(
                        refID: try groupContext.required(item, "ref_id"),
                        name: try groupContext.string(item, "name") ?? "",
                        description: try groupContext.string(item, "description"),
                        translations: try groupContext.translations(item)))
            }
        }
        guard let list = node["requirement_nodes"] else {
            throw FrameworkError("framework \(framework.urn) has no requirement_nodes")
        }
        let nodes = try context.path("requirement_nodes").list(list)
        guard nodes.count <= maximumNodes else {
            throw FrameworkError("framework \(framework.urn) has more than \(maximumNodes) requirement nodes")
        }
        var seen = Set<String>()
        for (index, item) in nodes.enumerated() {
            let requirement = try requirementNode(item, index: index)
            guard seen.insert(requirement.urn.lowercased()).inserted else {
                throw FrameworkError("framework \(framework.urn): requirement \(requirement.urn) appears twice")
            }
            framework.nodes.append(requirement)
        }
        try validateTree(framework)
        return framework
    }

    /// Every parent exists and comes first; depth grows by one from parent to child; groups are declared.
    static func validateTree(_ framework: Framework) throws(FrameworkError) {
        var depthOf: [String: Int] = [:]
        let declared = Set(framework.implementationGroups.map { $0.refID.lowercased() })
        for node in framework.nodes {
            if let parent = node.parentURN {
                guard let parentDepth = depthOf[parent.lowercased()] else {
                    throw FrameworkError("requirement \(node.urn): parent \(parent) is not listed before it")
                }
                guard node.depth == parentDepth + 1 else {
                    throw FrameworkError(
                        "requirement \(node.urn): depth \(node.depth) under a parent of depth \(parentDepth)")
                }
            } else if node.depth != 1 {
                throw FrameworkError("requirement \(node.urn): depth \(node.depth) without a parent")
            }
            depthOf[node.urn.lowercased()] = node.depth
            if !declared.isEmpty {
                for group in node.implementationGroups where !declared.contains(group.lowercased()) {
                    throw FrameworkError("requirement \(node.urn): implementation group \(group) is not defined")
                }
            }
        }
    }

    static func requirementNode(_ node: Node, index: Int) throws(FrameworkError) -> RequirementNode {
        let context = Context(path: "requirement_nodes[\(index)]")
        guard node.mapping != nil else { throw FrameworkError("\(context.path) must be a mapping") }
        let urn = try context.required(node, "urn")
        let contextURN = Context(path: urn)
        guard let depth = try contextURN.int(node, "depth") ?? (node["parent_urn"] == nil ? 1 : nil), depth >= 1
        else {
            throw FrameworkError("requirement \(urn) needs a depth of at least 1")
        }
        var requirement = RequirementNode(
            urn: urn, depth: depth, assessable: try contextURN.bool(node, "assessable") ?? false)
        requirement.parentURN = try contextURN.string(node, "parent_urn")
        requirement.refID = try contextURN.string(node, "ref_id")
        requirement.name = try contextURN.string(node, "name")
        requirement.description = try contextURN.string(node, "description")
        requirement.annotation = try contextURN.string(node, "annotation")
        requirement.typicalEvidence = try contextURN.string(node, "typical_evidence")
        requirement.implementationGroups = try contextURN.strings(node, "implementation_groups")
        requirement.referenceControls = try contextURN.strings(node, "reference_controls")
        requirement.threats = try contextURN.strings(node, "threats")
        requirement.importance = try contextURN.string(node, "importance")
        requirement.translations = try contextURN.translations(node)
        if let weight = try contextURN.int(node, "weight") {
            guard weight >= 0, weight <= 1000 else { throw FrameworkError("requirement \(urn): weight must be 0…1000") }
            requirement.weight = weight
        }
        if let questions = node["questions"] {
            requirement.questions = try self.questions(questions, context: contextURN)
        }
        if let hygie = node["hygie"] {
            requirement.rules = try rules(hygie, context: contextURN.path("hygie"))
        }
        return requirement
    }

    /// CISO Assistant writes questions as a mapping from question URN to `{type, text, choices}`; older files
    /// as a list. Both are read.
    static func questions(_ node: Node, context: Context) throws(FrameworkError) -> [Question] {
        var result: [Question] = []
        func one(_ urn: String, _ value: Node) throws(FrameworkError) {
            let inner = context.path("questions")
            var choices: [String] = []
            if let list = value["choices"] {
                for choice in try inner.list(list) {
                    if let text = scalarString(choice) {
                        choices.append(text)
                    } else if let text = try inner.string(choice, "value") {
                        choices.append(text)
                    }
                }
            }
            result.append(
                Question(
                    urn: urn, text: try inner.string(value, "text") ?? "",
                    type: try inner.string(value, "type") ?? "text", choices: choices))
        }
        if let mapping = node.mapping {
            for (key, value) in mapping {
                guard let urn = scalarString(key) else { throw FrameworkError("\(context.path): bad question key") }
                try one(urn, value)
            }
        } else if let sequence = node.sequence {
            for (index, value) in sequence.enumerated() {
                try one(try context.string(value, "urn") ?? "\(context.path):question:\(index + 1)", value)
            }
        } else {
            throw FrameworkError("\(context.path): questions must be a mapping or a list")
        }
        return result
    }

    static func rules(_ node: Node, context: Context) throws(FrameworkError) -> RequirementRules {
        var rules = RequirementRules()
        if let after = try context.string(node, "evidence_after") {
            guard DayStamp(after) != nil else {
                throw FrameworkError("\(context.path).evidence_after must be YYYY-MM-DD")
            }
            rules.evidenceAfter = after
        }
        if let days = try context.int(node, "evidence_max_age_days") {
            guard days > 0 else { throw FrameworkError("\(context.path).evidence_max_age_days must be positive") }
            rules.evidenceMaxAgeDays = days
        }
        if let coverage = node["coverage_min"] {
            guard let value = coverage.float, value > 0, value <= 1 else {
                throw FrameworkError("\(context.path).coverage_min must be a share between 0 and 1")
            }
            rules.coverageMinimum = value
        }
        if let minimum = try context.int(node, "min_evidence") {
            guard minimum >= 1 else { throw FrameworkError("\(context.path).min_evidence must be at least 1") }
            rules.minimumEvidence = minimum
        }
        if let expression = try context.string(node, "indicator") {
            rules.indicator = try IndicatorBinding(expression: expression)
        }
        return rules
    }

    static func referenceControl(_ node: Node) throws(FrameworkError) -> ReferenceControl {
        let context = Context(path: "reference_controls")
        var control = ReferenceControl(urn: try context.required(node, "urn"))
        control.refID = try context.string(node, "ref_id")
        control.name = try context.string(node, "name")
        control.category = try context.string(node, "category")
        control.function = try context.string(node, "csf_function")
        control.description = try context.string(node, "description")
        control.translations = try context.translations(node)
        return control
    }

    static func mappingSet(_ node: Node) throws(FrameworkError) -> MappingSet {
        let context = Context(path: "requirement_mapping_sets")
        var set = MappingSet(
            urn: try context.required(node, "urn"),
            name: try context.string(node, "name") ?? "",
            sourceFramework: try context.required(node, "source_framework_urn"),
            targetFramework: try context.required(node, "target_framework_urn"))
        set.refID = try context.string(node, "ref_id")
        guard let list = node["requirement_mappings"] else { return set }
        let items = try context.path("requirement_mappings").list(list)
        guard items.count <= maximumMappings else {
            throw FrameworkError("mapping set \(set.urn) has more than \(maximumMappings) mappings")
        }
        let inner = context.path("requirement_mappings")
        for item in items {
            let relationText = try inner.required(item, "relationship").lowercased().replacingOccurrences(
                of: " ", with: "_")
            guard let relationship = MappingRelationship(rawValue: relationText) else {
                throw FrameworkError("mapping set \(set.urn): unknown relationship \(relationText)")
            }
            let strength = try inner.int(item, "strength_of_relationship")
            if let strength, !(0...100).contains(strength) {
                throw FrameworkError("mapping set \(set.urn): strength \(strength) outside 0…100")
            }
            set.mappings.append(
                RequirementMapping(
                    source: try inner.required(item, "source_requirement_urn"),
                    target: try inner.required(item, "target_requirement_urn"),
                    relationship: relationship, strength: strength))
        }
        return set
    }

    static func scalarString(_ node: Node) -> String? {
        guard let scalar = node.scalar, node.null == nil || scalar.style != .plain else { return nil }
        return scalar.string
    }

    static func yamlMessage(_ error: any Error) -> String {
        if let yaml = error as? YamlError {
            return yaml.description.split(separator: "\n").first.map(String.init) ?? "\(yaml)"
        }
        return "\(error)"
    }

    /// Typed field access with error messages that name where the problem is.
    struct Context {
        var path: String

        func path(_ child: String) -> Context { Context(path: "\(path).\(child)") }

        func list(_ node: Node) throws(FrameworkError) -> [Node] {
            if node.null != nil, node.scalar?.style == .plain { return [] }
            guard let sequence = node.sequence else { throw FrameworkError("\(path) must be a list") }
            return Array(sequence)
        }

        func string(_ node: Node, _ key: String) throws(FrameworkError) -> String? {
            guard let value = node[key] else { return nil }
            if value.null != nil, value.scalar?.style == .plain { return nil }
            guard let text = LibraryReader.scalarString(value) else {
                throw FrameworkError("\(path).\(key) must be text")
            }
            return text
        }

        func required(_ node: Node, _ key: String) throws(FrameworkError) -> String {
            guard let text = try string(node, key), !text.isEmpty else {
                throw FrameworkError("\(path).\(key) is required")
            }
            return text
        }

        func int(_ node: Node, _ key: String) throws(FrameworkError) -> Int? {
            guard let value = node[key], value.null == nil else { return nil }
            guard let number = value.int else { throw FrameworkError("\(path).\(key) must be an integer") }
            return number
        }

        func bool(_ node: Node, _ key: String) throws(FrameworkError) -> Bool? {
            guard let value = node[key], value.null == nil else { return nil }
            guard let flag = value.bool else { throw FrameworkError("\(path).\(key) must be true or false") }
            return flag
        }

        func strings(_ node: Node, _ key: String) throws(FrameworkError) -> [String] {
            guard let value = node[key] else { return [] }
            if value.null != nil, value.scalar?.style == .plain { return [] }
            if let single = LibraryReader.scalarString(value) { return [single] }
            return try path(key).list(value).map { item throws(FrameworkError) in
                guard let text = LibraryReader.scalarString(item) else {
                    throw FrameworkError("\(path).\(key) must be a list of text")
                }
                return text
            }
        }

        func translations(_ node: Node) throws(FrameworkError) -> Translations {
            guard let value = node["translations"], let mapping = value.mapping else { return [:] }
            var result: Translations = [:]
            for (languageNode, fields) in mapping {
                guard let language = LibraryReader.scalarString(languageNode), let inner = fields.mapping else {
                    continue
                }
                var texts: [String: String] = [:]
                for (keyNode, textNode) in inner {
                    if let key = LibraryReader.scalarString(keyNode), let text = LibraryReader.scalarString(textNode) {
                        texts[key] = text
                    }
                }
                result[language] = texts
            }
            return result
        }
    }
}
