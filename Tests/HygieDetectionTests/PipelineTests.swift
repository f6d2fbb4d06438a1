import Foundation
import HygieCore
import HygieStorage
import HygieTestSupport
import Logging
import Testing

@testable import HygieDetection

@Suite struct PipelineTests {
    static let hl7Shell =
        #"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"SRV-HL7-01","User":"VALBRUNE\\svc-mirth","UtcTime":"2026-11-29 06:20:00.000","ParentImage":"C:\\Program Files\\Mirth Connect\\mcservice.exe","Image":"C:\\Windows\\System32\\cmd.exe"}"#
    static let benign =
        #"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"WS-01","UtcTime":"2026-11-29 06:20:01.000","Image":"C:\\Windows\\notepad.exe"}"#

    func run(
        _ database: TestDatabase,
        _ body: (TestServices, DetectionService, DetectionPipeline, Spool) async throws -> Void
    )
        async throws
    {
        try await database.withDatabase { db in
            let services = try TestServices(database: db)
            let detection = DetectionService(database: db, audit: services.audit, clock: services.clock)
            _ = try await detection.syncBuiltInRules()
            let path = NSTemporaryDirectory() + "hygie-pipeline-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: path) }
            let spool = try Spool(directory: path, policy: .never)
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let pipeline = try DetectionPipeline(
                spool: spool, database: db, configuration: DetectionConfiguration(), clock: services.clock,
                metrics: DetectionMetrics(), logger: logger)
            try await body(services, detection, pipeline, spool)
        }
    }

    /// Reads everything from the committed position, evaluates and commits, as the worker loop does.
    func drain(_ pipeline: DetectionPipeline, _ spool: Spool) async throws {
        var position = try await pipeline.writer.checkpoint(nodeID: spool.nodeID) ?? spool.startPosition
        while true {
            let read = try spool.read(from: position, maxRecords: 100)
            if read.records.isEmpty { break }
            let result = try await pipeline.evaluate(read.records)
            try await pipeline.writer.commit(result, nodeID: spool.nodeID, position: read.next, now: 1_764_397_200_000)
            position = read.next
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func builtInRuleRaisesOneDeduplicatedAlertPerEntityAndStoresEvents(_ database: TestDatabase) async throws {
        try await run(database) { services, detection, pipeline, spool in
            let (_, scope) = try await services.makeEstablishment("CH A")
            let (_, other) = try await services.makeEstablishment("CH B")
            let (source, token) = try await detection.createSource(
                name: "wlb", kind: .http, sender: nil, expectedIntervalSeconds: nil, in: scope)
            #expect(token?.hasPrefix("hyi_") == true)
            let records = [Self.hl7Shell, Self.benign, Self.hl7Shell].map {
                SpoolRecord(
                    format: .json, establishmentID: scope.establishmentID.uuid, sourceID: source.id,
                    receivedAt: 1_764_397_200_000, data: Array($0.utf8))
            }
            try spool.append(records)

            try await drain(pipeline, spool)
            // A second pass finds nothing new: the position was committed with the results.
            try await drain(pipeline, spool)

            let alerts = try await detection.alerts(in: scope).alerts
            #expect(alerts.count == 1)
            #expect(alerts.first?.count == 2)
            #expect(alerts.first?.host == "SRV-HL7-01")
            #expect(alerts.first?.ruleAuthor == "Hygie project")
            #expect(try await detection.alerts(in: other).alerts.isEmpty)
            let events = try await detection.searchEvents(
                EventQuery(from: Date(timeIntervalSince1970: 0), to: Date(timeIntervalSince1970: 2e9)), in: scope)
            #expect(events.count == 3)
            let filtered = try await detection.searchEvents(
                EventQuery(
                    from: Date(timeIntervalSince1970: 0), to: Date(timeIntervalSince1970: 2e9),
                    fields: ["Computer": "WS-01"], text: "notepad"), in: scope)
            #expect(filtered.count == 1)
            let linked = try await detection.alertEvents(try #require(alerts.first?.id), in: scope)
            #expect(linked.count == 2)
            #expect(linked.first?.0.matched["Image"]?.hasSuffix("cmd.exe") == true)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func retentionDeletesOldEventsAndKeepsAlerts(_ database: TestDatabase) async throws {
        try await run(database) { services, detection, pipeline, spool in
            let (_, scope) = try await services.makeEstablishment("CH A")
            let (source, _) = try await detection.createSource(
                name: "wlb", kind: .http, sender: nil, expectedIntervalSeconds: nil, in: scope)
            _ = try await detection.updateSettings(
                DetectionSettings(eventRetentionDays: 7, alertRetentionDays: 365), in: scope)
            let old = services.clock.now().addingTimeInterval(-10 * 86_400).timeIntervalSince1970 * 1000
            let recent = services.clock.now().timeIntervalSince1970 * 1000
            try spool.append(
                [Int64(old), Int64(recent)].map {
                    SpoolRecord(
                        format: .json, establishmentID: scope.establishmentID.uuid, sourceID: source.id, receivedAt: $0,
                        data: Array(Self.hl7Shell.utf8))
                })
            try await drain(pipeline, spool)

            try await detection.applyRetention()

            let all = EventQuery(from: Date(timeIntervalSince1970: 0), to: Date(timeIntervalSince1970: 4e9))
            #expect(try await detection.searchEvents(all, in: scope).count == 1)
            #expect(try await detection.alerts(in: scope).alerts.count == 1)
            await #expect(throws: ValidationError.self) {
                try await detection.updateSettings(
                    DetectionSettings(eventRetentionDays: 30, alertRetentionDays: 10), in: scope)
            }
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func disabledRulesAndExceptionsSilenceMatches(_ database: TestDatabase) async throws {
        try await run(database) { services, detection, pipeline, spool in
            let (_, scope) = try await services.makeEstablishment("CH A")
            let (source, _) = try await detection.createSource(
                name: "wlb", kind: .http, sender: nil, expectedIntervalSeconds: nil, in: scope)
            let rule = try #require(try await detection.rules(in: scope).first { $0.title.contains("HL7") })
            _ = try await detection.addException(
                ruleID: rule.id, detection: "selection:\n    Computer: 'SRV-HL7-01'\ncondition: not selection",
                reason: "integration test server", expiresAt: nil, in: scope)
            await #expect(throws: ValidationError.self) {
                try await detection.addException(
                    ruleID: rule.id, detection: "condition: nothing", reason: "broken", expiresAt: nil, in: scope)
            }
            try spool.append([
                SpoolRecord(
                    format: .json, establishmentID: scope.establishmentID.uuid, sourceID: source.id,
                    receivedAt: 1_764_397_200_000, data: Array(Self.hl7Shell.utf8))
            ])

            try await drain(pipeline, spool)

            #expect(try await detection.alerts(in: scope).alerts.isEmpty)
            try await detection.setRuleEnabled(rule.id, enabled: false, in: scope)
            #expect(try await detection.rules(in: scope).first { $0.id == rule.id }?.enabled == false)
        }
    }

    /// A correlation whose window spans two batches evaluated by two pipeline instances (a restart) fires once.
    @Test(arguments: TestDatabase.enabled)
    func correlationWindowsSpanBatchesAndRestarts(_ database: TestDatabase) async throws {
        try await run(database) { services, detection, pipeline, spool in
            let (_, scope) = try await services.makeEstablishment("CH A")
            let (source, _) = try await detection.createSource(
                name: "dc", kind: .http, sender: nil, expectedIntervalSeconds: nil, in: scope)
            let rules = """
                title: Failed logon
                name: failed_logon
                logsource: {product: windows, service: security}
                detection: {selection: {EventID: 4625}, condition: selection}
                level: low
                ---
                title: Password spraying from one address
                id: 7e57c0de-0000-4000-8000-000000000001
                correlation:
                    type: value_count
                    rules: [failed_logon]
                    group-by: [IpAddress]
                    timespan: 10m
                    condition: {field: TargetUserName, gte: 5}
                level: high
                """
            _ = try await detection.importRules(
                files: [(path: "corr.yml", text: rules)], shared: false, origin: "test", enable: true, in: scope)
            func failed(_ n: Int) -> SpoolRecord {
                let json =
                    #"{"Channel":"Security","EventID":4625,"Computer":"SRV-AD-01","IpAddress":"10.20.4.66","TargetUserName":"user\#(n)","TimeCreated":"2026-11-29T06:0\#(n):00Z"}"#
                return SpoolRecord(
                    format: .json, establishmentID: scope.establishmentID.uuid, sourceID: source.id,
                    receivedAt: 1_764_397_200_000, data: Array(json.utf8))
            }

            try spool.append((0..<3).map(failed))
            try await drainAndCorrelate(pipeline, spool)
            let before = try await detection.alerts(in: scope).alerts.filter { $0.kind == "correlation" }
            // A new pipeline (after a restart) sees the rest of the window.
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let restarted = try DetectionPipeline(
                spool: spool, database: services.database, configuration: DetectionConfiguration(),
                clock: services.clock, metrics: DetectionMetrics(), logger: logger)
            try spool.append((3..<7).map(failed))
            try await drainAndCorrelate(restarted, spool)

            #expect(before.isEmpty)
            let fired = try await detection.alerts(in: scope).alerts.filter { $0.kind == "correlation" }
            #expect(fired.count == 1)
            #expect(fired.first?.ruleTitle == "Password spraying from one address")
            #expect(fired.first?.count ?? 0 >= 5)
        }
    }

    func drainAndCorrelate(_ pipeline: DetectionPipeline, _ spool: Spool) async throws {
        var position = try await pipeline.writer.checkpoint(nodeID: spool.nodeID) ?? spool.startPosition
        while true {
            let read = try spool.read(from: position, maxRecords: 100)
            if read.records.isEmpty { break }
            let batch = DetectionPipeline.Pending(
                result: try await pipeline.evaluate(read.records), next: read.next, records: read.records.count,
                corrupt: read.corrupt)
            position = try await pipeline.finish(batch)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func silentSourcesRaiseOneAlert(_ database: TestDatabase) async throws {
        try await run(database) { services, detection, _, _ in
            let (_, scope) = try await services.makeEstablishment("CH A")
            _ = try await detection.createSource(
                name: "firewall", kind: .syslog, sender: "10.0.0.0/8", expectedIntervalSeconds: 600, in: scope)
            services.clock.advance(by: 3600)

            #expect(try await detection.checkSilentSources() == 1)
            #expect(try await detection.checkSilentSources() == 1)

            let alerts = try await detection.alerts(in: scope).alerts
            #expect(alerts.count == 1)
            #expect(alerts.first?.kind == "source-health")
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func auditorsReadButCannotChangeAlerts(_ database: TestDatabase) async throws {
        try await run(database) { services, detection, _, _ in
            let (_, scope) = try await services.makeEstablishment("CH A")
            let auditor = TenantScope(establishmentID: scope.establishmentID, role: .auditor, actor: scope.actor)
            _ = try await detection.alerts(in: auditor)
            await #expect(throws: HygieCoreError.self) {
                try await detection.updateAlerts([UUID()], status: .closed, comment: nil, in: auditor)
            }
            await #expect(throws: HygieCoreError.self) {
                try await detection.createSource(
                    name: "x", kind: .http, sender: nil, expectedIntervalSeconds: nil, in: auditor)
            }
        }
    }
}
