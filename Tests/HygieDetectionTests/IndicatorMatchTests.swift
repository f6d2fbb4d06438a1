import Foundation
import HygieCore
import HygieIntel
import HygieStorage
import HygieTestSupport
import Logging
import STIX
import Testing

@testable import HygieDetection

@Suite struct IndicatorMatchTests {
    static func indicator(_ uuid: String, _ pattern: String, tlp: TLP = .green, revoked: Bool = false) -> String {
        """
        {"type":"indicator","spec_version":"2.1","id":"indicator--\(uuid)","created":"2026-01-01T00:00:00.000Z",\
        "modified":"2026-01-01T00:00:00.000Z","name":"IOC \(uuid.prefix(4))","pattern":"\(pattern)","pattern_type":"stix",\
        "valid_from":"2020-01-01T00:00:00Z","revoked":\(revoked),"object_marking_refs":["\(tlp.markingDefinitionID)"]}
        """
    }

    @Test(arguments: TestDatabase.enabled)
    func sharedIndicatorsRaiseAlertsAndSightingsWithoutObviousFalsePositives(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let services = try TestServices(database: db)
            let intel = IntelService(database: db, audit: services.audit, clock: services.clock)
            let detection = DetectionService(database: db, audit: services.audit, clock: services.clock)
            let (_, scope) = try await services.makeEstablishment("CH Nord")
            let (_, other) = try await services.makeEstablishment("CH Sud")
            let collection = try await intel.createCollection(
                title: "CERT feed", description: nil, alias: nil, defaultTLP: .amber, distribution: .establishment,
                sharingGroupID: nil, in: scope)
            let objects = [
                Self.indicator("11111111-1111-4111-8111-111111111111", "[ipv4-addr:value = '45.155.205.233']"),
                Self.indicator(
                    "22222222-2222-4222-8222-222222222222", "[domain-name:value = 'c2.evil.example']", tlp: .amber),
                // A private address: on the warning list.
                Self.indicator("33333333-3333-4333-8333-333333333333", "[ipv4-addr:value = '10.0.0.5']"),
                Self.indicator(
                    "44444444-4444-4444-8444-444444444444", "[ipv4-addr:value = '198.51.200.9']", revoked: true),
                Self.indicator(
                    "55555555-5555-4555-8555-555555555555",
                    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']"),
                Self.indicator("66666666-6666-4666-8666-666666666666", "[domain-name:value = 'mail.chnord.example']"),
            ]
            _ = try await intel.importContent(
                Array(("{\"objects\":[" + objects.joined(separator: ",") + "]}").utf8), format: .stix,
                into: collection.id,
                in: scope)
            try await intel.updateSettings(IntelSettings(ownDomains: ["chnord.example"]), in: scope)
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let feed = IndicatorFeed(database: db, clock: services.clock, logger: logger)
            #expect(try await feed.refresh())
            #expect(feed.current.entries.count == 4)  // the private address is warning-listed, the revoked one left out
            #expect(feed.current.warningListed == 1)

            let path = NSTemporaryDirectory() + "hygie-ioc-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: path) }
            let spool = try Spool(directory: path, policy: .never)
            let pipeline = try DetectionPipeline(
                spool: spool, database: db, configuration: DetectionConfiguration(), clock: services.clock,
                metrics: DetectionMetrics(), logger: logger, indicators: feed)
            let (source, _) = try await detection.createSource(
                name: "fw", kind: .http, sender: nil, expectedIntervalSeconds: nil, in: scope)
            let (otherSource, _) = try await detection.createSource(
                name: "fw", kind: .http, sender: nil, expectedIntervalSeconds: nil, in: other)
            let events = [
                (scope, source, #"{"Computer":"WS-12","DestinationIp":"45.155.205.233","Image":"C:\\x.exe"}"#),
                (scope, source, #"{"Computer":"WS-12","DestinationIp":"45.155.205.233"}"#),
                (scope, source, #"{"Computer":"WS-13","QueryName":"C2.Evil.Example"}"#),
                (scope, source, #"{"Computer":"WS-14","DestinationIp":"10.0.0.5"}"#),
                (scope, source, #"{"Computer":"WS-15","DestinationIp":"198.51.200.9"}"#),
                (
                    scope, source,
                    #"{"Computer":"WS-16","Hashes":"SHA1=AA,MD5=BB,SHA256=AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F"}"#
                ),
                (scope, source, #"{"Computer":"WS-17","url":"https://mail.chnord.example/owa"}"#),
                (other, otherSource, #"{"Computer":"SUD-1","DestinationIp":"45.155.205.233"}"#),
            ]
            try spool.append(
                events.map { scope, source, text in
                    SpoolRecord(
                        format: .json, establishmentID: scope.establishmentID.uuid, sourceID: source.id,
                        receivedAt: 1_764_397_200_000, data: Array(text.utf8))
                })
            let read = try spool.read(from: spool.startPosition, maxRecords: 100)
            let result = try await pipeline.evaluate(read.records)
            try await pipeline.writer.commit(result, nodeID: spool.nodeID, position: read.next, now: 1_764_397_200_000)

            let alerts = try await detection.alerts(in: scope).alerts.filter { $0.kind == "ioc" }
            #expect(
                Set(alerts.map(\.ruleID)) == [
                    "ioc:indicator--11111111-1111-4111-8111-111111111111",
                    "ioc:indicator--22222222-2222-4222-8222-222222222222",
                    "ioc:indicator--55555555-5555-4555-8555-555555555555",
                ])
            #expect(alerts.first { $0.ruleID.hasPrefix("ioc:indicator--1111") }?.count == 2)
            // The other establishment does not see this collection: no alert there.
            #expect(try await detection.alerts(in: other).alerts.filter { $0.kind == "ioc" }.isEmpty)

            let sightings = try await intel.sightings(in: scope)
            #expect(sightings.count == 3)
            #expect(sightings.first { $0.indicatorID.hasPrefix("indicator--1111") }?.count == 2)
            #expect(try await intel.sightingsPerDay(in: scope, days: 3650).reduce(0) { $0 + $1.count } == 4)
            // Sightings shared back: STIX, marked with the indicator's TLP, no host or address from the logs.
            let shared = try await intel.sightingObjects(in: scope)
            let sightingObjects = shared.filter { $0["type"]?.stringValue == "sighting" }
            #expect(sightingObjects.count == 3)
            for object in sightingObjects {
                let text = JSONWriter.string(object)
                #expect(!text.contains("WS-1") && !text.contains("45.155.205.233"))
                _ = try STIXObject(json: object)
            }
            let amber = sightingObjects.first {
                $0["sighting_of_ref"]?.stringValue?.hasPrefix("indicator--2222") == true
            }
            #expect(amber?["object_marking_refs"]?.arrayValue?.first?.stringValue == TLP.amber.markingDefinitionID)
            let anonymous = try await intel.sightingObjects(in: scope, anonymise: true)
            #expect(anonymous.allSatisfy { $0["where_sighted_refs"] == nil && $0["type"]?.stringValue == "sighting" })
        }
    }
}
