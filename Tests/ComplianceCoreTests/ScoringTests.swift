import ComplianceCore
import Foundation
import Testing

@Suite struct ScoringTests {
    func day(_ text: String) -> DayStamp { DayStamp(text)! }

    @Test func dayStampsParsePrintAndRefuseImpossibleDates() {
        #expect(DayStamp("2022-07-16")?.description == "2022-07-16")
        #expect(DayStamp("2024-02-29") != nil)
        #expect(DayStamp("2023-02-29") == nil)
        #expect(DayStamp("2023-13-01") == nil)
        #expect(DayStamp("22-07-16") == nil)
        #expect(DayStamp("2026-11-29T10:00:00Z")?.description == "2026-11-29")
        #expect(DayStamp("1970-01-01")?.day == 0)
        #expect(day("2000-03-01").day - day("2000-02-28").day == 2)
        #expect(DayStamp(Date(timeIntervalSince1970: 86_400 * 3 + 5)).description == "1970-01-04")
    }

    @Test func evidenceMustBeDatedAfterTheRequiredDay() {
        let rules = RequirementRules(evidenceAfter: "2022-07-16")
        let today = day("2026-11-29")
        #expect(EvidenceCheck.evaluate(rules, evidence: [], on: today).state == .missing)
        let old = EvidenceFact(effective: day("2021-03-01"))
        #expect(EvidenceCheck.evaluate(rules, evidence: [old], on: today).state == .stale)
        let reviewed = EvidenceFact(effective: day("2022-07-16"))
        let check = EvidenceCheck.evaluate(rules, evidence: [old, reviewed], on: today)
        #expect(check.state == .valid && check.valid == 1 && check.invalid == 1)
        // Evidence that only takes effect later does not count yet.
        let future = EvidenceFact(effective: day("2027-01-01"))
        #expect(EvidenceCheck.evaluate(rules, evidence: [future], on: today).state == .stale)
    }

    @Test func evidenceExpiresWithItsWindowOrItsMaximumAge() {
        let yearly = RequirementRules(evidenceMaxAgeDays: 365)
        let exercise = EvidenceFact(effective: day("2025-12-01"))
        let check = EvidenceCheck.evaluate(yearly, evidence: [exercise], on: day("2026-11-29"))
        #expect(check.state == .valid)
        #expect(check.expiresOn == day("2026-12-01"))
        #expect(EvidenceCheck.evaluate(yearly, evidence: [exercise], on: day("2026-12-02")).state == .stale)
        let certificate = EvidenceFact(effective: day("2026-01-01"), validUntil: day("2026-06-30"))
        #expect(
            EvidenceCheck.evaluate(RequirementRules(minimumEvidence: 1), evidence: [certificate], on: day("2026-06-30"))
                .state == .valid)
        #expect(
            EvidenceCheck.evaluate(RequirementRules(minimumEvidence: 1), evidence: [certificate], on: day("2026-07-01"))
                .state == .stale)
        let two = RequirementRules(minimumEvidence: 2)
        #expect(EvidenceCheck.evaluate(two, evidence: [exercise], on: day("2026-01-01")).state == .insufficient)
        #expect(EvidenceCheck.evaluate(RequirementRules(), evidence: [], on: day("2026-01-01")).state == .unconstrained)
    }

    @Test func coverageIsWeightedByActivityAndTwoThirdsMeetsSixtySixPercent() {
        let units = [
            ScopeUnit(id: "mco", name: "Hôpital principal", weight: 600),
            ScopeUnit(id: "ssr", name: "Soins de suite", weight: 250),
            ScopeUnit(id: "ehpad", name: "EHPAD", weight: 150),
        ]
        #expect(Coverage.ratio(units: units, covered: ["mco"]) == 0.6)
        #expect(Coverage.status(ratio: 0.6, minimum: 0.66) == .partial)
        #expect(Coverage.ratio(units: units, covered: ["mco", "ehpad"]) == 0.75)
        #expect(Coverage.status(ratio: 0.75, minimum: 0.66) == .compliant)
        #expect(Coverage.status(ratio: 0, minimum: 0.66) == .nonCompliant)
        #expect(Coverage.status(ratio: 2.0 / 3.0, minimum: 0.66) == .compliant)
        #expect(Coverage.status(ratio: 0.659, minimum: 0.66) == .partial)
        #expect(Coverage.ratio(units: [], covered: []) == nil)
        #expect(Coverage.ratio(units: [ScopeUnit(id: "a", name: "A", weight: -5)], covered: ["a"]) == nil)
    }

    @Test func liveIndicatorsWinOverTheManualStatusExceptNotApplicable() {
        let rules = RequirementRules(
            indicator: IndicatorBinding(indicator: "vuln.kev-overdue-exposed", comparison: .atMost, threshold: 0))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let bad = RequirementOutcome.resolve(
            manual: .compliant, maturity: nil, rules: rules, measured: MeasuredValue(value: 3, measuredAt: now),
            coverage: nil)
        #expect(bad.status == .nonCompliant && bad.origin == .indicator)
        let good = RequirementOutcome.resolve(
            manual: .notAssessed, maturity: nil, rules: rules, measured: MeasuredValue(value: 0, measuredAt: now),
            coverage: nil)
        #expect(good.status == .compliant)
        // No measurement (module not installed or no data): the assessor's answer stands.
        let manual = RequirementOutcome.resolve(
            manual: .partial, maturity: 2, rules: rules, measured: nil, coverage: nil)
        #expect(manual == RequirementOutcome(status: .partial, maturity: 2, origin: .manual))
        let excluded = RequirementOutcome.resolve(
            manual: .notApplicable, maturity: nil, rules: rules, measured: MeasuredValue(value: 9, measuredAt: now),
            coverage: nil)
        #expect(excluded.status == .notApplicable)
        let coverage = RequirementOutcome.resolve(
            manual: .notAssessed, maturity: nil, rules: RequirementRules(coverageMinimum: 0.66), measured: nil,
            coverage: 0.7)
        #expect(coverage.status == .compliant && coverage.origin == .coverage)
    }

    @Test func indicatorBindingsParseAndCompare() throws {
        let binding = try IndicatorBinding(expression: "awareness.trained-12m >= 80")
        #expect(binding.isMet(by: 80) && !binding.isMet(by: 79.9))
        #expect(binding.expression == "awareness.trained-12m >= 80")
        #expect(throws: FrameworkError.self) { try IndicatorBinding(expression: "x > 3") }
        #expect(throws: FrameworkError.self) { try IndicatorBinding(expression: "x >= nan") }
        #expect(throws: FrameworkError.self) { try IndicatorBinding(expression: ">= 3") }
    }

    func tree() -> Framework {
        var framework = Framework(urn: "f", refID: "F", name: "F")
        framework.nodes = [
            RequirementNode(urn: "t1", depth: 1, assessable: false),
            RequirementNode(urn: "t2", depth: 1, assessable: false),
        ]
        for (urn, parent, weight) in [("a", "t1", 1), ("b", "t1", 3), ("c", "t2", 1), ("d", "t2", 1)] {
            var node = RequirementNode(urn: urn, depth: 2, assessable: true)
            node.parentURN = parent
            node.weight = weight
            framework.nodes.append(node)
        }
        return framework
    }

    @Test func scoresAreWeightedPerThemeAndNotAssessedCountsAsZero() {
        let framework = tree()
        let outcomes: [String: RequirementOutcome] = [
            "a": RequirementOutcome(status: .compliant, maturity: 3),
            "b": RequirementOutcome(status: .partial, maturity: 1),
            "c": RequirementOutcome(status: .notApplicable),
        ]
        let (overall, themes) = Scoring.summarize(framework, outcomes: outcomes)
        // a: 1×1, b: 3×0.5, d: not assessed 1×0 → 2.5 / 5.
        #expect(overall.score == 0.5)
        #expect(overall.applicable == 3)
        #expect(abs(overall.progress - 2.0 / 3.0) < 1e-9)
        #expect(overall.maturity == 2)
        #expect(overall.count(.notApplicable) == 1)
        #expect(themes["t1"]?.score == 2.5 / 4)
        #expect(themes["t2"]?.score == 0)
        #expect(themes["t2"]?.progress == 0)
    }

    @Test func activeDirectoryLevelIsTheLowestFailedCheckpointLevel() throws {
        var framework = Framework(urn: "ad", refID: "AD", name: "AD")
        framework.implementationGroups = (1...4).map { ImplementationGroup(refID: "level_\($0)", name: "Niveau \($0)") }
        for level in 1...4 {
            for index in 1...2 {
                var node = RequirementNode(urn: "c\(level)\(index)", depth: 1, assessable: true)
                node.implementationGroups = ["level_\(level)"]
                framework.nodes.append(node)
            }
        }
        var outcomes: [String: RequirementOutcome] = [:]
        for node in framework.nodes { outcomes[node.urn] = RequirementOutcome(status: .compliant) }
        #expect(Scoring.summarize(framework, outcomes: outcomes).overall.level == 5)
        outcomes["c32"] = RequirementOutcome(status: .nonCompliant)
        outcomes["c41"] = RequirementOutcome(status: .partial)
        var summary = Scoring.summarize(framework, outcomes: outcomes).overall
        #expect(summary.level == 3 && summary.levelFinal)
        outcomes["c11"] = RequirementOutcome(status: .notAssessed)
        summary = Scoring.summarize(framework, outcomes: outcomes).overall
        #expect(summary.level == 3 && !summary.levelFinal)
        outcomes["c12"] = RequirementOutcome(status: .nonCompliant)
        #expect(Scoring.summarize(framework, outcomes: outcomes).overall.level == 1)
    }

    @Test func implementationGroupsSelectRequirements() throws {
        var framework = tree()
        framework.nodes[2].implementationGroups = ["EI", "EE"]
        framework.nodes[3].implementationGroups = ["EE"]
        #expect(Scoring.summarize(framework, outcomes: [:], selectedGroups: ["EI"]).overall.applicable == 3)
        #expect(Scoring.summarize(framework, outcomes: [:], selectedGroups: ["ee"]).overall.applicable == 4)
        #expect(Scoring.summarize(framework, outcomes: [:]).overall.applicable == 4)
    }
}
