public import Foundation

/// A calendar day (UTC), the unit of evidence dates: `2022-07-16`.
public struct DayStamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public var day: Int

    public init(day: Int) { self.day = day }

    public init?(_ text: String) {
        let parts = text.prefix(10).split(separator: "-")
        guard text.count == 10 || (text.count > 10 && text.dropFirst(10).first == "T"), parts.count == 3,
            parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let dayOfMonth = Int(parts[2]),
            (1...12).contains(month), dayOfMonth >= 1, dayOfMonth <= DayStamp.daysIn(month: month, year: year)
        else { return nil }
        day = DayStamp.daysFromCivil(year: year, month: month, day: dayOfMonth)
    }

    public init(_ date: Date) {
        day = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    public var date: Date { Date(timeIntervalSince1970: Double(day) * 86_400) }

    public static func < (lhs: DayStamp, rhs: DayStamp) -> Bool { lhs.day < rhs.day }

    public func adding(days: Int) -> DayStamp { DayStamp(day: day + days) }

    public var description: String {
        // Howard Hinnant's civil-from-days.
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// The status of one requirement in an assessment.
public enum ResultStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case notAssessed = "not_assessed"
    case nonCompliant = "non_compliant"
    case partial
    case compliant
    case notApplicable = "not_applicable"

    /// Share of the requirement's weight earned.
    public var value: Double? {
        switch self {
        case .compliant: return 1
        case .partial: return 0.5
        case .nonCompliant, .notAssessed: return 0
        case .notApplicable: return nil
        }
    }

    /// Failed for level scoring and the non-compliance list.
    public var isGap: Bool { self == .nonCompliant || self == .partial }
}

/// One piece of evidence as the rules see it: the day it takes effect (not the upload day) and an optional end.
public struct EvidenceFact: Sendable, Hashable {
    public var effective: DayStamp
    public var validUntil: DayStamp?

    public init(effective: DayStamp, validUntil: DayStamp? = nil) {
        self.effective = effective
        self.validUntil = validUntil
    }
}

/// Whether a requirement's evidence satisfies its validity rules on a given day.
public struct EvidenceCheck: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// The requirement sets no rule on evidence.
        case unconstrained
        /// Enough valid evidence.
        case valid
        /// Some valid evidence, fewer pieces than required.
        case insufficient
        /// Evidence exists but none is valid any more (expired, too old, or before the required date).
        case stale
        /// No evidence.
        case missing
    }

    public var state: State
    public var valid: Int
    public var invalid: Int
    /// The first day on which the currently valid evidence stops counting (reminder date).
    public var expiresOn: DayStamp?

    public static func evaluate(_ rules: RequirementRules, evidence: [EvidenceFact], on today: DayStamp)
        -> EvidenceCheck
    {
        let required = rules.minimumEvidence ?? (rules.evidenceAfter != nil || rules.evidenceMaxAgeDays != nil ? 1 : 0)
        let notBefore = rules.evidenceAfter.flatMap(DayStamp.init)
        var valid = 0
        var expiresOn: DayStamp?
        for fact in evidence {
            var end = fact.validUntil
            if let maxAge = rules.evidenceMaxAgeDays {
                let ageEnd = fact.effective.adding(days: maxAge)
                end = end.map { min($0, ageEnd) } ?? ageEnd
            }
            let started = fact.effective <= today && notBefore.map { fact.effective >= $0 } ?? true
            let current = end.map { today <= $0 } ?? true
            if started && current {
                valid += 1
                if let end { expiresOn = expiresOn.map { max($0, end) } ?? end }
            }
        }
        let invalid = evidence.count - valid
        let state: State
        if required == 0 {
            state = .unconstrained
        } else if valid >= required {
            state = .valid
        } else if valid > 0 {
            state = .insufficient
        } else {
            state = evidence.isEmpty ? .missing : .stale
        }
        return EvidenceCheck(state: state, valid: valid, invalid: invalid, expiresOn: expiresOn)
    }
}

/// An entity or site of an assessment's scope with its share of activity (beds, stays, budget — the
/// establishment chooses the measure, the ratio only needs to be consistent).
public struct ScopeUnit: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var weight: Double

    public init(id: String, name: String, weight: Double) {
        self.id = id
        self.name = name
        self.weight = weight
    }
}

public enum Coverage {
    /// Share of activity covered (0…1), or nil when the scope has no weight.
    public static func ratio(units: [ScopeUnit], covered: Set<String>) -> Double? {
        let total = units.reduce(0) { $0 + max(0, $1.weight) }
        guard total > 0 else { return nil }
        let part = units.filter { covered.contains($0.id) }.reduce(0) { $0 + max(0, $1.weight) }
        return part / total
    }

    /// Compliant at or above the minimum, partial when something is covered, non-compliant otherwise.
    public static func status(ratio: Double, minimum: Double) -> ResultStatus {
        // Compare in basis points so that 2/3 of the activity meets a "66 %" rule as people read it.
        let measured = (ratio * 10_000).rounded()
        let required = (minimum * 10_000).rounded()
        if measured >= required { return .compliant }
        return ratio > 0 ? .partial : .nonCompliant
    }
}

/// An indicator value measured by a Hygie module.
public struct MeasuredValue: Sendable, Hashable, Codable {
    public var value: Double
    public var measuredAt: Date

    public init(value: Double, measuredAt: Date) {
        self.value = value
        self.measuredAt = measuredAt
    }
}

/// The result of one requirement once every source has spoken.
public struct RequirementOutcome: Sendable, Hashable, Codable {
    public var status: ResultStatus
    /// Score on the framework's maturity scale, when given.
    public var maturity: Int?
    /// Where the status comes from.
    public var origin: Origin

    public enum Origin: String, Sendable, Hashable, Codable {
        case manual
        case indicator
        case coverage
    }

    public init(status: ResultStatus, maturity: Int? = nil, origin: Origin = .manual) {
        self.status = status
        self.maturity = maturity
        self.origin = origin
    }

    /// The status to use: a live indicator wins when it has a value, then a coverage rule with a measured
    /// ratio, then what the assessor chose. "Not applicable" chosen by the assessor always stands.
    public static func resolve(
        manual: ResultStatus, maturity: Int?, rules: RequirementRules, measured: MeasuredValue?, coverage: Double?
    ) -> RequirementOutcome {
        if manual == .notApplicable { return RequirementOutcome(status: .notApplicable, maturity: maturity) }
        if let binding = rules.indicator, let measured {
            return RequirementOutcome(
                status: binding.isMet(by: measured.value) ? .compliant : .nonCompliant, maturity: maturity,
                origin: .indicator)
        }
        if let minimum = rules.coverageMinimum, let coverage {
            return RequirementOutcome(
                status: Coverage.status(ratio: coverage, minimum: minimum), maturity: maturity, origin: .coverage)
        }
        return RequirementOutcome(status: manual, maturity: maturity)
    }
}

/// Figures for a framework or one of its themes.
public struct ScoreSummary: Sendable, Hashable, Codable {
    /// Weighted share earned over applicable requirements (not assessed counts as 0), 0…1.
    public var score: Double?
    /// Share of applicable requirements with a status.
    public var progress: Double
    public var counts: [ResultStatus: Int]
    public var applicable: Int
    /// Mean maturity over the requirements that have one.
    public var maturity: Double?
    /// Level reached, for level-scored frameworks (Active Directory).
    public var level: Int?
    /// False while some level checkpoints are not assessed: the level can still go down.
    public var levelFinal: Bool

    public init() {
        progress = 0
        counts = [:]
        applicable = 0
        levelFinal = true
    }

    public func count(_ status: ResultStatus) -> Int { counts[status] ?? 0 }
}

public enum Scoring {
    /// Whether a node applies when the assessment selected `groups` (empty selection: everything applies).
    public static func applies(_ node: RequirementNode, selected groups: Set<String>) -> Bool {
        guard !groups.isEmpty, !node.implementationGroups.isEmpty else { return true }
        return node.implementationGroups.contains { groups.contains($0.lowercased()) }
    }

    /// The summary of the whole framework and of each theme (top-level node URN).
    public static func summarize(
        _ framework: Framework, outcomes: [String: RequirementOutcome], selectedGroups: Set<String> = []
    ) -> (overall: ScoreSummary, themes: [String: ScoreSummary]) {
        let groups = Set(selectedGroups.map { $0.lowercased() })
        let themeOf = framework.themes()
        let levels = framework.scoring == .levels
        let levelOf = Dictionary(
            framework.implementationGroups.compactMap { group in group.level.map { (group.refID.lowercased(), $0) } },
            uniquingKeysWith: { first, _ in first })
        let topLevel = (levelOf.values.max() ?? 0) + 1
        var overall = Accumulator()
        var themes: [String: Accumulator] = [:]
        for node in framework.nodes where node.assessable && applies(node, selected: groups) {
            let outcome = outcomes[node.urn] ?? RequirementOutcome(status: .notAssessed)
            let nodeLevel = node.implementationGroups.compactMap { levelOf[$0.lowercased()] }.min()
            overall.add(node, outcome, level: levels ? nodeLevel : nil)
            themes[themeOf[node.urn] ?? node.urn, default: Accumulator()].add(
                node, outcome, level: levels ? nodeLevel : nil)
        }
        return (
            overall.summary(topLevel: levels ? topLevel : nil),
            themes.mapValues { $0.summary(topLevel: levels ? topLevel : nil) }
        )
    }

    struct Accumulator {
        var earned = 0.0
        var weight = 0.0
        var counts: [ResultStatus: Int] = [:]
        var maturitySum = 0
        var maturityCount = 0
        var lowestFailedLevel: Int?
        var lowestUnassessedLevel: Int?

        mutating func add(_ node: RequirementNode, _ outcome: RequirementOutcome, level: Int?) {
            counts[outcome.status, default: 0] += 1
            if let value = outcome.status.value {
                earned += value * Double(node.weight)
                weight += Double(node.weight)
            }
            if let maturity = outcome.maturity, outcome.status != .notApplicable {
                maturitySum += maturity
                maturityCount += 1
            }
            if let level {
                if outcome.status.isGap {
                    lowestFailedLevel = min(lowestFailedLevel ?? level, level)
                } else if outcome.status == .notAssessed {
                    lowestUnassessedLevel = min(lowestUnassessedLevel ?? level, level)
                }
            }
        }

        func summary(topLevel: Int?) -> ScoreSummary {
            var summary = ScoreSummary()
            summary.counts = counts
            let applicable = counts.filter { $0.key != .notApplicable }.values.reduce(0, +)
            summary.applicable = applicable
            summary.score = weight > 0 ? earned / weight : nil
            let assessed = applicable - (counts[.notAssessed] ?? 0)
            summary.progress = applicable > 0 ? Double(assessed) / Double(applicable) : 1
            summary.maturity = maturityCount > 0 ? Double(maturitySum) / Double(maturityCount) : nil
            if let topLevel {
                let level = lowestFailedLevel ?? topLevel
                summary.level = level
                // A checkpoint not yet assessed below the level reached could still lower it.
                summary.levelFinal = lowestUnassessedLevel.map { $0 >= level } ?? true
            }
            return summary
        }
    }
}
extension ResultStatus: CodingKeyRepresentable {}
