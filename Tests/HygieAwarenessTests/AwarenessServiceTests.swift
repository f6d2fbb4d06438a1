import AwarenessCore
import Foundation
import HygieCore
import HygieMail
import HygieStorage
import HygieTestSupport
import SQLKit
import Testing

@testable import HygieAwareness

struct AwarenessWorld {
    let services: TestServices
    let awareness: AwarenessService
    let establishment: Establishment
    let scope: TenantScope
    let smtp: FakeSMTPServer

    static func make(_ db: DatabaseService, scannerDelay: Double = 10) async throws -> AwarenessWorld {
        let services = try TestServices(database: db)
        let awareness = AwarenessService(
            database: db, audit: services.audit, clock: services.clock,
            configuration: AwarenessConfiguration(smtpConnections: 2, batchSize: 50, scannerDelaySeconds: scannerDelay),
            secrets: try SecretBox(keyData: Data(repeating: 9, count: 32)))
        let (establishment, scope) = try await services.makeEstablishment("CH Vauban")
        let smtp = try await FakeSMTPServer(permanent: ["refused@vauban.example"])
        return AwarenessWorld(
            services: services, awareness: awareness, establishment: establishment, scope: scope, smtp: smtp)
    }

    var today: String { services.clock.now().utcDay }

    /// A group, a template, a page, a profile pointing at the fake server, the programme declared.
    func prepare(people: Int = 6, capture: Bool = false, declare: Bool = true) async throws {
        if declare {
            _ = try await awareness.setProgramme(
                Programme(
                    informedOn: Date(timeInterval: -30 * 86_400, since: services.clock.now()).utcDay,
                    approver: "Directrice", trainingAfterClick: "phishing"), in: scope)
        }
        let departments = ["Urgences", "Urgences", "Pharmacie"]
        let targets = (0..<people).map { index in
            Target(
                firstName: "Agent\(index)", lastName: "Été", email: "agent\(index)@vauban.example", position: "IDE",
                department: departments[index % 3], role: "staff", language: "fr")
        }
        _ = try await awareness.saveGroup(name: "Tous", targets: targets, in: scope)
        _ = try await awareness.saveTemplate(
            TemplateInput(
                name: "Paie", subject: "{{.FirstName}}, bulletin", text: "Voir {{.URL}}",
                html: "<p>{{.FirstName}}</p><a href=\"{{.URL}}\">x</a>{{.Tracker}}", difficulty: 3), in: scope)
        _ = try await awareness.savePage(
            PageInput(
                name: "RH",
                html:
                    "<form action=\"https://x.example\"><input name=\"username\"><input type=\"password\" name=\"pw\"></form>",
                captureCredentials: capture), in: scope)
        _ = try await awareness.saveProfile(
            ProfileInput(
                name: "Relais", host: "127.0.0.1:\(smtp.port)", username: "", password: nil,
                fromAddress: "IT <it@vauban.example>", headers: [HeaderEntry(key: "X-Test", value: "1")]), in: scope)
    }

    func launch(rate: Int? = nil, sendBy: Date? = nil) async throws -> Campaign {
        try await awareness.launch(
            CampaignInput(
                name: "Campagne \(UUID().uuidString.prefix(4))", groups: ["Tous"], template: "Paie", page: "RH",
                profile: "Relais", url: "https://phish.vauban.example", sendByDate: sendBy, ratePerMinute: rate),
            in: scope)
    }

    func request(_ rid: String, method: String = "GET", agent: String? = "Mozilla/5.0") -> TrackingRequest {
        TrackingRequest(rid: rid, method: method, userAgent: agent)
    }
}

@Suite struct AwarenessServiceTests {
    @Test(arguments: TestDatabase.enabled)
    func campaignsNeedTheStaffInformedAndAnApprover(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            try await world.prepare(declare: false)
            await #expect(throws: AwarenessError.self) { _ = try await world.launch() }
            // Informed after the launch day does not count.
            _ = try await world.awareness.setProgramme(
                Programme(informedOn: "2099-01-01", approver: "Directrice"), in: world.scope)
            await #expect(throws: AwarenessError.self) { _ = try await world.launch() }
            _ = try await world.awareness.setProgramme(Programme(informedOn: "2020-01-01"), in: world.scope)
            await #expect(throws: AwarenessError.self) { _ = try await world.launch() }
            _ = try await world.awareness.setProgramme(
                Programme(informedOn: "2020-01-01", approver: "Directrice"), in: world.scope)
            let campaign = try await world.launch()
            #expect(campaign.informedOn == "2020-01-01" && campaign.approver == "Directrice")
            #expect(campaign.results.count == 6)
            #expect(Set(campaign.results.map(\.id)).count == 6)
            #expect(campaign.results.allSatisfy { RecipientID($0.id) != nil })
            // Analysts prepare but do not launch; the DPO reads.
            let analyst = try await world.services.member(.analyst, in: world.establishment)
            await #expect(throws: HygieCoreError.self) {
                _ = try await world.awareness.complete(campaign.id, in: analyst)
            }
            let dpo = try await world.services.member(.dpo, in: world.establishment)
            #expect(try await world.awareness.campaign(campaign.id, in: dpo).results.count == 6)
            await #expect(throws: HygieCoreError.self) {
                _ = try await world.awareness.saveGroup(name: "x", targets: [], in: dpo)
            }
            try await world.smtp.stop()
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func sendsSpreadAndThrottledThenTracksWhatPeopleDo(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            try await world.prepare(people: 6)
            let campaign = try await world.launch(rate: 2)
            // Two per minute: the first now, the others at 30-second intervals.
            let round = try await world.awareness.sendDue()
            #expect(round.sent == 1)
            world.services.clock.advance(by: 150)
            #expect(try await world.awareness.sendDue().sent == 5)
            #expect(try await world.awareness.sendDue().claimed == 0)
            #expect(world.smtp.messages.count == 6)
            let message = try #require(world.smtp.messages.first)
            #expect(message.from == "it@vauban.example")
            #expect(message.data.contains("X-Test: 1"))
            #expect(message.data.contains("From: \"IT\" <it@vauban.example>"))
            #expect(message.data.contains("multipart/alternative"))

            let results = try await world.awareness.results(of: campaign.id, in: world.scope)
            #expect(results.allSatisfy { $0.status == "Email Sent" })
            let rids = results.map(\.id)
            world.services.clock.advance(by: 60)
            _ = try await world.awareness.track(.open, world.request(rids[0]))
            guard case .page(let html) = try await world.awareness.track(.click, world.request(rids[1])) else {
                Issue.record("no landing page")
                return
            }
            #expect(html.contains("action=\"\"") && !html.contains("name=\"pw\""))
            let outcome = try await world.awareness.track(
                .submit([
                    SubmittedField(name: "username", value: "jdupont"), SubmittedField(name: "pw", value: "Secret1!"),
                    SubmittedField(name: "password", value: "Secret2!"),
                ]), world.request(rids[2], method: "POST"))
            #expect(outcome == .redirect("https://phish.vauban.example/phished"))
            _ = try await world.awareness.track(.report, world.request(rids[2]))
            // Scanners: HEAD, a known agent; the request is recorded, the person's status does not move.
            _ = try await world.awareness.track(.click, world.request(rids[3], method: "HEAD"))
            _ = try await world.awareness.track(.click, world.request(rids[4], agent: "Mozilla/5.0 (Proofpoint)"))
            try await world.awareness.flushTracking()

            let after = try await world.awareness.campaign(campaign.id, in: world.scope)
            let status = Dictionary(uniqueKeysWithValues: after.results.map { ($0.id, $0.status) })
            #expect(status[rids[0]] == "Email Opened" && status[rids[1]] == "Clicked Link")
            #expect(status[rids[2]] == "Submitted Data")
            #expect(after.results.first { $0.id == rids[2] }?.reported == true)
            let submitted = try #require(after.timeline.first { $0.message == EventMessage.submitted })
            // SECURITY: no password and, without capture, no value at all.
            #expect(!submitted.details.contains("Secret") && !submitted.details.contains("jdupont"))
            #expect(submitted.details.contains("\"fields_filled\":[\"username\",\"pw\",\"password\"]"))
            #expect(after.timeline.filter(\.scanner).count == 2)

            let report = try await world.awareness.report(campaign.id, in: world.scope)
            #expect(report.figures.delivered == 6 && report.figures.opened == 3 && report.figures.clicked == 2)
            #expect(report.figures.submitted == 1 && report.figures.reported == 1 && report.scannerHits == 2)
            #expect(report.raw.clicked == 4)  // GoPhish's counts keep the scanners' clicks
            #expect(report.figures.reportedBeforeClicking == 0)
            // Whoever clicked gets the programme's training.
            let assignments = try await world.awareness.assignments(in: world.scope)
            #expect(Set(assignments.map(\.email)) == ["agent1@vauban.example", "agent2@vauban.example"])
            #expect(assignments.allSatisfy { $0.module == "phishing" && $0.reason != "manual" })

            // Completed: links answer "not found".
            _ = try await world.awareness.complete(campaign.id, in: world.scope)
            await #expect(throws: AwarenessError.self) {
                _ = try await world.awareness.track(.click, world.request(rids[5]))
            }
            await #expect(throws: AwarenessError.self) {
                _ = try await world.awareness.track(.open, world.request("zzzzzzz"))
            }
            try await world.smtp.stop()
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func clicksSecondsAfterDeliveryAreAScannersAndValuesAreKeptOnlyWhenAskedButNeverPasswords(
        _ database: TestDatabase
    ) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            try await world.prepare(people: 3, capture: true)
            let campaign = try await world.launch()
            _ = try await world.awareness.sendDue()
            let rids = try await world.awareness.results(of: campaign.id, in: world.scope).map(\.id)
            world.services.clock.advance(by: 3)
            _ = try await world.awareness.track(.click, world.request(rids[0]))
            world.services.clock.advance(by: 60)
            _ = try await world.awareness.track(
                .submit([
                    SubmittedField(name: "username", value: "jdupont"), SubmittedField(name: "pw", value: "Secret1!"),
                    SubmittedField(name: "mot_de_passe", value: "Secret2!"),
                ]), world.request(rids[1], method: "POST"))
            try await world.awareness.flushTracking()
            let timeline = try await world.awareness.timeline(of: campaign.id, in: world.scope)
            let click = try #require(timeline.first { $0.message == EventMessage.clicked })
            #expect(click.scanner && click.details.contains("after delivery"))
            let submit = try #require(timeline.first { $0.message == EventMessage.submitted })
            #expect(submit.details.contains("jdupont") && !submit.details.contains("Secret"))
            let report = try await world.awareness.report(campaign.id, in: world.scope)
            #expect(report.figures.clicked == 1 && report.raw.clicked == 2)
            try await world.smtp.stop()
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func refusedRecipientsAreRecordedAndTemporaryFailuresRetriedWithBackoff(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            try await world.prepare(people: 2)
            var targets = try await world.awareness.groups(in: world.scope)[0].targets.map(\.target)
            targets.append(
                Target(
                    firstName: "Ref", lastName: "Usé", email: "refused@vauban.example", position: "", department: "",
                    role: "", language: "fr"))
            _ = try await world.awareness.saveGroup(
                id: try await world.awareness.groups(in: world.scope)[0].id, name: "Tous", targets: targets,
                in: world.scope)
            let campaign = try await world.launch()
            try await world.smtp.stop()  // the relay is down: every message waits for a retry
            let down = try await world.awareness.sendDue()
            #expect(down.sent == 0 && down.retried == 3)
            #expect(try await world.awareness.sendDue().claimed == 0)  // not before the backoff
            let relay = try await FakeSMTPServer(permanent: ["refused@vauban.example"])
            _ = try await world.awareness.saveProfile(
                id: try await world.awareness.profiles(in: world.scope)[0].id,
                ProfileInput(name: "Relais", host: "127.0.0.1:\(relay.port)", fromAddress: "it@vauban.example"),
                in: world.scope)
            // The campaign keeps the profile it was launched with: point its snapshot at the new port.
            try await db.sql.raw(
                """
                UPDATE aw_campaigns SET snapshot = REPLACE(snapshot, \(bind: "127.0.0.1:\(world.smtp.port)"), \
                \(bind: "127.0.0.1:\(relay.port)")) WHERE id = \(bind: campaign.id)
                """
            ).run()
            world.services.clock.advance(by: 31)
            let up = try await world.awareness.sendDue()
            #expect(up.sent == 2 && up.failed == 1)
            let results = try await world.awareness.results(of: campaign.id, in: world.scope)
            #expect(results.first { $0.email == "refused@vauban.example" }?.status == "Error")
            let timeline = try await world.awareness.timeline(of: campaign.id, in: world.scope)
            #expect(timeline.contains { $0.message == EventMessage.sendingError && $0.details.contains("550") })
            #expect(try await world.awareness.campaignSummary(campaign.id, in: world.scope).stats.error == 1)
            try await relay.stop()
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func anotherEstablishmentSeesNothing(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            try await world.prepare()
            let campaign = try await world.launch()
            let (_, other) = try await world.services.makeEstablishment("Clinique Azur")
            await #expect(throws: AwarenessError.self) {
                _ = try await world.awareness.campaign(campaign.id, in: other)
            }
            await #expect(throws: AwarenessError.self) {
                try await world.awareness.deleteCampaign(campaign.id, in: other)
            }
            #expect(try await world.awareness.groups(in: other).isEmpty)
            #expect(try await world.awareness.campaignSummaries(in: other).isEmpty)
            // Names are looked up in the caller's establishment only.
            _ = try await world.awareness.setProgramme(
                Programme(informedOn: "2020-01-01", approver: "X"), in: other)
            await #expect(throws: AwarenessError.self) {
                _ = try await world.awareness.launch(
                    CampaignInput(
                        name: "x", groups: ["Tous"], template: "Paie", page: "RH", profile: "Relais",
                        url: "https://a.example"), in: other)
            }
            try await world.smtp.stop()
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func aBadTargetListImportsNothing(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            let csv =
                "Prénom;Nom;Courriel;Fonction;Service\nAnne;Roy;anne@vauban.example;IDE;Urgences\nBob;Lee;pas-un-courriel;IDE;Urgences\n"
            await #expect {
                _ = try await world.awareness.importGroup(name: "Import", csv: Array(csv.utf8), in: world.scope)
            } throws: { error in
                (error as? AwarenessError)?.publicMessage.contains("line 3") == true
            }
            #expect(try await world.awareness.groups(in: world.scope).isEmpty)
            let targets = try await db.sql.raw("SELECT COUNT(*) AS n FROM aw_targets").first()?.decode(
                column: "n", as: Int.self)
            #expect(targets == 0)
            await #expect(throws: AwarenessError.self) {
                _ = try await world.awareness.saveTemplate(
                    TemplateInput(name: "Cassé", subject: "s", text: "{{.Nope}}", html: ""), in: world.scope)
            }
            try await world.smtp.stop()
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func retentionMakesOldResultsAnonymousAndKeepsTheFigures(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            try await world.prepare(people: 6)
            let campaign = try await world.launch()
            _ = try await world.awareness.sendDue()
            let rid = try await world.awareness.results(of: campaign.id, in: world.scope)[0].id
            world.services.clock.advance(by: 120)
            _ = try await world.awareness.track(.click, world.request(rid))
            try await world.awareness.flushTracking()
            _ = try await world.awareness.complete(campaign.id, in: world.scope)
            let before = try await world.awareness.report(campaign.id, in: world.scope)
            world.services.clock.advance(by: 11 * 30 * 86_400)
            #expect(try await world.awareness.purge().campaigns == 0)
            world.services.clock.advance(by: 2 * 30 * 86_400)
            let purged = try await world.awareness.purge()
            #expect(purged.campaigns == 1 && purged.results == 6)
            let results = try await world.awareness.results(of: campaign.id, in: world.scope)
            #expect(results.allSatisfy { $0.email.hasPrefix("purged-") && $0.firstName.isEmpty })
            let timeline = try await world.awareness.timeline(of: campaign.id, in: world.scope)
            #expect(timeline.allSatisfy { $0.email.isEmpty })
            let after = try await world.awareness.report(campaign.id, in: world.scope)
            #expect(after.purged && after.figures == before.figures)
            try await world.smtp.stop()
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func departmentsUnderFivePeopleAreNotShown(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            try await world.prepare(people: 9)  // 6 in Urgences, 3 in Pharmacie
            let campaign = try await world.launch()
            _ = try await world.awareness.sendDue()
            let report = try await world.awareness.report(campaign.id, in: world.scope)
            #expect(report.departments.map(\.name) == ["Urgences"])
            try await world.smtp.stop()
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func learnersTakeTheQuizWithTheirLinkAndGetACertificate(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            try await world.prepare(people: 3)
            let group = try await world.awareness.groups(in: world.scope)[0]
            let due = Date(timeInterval: 7 * 86_400, since: world.services.clock.now()).utcDay
            #expect(try await world.awareness.assign("usb", to: .group(group.id), dueOn: due, in: world.scope) == 3)
            #expect(try await world.awareness.assign("usb", to: .group(group.id), dueOn: due, in: world.scope) == 0)
            await #expect(throws: AwarenessError.self) {
                _ = try await world.awareness.assign("nope", to: .group(group.id), dueOn: due, in: world.scope)
            }
            let token = try await world.awareness.learnerLink(for: "agent0@vauban.example", in: world.scope)
            let learner = try #require(try await world.awareness.learner(token: token))
            #expect(try await world.awareness.learner(token: token + "x") == nil)
            let module = try TrainingCatalogue.load("usb", language: "fr")
            let wrong = try await world.awareness.submitQuiz("usb", answers: [], learner: learner)
            #expect(!wrong.passed && wrong.certificate == nil)
            let right = try await world.awareness.submitQuiz(
                "usb", answers: module.questions.map(\.correct), learner: learner)
            #expect(right.passed && right.score == 100 && right.certificate?.hasPrefix("HYG-") == true)
            let mine = try await world.awareness.assignments(of: learner)
            #expect(mine.count == 1 && mine[0].completedAt != nil && mine[0].attempts == 2)
            let summary = try await world.awareness.trainingSummary(in: world.scope)
            #expect(summary.assigned == 3 && summary.completed == 1 && summary.population == 3)
            let trained = try await world.awareness.measure("awareness.trained-12m", for: world.establishment.id)
            #expect(trained.map { Int($0.value.rounded()) } == 33)
            // Links expire after 60 days.
            world.services.clock.advance(by: 61 * 86_400)
            #expect(try await world.awareness.learner(token: token) == nil)
            try await world.smtp.stop()
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func invitationsAndRemindersGoOncePerPerson(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            try await world.prepare(people: 2)
            let group = try await world.awareness.groups(in: world.scope)[0]
            let due = Date(timeInterval: 5 * 86_400, since: world.services.clock.now()).utcDay
            _ = try await world.awareness.assign("usb", to: .group(group.id), dueOn: due, in: world.scope)
            _ = try await world.awareness.assign("passwords", to: .group(group.id), dueOn: due, in: world.scope)
            let client = SMTPClient(
                settings: SMTPSettings(
                    host: "127.0.0.1", port: world.smtp.port, security: .none, from: "hygie@vauban.example"))
            #expect(
                try await world.awareness.sendTrainingMail(client: client, publicURL: "https://hygie.vauban.example")
                    == 2)
            #expect(
                try await world.awareness.sendTrainingMail(client: client, publicURL: "https://hygie.vauban.example")
                    == 0)
            let mail = try #require(world.smtp.messages.first)
            #expect(mail.data.contains("https://hygie.vauban.example/training/t/"))
            world.services.clock.advance(by: 4 * 86_400)
            #expect(
                try await world.awareness.sendTrainingMail(client: client, publicURL: "https://hygie.vauban.example")
                    == 2)
            #expect(
                world.smtp.messages.last?.data.contains(MIME.encodedWord("Rappel : votre formation à la sécurité"))
                    == true)
            try await world.smtp.stop()
        }
    }
}

extension TestServices {
    /// A member with `role` in `establishment`, and their scope.
    func member(_ role: Role, in establishment: Establishment) async throws -> TenantScope {
        let adminScope = try await identity.scope(for: establishment.id, actor: TestServices.cli)
        let member = try await identity.addMember(
            NewUser(
                email: "\(role.rawValue)@member.example", displayName: role.rawValue, password: TestServices.password,
                role: role.rawValue), in: adminScope)
        let actor = Actor(
            userID: member.user.id, displayName: member.user.email, establishmentID: nil, role: .staff,
            channel: "session", requestID: nil, sourceAddress: "127.0.0.1")
        return try await identity.scope(for: establishment.id, actor: actor)
    }
}

@Suite struct SimulationRecognitionTests {
    @Test(arguments: TestDatabase.enabled)
    func aReportedExerciseCreditsTheReporterInItsOwnEstablishmentOnly(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await AwarenessWorld.make(db)
            try await world.prepare(people: 3)
            let campaign = try await world.launch()
            _ = try await world.awareness.sendDue()
            let rid = campaign.results[1].id
            let (other, _) = try await world.services.makeEstablishment("Clinique Voisine")

            let elsewhere = try await world.awareness.recognise(rids: [rid], establishment: other.id)
            let unknown = try await world.awareness.recognise(
                rids: ["zzzzzzz", "not-a-rid"], establishment: world.establishment.id)
            let found = try await world.awareness.recognise(
                rids: ["zzzzzzz", rid], establishment: world.establishment.id)

            #expect(elsewhere == nil && unknown == nil)
            #expect(found == rid)
            let after = try await world.awareness.campaign(campaign.id, in: world.scope)
            #expect(after.results.first { $0.id == rid }?.reported == true)
            #expect(after.results.filter(\.reported).count == 1)
            // After the campaign ends the exercise is still recognised (the reporter hears "well done").
            _ = try await world.awareness.complete(campaign.id, in: world.scope)
            #expect(
                try await world.awareness.recognise(
                    rids: [campaign.results[2].id], establishment: world.establishment.id) != nil)
            try await world.smtp.stop()
        }
    }
}
