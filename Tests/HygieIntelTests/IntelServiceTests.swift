import Foundation
import HygieCore
import HygieStorage
import HygieTestSupport
import SQLKit
import STIX
import Testing

@testable import HygieIntel

/// STIX fixtures built as text, the way partners send them.
enum Fixtures {
    static func indicator(
        _ uuid: String, modified: String = "2026-01-01T00:00:00.000Z", tlp: TLP? = .amber,
        pattern: String = "[ipv4-addr:value = '198.51.100.7']", revoked: Bool = false
    ) -> String {
        let marking = tlp.map { #","object_marking_refs":["\#($0.markingDefinitionID)"]"# } ?? ""
        return """
            {"type":"indicator","spec_version":"2.1","id":"indicator--\(uuid)","created":"2026-01-01T00:00:00.000Z",\
            "modified":"\(modified)","name":"IOC \(uuid.prefix(4))","pattern":"\(pattern)","pattern_type":"stix",\
            "valid_from":"2026-01-01T00:00:00Z","revoked":\(revoked),"x_custom":{"n":1.50}\(marking)}
            """
    }

    static func malware(_ uuid: String) -> String {
        """
        {"type":"malware","spec_version":"2.1","id":"malware--\(uuid)","created":"2026-01-01T00:00:00.000Z",\
        "modified":"2026-01-01T00:00:00.000Z","name":"LockBit","is_family":true,\
        "object_marking_refs":["\(TLP.green.markingDefinitionID)"]}
        """
    }

    static let ipv4 =
        #"{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}"#

    static func envelope(_ objects: [String]) -> [UInt8] {
        Array(("{\"objects\":[" + objects.joined(separator: ",") + "]}").utf8)
    }

    static let a = "11111111-1111-4111-8111-111111111111"
    static let b = "22222222-2222-4222-8222-222222222222"
    static let c = "33333333-3333-4333-8333-333333333333"
}

struct IntelWorld {
    let services: TestServices
    let intel: IntelService
    let scope: TenantScope
    let collection: IntelCollection
    let partner: IntelPrincipal
    let partnerSecret: String

    static func make(_ db: DatabaseService, accountTLP: TLP = .amber) async throws -> IntelWorld {
        let services = try TestServices(database: db)
        let intel = IntelService(
            database: db, audit: services.audit, clock: services.clock,
            configuration: IntelConfiguration(maxContentLength: 64 * 1024, pageLimit: 50))
        let (_, scope) = try await services.makeEstablishment("CHU Rive")
        let collection = try await intel.createCollection(
            title: "Partners", description: "shared", alias: "partners", defaultTLP: .amber,
            distribution: .establishment,
            sharingGroupID: nil, in: scope)
        let (account, secret) = try await intel.createAccount(
            username: "cert-sante", organisation: "CERT Santé", maxTLP: accountTLP, in: scope)
        try await intel.grant(
            collection: collection.id, account: account.id, group: nil, canRead: true, canWrite: true, in: scope)
        let partner = try #require(
            try await intel.authenticate(
                username: "cert-sante", secret: secret, requestID: nil, sourceAddress: "127.0.0.1"))
        return IntelWorld(
            services: services, intel: intel, scope: scope, collection: collection, partner: partner,
            partnerSecret: secret)
    }

    var root: Establishment.ID { scope.establishmentID }

    func add(_ objects: [String], as principal: IntelPrincipal? = nil) async throws -> AddStatus {
        try await intel.addObjects(Fixtures.envelope(objects), to: collection.id, root: root, for: principal ?? partner)
    }

    func list(_ query: [String: String] = [:], next: String? = nil, as principal: IntelPrincipal? = nil) async throws
        -> ObjectPage
    {
        try await intel.objects(
            in: collection.id, root: root, filter: try ObjectFilter(query: query, maximumLimit: 50), next: next,
            includeBody: true,
            for: principal ?? partner)
    }
}

@Suite struct IntelStoreTests {
    @Test(arguments: TestDatabase.enabled)
    func addsValidatesDeduplicatesAndVersions(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await IntelWorld.make(db)
            let first = try await world.add([
                Fixtures.indicator(Fixtures.a), Fixtures.malware(Fixtures.b), Fixtures.ipv4,
                #"{"type":"indicator","spec_version":"2.1","id":"indicator--\#(Fixtures.c)","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern":"[ipv4-addr:value = ","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}"#,
                #"{"type":"indicator"}"#,
            ])
            #expect(first.totalCount == 5 && first.successCount == 3 && first.failureCount == 2)
            #expect(first.failures.first?.id == "indicator--\(Fixtures.c)")
            #expect(first.failures.first?.message?.contains("invalid STIX pattern") == true)

            // The same envelope again: successes, nothing new stored, dates kept.
            let before = try await world.list()
            let again = try await world.add([
                Fixtures.indicator(Fixtures.a), Fixtures.malware(Fixtures.b), Fixtures.ipv4,
            ])
            #expect(again.successCount == 3 && again.failureCount == 0)
            let after = try await world.list()
            #expect(after.objects.map(\.dateAdded) == before.objects.map(\.dateAdded))
            #expect(after.objects.count == 3)
            #expect(try await world.intel.ownCollection(world.collection.id, in: world.scope).objectCount == 3)
            // Stored byte for byte.
            #expect(
                after.objects.first { $0.stixID == "indicator--\(Fixtures.a)" }?.body == Fixtures.indicator(Fixtures.a))

            // A newer version becomes the latest; an older one arriving later does not.
            _ = try await world.add([Fixtures.indicator(Fixtures.a, modified: "2026-03-01T00:00:00.000Z")])
            _ = try await world.add([Fixtures.indicator(Fixtures.a, modified: "2026-02-01T00:00:00.000Z")])
            let latest = try await world.list(["match[id]": "indicator--\(Fixtures.a)"])
            #expect(latest.objects.map(\.versionText) == ["2026-03-01T00:00:00.000Z"])
            let all = try await world.list(["match[id]": "indicator--\(Fixtures.a)", "match[version]": "all"])
            #expect(all.objects.count == 3)
            let firstVersion = try await world.list([
                "match[id]": "indicator--\(Fixtures.a)", "match[version]": "first",
            ])
            #expect(firstVersion.objects.map(\.versionText) == ["2026-01-01T00:00:00.000Z"])
            let exact = try await world.list([
                "match[id]": "indicator--\(Fixtures.a)", "match[version]": "2026-02-01T00:00:00Z",
            ])
            #expect(exact.objects.map(\.versionText) == ["2026-02-01T00:00:00.000Z"])
            let firstAndLast = try await world.list([
                "match[id]": "indicator--\(Fixtures.a)", "match[version]": "first,last",
            ])
            #expect(firstAndLast.objects.count == 2)
            #expect(try await world.list(["match[type]": "malware,ipv4-addr"]).objects.count == 2)
            #expect(try await world.list(["match[spec_version]": "2.0"]).objects.isEmpty)

            // An observable changed in content is a new version dated by its arrival.
            _ = try await world.add([Fixtures.ipv4.replacingOccurrences(of: "198.51.100.3", with: "198.51.100.4")])
            #expect(try await world.list(["match[type]": "ipv4-addr", "match[version]": "all"]).objects.count == 2)

            // Deleting the latest version moves the flag to the newest remaining one.
            try await world.intel.deleteObject(
                "indicator--\(Fixtures.a)", in: world.collection.id, root: world.root,
                filter: try ObjectFilter(query: ["match[version]": "2026-03-01T00:00:00.000Z"], maximumLimit: 50),
                for: world.partner)
            #expect(
                try await world.list(["match[id]": "indicator--\(Fixtures.a)"]).objects.map(\.versionText) == [
                    "2026-02-01T00:00:00.000Z"
                ])
            // Without match[version], every version goes.
            try await world.intel.deleteObject(
                "indicator--\(Fixtures.a)", in: world.collection.id, root: world.root,
                filter: try ObjectFilter(query: [:], maximumLimit: 50), for: world.partner)
            #expect(
                try await world.list(["match[id]": "indicator--\(Fixtures.a)", "match[version]": "all"]).objects.isEmpty
            )
            // The collection's object count follows: the malware and the observable remain.
            #expect(try await world.intel.ownCollection(world.collection.id, in: world.scope).objectCount == 2)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func unreadableOrOversizedContentStoresNothing(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await IntelWorld.make(db)
            for bad in ["{\"objects\": [", "[1,2]", "{\"objects\": {}}", "{\"type\":\"indicator\"}"] {
                await #expect(throws: IntelError.self) {
                    try await world.intel.addObjects(
                        Array(bad.utf8), to: world.collection.id, root: world.root, for: world.partner)
                }
            }
            let invalidUTF8: [UInt8] =
                Array("{\"objects\":[{\"type\":\"x\",\"name\":\"".utf8) + [0xC3, 0x28] + Array("\"}]}".utf8)
            await #expect(throws: IntelError.self) {
                try await world.intel.addObjects(
                    invalidUTF8, to: world.collection.id, root: world.root, for: world.partner)
            }
            let deep = Array(
                ("{\"objects\":[" + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "]}")
                    .utf8)
            await #expect(throws: IntelError.self) {
                try await world.intel.addObjects(deep, to: world.collection.id, root: world.root, for: world.partner)
            }
            let huge = Fixtures.envelope((0..<400).map { _ in Fixtures.indicator(UUID().uuidString.lowercased()) })
            await #expect(throws: IntelError.tooLarge(limit: 64 * 1024)) {
                try await world.intel.addObjects(huge, to: world.collection.id, root: world.root, for: world.partner)
            }
            #expect(try await world.list().objects.isEmpty)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func pagesAreKeysetOrderedAndTokensAreBound(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await IntelWorld.make(db)
            let ids = (0..<23).map { String(format: "%08d-0000-4000-8000-000000000000", $0) }
            _ = try await world.add(ids.map { Fixtures.indicator($0) })
            var seen: [String] = []
            var next: String?
            var pages = 0
            repeat {
                let page = try await world.list(["limit": "5"], next: next)
                seen += page.objects.map(\.stixID)
                #expect(page.objects.count <= 5)
                #expect(page.firstAdded == page.objects.first?.dateAdded)
                next = page.next
                pages += 1
                #expect(page.more == (next != nil))
            } while next != nil && pages < 10
            #expect(seen == ids.map { "indicator--\($0)" })
            #expect(pages == 5)

            let token = try #require(try await world.list(["limit": "5"]).next)
            // Another filter, or another collection: refused.
            await #expect(throws: IntelError.self) {
                try await world.list(["limit": "5", "match[type]": "malware"], next: token)
            }
            let other = try await world.intel.createCollection(
                title: "Other", description: nil, alias: nil, defaultTLP: .green, distribution: .establishment,
                sharingGroupID: nil,
                in: world.scope)
            let member = world.intel.principal(for: world.scope)
            await #expect(throws: IntelError.self) {
                try await world.intel.objects(
                    in: other.id, root: world.root, filter: try ObjectFilter(query: ["limit": "5"], maximumLimit: 50),
                    next: token,
                    includeBody: true, for: member)
            }
            await #expect(throws: IntelError.self) { try await world.list(["limit": "5"], next: "12.abcdef") }
            // Bad parameters.
            for query in [
                ["limit": "0"], ["limit": "x"], ["added_after": "yesterday"], ["match[version]": "all,last"],
                ["match[type]": "Bad Type"],
            ] {
                #expect(throws: IntelError.self) { try ObjectFilter(query: query, maximumLimit: 50) }
            }
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func tlpCeilingHidesObjectsOnEveryReadPath(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await IntelWorld.make(db, accountTLP: .green)
            let member = world.intel.principal(for: world.scope)
            _ = try await world.add(
                [
                    Fixtures.indicator(Fixtures.a, tlp: .amber), Fixtures.malware(Fixtures.b),
                    Fixtures.indicator(Fixtures.c, tlp: .red),
                    Fixtures.indicator("44444444-4444-4444-8444-444444444444", tlp: nil),
                ], as: member)
            // The partner (GREEN ceiling) sees only the GREEN malware; unmarked objects count as the collection's AMBER.
            let visible = try await world.list()
            #expect(visible.objects.map(\.stixID) == ["malware--\(Fixtures.b)"])
            let manifest = try await world.intel.objects(
                in: world.collection.id, root: world.root, filter: ObjectFilter(), next: nil, includeBody: false,
                for: world.partner)
            #expect(manifest.objects.count == 1)
            await #expect(throws: HygieCoreError.self) {
                try await world.intel.object(
                    "indicator--\(Fixtures.a)", in: world.collection.id, root: world.root, filter: ObjectFilter(),
                    next: nil,
                    for: world.partner)
            }
            await #expect(throws: HygieCoreError.self) {
                try await world.intel.versions(
                    of: "indicator--\(Fixtures.c)", in: world.collection.id, root: world.root, filter: ObjectFilter(),
                    next: nil,
                    for: world.partner)
            }
            await #expect(throws: HygieCoreError.self) {
                try await world.intel.deleteObject(
                    "indicator--\(Fixtures.a)", in: world.collection.id, root: world.root, filter: ObjectFilter(),
                    for: world.partner)
            }
            // The owner's members see all four; exports stop at AMBER (RED never leaves).
            #expect(try await world.list(as: member).objects.count == 4)
            let exported = try STIXBundle.read(
                try await world.intel.exportBundle(collection: world.collection.id, in: world.scope))
            let exportedIDs = exported.compactMap { try? $0.result.get().id }
            #expect(!exportedIDs.contains("indicator--\(Fixtures.c)"))
            #expect(exportedIDs.contains("indicator--\(Fixtures.a)"))
            #expect(
                exportedIDs.contains(TLP.green.markingDefinitionID)
                    && exportedIDs.contains(TLP.amber.markingDefinitionID))
            let greenOnly = try STIXBundle.read(
                try await world.intel.exportBundle(collection: world.collection.id, maxTLP: .green, in: world.scope))
            #expect(
                greenOnly.compactMap { try? $0.result.get().type }.filter { $0 != "marking-definition" } == ["malware"])
            // Accounts can never be cleared for RED.
            await #expect(throws: ValidationError.self) {
                try await world.intel.createAccount(username: "named", organisation: "X", maxTLP: .red, in: world.scope)
            }
        }
    }
}

@Suite struct IntelAccessTests {
    @Test(arguments: TestDatabase.enabled)
    func accountsAuthenticateAndRightsFollowGrants(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await IntelWorld.make(db)
            #expect(world.partnerSecret.hasPrefix("hyx_"))
            // Only a hash is stored.
            let stored = try await db.sql.raw("SELECT secret_hash FROM intel_accounts").all()
            #expect(
                try stored.allSatisfy { try $0.decode(column: "secret_hash", as: String.self) != world.partnerSecret })
            #expect(
                try await world.intel.authenticate(bearer: world.partnerSecret, requestID: nil, sourceAddress: nil)
                    != nil)
            #expect(
                try await world.intel.authenticate(
                    username: "cert-sante", secret: "wrong", requestID: nil, sourceAddress: nil) == nil)
            #expect(
                try await world.intel.authenticate(
                    username: "nobody", secret: world.partnerSecret, requestID: nil, sourceAddress: nil) == nil)

            // Read-only: writing is forbidden; visibility only: not found; revoked: gone from the list.
            let account = try #require(try await world.intel.accounts(in: world.scope).first)
            try await world.intel.grant(
                collection: world.collection.id, account: account.id, group: nil, canRead: true, canWrite: false,
                in: world.scope)
            await #expect(throws: HygieCoreError.forbidden("this collection cannot be written with these credentials"))
            {
                try await world.add([Fixtures.malware(Fixtures.b)])
            }
            try await world.intel.grant(
                collection: world.collection.id, account: account.id, group: nil, canRead: false, canWrite: false,
                in: world.scope)
            #expect(try await world.intel.collections(for: world.partner).count == 1)
            await #expect(throws: HygieCoreError.notFound("collection")) { try await world.list() }
            try await world.intel.grant(
                collection: world.collection.id, account: account.id, group: nil, canRead: false, canWrite: false,
                revoke: true,
                in: world.scope)
            #expect(try await world.intel.collections(for: world.partner).isEmpty)

            // Through a sharing group.
            let group = try await world.intel.createSharingGroup(
                name: "CERT", description: nil, establishments: [], accounts: [account.id], in: world.scope)
            try await world.intel.grant(
                collection: world.collection.id, account: nil, group: group.id, canRead: true, canWrite: false,
                in: world.scope)
            #expect(try await world.intel.collections(for: world.partner).first?.canRead == true)

            // Disabled accounts are refused at once.
            try await world.intel.setAccountDisabled(account.id, disabled: true, in: world.scope)
            #expect(
                try await world.intel.authenticate(
                    username: "cert-sante", secret: world.partnerSecret, requestID: nil, sourceAddress: nil) == nil)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func distributionDecidesWhichEstablishmentsSeeACollection(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await IntelWorld.make(db)
            let (other, otherScope) = try await world.services.makeEstablishment("CH Voisin")
            let otherMember = world.intel.principal(for: otherScope)
            // Not shared: invisible, and its objects cannot be reached by id.
            #expect(try await world.intel.collections(for: otherMember).isEmpty)
            await #expect(throws: HygieCoreError.self) {
                try await world.intel.objects(
                    in: world.collection.id, root: world.root, filter: ObjectFilter(), next: nil, includeBody: true,
                    for: otherMember)
            }
            // Managing another establishment's collection is refused.
            await #expect(throws: HygieCoreError.self) {
                try await world.intel.ownCollection(world.collection.id, in: otherScope)
            }
            // Shared with a sharing group holding the other establishment: readable, not writable.
            let group = try await world.intel.createSharingGroup(
                name: "GHT", description: nil, establishments: [other.id], accounts: [], in: world.scope)
            let shared = try await world.intel.createCollection(
                title: "GHT feed", description: nil, alias: nil, defaultTLP: .green, distribution: .group,
                sharingGroupID: group.id,
                in: world.scope)
            let access = try await world.intel.collections(for: otherMember)
            #expect(access.map(\.collection.id) == [shared.id])
            #expect(access.first?.canRead == true && access.first?.canWrite == false)
            // Nation-wide: every establishment reads it.
            let national = try await world.intel.createCollection(
                title: "National", description: nil, alias: nil, defaultTLP: .clear, distribution: .nation,
                sharingGroupID: nil,
                in: world.scope)
            #expect(try await world.intel.collections(for: otherMember).map(\.collection.id).contains(national.id))
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func importsCSVAndMISPAsValidIndicators(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await IntelWorld.make(db)
            let csv = """
                type,value,name,description,tlp,valid_from,valid_until,confidence,labels
                ip,203.0.113.9,C2,"seen, twice",green,2026-01-01,,80,ransomware;c2
                domain,Evil.Example.NET.,,,amber,,,,
                sha256,\(String(repeating: "ab", count: 32)),Dropper,,,,,,
                md5,nothex,,,,,,,
                url,https://bad.example/x,,,purple,,,,
                """
            let status = try await world.intel.importContent(
                Array(csv.utf8), format: .csv, into: world.collection.id, in: world.scope)
            #expect(status.successCount == 4)  // identity + 3 indicators
            #expect(status.failureCount == 2)
            let again = try await world.intel.importContent(
                Array(csv.utf8), format: .csv, into: world.collection.id, in: world.scope)
            #expect(again.successes.allSatisfy { $0.message == "already stored" })
            let member = world.intel.principal(for: world.scope)
            let indicators = try await world.list(["match[type]": "indicator"], as: member).objects
            #expect(indicators.count == 3)
            #expect(indicators.contains { $0.body.contains("[domain-name:value = 'evil.example.net']") })

            let misp = """
                {"Event": {"info": "Phishing campaign against hospitals", "uuid": "5f0c7e3a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
                 "date": "2026-11-20", "Tag": [{"name": "tlp:green"}, {"name": "healthcare"}],
                 "Attribute": [
                   {"type": "domain", "value": "login-hopital.example", "to_ids": true, "uuid": "6a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d", "category": "Network activity"},
                   {"type": "ip-dst|port", "value": "198.51.100.77|443", "to_ids": true, "uuid": "7b2c3d4e-5f6a-4b7c-9d8e-9f0a1b2c3d4e"},
                   {"type": "text", "value": "not for detection", "to_ids": false},
                   {"type": "mutex", "value": "Global\\\\x", "to_ids": true, "uuid": "8c3d4e5f-6a7b-4c8d-ae9f-0a1b2c3d4e5f"}
                 ]}}
                """
            let imported = try await world.intel.importContent(
                Array(misp.utf8), format: .guess(Array(misp.utf8)), into: world.collection.id, in: world.scope)
            #expect(imported.successCount == 3)  // two indicators and the report
            #expect(imported.failureCount == 1)  // the mutex cannot be matched in logs
            let report = try #require(try await world.list(["match[type]": "report"], as: member).objects.first)
            #expect(report.tlp == .green)
            #expect(report.body.contains("indicator--6a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"))
            await #expect(throws: IntelError.self) {
                try await world.intel.importContent(
                    Array("{\"x\":1}".utf8), format: .misp, into: world.collection.id, in: world.scope)
            }
        }
    }
}
