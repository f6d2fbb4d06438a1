import Foundation
import Testing

@testable import Sigma

/// `../shared/data/sigma` beside the checkout (or `HYGIE_SHARED_DATA/sigma`).
let sigmaDataDirectory: String = {
    if let shared = ProcessInfo.processInfo.environment["HYGIE_SHARED_DATA"] {
        return (shared as NSString).appendingPathComponent("sigma")
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.deletingLastPathComponent().appendingPathComponent("shared/data/sigma").path
}()

let builtInMapping: LogsourceMapping = try! LogsourceMapping.builtIn()

/// Compiles rules written inline (several documents allowed); fails the test on any diagnostic.
func ruleSet(_ yaml: String, mapping: LogsourceMapping = builtInMapping, options: RuleSetOptions = RuleSetOptions())
    -> RuleSet
{
    let parsed = RuleLoader.parse(yaml, file: "inline.yml")
    let set = RuleSet(rules: parsed.rules, diagnostics: parsed.diagnostics, mapping: mapping, options: options)
    #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
    return set
}

/// Diagnostics produced by compiling `yaml`.
func diagnostics(_ yaml: String, options: RuleSetOptions = RuleSetOptions()) -> [RuleDiagnostic] {
    let parsed = RuleLoader.parse(yaml, file: "inline.yml")
    return RuleSet(rules: parsed.rules, diagnostics: parsed.diagnostics, mapping: builtInMapping, options: options)
        .diagnostics
}

/// Titles of the rules matching a JSON event.
func matches(_ set: RuleSet, _ json: String) -> [String] {
    let matcher = Matcher(ruleSet: set)
    let event = matcher.makeEvent()
    var text = json
    do {
        try text.withUTF8 { try JSONEventParser.parse($0, into: event) }
    } catch {
        Issue.record("event does not parse: \(error)")
        return []
    }
    var titles: [String] = []
    matcher.forEachMatch(event) { titles.append(set.rules[$0].metadata.title) }
    return titles
}

/// Whether a one-rule set matches an event.
func fires(_ yaml: String, _ json: String) -> Bool { !matches(ruleSet(yaml), json).isEmpty }

/// A rule with a generic logsource (unmapped, so it sees every event without a Channel) and one selection.
func rule(_ selection: String, condition: String = "selection", extra: String = "") -> String {
    """
    title: Test rule
    id: 11111111-2222-3333-4444-555555555555
    author: Hygie tests
    logsource:
        category: test
    detection:
        selection:
    \(selection.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
    \(extra.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        condition: \(condition)
    level: high
    """
}
