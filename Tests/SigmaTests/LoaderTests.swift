import Testing

@testable import Sigma

@Suite struct LoaderTests {
    @Test func everyRuleFieldIsRead() throws {
        let yaml = """
            title: Full rule
            id: 0e95725d-7320-415d-80f7-004da920fc11
            name: full_rule
            related:
                - id: 5638f7c0-ac70-491d-8465-2a65075e0d86
                  type: derived
            taxonomy: sigma
            status: test
            description: Every field.
            license: DRL-1.1
            author: Jane Doe
            references:
                - https://example.org
            date: 2026-01-02
            modified: 2026-02-03
            logsource:
                product: windows
                category: process_creation
                definition: Sysmon
            detection:
                selection:
                    Image|endswith: '\\evil.exe'
                condition: selection
            fields: [Image, CommandLine]
            falsepositives: [Admins]
            level: critical
            tags: [attack.execution, attack.t1059, cve.2026-0001]
            scope: [server]
            """
        let parsed = RuleLoader.parse(yaml, file: "full.yml")
        #expect(parsed.diagnostics.isEmpty)
        let rule = try #require(parsed.rules.first)
        let meta = rule.metadata
        #expect(meta.title == "Full rule")
        #expect(meta.id == "0e95725d-7320-415d-80f7-004da920fc11")
        #expect(meta.name == "full_rule")
        #expect(meta.related == [RelatedRule(id: "5638f7c0-ac70-491d-8465-2a65075e0d86", type: "derived")])
        #expect(meta.status == "test" && meta.license == "DRL-1.1" && meta.author == "Jane Doe")
        #expect(meta.date == "2026-01-02" && meta.modified == "2026-02-03")
        #expect(meta.level == .critical && meta.attackTags == ["attack.execution", "attack.t1059"])
        #expect(
            meta.fields == ["Image", "CommandLine"] && meta.falsepositives == ["Admins"] && meta.scope == ["server"])
        #expect(rule.logsource == Logsource(product: "windows", category: "process_creation", definition: "Sysmon"))
    }

    @Test func nonConformingRulesAreReportedWithFileLineAndReason() {
        let text = """
            title: Good
            logsource: {category: test}
            detection:
                selection: {A: '1'}
                condition: selection
            ---
            title: No detection
            logsource: {category: test}
            ---
            logsource: {category: test}
            detection:
                selection: {A: '1'}
                condition: selection
            ---
            title: Bad level
            logsource: {category: test}
            detection:
                selection: {A: '1'}
                condition: selection
            level: severe
            ---
            title: Bad status
            status: maybe
            logsource: {category: test}
            detection:
                selection: {A: '1'}
                condition: selection
            ---
            title: No condition
            logsource: {category: test}
            detection:
                selection: {A: '1'}
            ---
            title: Nested map value
            logsource: {category: test}
            detection:
                selection:
                    A:
                        nested: map
                condition: selection
            """
        let parsed = RuleLoader.parse(text, file: "mixed.yml")
        #expect(parsed.rules.map(\.metadata.title) == ["Good"])
        let found = parsed.diagnostics.map { "\($0.location.line) \($0.reason)" }
        #expect(
            found == [
                "7 missing-field", "10 missing-field", "20 invalid-field", "23 invalid-field", "32 missing-field",
                "39 detection",
            ], "\(parsed.diagnostics)")
        #expect(parsed.diagnostics.allSatisfy { $0.location.file == "mixed.yml" })
        #expect(parsed.diagnostics[2].description.contains("mixed.yml:20"))
    }

    @Test func brokenYAMLIsOneDiagnostic() {
        for text in ["title: [unclosed", "title: a\n  bad: indentation\n -", "\u{0}\u{1}", "- just\n- a list", "42"] {
            let parsed = RuleLoader.parse(text, file: "broken.yml")
            #expect(parsed.rules.isEmpty)
            #expect(!parsed.diagnostics.isEmpty, "\(text)")
        }
    }

    @Test func multiDocumentCollections() {
        let text = """
            title: One
            logsource: {category: test}
            detection: {selection: {A: '1'}, condition: selection}
            ---
            title: Two
            logsource: {category: test}
            detection: {selection: {B: '1'}, condition: selection}
            """
        let set = ruleSet(text)
        #expect(set.rules.count == 2)
        #expect(matches(set, #"{"A":"1","B":"1"}"#).sorted() == ["One", "Two"])
    }

    @Test func levelAndTagSelection() {
        let text = """
            title: Low
            logsource: {category: test}
            detection: {selection: {A: '1'}, condition: selection}
            level: low
            tags: [attack.discovery]
            ---
            title: High
            logsource: {category: test}
            detection: {selection: {A: '1'}, condition: selection}
            level: high
            tags: [attack.execution]
            """
        let high = ruleSet(text, options: RuleSetOptions(minimumLevel: .medium))
        #expect(high.rules.map(\.metadata.title) == ["High"])
        #expect(high.deselected == 1)
        let discovery = ruleSet(text, options: RuleSetOptions(tags: ["ATTACK.DISCOVERY"]))
        #expect(discovery.rules.map(\.metadata.title) == ["Low"])
    }

    @Test func timespans() {
        #expect(RuleLoader.parseTimespan("30s") == 30)
        #expect(RuleLoader.parseTimespan("5m") == 300)
        #expect(RuleLoader.parseTimespan("2h") == 7200)
        #expect(RuleLoader.parseTimespan("1d") == 86400)
        #expect(RuleLoader.parseTimespan("1w") == 604_800)
        for bad in ["", "m", "5", "5y", "-5m", "0s"] { #expect(RuleLoader.parseTimespan(bad) == nil, "\(bad)") }
    }
}
