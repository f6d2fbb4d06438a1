/// How sure Hygie is that a finding is real, best first.
public enum MatchConfidence: String, Sendable, Codable, CaseIterable, Comparable {
    /// The asset's version is one the record lists.
    case exact
    /// The asset's version falls in a range the record gives (or the record says all versions).
    case range
    /// Version read from a network banner (nmap), not declared by the asset's owner.
    case banner
    /// The product matches but its version is unknown or cannot be compared.
    case product

    var rank: Int {
        switch self {
        case .exact: return 0
        case .range: return 1
        case .banner: return 2
        case .product: return 3
        }
    }

    public static func < (a: MatchConfidence, b: MatchConfidence) -> Bool { a.rank < b.rank }
}

/// One NVD `cpeMatch` entry.
public struct CPEMatchCriterion: Sendable, Codable {
    public var vulnerable: Bool
    public var criteria: CPE
    public var startIncluding: String?
    public var startExcluding: String?
    public var endIncluding: String?
    public var endExcluding: String?

    public init(
        vulnerable: Bool, criteria: CPE, startIncluding: String? = nil, startExcluding: String? = nil,
        endIncluding: String? = nil, endExcluding: String? = nil
    ) {
        self.vulnerable = vulnerable
        self.criteria = criteria
        self.startIncluding = startIncluding
        self.startExcluding = startExcluding
        self.endIncluding = endIncluding
        self.endExcluding = endExcluding
    }

    public var hasRange: Bool {
        startIncluding != nil || startExcluding != nil || endIncluding != nil || endExcluding != nil
    }

    public var rangeText: String {
        var parts: [String] = []
        if let startIncluding { parts.append("≥ \(startIncluding)") }
        if let startExcluding { parts.append("> \(startExcluding)") }
        if let endIncluding { parts.append("≤ \(endIncluding)") }
        if let endExcluding { parts.append("< \(endExcluding)") }
        return parts.joined(separator: ", ")
    }

    /// Whether the asset name `target` satisfies this criterion; with `loose`, a target without a
    /// version matches a versioned criterion at `product` confidence.
    public func test(_ target: CPE, loose: Bool) -> (confidence: MatchConfidence, reason: String)? {
        guard criteria.matches(target, ignoringVersion: true) else { return nil }
        if hasRange {
            guard criteria.version == .any || criteria.matches(target) else { return nil }
            guard let version = target.versionText else {
                guard loose, target.version == .any else { return nil }
                return (.product, "\(criteria) \(rangeText): the asset's version is unknown")
            }
            if let bound = startIncluding, (Versions.compareIfValid(version, bound, scheme: .generic) ?? -1) < 0 {
                return nil
            }
            if let bound = startExcluding, (Versions.compareIfValid(version, bound, scheme: .generic) ?? -1) <= 0 {
                return nil
            }
            if let bound = endIncluding, (Versions.compareIfValid(version, bound, scheme: .generic) ?? 1) > 0 {
                return nil
            }
            if let bound = endExcluding, (Versions.compareIfValid(version, bound, scheme: .generic) ?? 1) >= 0 {
                return nil
            }
            return (.range, "version \(version) is in \(rangeText) of \(criteria)")
        }
        switch CPE.relation(criteria.version, target.version) {
        case .equal:
            if case .value = criteria.version { return (.exact, "version matches \(criteria)") }
            if criteria.version == .na { return (.exact, "matches \(criteria)") }
            // Criterion and asset both without a version: every version is affected, whichever the asset runs.
            return (.range, "all versions of \(criteria) are affected")
        case .superset:
            if criteria.version == .any {
                return (.range, "all versions of \(criteria) are affected (asset version \(target.version.text))")
            }
            return (.range, "version \(target.version.text) matches \(criteria)")
        case .disjoint:
            // `1.0` and `1.0.0` are the same version.
            if case .value(let a) = criteria.version, case .value(let b) = target.version,
                !CPE.hasWildcard(a), !CPE.hasWildcard(b),
                Versions.compareGeneric(CPE.unescaped(a), CPE.unescaped(b)) == 0
            {
                return (.exact, "version matches \(criteria)")
            }
            return nil
        case .subset, .undefined:
            guard loose else { return nil }
            return (.product, "\(criteria) names a specific version; the asset's version is unknown")
        }
    }
}

public struct ConfigurationNode: Sendable, Codable {
    public var isAnd: Bool
    public var negate: Bool
    public var matches: [CPEMatchCriterion]

    public init(isAnd: Bool, negate: Bool, matches: [CPEMatchCriterion]) {
        self.isAnd = isAnd
        self.negate = negate
        self.matches = matches
    }
}

/// One NVD configuration: nodes joined by AND ("firmware X running on hardware Y") or OR.
public struct Configuration: Sendable, Codable {
    public var isAnd: Bool
    public var negate: Bool
    public var nodes: [ConfigurationNode]

    public init(isAnd: Bool, negate: Bool, nodes: [ConfigurationNode]) {
        self.isAnd = isAnd
        self.negate = negate
        self.nodes = nodes
    }

    /// A vulnerable criterion an asset name satisfied.
    public struct Hit: Sendable {
        public var target: CPE
        public var criterion: CPEMatchCriterion
        public var confidence: MatchConfidence
        public var reason: String
    }

    /// The vulnerable criteria the asset's names satisfy when the whole configuration holds; empty
    /// when it does not (platform missing, negated node present, version outside every range).
    public func evaluate(_ targets: [CPE], loose: Bool = false) -> [Hit] {
        var hits: [Hit] = []
        var results: [Bool] = []
        var platformNotes: [String] = []
        for node in nodes {
            var nodeHits: [Hit] = []
            var satisfied: [Bool] = []
            for criterion in node.matches {
                var found = false
                for target in targets {
                    guard let (confidence, reason) = criterion.test(target, loose: loose) else { continue }
                    found = true
                    if criterion.vulnerable {
                        nodeHits.append(
                            Hit(target: target, criterion: criterion, confidence: confidence, reason: reason))
                    } else {
                        platformNotes.append("running on \(target)")
                    }
                }
                satisfied.append(found)
            }
            var result = node.isAnd ? satisfied.allSatisfy { $0 } && !satisfied.isEmpty : satisfied.contains(true)
            if node.negate { result.toggle() }
            results.append(result)
            if result, !node.negate { hits += nodeHits }
        }
        var holds = isAnd ? !results.isEmpty && results.allSatisfy { $0 } : results.contains(true)
        if negate { holds.toggle() }
        guard holds else { return [] }
        if !platformNotes.isEmpty, isAnd {
            let note = Array(Set(platformNotes)).sorted().joined(separator: ", ")
            hits = hits.map { hit in
                var copy = hit
                copy.reason += " (\(note))"
                return copy
            }
        }
        return hits
    }
}
