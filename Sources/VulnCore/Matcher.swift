/// What an asset is affected by, and why.
public struct VulnerabilityMatch: Sendable {
    /// Index of the record in the index.
    public var record: Int
    public var recordID: String
    /// Index of the asset's component that matched.
    public var component: Int
    public var confidence: MatchConfidence
    public var reason: String
}

/// Records indexed by normalised vendor:product keys, for matching many assets fast.
public struct VulnerabilityIndex: Sendable {
    public private(set) var records: [VulnerabilityRecord]
    var configurationKeys: [String: [Int32]] = [:]
    var affectedKeys: [String: [(record: Int32, affected: Int32)]] = [:]
    /// Keys an NVD configuration of the record mentions (CPE-backed matching wins for them).
    var recordConfigurationKeys: [Set<String>] = []

    public init(records: [VulnerabilityRecord]) {
        self.records = records
        recordConfigurationKeys.reserveCapacity(records.count)
        for (index, record) in records.enumerated() {
            var keys: Set<String> = []
            for configuration in record.configurations {
                for node in configuration.nodes {
                    for criterion in node.matches where criterion.vulnerable {
                        if let key = ProductKey.make(cpe: criterion.criteria) { keys.insert(key) }
                    }
                }
            }
            for key in keys { configurationKeys[key, default: []].append(Int32(index)) }
            recordConfigurationKeys.append(keys)
            for (position, affected) in record.affected.enumerated() {
                for key in affected.keys { affectedKeys[key, default: []].append((Int32(index), Int32(position))) }
            }
        }
    }

    public var count: Int { records.count }

    /// Matches one asset's components. Strict by default: a component without a comparable version
    /// only matches records that affect all versions; `loose` adds product-only matches.
    public func match(_ components: [InventoryComponent], loose: Bool = false) -> [VulnerabilityMatch] {
        var best: [Int: [Int: VulnerabilityMatch]] = [:]  // record → component → match
        func keep(_ match: VulnerabilityMatch) {
            var match = match
            if components[match.component].source == .nmap, match.confidence < .banner { match.confidence = .banner }
            if let existing = best[match.record]?[match.component], existing.confidence <= match.confidence { return }
            best[match.record, default: [:]][match.component] = match
        }
        // Asset names with the declared version filled in.
        var names: [CPE] = []
        var owner: [CPE: Int] = [:]
        for (position, component) in components.enumerated() {
            guard var cpe = component.cpe else { continue }
            if cpe.versionText == nil, cpe.version == .any, !component.version.isEmpty {
                cpe = cpe.with(version: component.version)
            }
            names.append(cpe)
            owner[cpe] = owner[cpe] ?? position
        }
        let keysByComponent = components.map(\.keys)
        var configurationCandidates: Set<Int32> = []
        for (position, keys) in keysByComponent.enumerated() where components[position].cpe != nil {
            for key in keys { configurationCandidates.formUnion(configurationKeys[key] ?? []) }
        }
        for recordIndex in configurationCandidates.sorted() {
            let record = records[Int(recordIndex)]
            for finding in record.match(cpes: names, loose: loose) {
                guard let component = owner[finding.cpe] else { continue }
                keep(
                    VulnerabilityMatch(
                        record: Int(recordIndex), recordID: record.id, component: component,
                        confidence: finding.confidence, reason: finding.reason))
            }
        }
        for (position, keys) in keysByComponent.enumerated() {
            let component = components[position]
            for key in keys {
                for (recordIndex, affectedIndex) in affectedKeys[key] ?? [] {
                    let record = records[Int(recordIndex)]
                    // NVD's CPE configurations decide for the products they name.
                    if component.cpe != nil, recordConfigurationKeys[Int(recordIndex)].contains(key) { continue }
                    let affected = record.affected[Int(affectedIndex)]
                    let (status, statement, decided) = affected.status(of: component.effectiveVersion)
                    let label = "\(affected.vendor) \(affected.product)".trimmingWhitespace
                    switch status {
                    case .affected:
                        let version = component.effectiveVersion ?? "?"
                        let confidence: MatchConfidence
                        let reason: String
                        if let statement, !statement.isRange, !statement.all {
                            confidence = .exact
                            reason = "\(label) \(version) is listed as affected by \(record.id)"
                        } else if let statement {
                            // "All versions" is certain even when the asset's version is unknown.
                            confidence = component.effectiveVersion == nil && !statement.all ? .product : .range
                            reason = "\(label) \(version) is in \(statement.text) affected by \(record.id)"
                        } else {
                            confidence = component.effectiveVersion == nil ? .product : .range
                            reason =
                                "\(label) versions are affected by default by \(record.id) and \(version) is not listed as fixed"
                        }
                        keep(
                            VulnerabilityMatch(
                                record: Int(recordIndex), recordID: record.id, component: position,
                                confidence: confidence, reason: reason))
                    case .unknown where loose && !decided:
                        keep(
                            VulnerabilityMatch(
                                record: Int(recordIndex), recordID: record.id, component: position,
                                confidence: .product,
                                reason:
                                    "\(label) is named by \(record.id) but version \(component.effectiveVersion ?? "?") cannot be compared"
                            ))
                    default: continue
                    }
                }
            }
        }
        return best.keys.sorted().flatMap { record in best[record]!.keys.sorted().map { best[record]![$0]! } }
    }
}
