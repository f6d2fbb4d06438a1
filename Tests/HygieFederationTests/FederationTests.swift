import FederationCore
import Foundation
import HygieCompliance
import HygieCore
import HygieIncidents
import HygieIntel
import HygieStorage
import HygieTestSupport
import HygieVulnerabilities
import NIOConcurrencyHelpers
import SQLKit
import STIX
import Testing

@testable import HygieFederation

/// The hub's dispatcher as a transport, which the tests can cut like a network.
final class LoopbackTransport: FederationTransport, @unchecked Sendable {
    let hub: HubService
    let down = NIOLockedValueBox(false)
    let paths = NIOLockedValueBox<[String]>([])

    init(hub: HubService) { self.hub = hub }

    func post(_ url: String, path: String, headers: [String: String], body: [UInt8]) async throws -> FederationResponse
    {
        if down.withLockedValue({ $0 }) { throw FederationError.unreachable("connection refused") }
        paths.withLockedValue { $0.append(path) }
        let lowered = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value) })
        return await hub.handle(method: "POST", path: path, headers: lowered, body: body)
    }
}

/// One instance playing both parts: the regional agency is the hub, the hospital a member (tenants of one
/// instance, as the issue allows).
struct FederationWorld {
    let services: TestServices
    let hub: HubService
    let member: MemberService
    let transport: LoopbackTransport
    let coordinator: TenantScope
    let hospital: TenantScope
    let cases: CaseService

    static func make(_ db: DatabaseService) async throws -> FederationWorld {
        let services = try TestServices(database: db)
        let secrets = try SecretBox(keyData: Data(repeating: 7, count: 32))
        let intel = IntelService(database: db, audit: services.audit, clock: services.clock, secrets: secrets)
        let hub = HubService(
            database: db, audit: services.audit, clock: services.clock, secrets: secrets, intel: intel)
        let transport = LoopbackTransport(hub: hub)
        let cases = CaseService(database: db, audit: services.audit, clock: services.clock)
        let member = MemberService(
            database: db, audit: services.audit, clock: services.clock, secrets: secrets,
            compliance: ComplianceService(database: db, audit: services.audit, clock: services.clock), cases: cases,
            vulnerabilities: VulnService(database: db, audit: services.audit, clock: services.clock),
            intel: intel, transport: transport)
        let agency = try await services.tenancy.createEstablishment(
            .init(name: "ARS Val-de-Lune", finess: nil, kind: "authority", groupID: nil, regionID: nil),
            by: TestServices.cli)
        let coordinator = try await services.identity.scope(for: agency.id, actor: TestServices.cli)
        let (_, hospital) = try await services.makeEstablishment("CH Valbrune", finess: "999000017")
        return FederationWorld(
            services: services, hub: hub, member: member, transport: transport,
            coordinator: TenantScope(
                establishmentID: coordinator.establishmentID, role: .coordinator, actor: coordinator.actor),
            hospital: hospital, cases: cases)
    }

    func count(_ table: String) async throws -> Int {
        try await services.database.sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?
            .decode(column: "n", as: Int.self) ?? 0
    }
}

@Suite struct FederationTests {
    @Test(arguments: TestDatabase.enabled)
    func anEstablishmentJoinsPushesAndIsRevoked(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await FederationWorld.make(db)
            // A case with declarations: one TLP:AMBER, one TLP:RED whose title must stay home.
            let amber = try await world.cases.open(
                CaseInput(title: "Rançongiciel PACS", type: .ransomware, tlp: .amber), in: world.hospital)
            _ = try await world.cases.qualify(amber.incident.id, Qualification(significant: true), in: world.hospital)
            let red = try await world.cases.open(
                CaseInput(title: "Fuite du dossier d'un élu", type: .dataLeak, tlp: .red), in: world.hospital)
            _ = try await world.cases.qualify(red.incident.id, Qualification(personalData: true), in: world.hospital)

            await #expect(throws: HygieCoreError.self) {
                _ = try await world.hub.createEnrolment(label: "CH Valbrune", in: world.hospital)
            }
            let enrolment = try await world.hub.createEnrolment(label: "CH Valbrune", in: world.coordinator)
            await #expect(throws: FederationServiceError.self) {
                _ = try await world.member.join(hub: "http://hub.example", token: enrolment.token, in: world.hospital)
            }
            let link = try await world.member.join(
                hub: "http://127.0.0.1:9", token: enrolment.token, in: world.hospital)
            #expect(link.status == "active" && link.pending == 0 && link.lastError.isEmpty)
            // The TAXII exchange: a machine account on the hub with read on its shared collection and write on its
            // inbox; at the hospital, a pull feed into "Reçu du hub" and a push feed from "Envoyé au hub".
            let feeds = try await world.services.database.sql.raw(
                "SELECT direction, url FROM intel_feeds WHERE establishment_id = \(bind: world.hospital.establishmentID.uuid)"
            ).all().map {
                (try $0.decode(column: "direction", as: String.self), try $0.decode(column: "url", as: String.self))
            }
            #expect(feeds.count == 2 && Set(feeds.map(\.0)) == ["pull", "push"])
            #expect(
                feeds.allSatisfy {
                    $0.1.hasPrefix(
                        "http://127.0.0.1:9/taxii2/\(world.coordinator.establishmentID.uuid.uuidString.lowercased())/collections/"
                    )
                })
            #expect(try await world.count("intel_accounts") == 1)
            #expect(try await world.count("intel_grants") == 2)
            await #expect(throws: FederationServiceError.self) {
                _ = try await world.member.join(hub: "http://127.0.0.1:9", token: enrolment.token, in: world.hospital)
            }

            let (total, members) = try await world.hub.members(in: world.coordinator)
            #expect(total == 1 && members[0].name == "CH Valbrune" && members[0].finess == "999000017")
            #expect(members[0].kind == "ch")
            let inbox = try await world.hub.declarations(in: world.coordinator)
            #expect(inbox.count == 2)
            #expect(inbox.contains { $0.copy.regime == "cert_sante" && $0.copy.title == "Rançongiciel PACS" })
            #expect(inbox.contains { $0.copy.regime == "cnil" && $0.copy.title == nil && $0.copy.tlp == "red" })
            let stored = try await db.sql.raw("SELECT body FROM fed_declarations").all().map {
                try $0.decode(column: "body", as: String.self)
            }
            #expect(!stored.joined().contains("élu"))

            // A sent declaration travels again, once; the snapshot of the day is not repeated.
            let declarations = try await world.cases.declarations(in: world.hospital)
            let certSante = try #require(declarations.first { $0.declaration.regime == .certSante })
            _ = try await world.cases.markSent(
                certSante.declaration.id, sentAt: world.services.clock.now(), reference: "CS-1",
                content: Array("{}".utf8),
                in: world.hospital)
            let report = try await world.member.push(in: world.hospital)
            #expect(report.delivered == 1 && report.pending == 0)
            #expect(try await world.count("fed_snapshots") == 1)
            #expect(
                try await world.hub.declarations(in: world.coordinator).first { $0.copy.regime == "cert_sante" }?.copy
                    .status == "sent")

            // Revoked: the next push is refused and the link says so.
            try await world.hub.revoke(link.memberID, in: world.coordinator)
            let refused = try await world.member.push(in: world.hospital, force: true)
            #expect(refused.delivered == 0 && refused.error?.contains("403") == true)
            #expect(try await world.member.link(in: world.hospital)?.status == "revoked")
            #expect(try await world.member.push(in: world.hospital, force: true).error == "not linked to an active hub")
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func pushesResumeAfterACutAndAreStoredOnce(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await FederationWorld.make(db)
            let enrolment = try await world.hub.createEnrolment(label: "CH Valbrune", in: world.coordinator)
            _ = try await world.member.join(hub: "http://127.0.0.1:9", token: enrolment.token, in: world.hospital)
            world.transport.down.withLockedValue { $0 = true }
            for _ in 0..<3 {
                let report = try await world.member.push(in: world.hospital, force: true)
                #expect(report.delivered == 0 && report.error?.contains("cannot be reached") == true)
            }
            #expect(try await world.member.link(in: world.hospital)?.pending == 3)
            world.transport.down.withLockedValue { $0 = false }
            // The scheduled round waits for the backoff; a minute later everything goes, in order.
            #expect(try await world.member.pushAll() == 0)
            world.services.clock.advance(by: 3600)
            let delivered = try await world.member.pushAll()
            #expect(delivered >= 3)
            #expect(try await world.member.link(in: world.hospital)?.pending == 0)
            #expect(try await world.count("fed_snapshots") == 4)
            // Delivering the same snapshot again (a lost acknowledgement) stores nothing new.
            try await db.sql.raw("UPDATE fed_outbox SET sent_at = NULL WHERE kind = 'snapshot'").run()
            _ = try await world.member.push(in: world.hospital)
            #expect(try await world.count("fed_snapshots") == 4)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func theHubRefusesForgedStaleAndMalformedRequests(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await FederationWorld.make(db)
            let enrolment = try await world.hub.createEnrolment(label: "CH Valbrune", days: 1, in: world.coordinator)
            let card = #"{"token":"TOKEN","establishment":{"name":"CH Valbrune","finess":"999000017","kind":"ch"}}"#
            var answer = await world.hub.handle(
                method: "POST", path: "/federation/v1/enrol", headers: [:],
                body: Array(card.replacingOccurrences(of: "TOKEN", with: "nope").utf8))
            #expect(answer.status == 401)
            answer = await world.hub.handle(
                method: "POST", path: "/federation/v1/enrol", headers: [:], body: Array("{".utf8))
            #expect(answer.status == 400)
            answer = await world.hub.handle(method: "GET", path: "/federation/v1/enrol", headers: [:], body: [])
            #expect(answer.status == 405)
            answer = await world.hub.handle(method: "POST", path: "/federation/v1/other", headers: [:], body: [])
            #expect(answer.status == 404)
            // An expired token is refused.
            world.services.clock.advance(by: 2 * 86_400)
            answer = await world.hub.handle(
                method: "POST", path: "/federation/v1/enrol", headers: [:],
                body: Array(card.replacingOccurrences(of: "TOKEN", with: enrolment.token).utf8))
            #expect(answer.status == 401)
            let fresh = try await world.hub.createEnrolment(label: "CH Valbrune", in: world.coordinator)
            answer = await world.hub.handle(
                method: "POST", path: "/federation/v1/enrol", headers: [:],
                body: Array(card.replacingOccurrences(of: "TOKEN", with: fresh.token).utf8))
            #expect(answer.status == 201)
            let credentials = try #require(
                try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: String])
            let member = try #require(credentials["member_id"])
            let secret = try #require(credentials["secret"])
            let snapshot = Array(
                #"{"snapshot_id":"x","taken_at":1795000000000,"establishment":{"name":"CH","kind":"ch"},"indicators":[],"compliance":[]}"#
                    .utf8)
            func signed(_ body: [UInt8], secret: String, skew: TimeInterval = 0) -> [String: String] {
                let timestamp = Int64(world.services.clock.now().timeIntervalSince1970 + skew)
                return [
                    "x-hygie-member": member, "x-hygie-timestamp": String(timestamp),
                    "x-hygie-signature": RequestSigner.signature(
                        secret: secret, method: "POST", path: "/federation/v1/snapshots", timestamp: timestamp,
                        body: body),
                ]
            }
            var status = await world.hub.handle(
                method: "POST", path: "/federation/v1/snapshots", headers: signed(snapshot, secret: "forged"),
                body: snapshot
            ).status
            #expect(status == 401)
            status = await world.hub.handle(
                method: "POST", path: "/federation/v1/snapshots", headers: signed(snapshot, secret: secret, skew: -600),
                body: snapshot
            ).status
            #expect(status == 401)
            status = await world.hub.handle(
                method: "POST", path: "/federation/v1/snapshots", headers: signed(snapshot, secret: secret),
                body: snapshot
            ).status
            #expect(status == 201)
            status = await world.hub.handle(
                method: "POST", path: "/federation/v1/snapshots", headers: signed(snapshot, secret: secret),
                body: snapshot
            ).status
            #expect(status == 200)
            let names = Array(
                #"{"snapshot_id":"y","taken_at":1795000000000,"establishment":{"name":"CH","kind":"ch"},"indicators":[{"key":"Jean Dupont","value":1,"measured_at":0}],"compliance":[]}"#
                    .utf8)
            status = await world.hub.handle(
                method: "POST", path: "/federation/v1/snapshots", headers: signed(names, secret: secret), body: names
            ).status
            #expect(status == 400)
            #expect(try await world.count("fed_snapshots") == 1)
        }
    }
}
