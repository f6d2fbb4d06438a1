import Foundation
import Testing

@testable import Sigma

/// Correlations run through the hunter over files, so windows may span inputs.
@Suite struct CorrelationTests {
    static let baseRules = """
        title: Failed logon
        id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
        name: failed_logon
        author: Hygie tests
        logsource: {product: windows, service: security}
        detection:
            selection: {EventID: 4625}
            condition: selection
        ---
        title: Successful logon
        id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
        name: successful_logon
        author: Hygie tests
        logsource: {product: windows, service: security}
        detection:
            selection: {EventID: 4624}
            condition: selection
        """

    func logon(_ id: Int, _ user: String, _ second: Int, ip: String = "10.0.0.1", bytes: Int = 0) -> String {
        let time = DateParts.iso8601(1_790_000_000 + Double(second))
        return
            #"{"Channel":"Security","EventID":\#(id),"TargetUserName":"\#(user)","IpAddress":"\#(ip)","SystemTime":"\#(time)","Computer":"dc1","Bytes":\#(bytes)}"#
    }

    /// Runs rules over events split into several files; returns correlation titles with their group values.
    func run(_ correlation: String, files: [[String]]) throws -> [HuntDetection] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("corr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for (index, lines) in files.enumerated() {
            let path = directory.appendingPathComponent("part\(index).jsonl").path
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let set = ruleSet(Self.baseRules + "\n---\n" + correlation)
        var detections: [HuntDetection] = []
        _ = try Hunter(ruleSet: set, jobs: 2).run(inputs: paths) { detections += $0 }
        return detections
    }

    @Test func eventCountAcrossFiles() throws {
        let rule = """
            title: Brute force
            author: Hygie tests
            correlation:
                type: event_count
                rules: [failed_logon]
                group-by: [TargetUserName]
                timespan: 5m
                condition: {gte: 3}
            level: high
            """
        // Three failures for alice within 5 minutes, split over two files and out of order; bob only twice.
        let hits = try run(
            rule,
            files: [
                [logon(4625, "alice", 100), logon(4625, "bob", 110)],
                [logon(4625, "alice", 250), logon(4625, "bob", 120), logon(4625, "alice", 50)],
            ])
        #expect(hits.map(\.title) == ["Brute force"])
        #expect(hits.first?.matched.contains(MatchedField(field: "TargetUserName", value: "alice")) == true)
        #expect(hits.first?.author == "Hygie tests")
        #expect(hits.first?.kind == .correlation)
        // Base rules used only by the correlation are not reported on their own.
        #expect(!hits.contains { $0.title == "Failed logon" })
        // Outside the window: no hit.
        let spread = try run(
            rule, files: [[logon(4625, "alice", 0), logon(4625, "alice", 200), logon(4625, "alice", 600)]])
        #expect(spread.isEmpty)
    }

    @Test func valueCountDistinctValues() throws {
        let rule = """
            title: Password spraying
            correlation:
                type: value_count
                rules: [failed_logon]
                group-by: [IpAddress]
                timespan: 10m
                condition: {field: TargetUserName, gte: 3}
            """
        let sprayed = try run(
            rule, files: [[logon(4625, "a", 1), logon(4625, "b", 2)], [logon(4625, "b", 3), logon(4625, "c", 4)]])
        #expect(sprayed.count == 1)
        let sameUser = try run(rule, files: [[logon(4625, "a", 1), logon(4625, "a", 2), logon(4625, "a", 3)]])
        #expect(sameUser.isEmpty)
    }

    @Test func temporalAnyOrder() throws {
        let rule = """
            title: Failure and success
            correlation:
                type: temporal
                rules: [failed_logon, successful_logon]
                group-by: [TargetUserName]
                timespan: 1m
            """
        #expect(try run(rule, files: [[logon(4624, "alice", 10)], [logon(4625, "alice", 40)]]).count == 1)
        #expect(try run(rule, files: [[logon(4624, "alice", 10)], [logon(4625, "bob", 40)]]).isEmpty)
        #expect(try run(rule, files: [[logon(4624, "alice", 10)], [logon(4625, "alice", 100)]]).isEmpty)
    }

    @Test func temporalOrderedNeedsTheOrder() throws {
        let rule = """
            title: Failure then success
            correlation:
                type: temporal_ordered
                rules: [failed_logon, successful_logon]
                group-by: [TargetUserName]
                timespan: 1m
            """
        #expect(try run(rule, files: [[logon(4625, "alice", 10)], [logon(4624, "alice", 40)]]).count == 1)
        #expect(try run(rule, files: [[logon(4624, "alice", 10)], [logon(4625, "alice", 40)]]).isEmpty)
    }

    @Test func chainedCorrelationsAndAliases() throws {
        let rules = """
            title: Many failures
            name: many_failures
            correlation:
                type: event_count
                rules: [failed_logon]
                group-by: [TargetUserName]
                timespan: 10m
                condition: {gte: 2}
            ---
            title: Many failures then success
            correlation:
                type: temporal_ordered
                rules: [many_failures, successful_logon]
                group-by: [User]
                timespan: 10m
                aliases:
                    User:
                        many_failures: TargetUserName
                        successful_logon: TargetUserName
            level: critical
            """
        let hits = try run(
            rules, files: [[logon(4625, "alice", 1), logon(4625, "alice", 2)], [logon(4624, "alice", 30)]])
        #expect(hits.map(\.title) == ["Many failures then success"])
        #expect(hits.first?.level == .critical)
    }

    @Test func valueAggregates() throws {
        func rule(_ type: String, _ condition: String) -> String {
            """
            title: \(type)
            correlation:
                type: \(type)
                rules: [successful_logon]
                group-by: [Computer]
                timespan: 1h
                condition: {field: Bytes, \(condition)}
            """
        }
        let events = [
            [logon(4624, "a", 1, bytes: 100), logon(4624, "b", 2, bytes: 300)], [logon(4624, "c", 3, bytes: 800)],
        ]
        #expect(try run(rule("value_sum", "gte: 1200"), files: events).count == 1)
        #expect(try run(rule("value_sum", "gte: 1300"), files: events).isEmpty)
        #expect(try run(rule("value_avg", "gte: 400"), files: events).count == 1)
        #expect(try run(rule("value_median", "gte: 300"), files: events).count == 1)
        #expect(try run(rule("value_median", "gt: 300"), files: events).isEmpty)
        #expect(try run(rule("value_percentile", "percentile: 100, gte: 800"), files: events).count == 1)
    }

    @Test func upperBoundsJudgeWholeWindows() throws {
        let rule = """
            title: Few logons
            correlation:
                type: event_count
                rules: [successful_logon]
                group-by: [TargetUserName]
                timespan: 1m
                condition: {lt: 2}
            """
        let hits = try run(rule, files: [[logon(4624, "alice", 0), logon(4624, "alice", 10), logon(4624, "bob", 5)]])
        #expect(hits.count == 1)
        #expect(hits.first?.matched.contains(MatchedField(field: "TargetUserName", value: "bob")) == true)
    }

    @Test func badCorrelationsAreRefused() {
        let unknownType = """
            title: X
            correlation: {type: sometimes, rules: [a], group-by: [x], timespan: 1m, condition: {gte: 1}}
            """
        #expect(diagnostics(unknownType).first?.reason == "correlation")
        let badSpan = """
            title: X
            correlation: {type: event_count, rules: [failed_logon], group-by: [x], timespan: soon, condition: {gte: 1}}
            """
        #expect(diagnostics(Self.baseRules + "\n---\n" + badSpan).first?.message.contains("timespan") == true)
        let noField = """
            title: X
            correlation: {type: value_count, rules: [failed_logon], group-by: [x], timespan: 1m, condition: {gte: 1}}
            """
        #expect(diagnostics(Self.baseRules + "\n---\n" + noField).first?.reason == "correlation")
        let unknownRule = """
            title: X
            correlation: {type: event_count, rules: [nowhere], group-by: [x], timespan: 1m, condition: {gte: 1}}
            """
        #expect(diagnostics(unknownRule).first?.message.contains("nowhere") == true)
        let cycle = """
            title: A
            name: a
            correlation: {type: event_count, rules: [b], group-by: [x], timespan: 1m, condition: {gte: 1}}
            ---
            title: B
            name: b
            correlation: {type: event_count, rules: [a], group-by: [x], timespan: 1m, condition: {gte: 1}}
            """
        #expect(diagnostics(cycle).count == 2)
    }
}
