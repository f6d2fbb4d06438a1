import Foundation

/// Text of a library object in another language (`translations: {en: {name: …}}` in CISO Assistant files).
public typealias Translations = [String: [String: String]]

/// One point of a framework's maturity scale (`scores_definition`).
public struct ScoreDefinition: Sendable, Hashable, Codable {
    public var score: Int
    public var name: String
    public var description: String?

    public init(score: Int, name: String, description: String? = nil) {
        self.score = score
        self.name = name
        self.description = description
    }
}

/// A tag that selects a subset of requirements (ANSSI standard/reinforced, ReCyF important/essential entity,
/// Active Directory levels).
public struct ImplementationGroup: Sendable, Hashable, Codable {
    public var refID: String
    public var name: String
    public var description: String?
    public var translations: Translations

    public init(refID: String, name: String, description: String? = nil, translations: Translations = [:]) {
        self.refID = refID
        self.name = name
        self.description = description
        self.translations = translations
    }

    /// The level of an Active-Directory-style group (`level_3` → 3).
    public var level: Int? {
        guard refID.lowercased().hasPrefix("level_") else { return nil }
        return Int(refID.dropFirst(6))
    }
}

/// A question asked about a requirement (CISO Assistant `questions`).
public struct Question: Sendable, Hashable, Codable {
    public var urn: String
    public var text: String
    /// `unique_choice`, `multiple_choice`, `text`, `date`…
    public var type: String
    public var choices: [String]

    public init(urn: String, text: String, type: String, choices: [String] = []) {
        self.urn = urn
        self.text = text
        self.type = type
        self.choices = choices
    }
}

/// How a requirement reads a Hygie indicator to get an automatic status.
public struct IndicatorBinding: Sendable, Hashable, Codable {
    public enum Comparison: String, Sendable, Hashable, Codable, CaseIterable {
        /// The measured value must be at least the threshold (coverage, rates).
        case atLeast = ">="
        /// The measured value must be at most the threshold (counts of problems).
        case atMost = "<="
    }

    public var indicator: String
    public var comparison: Comparison
    public var threshold: Double

    public init(indicator: String, comparison: Comparison, threshold: Double) {
        self.indicator = indicator
        self.comparison = comparison
        self.threshold = threshold
    }

    /// Parses `indicator >= 80` or `kev-overdue-exposed <= 0`.
    public init(expression: String) throws(FrameworkError) {
        let parts = expression.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 3, let comparison = Comparison(rawValue: parts[1]), let value = Double(parts[2]),
            value.isFinite, !parts[0].isEmpty
        else {
            throw FrameworkError(
                "indicator binding must read 'indicator >= number' or 'indicator <= number': \(expression)")
        }
        self.init(indicator: parts[0], comparison: comparison, threshold: value)
    }

    public var expression: String {
        "\(indicator) \(comparison.rawValue) \(threshold.formatted)"
    }

    public func isMet(by value: Double) -> Bool {
        switch comparison {
        case .atLeast: return value >= threshold
        case .atMost: return value <= threshold
        }
    }
}

/// Hygie's additions to a requirement: what makes its evidence valid, coverage rules, live indicator.
public struct RequirementRules: Sendable, Hashable, Codable {
    /// Evidence must take effect on or after this day (`YYYY-MM-DD`), e.g. a PSSI "reviewed after 2022-07-16".
    public var evidenceAfter: String?
    /// Evidence older than this many days no longer counts (365 for a yearly exercise).
    public var evidenceMaxAgeDays: Int?
    /// Share (0…1) of the assessment scope's activity that the requirement must cover (CaRE's 66 %).
    public var coverageMinimum: Double?
    /// Minimum number of pieces of valid evidence (CaRE "at least one plan tested").
    public var minimumEvidence: Int?
    public var indicator: IndicatorBinding?

    public init(
        evidenceAfter: String? = nil, evidenceMaxAgeDays: Int? = nil, coverageMinimum: Double? = nil,
        minimumEvidence: Int? = nil, indicator: IndicatorBinding? = nil
    ) {
        self.evidenceAfter = evidenceAfter
        self.evidenceMaxAgeDays = evidenceMaxAgeDays
        self.coverageMinimum = coverageMinimum
        self.minimumEvidence = minimumEvidence
        self.indicator = indicator
    }

    public var isEmpty: Bool {
        evidenceAfter == nil && evidenceMaxAgeDays == nil && coverageMinimum == nil && minimumEvidence == nil
            && indicator == nil
    }
}

/// One node of a framework's requirement tree. Files list nodes flat, in document order; `parentURN` and
/// `depth` make the tree.
public struct RequirementNode: Sendable, Hashable, Codable {
    public var urn: String
    public var parentURN: String?
    public var depth: Int
    public var assessable: Bool
    public var refID: String?
    public var name: String?
    public var description: String?
    public var annotation: String?
    public var typicalEvidence: String?
    public var implementationGroups: [String]
    public var referenceControls: [String]
    public var threats: [String]
    public var questions: [Question]
    public var weight: Int
    public var importance: String?
    public var translations: Translations
    public var rules: RequirementRules

    public init(urn: String, depth: Int, assessable: Bool) {
        self.urn = urn
        self.depth = depth
        self.assessable = assessable
        implementationGroups = []
        referenceControls = []
        threats = []
        questions = []
        weight = 1
        translations = [:]
        rules = RequirementRules()
    }

    /// What to show: reference and name, or the start of the description for unnamed questions.
    public var label: String {
        let text = name ?? description.map { String($0.prefix(160)) } ?? ""
        guard let refID, !refID.isEmpty else { return text }
        return text.isEmpty ? refID : "\(refID) \(text)"
    }

    /// The name in `language` when the library translates it.
    public func name(in language: String) -> String? {
        translations[language]?["name"] ?? name
    }
}

/// How a framework turns results into one figure.
public enum ScoringMethod: String, Sendable, Hashable, Codable, CaseIterable {
    /// Weighted share of compliant requirements (partial counts half).
    case compliance
    /// Level reached (ANSSI Active Directory): the lowest level among failed checkpoints, the top level if none.
    case levels
}

/// A framework: requirement tree plus scales and implementation groups.
public struct Framework: Sendable, Hashable, Codable {
    public var urn: String
    public var refID: String
    public var name: String
    public var description: String?
    public var translations: Translations
    public var minScore: Int?
    public var maxScore: Int?
    public var scores: [ScoreDefinition]
    public var implementationGroups: [ImplementationGroup]
    public var nodes: [RequirementNode]

    public init(urn: String, refID: String, name: String) {
        self.urn = urn
        self.refID = refID
        self.name = name
        translations = [:]
        scores = []
        implementationGroups = []
        nodes = []
    }

    public var assessableCount: Int { nodes.count(where: \.assessable) }

    /// `levels` when every implementation group is a `level_N` tag.
    public var scoring: ScoringMethod {
        let levels = implementationGroups.compactMap(\.level)
        return !levels.isEmpty && levels.count == implementationGroups.count ? .levels : .compliance
    }

    /// The top-level ancestor (theme) of each node, by URN.
    public func themes() -> [String: String] {
        var parent: [String: String] = [:]
        for node in nodes { parent[node.urn] = node.parentURN }
        let known = Set(nodes.map(\.urn))
        var result: [String: String] = [:]
        for node in nodes {
            var current = node.urn
            var steps = 0
            while let up = parent[current], known.contains(up), steps < nodes.count {
                current = up
                steps += 1
            }
            result[node.urn] = current
        }
        return result
    }
}

/// A reusable control that requirements point to (`reference_controls`).
public struct ReferenceControl: Sendable, Hashable, Codable {
    public var urn: String
    public var refID: String?
    public var name: String?
    public var category: String?
    public var function: String?
    public var description: String?
    public var translations: Translations

    public init(urn: String) {
        self.urn = urn
        translations = [:]
    }
}

/// How strongly one requirement relates to another in a crosswalk.
public enum MappingRelationship: String, Sendable, Hashable, Codable, CaseIterable {
    case equal
    case subset
    case superset
    case intersect
    case notRelated = "not_related"
}

public struct RequirementMapping: Sendable, Hashable, Codable {
    public var source: String
    public var target: String
    public var relationship: MappingRelationship
    /// 0…100 when given.
    public var strength: Int?

    public init(source: String, target: String, relationship: MappingRelationship, strength: Int? = nil) {
        self.source = source
        self.target = target
        self.relationship = relationship
        self.strength = strength
    }
}

/// A crosswalk between two frameworks.
public struct MappingSet: Sendable, Hashable, Codable {
    public var urn: String
    public var refID: String?
    public var name: String
    public var sourceFramework: String
    public var targetFramework: String
    public var mappings: [RequirementMapping]

    public init(urn: String, name: String, sourceFramework: String, targetFramework: String) {
        self.urn = urn
        self.name = name
        self.sourceFramework = sourceFramework
        self.targetFramework = targetFramework
        refID = nil
        mappings = []
    }
}

/// One library file: its header and the frameworks, reference controls and crosswalks it holds.
public struct FrameworkLibrary: Sendable, Hashable, Codable {
    public var urn: String
    public var refID: String
    public var name: String
    public var locale: String
    public var description: String?
    /// Rights on the underlying text, as the file states them.
    public var copyright: String?
    /// Grows with each update of the library; an import keeps the highest.
    public var version: Int
    public var publicationDate: String?
    public var provider: String?
    public var packager: String?
    public var dependencies: [String]
    public var translations: Translations
    public var frameworks: [Framework]
    public var referenceControls: [ReferenceControl]
    public var mappingSets: [MappingSet]

    public init(urn: String, refID: String, name: String, locale: String, version: Int) {
        self.urn = urn
        self.refID = refID
        self.name = name
        self.locale = locale
        self.version = version
        dependencies = []
        translations = [:]
        frameworks = []
        referenceControls = []
        mappingSets = []
    }
}

/// Why a library or OSCAL document could not be read.
public struct FrameworkError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Double {
    /// `80` rather than `80.0`; up to 4 decimals otherwise.
    var formatted: String {
        if self == rounded(), abs(self) < 1e15 { return String(Int64(self)) }
        var text = String(format: "%.4f", self)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}

extension Framework {
    /// Reference-control URNs of the requirements that are not in `known` (compared case-insensitively:
    /// some libraries write URNs in upper case).
    public func unresolvedReferenceControls(known: Set<String>) -> [String] {
        let lowered = Set(known.map { $0.lowercased() })
        var missing: [String] = []
        for node in nodes {
            for urn in node.referenceControls where !lowered.contains(urn.lowercased()) && !missing.contains(urn) {
                missing.append(urn)
            }
        }
        return missing
    }

    /// Lower-cased URNs of every requirement node.
    public var nodeURNs: Set<String> { Set(nodes.map { $0.urn.lowercased() }) }
}

extension MappingSet {
    /// Mappings whose source or target requirement is not in the given frameworks' nodes.
    public func unresolved(source: Framework, target: Framework) -> [RequirementMapping] {
        let sources = source.nodeURNs
        let targets = target.nodeURNs
        return mappings.filter {
            !sources.contains($0.source.lowercased()) || !targets.contains($0.target.lowercased())
        }
    }
}
