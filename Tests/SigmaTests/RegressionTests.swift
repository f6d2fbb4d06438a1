import Foundation
import Testing

@testable import Sigma

/// SigmaHQ's own regression samples: each rule must match its sample at least as often as SigmaHQ's CI requires.
@Suite struct RegressionTests {
    struct Entry: Decodable {
        var rule_id: String
        var rule_path: String
        var sample: String
        var sample_nested: String
        var expected_match_count: Int
    }

    struct Manifest: Decodable { var entries: [Entry] }

    static func manifest() throws -> Manifest {
        let data = try Data(contentsOf: URL(fileURLWithPath: sigmaDataDirectory + "/manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: data)
    }

    func count(_ set: RuleSet, sample: String) throws -> Int {
        let matcher = Matcher(ruleSet: set)
        let event = matcher.makeEvent()
        let text = try String(contentsOfFile: sigmaDataDirectory + "/" + sample, encoding: .utf8)
        var total = 0
        for line in text.split(separator: "\n") where !line.isEmpty {
            var copy = String(line)
            try copy.withUTF8 { try JSONEventParser.parse($0, into: event) }
            matcher.forEachMatch(event) { _ in total += 1 }
        }
        return total
    }

    @Test("every SigmaHQ regression sample fires its rule, flat and nested", arguments: [false, true])
    func regression(nested: Bool) throws {
        let manifest = try Self.manifest()
        #expect(manifest.entries.count == 202)
        var failures: [String] = []
        var exceeding = 0
        var exact = 0
        for entry in manifest.entries {
            let loaded = try RuleLoader.load([sigmaDataDirectory + "/" + entry.rule_path])
            let set = RuleSet(rules: loaded.rules, diagnostics: loaded.diagnostics, mapping: builtInMapping)
            guard set.diagnostics.isEmpty, set.rules.count == 1 else {
                failures.append("\(entry.rule_id): rule refused: \(set.diagnostics)")
                continue
            }
            let found = try count(set, sample: nested ? entry.sample_nested : entry.sample)
            if found < entry.expected_match_count {
                failures.append("\(entry.rule_id) \(entry.rule_path): \(found) < \(entry.expected_match_count)")
            } else if found > entry.expected_match_count {
                exceeding += 1
            } else {
                exact += 1
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failing samples:\n\(failures.joined(separator: "\n"))")
        print(
            "regression (\(nested ? "nested" : "flat")): \(exact) exact, \(exceeding) above expected, \(failures.count) failing"
        )
    }

    @Test("the whole active SigmaHQ rule set loads; only rules with unresolved %placeholders% are refused")
    func loadAll() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sigmahq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-xzf", sigmaDataDirectory + "/sigmahq-rules-8eaafff.tar.gz", "-C", directory.path]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        let loaded = try RuleLoader.load([directory.path])
        #expect(loaded.files >= 3780)
        let set = RuleSet(rules: loaded.rules, diagnostics: loaded.diagnostics, mapping: builtInMapping)
        let reasons = set.skippedByReason
        print("SigmaHQ: \(loaded.files) files, \(set.loadedCount) loaded, skipped \(reasons)")
        for diagnostic in set.diagnostics where diagnostic.reason != "placeholder" {
            Issue.record("refused: \(diagnostic)")
        }
        // Rules using `expand` need site values for their %placeholders% (rules-placeholder/ and a few others).
        let expanding = loaded.rules.filter { rule in
            guard case .detection(_, let detection) = rule.body else { return false }
            return detection.searches.values.contains { usesExpand($0) }
        }.count
        #expect(reasons["placeholder"] == expanding)
        #expect(set.loadedCount == loaded.rules.count - expanding)
        // With values for the placeholders, they load too.
        var names = Set<String>()
        for case .detection(_, let detection) in loaded.rules.map(\.body) {
            for search in detection.searches.values {
                collectPlaceholders(search, into: &names)
            }
        }
        let filled = RuleSet(
            rules: loaded.rules, diagnostics: [], mapping: builtInMapping,
            options: RuleSetOptions(placeholders: Dictionary(uniqueKeysWithValues: names.map { ($0, ["value"]) })))
        #expect(filled.diagnostics.isEmpty, "\(filled.diagnostics.prefix(5))")
    }

    func usesExpand(_ search: SearchDefinition) -> Bool {
        switch search {
        case .allOf(let items): items.contains { $0.modifiers.contains("expand") }
        case .anyOf(let alternatives): alternatives.contains(where: usesExpand)
        case .keywords(let item): item.modifiers.contains("expand")
        }
    }

    func collectPlaceholders(_ search: SearchDefinition, into names: inout Set<String>) {
        switch search {
        case .allOf(let items):
            for item in items where item.modifiers.contains("expand") {
                for value in item.values {
                    guard let text = value.text else { continue }
                    let parts = text.split(separator: "%", omittingEmptySubsequences: false)
                    var index = 1
                    while index < parts.count - 1 {
                        names.insert(String(parts[index]))
                        index += 2
                    }
                }
            }
        case .anyOf(let alternatives):
            for alternative in alternatives { collectPlaceholders(alternative, into: &names) }
        case .keywords: break
        }
    }
}
