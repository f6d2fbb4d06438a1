import FederationCore
import Foundation
import HygieCore
import HygieIntel
import HygieStorage
import HygieTestSupport
import HygieVulnerabilities
import SQLKit
import STIX
import Testing
import VulnCore

@testable import HygieFederation

@Suite struct BroadcastTests {
    /// Two members: a hospital with an exposed VPN appliance and a clinic with an empty inventory.
    @Test(arguments: TestDatabase.enabled)
    func membersAnswerABroadcastFromTheirInventoryAndSightings(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await FederationWorld.make(db)
            let vulns = VulnService(database: db, audit: world.services.audit, clock: world.services.clock)
            var vpn = AssetDraft(name: "vpn-edge-01", kind: .network)
            vpn.internetExposed = true
            let appliance = try await vulns.createAsset(vpn, in: world.hospital)
            try await vulns.addComponent(
                to: appliance, name: "FortiOS", vendor: "Fortinet", version: "7.2.4", cpe: nil, purl: nil,
                in: world.hospital)
            let server = try await vulns.createAsset(AssetDraft(name: "srv-pacs", kind: .server), in: world.hospital)
            try await vulns.addComponent(
                to: server, name: "Windows Server", vendor: "Microsoft", version: "2019", cpe: nil, purl: nil,
                in: world.hospital)
            let (_, clinic) = try await world.services.makeEstablishment("Clinique du Lac", finess: "999000025")
            for (label, scope) in [("CH Valbrune", world.hospital), ("Clinique du Lac", clinic)] {
                let enrolment = try await world.hub.createEnrolment(label: label, in: world.coordinator)
                _ = try await world.member.join(hub: "http://127.0.0.1:9", token: enrolment.token, in: scope)
            }

            // Malformed alerts are refused with the reason.
            for (products, indicators) in [(["fortinet"], []), ([], ["not a value"]), ([String](), [String]())] {
                await #expect(throws: FederationServiceError.self) {
                    _ = try await world.hub.publish(
                        BroadcastDraft(
                            title: "x", summary: "", severity: "high", tlp: "amber", references: [],
                            productLines: products, indicatorLines: indicators, answerBy: nil), in: world.coordinator)
                }
            }
            await #expect(throws: HygieCoreError.self) {
                _ = try await world.hub.publish(
                    BroadcastDraft(
                        title: "x", summary: "", severity: "high", tlp: "amber", references: [],
                        productLines: ["a b"], indicatorLines: [], answerBy: nil), in: world.hospital)
            }
            let fortinet = try await world.hub.publish(
                BroadcastDraft(
                    title: "FortiOS SSL-VPN exploité", summary: "Mettre à jour.", severity: "critical", tlp: "amber",
                    references: ["CVE-2024-21762"], productLines: ["fortinet fortios >= 7.0 < 7.2.5"],
                    indicatorLines: ["203.0.113.7", "hxxp://vpn-update[.]example/payload"], answerBy: nil),
                in: world.coordinator)
            #expect(
                fortinet.indicators == [
                    "[ipv4-addr:value = '203.0.113.7']", "[url:value = 'http://vpn-update.example/payload']",
                ])
            let citrix = try await world.hub.publish(
                BroadcastDraft(
                    title: "NetScaler", summary: "", severity: "high", tlp: "green", references: [],
                    productLines: ["citrix netscaler < 13.1"], indicatorLines: ["bad-c2.example"], answerBy: nil),
                in: world.coordinator)

            for scope in [world.hospital, clinic] { _ = try await world.member.push(in: scope) }
            let summaries = try await world.hub.broadcasts(in: world.coordinator)
            #expect(summaries.count == 2 && summaries.allSatisfy { $0.members == 2 && $0.answered == 2 })
            let fortinetID = try #require(summaries.first { $0.broadcast.uid == fortinet.uid }?.id)
            let citrixID = try #require(summaries.first { $0.broadcast.uid == citrix.uid }?.id)
            var responses = try await world.hub.responses(to: fortinetID, in: world.coordinator).responses
            let hospitalAnswer = try #require(responses.first { $0.member == "CH Valbrune" }?.answer)
            #expect(hospitalAnswer.status == .affected && hospitalAnswer.automatic)
            #expect(hospitalAnswer.affectedAssets == 1 && hospitalAnswer.exposedAssets == 1)
            #expect(hospitalAnswer.inventoryAssets == 2 && hospitalAnswer.indicatorHits == 0)
            #expect(responses.first { $0.member == "Clinique du Lac" }?.answer?.status == .unknown)
            #expect(responses.first?.member == "CH Valbrune")  // affected first
            responses = try await world.hub.responses(to: citrixID, in: world.coordinator).responses
            #expect(responses.first { $0.member == "CH Valbrune" }?.answer?.status == .notAffected)
            #expect(
                try await world.hub.responses(to: citrixID, status: "unknown", in: world.coordinator).responses
                    .map(\.member) == ["Clinique du Lac"])
            // The hospital is not the coordinator: it sees no response map.
            await #expect(throws: HygieCoreError.self) {
                _ = try await world.hub.responses(to: citrixID, in: world.hospital)
            }

            // The indicators joined detection, once, in the hospital's hub-alerts collection.
            let patterns = try await db.sql.raw(
                """
                SELECT o.stix_id, o.body FROM intel_objects o JOIN intel_collections c ON c.id = o.collection_id \
                WHERE c.establishment_id = \(bind: world.hospital.establishmentID.uuid) AND c.title = \
                \(bind: IntelService.hubAlertsTitle)
                """
            ).all()
            #expect(patterns.count == 3)
            _ = try await world.member.push(in: world.hospital, force: true)
            #expect(try await world.count("intel_objects") == 6)  // three per member, not added again

            // Detection sees the NetScaler C2 at the hospital: the next round turns its answer to affected.
            let c2 = try #require(
                try patterns.first { try $0.decode(column: "body", as: String.self).contains("bad-c2.example") })
            let collection = try #require(
                try await db.sql.raw(
                    "SELECT id FROM intel_collections WHERE title = \(bind: IntelService.hubAlertsTitle) AND establishment_id = \(bind: world.hospital.establishmentID.uuid)"
                ).first()?.decode(column: "id", as: UUID.self))
            try await IntelService.recordSightings(
                [
                    SightingHit(
                        establishmentID: world.hospital.establishmentID.uuid, collectionID: collection,
                        indicatorID: try c2.decode(column: "stix_id", as: String.self),
                        time: world.services.clock.now().milliseconds)
                ], dialect: db.dialect, on: db.sql)
            _ = try await world.member.push(in: world.hospital)
            let turned = try await world.hub.responses(to: citrixID, in: world.coordinator).responses.first {
                $0.member == "CH Valbrune"
            }?.answer
            #expect(turned?.status == .affected && turned?.indicatorHits == 1 && turned?.affectedAssets == 0)

            // The team corrects the clinic's answer; automatic evaluation no longer overrides it.
            await #expect(throws: FederationServiceError.self) {
                _ = try await world.member.answer(alert: fortinet.uid, status: "maybe", comment: "", in: clinic)
            }
            _ = try await world.member.answer(
                alert: fortinet.uid, status: "not_affected", comment: "Pas de FortiGate, accès VPN par Citrix.",
                in: clinic)
            _ = try await world.member.push(in: clinic)
            _ = try await world.member.push(in: clinic, force: true)
            let corrected = try await world.hub.responses(to: fortinetID, in: world.coordinator).responses.first {
                $0.member == "Clinique du Lac"
            }?.answer
            #expect(corrected?.status == .notAffected && corrected?.automatic == false)
            #expect(corrected?.comment == "Pas de FortiGate, accès VPN par Citrix.")
            let alerts = try await world.member.alerts(in: clinic)
            #expect(alerts.count == 2 && alerts.first { $0.broadcast.uid == fortinet.uid }?.answer?.automatic == false)

            // Dashboards read what the snapshots carried: latest values per member, daily sums for the trends.
            let now = world.services.clock.now()
            let members = try await world.hub.members(in: world.coordinator).members
            for (member, offset, trained, theme) in [
                (members[0], -10.0, 40.0, 30.0), (members[0], 0, 60, 80), (members[1], 0, 90, 55),
            ] {
                let snapshot = Snapshot(
                    snapshotID: UUID().uuidString, takenAt: now.addingTimeInterval(offset * 86_400),
                    establishment: .init(name: member.name, finess: member.finess, kind: "ch"),
                    indicators: [.init(key: "awareness.trained-12m", value: trained, basis: 100, measuredAt: now)],
                    compliance: [
                        .init(
                            urn: "urn:x:framework:care-d2", name: "CaRE D2", score: theme, progress: 100, level: nil,
                            status: "in_progress", themes: [.init(ref: "p1", name: "PSSI", score: theme)])
                    ])
                let answer = try await world.hub.receiveSnapshot(
                    member.id, Array(try HubService.encoder.encode(snapshot)))
                #expect(answer.status == 201)
            }
            let overview = try await world.hub.overview(in: world.coordinator)
            #expect(overview.active == 2 && overview.fresh == 2 && overview.revoked == 0)
            #expect(overview.figures["awareness.trained-12m"]?.average == 75)  // the latest of each: 60 and 90
            #expect(overview.framework?.name == "CaRE D2")
            let band = try #require(overview.framework?.themes.first)
            #expect(band.ok == 1 && band.medium == 1 && band.critical == 0 && band.average == 67.5)
            #expect(overview.trends.count == 52 && overview.trends.last?.averages["awareness.trained-12m"] == 75)
            #expect(overview.trends.filter { $0.averages["awareness.trained-12m"] == 40 }.count == 1)
            let page = try await world.hub.members(in: world.coordinator, search: "lac")
            #expect(page.total == 1 && page.members.first?.name == "Clinique du Lac")
            #expect(try await world.hub.members(in: world.coordinator, filter: "revoked").total == 0)
        }
    }

    @Test func productAndIndicatorLines() throws {
        let range = try ProductRange.parse(line: "fortinet fortios >= 7.0 < 7.2.5")
        #expect(range.vendor == "fortinet" && range.product == "fortios" && range.versionStart == "7.0")
        #expect(range.versionEnd == "7.2.5" && !range.endInclusive)
        let cpe = try ProductRange.parse(line: "cpe:2.3:a:ivanti:connect_secure:*:*:*:*:*:*:*:* <= 22.7")
        #expect(cpe.vendor == "ivanti" && cpe.product == "connect_secure" && cpe.endInclusive)
        for bad in ["fortinet", "fortinet fortios <", "cpe:2.3:a extra words", ""] {
            #expect(throws: FederationError.self) { _ = try ProductRange.parse(line: bad) }
        }
        #expect(
            try BroadcastIndicators.pattern(line: "198.51.100.0/24") == "[ipv4-addr:value ISSUBSET '198.51.100.0/24']")
        #expect(try BroadcastIndicators.pattern(line: String(repeating: "a", count: 64)).contains("SHA-256"))
        #expect(
            try BroadcastIndicators.pattern(line: "phish@evil.example") == "[email-addr:value = 'phish@evil.example']")
        #expect(try BroadcastIndicators.pattern(line: "evil[.]example") == "[domain-name:value = 'evil.example']")
        for bad in [
            "two words", "[file:name = 'a' AND file:size = 1]", "[ipv4-addr:value = '1.2.3.4'] REPEATS 2 TIMES",
        ] {
            #expect(throws: FederationError.self) { _ = try BroadcastIndicators.pattern(line: bad) }
        }
        // Automatic answers.
        #expect(
            BroadcastAnswer.decide(affectedAssets: 0, unknownVersionAssets: 0, inventoryAssets: 0, indicatorHits: 0)
                == .unknown)
        #expect(
            BroadcastAnswer.decide(affectedAssets: 0, unknownVersionAssets: 1, inventoryAssets: 9, indicatorHits: 0)
                == .unknown)
        #expect(
            BroadcastAnswer.decide(affectedAssets: 0, unknownVersionAssets: 0, inventoryAssets: 9, indicatorHits: 0)
                == .notAffected)
        #expect(
            BroadcastAnswer.decide(affectedAssets: 0, unknownVersionAssets: 0, inventoryAssets: 0, indicatorHits: 2)
                == .affected)
        // A broadcast that is not what the protocol allows is refused by the member too.
        var broadcast = Broadcast(
            uid: "b1", title: "t", summary: "", severity: "high", tlp: "red", references: [], products: [range],
            indicators: [], publishedAt: Date(), answerBy: nil)
        #expect(throws: FederationError.self) { try broadcast.validate() }
        broadcast.tlp = "amber"
        try broadcast.validate()
        broadcast.indicators = ["[process:name = 'x']"]
        #expect(throws: FederationError.self) { try broadcast.validate() }
    }
}
