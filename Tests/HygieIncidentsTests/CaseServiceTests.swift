import Crypto
import Foundation
import HygieCore
import HygieIntel
import HygieMail
import HygieStorage
import HygieTestSupport
import MailTriage
import STIX
import Testing

@testable import HygieIncidents

@Suite struct RegulatoryClockTests {
    let aware = Date(timeIntervalSince1970: 1_795_000_000)

    @Test func deadlinesRunFromAwareness() {
        let settings = RegimeSettings(nis2Class: .essential)
        let hour: TimeInterval = 3_600

        #expect(settings.due(.certSante, awareAt: aware) == aware + 24 * hour)
        #expect(settings.due(.cnil, awareAt: aware) == aware + 72 * hour)
        #expect(settings.due(.nis2Warning, awareAt: aware) == aware + 24 * hour)
        #expect(settings.due(.nis2Notification, awareAt: aware) == aware + 72 * hour)
        #expect(settings.due(.nis2Final, awareAt: aware) == aware + 72 * hour + 30 * 24 * hour)
        let sent = aware + 50 * hour
        #expect(settings.due(.nis2Final, awareAt: aware, notification: (sent, nil)) == sent + 30 * 24 * hour)
    }

    @Test func regimesFollowTheQualificationAndTheEntity() {
        let all = Qualification(significant: true, personalData: true, nis2: true)

        #expect(RegimeSettings(nis2Class: .important).regimes(for: all).count == 5)
        #expect(RegimeSettings().regimes(for: all) == [.certSante, .cnil])
        #expect(RegimeSettings(nis2Class: .essential).regimes(for: Qualification(personalData: true)) == [.cnil])
    }

    @Test func clocksCountDownAndTurnLate() {
        let declaration = Declaration(
            id: 1, caseID: 1, regime: .cnil, dueAt: aware + 72 * 3_600, status: .draft, sentAt: nil, reference: "",
            delayReason: "", snapshotSHA256: "")

        let remaining = declaration.remaining(at: aware) ?? 0
        #expect(abs(remaining - 72 * 3_600) < 0.01)
        #expect(!declaration.isLate(at: aware + 71 * 3_600))
        #expect(declaration.isLate(at: aware + 73 * 3_600))
        var sent = declaration
        sent.status = .sent
        sent.sentAt = aware + 10 * 3_600
        #expect(sent.remaining(at: aware + 80 * 3_600) == nil)
        #expect(!sent.isLate(at: aware + 80 * 3_600))
    }

    @Test func everyIncidentTypeHasAPlanEndingWithLessonsLearned() {
        for type in IncidentType.allCases {
            let steps = CaseTemplates.steps(for: type)
            #expect(steps.count >= 4, "\(type)")
            #expect(steps.last?.phase == "learn")
            #expect(steps.contains { $0.phase == "declare" })
            #expect(steps.allSatisfy { !$0.fr.isEmpty && !$0.en.isEmpty })
        }
    }
}

@Suite struct CaseServiceTests {
    static func make(_ db: DatabaseService) async throws -> (ReportWorld, CaseService) {
        let world = try await ReportWorld.make(db)
        return (world, CaseService(database: db, audit: world.services.audit, clock: world.services.clock))
    }

    @Test(arguments: TestDatabase.enabled)
    func ransomwareCaseFromOpeningToClosingWithItsClocks(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let (world, cases) = try await Self.make(db)
            let clock = world.services.clock
            let start = clock.now()
            try await cases.updateRegimes(
                RegimeSettings(nis2Class: .essential, entity: ["name": "CHU de Valbrune", "finess_ej": "999000017"]),
                in: world.scope)

            let opened = try await cases.open(
                CaseInput(
                    title: "Rançongiciel sur les serveurs d'imagerie", description: "Fichiers chiffrés, note de rançon",
                    type: .ransomware, severity: .critical, tlp: .amber, pap: .amber,
                    occurredAt: start - 3 * 3_600, detectedAt: start - 3_600, awareAt: start - 3_600), in: world.scope)
            let id = opened.incident.id
            #expect(opened.tasks.count == CaseTemplates.steps(for: .ransomware).count)
            #expect(opened.tasks.first?.title.hasPrefix("Isoler") == true)
            #expect(opened.events.map(\.kind) == ["created"])
            #expect(opened.declarations.isEmpty)

            let qualified = try await cases.qualify(
                id, Qualification(significant: true, personalData: true, nis2: true), in: world.scope)
            let due = Dictionary(uniqueKeysWithValues: qualified.declarations.map { ($0.regime, $0.dueAt!) })
            #expect(due.count == 5)
            #expect(due[.certSante] == start - 3_600 + 24 * 3_600)
            #expect(due[.cnil] == start - 3_600 + 72 * 3_600)
            // A corrected time of awareness moves every unsent clock.
            let moved = try await cases.update(id, CaseChange(awareAt: start - 7_200), in: world.scope)
            #expect(moved.declarations.first { $0.regime == .cnil }?.dueAt == start - 7_200 + 72 * 3_600)

            clock.advance(by: 30 * 3_600)
            let certSante = try #require(moved.declarations.first { $0.regime == .certSante })
            await #expect(throws: IncidentsError.self) {
                _ = try await cases.markSent(
                    certSante.id, sentAt: clock.now(), reference: "CS-2026-118", content: [1], in: world.scope)
            }
            let draft = try await cases.draft(certSante.id, in: world.scope)
            #expect(draft.sections.first?.fields.first?.value == "CHU de Valbrune")
            #expect(draft.missing.contains("Sites concernés"))
            let sent = try await cases.markSent(
                certSante.id, sentAt: clock.now(), reference: "CS-2026-118",
                delayReason: "Cellule de crise mobilisée sur la continuité des soins", content: draft.json(),
                in: world.scope)
            #expect(sent.status == .sent && sent.reference == "CS-2026-118")
            #expect(sent.snapshotSHA256 == SHA256.hash(data: draft.json()).map { String(format: "%02x", $0) }.joined())
            let notification = try #require(moved.declarations.first { $0.regime == .nis2Notification })
            let notified = clock.now()
            _ = try await cases.markSent(
                notification.id, sentAt: notified, reference: "ANSSI-42", content: [2], in: world.scope)
            let afterNotification = try await cases.detail(id, in: world.scope)
            #expect(afterNotification.declarations.first { $0.regime == .nis2Final }?.dueAt == notified + 30 * 86_400)

            _ = try await cases.update(id, CaseChange(status: .inProgress, assignee: "analyste@chu"), in: world.scope)
            clock.advance(by: 3_600)
            _ = try await cases.update(id, CaseChange(status: .contained), in: world.scope)
            clock.advance(by: 48 * 3_600)
            _ = try await cases.update(id, CaseChange(status: .resolved), in: world.scope)
            await #expect(throws: IncidentsError.self) {
                _ = try await cases.update(id, CaseChange(status: .closed), in: world.scope)
            }
            let closed = try await cases.update(
                id,
                CaseChange(status: .closed, lessons: "Segmenter le réseau d'imagerie ; sauvegardes hors ligne testées"),
                in: world.scope)

            #expect(closed.incident.status == .closed && closed.incident.closedAt != nil)
            let metrics = closed.incident.metrics
            func close(_ value: TimeInterval?, _ expected: TimeInterval) -> Bool {
                value.map { abs($0 - expected) < 1 } ?? false
            }
            #expect(close(metrics.timeToDetect, 7_200))
            let contain: TimeInterval = 7_200 + 31 * 3_600
            #expect(close(metrics.timeToContain, contain))
            #expect(close(metrics.timeToResolve, contain + 48 * 3_600))
            #expect(close(metrics.timeToAcknowledge, 30 * 3_600))
            let kinds = closed.events.map(\.kind)
            #expect(kinds.filter { $0 == "status" }.count == 4)
            #expect(kinds.contains("qualified") && kinds.filter { $0 == "declaration" }.count == 2)
            #expect(closed.events.map(\.at) == closed.events.map(\.at).sorted())
            let summary = try await cases.metrics(since: start - 86_400, in: world.scope)
            #expect(summary.cases == 1 && summary.open == 0 && summary.byType[.ransomware] == 1)
            #expect(summary.lateDeclarations >= 1)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func aReportedCampaignBecomesACaseWithItsObservables(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let (world, cases) = try await Self.make(db)
            let staff = try await world.staff()
            let first = try await world.submit("forwarded-as-attachment.eml", as: staff)
            _ = try await world.submit("phishing.eml", as: staff)

            let detail = try await cases.open(fromReport: first[0].id, type: .phishing, in: world.scope)

            #expect(detail.links.filter { $0.kind == "report" }.count == 2)
            #expect(detail.observables.contains { $0.kind == "domain" && $0.value == "chu-va1brune.fr" && $0.ioc })
            #expect(Set(detail.observables.map { "\($0.kind) \($0.value)" }).count == detail.observables.count)
            #expect(detail.incident.severity == .high)
            #expect(detail.incident.source == "report:\(first[0].id)")
            #expect(detail.tasks.first?.title.hasPrefix("Bloquer") == true)
            // One case per source: opening it again gives the same case.
            #expect(try await cases.open(fromReport: first[0].id, in: world.scope).incident.id == detail.incident.id)
            // Adding an observable twice keeps one.
            let again = try await cases.addObservable(
                detail.incident.id, kind: "domain", value: "chu-va1brune.fr", ioc: true, sighted: true, in: world.scope)
            #expect(again.observables.count == detail.observables.count)
            await #expect(throws: IncidentsError.self) {
                _ = try await cases.addObservable(
                    detail.incident.id, kind: "bogus", value: "x", ioc: false, sighted: false, in: world.scope)
            }
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func mergingMovesObservablesLinksAndLeavesATrace(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let (world, cases) = try await Self.make(db)
            let target = try await cases.open(CaseInput(title: "Hameçonnage RH", type: .phishing), in: world.scope)
            let source = try await cases.open(CaseInput(title: "Même campagne", type: .phishing), in: world.scope)
            _ = try await cases.addObservable(
                source.incident.id, kind: "url", value: "https://rh-valbrune.example/login", ioc: true, sighted: true,
                in: world.scope)
            _ = try await cases.addObservable(
                target.incident.id, kind: "url", value: "https://rh-valbrune.example/login", ioc: true, sighted: false,
                in: world.scope)

            let merged = try await cases.merge(source.incident.id, into: target.incident.id, in: world.scope)
            let old = try await cases.incident(source.incident.id, in: world.scope)

            #expect(merged.observables.count == 1)
            #expect(old.mergedInto == target.incident.id && old.status == .closed && old.resolution == "duplicate")
            #expect(merged.events.last?.kind == "merged")
            #expect(try await cases.cases(in: world.scope).map(\.id) == [target.incident.id])
            await #expect(throws: IncidentsError.self) {
                _ = try await cases.update(source.incident.id, CaseChange(title: "x"), in: world.scope)
            }
            await #expect(throws: IncidentsError.self) {
                _ = try await cases.merge(target.incident.id, into: target.incident.id, in: world.scope)
            }
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func rolesAndEstablishmentsAreRespected(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let (world, cases) = try await Self.make(db)
            let staff = try await world.staff()
            let (_, other) = try await world.services.makeEstablishment("Clinique Voisine")
            let incident = try await cases.open(CaseInput(title: "Clé USB inconnue", type: .other), in: world.scope)

            await #expect(throws: HygieCoreError.self) {
                _ = try await cases.open(CaseInput(title: "x"), in: staff)
            }
            await #expect(throws: HygieCoreError.self) { _ = try await cases.cases(in: staff) }
            await #expect(throws: IncidentsError.self) { _ = try await cases.detail(incident.incident.id, in: other) }
            #expect(try await cases.cases(in: other).isEmpty)
            await #expect(throws: IncidentsError.self) {
                _ = try await cases.open(CaseInput(title: "   "), in: world.scope)
            }
            // Without an NIS2 class, an NIS2 qualification declares nothing under NIS2.
            let qualified = try await cases.qualify(incident.incident.id, Qualification(nis2: true), in: world.scope)
            #expect(qualified.declarations.isEmpty)
            let tasks = qualified.tasks
            let done = try await cases.setTask(tasks[0].id, status: .done, in: world.scope)
            #expect(done.status == .done && done.doneAt != nil && done.doneBy == "rssi@chuvalbrune.example")
            await #expect(throws: IncidentsError.self) {
                _ = try await cases.setTask(tasks[0].id, status: .done, in: other)
            }
        }
    }
}

@Suite struct DeclarationReminderTests {
    @Test(arguments: TestDatabase.enabled)
    func dueAndLateDeclarationsAreRemindedOnceInSixHours(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let (world, cases) = try await CaseServiceTests.make(db)
            let clock = world.services.clock
            let smtp = try await FakeSMTPServer()
            let client = SMTPClient(
                settings: SMTPSettings(host: "127.0.0.1", port: smtp.port, security: .none, from: "hygie@chu.example"))
            let opened = try await cases.open(CaseInput(title: "Fuite de données", type: .dataLeak), in: world.scope)
            _ = try await cases.qualify(opened.incident.id, Qualification(personalData: true), in: world.scope)

            #expect(try await cases.remindDeclarations(client: client) == 0)
            clock.advance(by: 67 * 3_600)
            #expect(try await cases.remindDeclarations(client: client) == 1)
            #expect(try await cases.remindDeclarations(client: client) == 0)
            clock.advance(by: 7 * 3_600)
            #expect(try await cases.remindDeclarations(client: client) == 1)

            let messages = smtp.messages
            #expect(messages.count == 2)
            let subjects = try messages.map { try MailTriage.MailMessage.parse(Array($0.data.utf8)).subject }
            #expect(subjects.first?.hasPrefix("Échéance dans 5.0 h : notification à la CNIL") == true, "\(subjects)")
            #expect(subjects.last?.hasPrefix("EN RETARD : notification à la CNIL") == true, "\(subjects)")
            #expect(messages.allSatisfy { $0.recipients == ["rssi@chuvalbrune.example"] })
            try await smtp.stop()
        }
    }
}

@Suite struct CaseSharingTests {
    @Test(arguments: TestDatabase.enabled)
    func indicatorsAreSharedInOneClickWithinTheirTLPAndPAP(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let (world, cases) = try await CaseServiceTests.make(db)
            let collection = try await world.intel.createCollection(
                title: "Partage GHT", description: nil, alias: nil, defaultTLP: .amber, distribution: .establishment,
                sharingGroupID: nil, in: world.scope)
            let opened = try await cases.open(
                CaseInput(title: "Alerte : connexion VPN suspecte", type: .compromisedAccount), source: "alert:x",
                link: CaseLink(kind: "alert", ref: "x", title: "Connexion VPN depuis l'étranger"),
                observables: [
                    ObservableInput(kind: "ipv4", value: "198.51.100.23", ioc: true),
                    ObservableInput(kind: "account", value: "dupont"),
                ], in: world.scope)
            let id = opened.incident.id
            _ = try await cases.addObservable(
                id, kind: "domain", value: "vpn-login.example", ioc: true, sighted: false, tlp: .red, in: world.scope)

            #expect(opened.links == [CaseLink(kind: "alert", ref: "x", title: "Connexion VPN depuis l'étranger")])
            let again = try await cases.open(
                CaseInput(title: "Doublon"), source: "alert:x", link: CaseLink(kind: "alert", ref: "x", title: ""),
                observables: [], in: world.scope)
            #expect(again.incident.id == opened.incident.id)
            #expect(opened.observables.count == 2)
            let shared = try await cases.shareIndicators(
                id, collection: collection.id, tlp: .amber, intel: world.intel, in: world.scope)
            #expect(shared == 1)
            var search = ObjectSearch()
            search.text = "198.51.100.23"
            #expect(try await world.intel.search(search, in: world.scope).objects.count >= 1)
            let detail = try await cases.note(id, "Compte désactivé à 10 h 05", in: world.scope)
            #expect(detail.observables.first { $0.value == "198.51.100.23" }?.sharedAt != nil)
            #expect(detail.observables.first { $0.value == "vpn-login.example" }?.sharedAt == nil)
            #expect(detail.events.suffix(2).map(\.kind) == ["sharing", "note"])
            _ = try await cases.update(id, CaseChange(pap: .red), in: world.scope)
            await #expect(throws: IncidentsError.self) {
                _ = try await cases.shareIndicators(
                    id, collection: collection.id, tlp: .amber, intel: world.intel, in: world.scope)
            }
        }
    }
}

@Suite struct CaseFilesAndSplitTests {
    @Test(arguments: TestDatabase.enabled)
    func filesAreKeptWithTheirHashAndObservablesSplitOff(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let (world, cases) = try await CaseServiceTests.make(db)
            let (_, other) = try await world.services.makeEstablishment("Clinique Voisine")
            let opened = try await cases.open(
                CaseInput(title: "Deux campagnes mêlées", type: .phishing), in: world.scope)
            let id = opened.incident.id
            let note = Array("VOS FICHIERS SONT CHIFFRÉS".utf8)

            let file = try await cases.attach(
                id, name: "../../etc/RESTORE\"FILES.txt", contentType: "text/plain", data: note, in: world.scope)
            let (stored, bytes) = try await cases.file(file.id, in: world.scope)

            #expect(file.name == "RESTOREFILES.txt")
            #expect(stored.sha256 == SHA256.hash(data: note).map { String(format: "%02x", $0) }.joined())
            #expect(bytes == note)
            await #expect(throws: IncidentsError.self) { _ = try await cases.file(file.id, in: other) }
            await #expect(throws: IncidentsError.self) {
                _ = try await cases.attach(id, name: "vide.txt", contentType: "text/plain", data: [], in: world.scope)
            }

            for value in ["a.example", "b.example", "c.example"] {
                _ = try await cases.addObservable(
                    id, kind: "domain", value: value, ioc: true, sighted: true, in: world.scope)
            }
            let before = try await cases.detail(id, in: world.scope)
            let moving = before.observables.filter { $0.value != "a.example" }.map(\.id)
            let created = try await cases.split(id, observables: moving, title: "Campagne B", in: world.scope)
            let after = try await cases.detail(id, in: world.scope)

            #expect(Set(created.observables.map(\.value)) == ["b.example", "c.example"])
            #expect(after.observables.map(\.value) == ["a.example"])
            #expect(created.links.contains { $0.kind == "case" && $0.ref == String(id) })
            #expect(after.links.contains { $0.kind == "case" && $0.ref == String(created.incident.id) })
            #expect(after.events.contains { $0.kind == "split" } && after.events.contains { $0.kind == "file" })
            await #expect(throws: IncidentsError.self) {
                _ = try await cases.split(id, observables: [], title: "Vide", in: world.scope)
            }
        }
    }
}
