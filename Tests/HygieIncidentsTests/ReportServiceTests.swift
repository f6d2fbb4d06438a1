import Foundation
import HygieCore
import HygieIntel
import HygieMail
import HygieStorage
import HygieTestSupport
import Logging
import MailTriage
import SQLKit
import STIX
import Testing

@testable import HygieIncidents

/// A message of the project's corpus (Tests/MailTriageTests/Fixtures, written by scripts/make-mail-corpus.py).
func corpus(_ name: String) throws -> [UInt8] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MailTriageTests/Fixtures/\(name)")
    return Array(try Data(contentsOf: url))
}

/// Recognises one rid, as the awareness module would for a running campaign.
struct FixedRecognizer: SimulationRecognizer {
    let rid: String
    let establishment: Establishment.ID

    func recognise(rids: [String], establishment: Establishment.ID) async throws -> String? {
        establishment == self.establishment && rids.contains(rid) ? rid : nil
    }
}

struct ReportWorld {
    let services: TestServices
    let reports: ReportService
    let intel: IntelService
    let establishment: Establishment
    let scope: TenantScope

    static func make(_ db: DatabaseService, maximumMessageBytes: Int = 30 << 20) async throws -> ReportWorld {
        let services = try TestServices(database: db)
        let (establishment, scope) = try await services.makeEstablishment("CHU Valbrune")
        let intel = IntelService(
            database: db, audit: services.audit, clock: services.clock,
            configuration: IntelConfiguration(maxContentLength: 64 * 1024, pageLimit: 50))
        let reports = ReportService(
            database: db, audit: services.audit, clock: services.clock,
            indicators: IndicatorFeed(database: db, clock: services.clock, logger: Logger(label: "test")),
            recognizer: FixedRecognizer(rid: "Ab3dE7q", establishment: establishment.id),
            maximumMessageBytes: maximumMessageBytes)
        try await intel.updateSettings(IntelSettings(ownDomains: ["chu-valbrune.fr"]), in: scope)
        try await reports.updateSettings(
            ReportSettings(
                protectedDomains: ["ght-valbrune.fr", "ameli.fr"], reportAddresses: ["Signalement@chu-valbrune.fr"]),
            in: scope)
        return ReportWorld(
            services: services, reports: reports, intel: intel, establishment: establishment, scope: scope)
    }

    func staff(_ email: String = "infirmiere@chu-valbrune.fr") async throws -> TenantScope {
        let admin = try await services.identity.scope(for: establishment.id, actor: TestServices.cli)
        let member = try await services.identity.addMember(
            NewUser(email: email, displayName: "Claire Martin", password: TestServices.password, role: "staff"),
            in: admin)
        let actor = Actor(
            userID: member.user.id, displayName: email, establishmentID: nil, role: .staff, channel: "session",
            requestID: nil, sourceAddress: "127.0.0.1")
        return try await services.identity.scope(for: establishment.id, actor: actor)
    }

    func submit(_ file: String, as scope: TenantScope, channel: ReportChannel = .web) async throws -> [Report] {
        try await reports.submit(
            ReportSubmission(
                kind: .email, channel: channel, reporter: Reporter(email: "infirmiere@chu-valbrune.fr", name: "Claire"),
                message: try corpus(file)), in: scope)
    }
}

@Suite struct ReportServiceTests {
    @Test(arguments: TestDatabase.enabled)
    func forwardedPhishingIsTriagedStoredAndClustered(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ReportWorld.make(db)
            let staff = try await world.staff()

            let first = try await world.submit("forwarded-as-attachment.eml", as: staff)
            let second = try await world.submit("phishing.eml", as: staff)
            let outlook = try await world.submit("microsoft-report-msg.eml", as: staff)

            #expect(first.count == 1)
            let report = first[0]
            #expect(report.verdict == .malicious && report.automaticVerdict == .malicious)
            #expect(report.status == .open)
            #expect(report.subject == "Votre boîte aux lettres est pleine - action requise")
            #expect(report.sender == "support@chu-va1brune.fr")
            #expect(report.reasons.contains { $0.code == "lookalike_domain" })
            #expect(report.hasMessage)
            #expect(report.clusterID == nil)
            // The same campaign reported twice more (directly, and through Outlook's report button) joins it.
            #expect(second[0].clusterID == report.id)
            #expect(outlook[0].category == "phishing")
            let detail = try await world.reports.detail(report.id, in: world.scope)
            #expect(detail.analysis?.authentication.dmarc == "fail")
            #expect(Set(detail.cluster.map(\.id)).contains(second[0].id))
            #expect(
                try await world.reports.message(report.id, in: world.scope)
                    == (try corpus("forwarded-as-attachment.eml")))
            // Staff report; only the security team reads.
            await #expect(throws: HygieCoreError.self) { _ = try await world.reports.reports(in: staff) }
            await #expect(throws: HygieCoreError.self) { _ = try await world.reports.detail(report.id, in: staff) }
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func analystDecisionAnswersTheWholeCampaignAndLaterReports(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ReportWorld.make(db)
            let staff = try await world.staff()
            let legit = try await world.submit("legitimate.eml", as: staff)
            #expect(legit[0].verdict == .safe && legit[0].status == .closed)
            let first = try await world.submit("microsoft-report.eml", as: staff)
            #expect(first[0].verdict == .suspicious || first[0].verdict == .malicious)

            let decided = try await world.reports.decide(
                first[0].id, verdict: .malicious, note: "Campagne connue, bloquée sur la passerelle", in: world.scope)
            let later = try await world.submit("microsoft-report.eml", as: staff)

            #expect(decided.verdict == .malicious && decided.decidedBy == "rssi@chuvalbrune.example")
            #expect(later[0].clusterID == first[0].id)
            #expect(later[0].verdict == .malicious)
            #expect(later[0].automaticVerdict == first[0].automaticVerdict)
            #expect(later[0].note == "Campagne connue, bloquée sur la passerelle")
            await #expect(throws: IncidentsError.self) {
                _ = try await world.reports.decide(first[0].id, verdict: .suspicious, note: "", in: world.scope)
            }
            let open = try await world.reports.reports(in: world.scope, status: .open)
            #expect(open.allSatisfy { $0.status == .open })
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func simulationIsRecognisedAndThreatIntelligenceMatches(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ReportWorld.make(db)
            let staff = try await world.staff()
            let collection = try await world.intel.createCollection(
                title: "CERT Santé", description: nil, alias: nil, defaultTLP: .amber, distribution: .establishment,
                sharingGroupID: nil, in: world.scope)
            _ = try await world.intel.importContent(
                Array("type,value,name\ndomain,ameli-remboursement.example,Campagne Ameli\n".utf8), format: .csv,
                into: collection.id, in: world.scope)

            let simulation = try await world.submit("simulation.eml", as: staff)
            let known = try await world.submit("microsoft-report.eml", as: staff)

            #expect(simulation[0].verdict == .simulation && simulation[0].simulationRID == "Ab3dE7q")
            #expect(simulation[0].status == .closed)
            #expect(known[0].verdict == .malicious)
            #expect(known[0].intelHits["domain ameli-remboursement.example"]?.hasPrefix("Campagne Ameli") == true)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func badUploadsGetClearErrorsAndStoreNothing(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ReportWorld.make(db, maximumMessageBytes: 1 << 20)
            let staff = try await world.staff()
            func submit(_ bytes: [UInt8]?) async throws {
                _ = try await world.reports.submit(
                    ReportSubmission(
                        kind: .email, channel: .web, reporter: Reporter(email: "a@chu-valbrune.fr", name: ""),
                        message: bytes), in: staff)
            }

            await #expect(throws: IncidentsError.invalid("attach the message (.eml or .msg) or paste its headers")) {
                try await submit(nil)
            }
            await #expect(throws: IncidentsError.self) { try await submit(Array("%PDF-1.4 not a mail".utf8)) }
            await #expect(throws: IncidentsError.self) { try await submit(Array(repeating: 0x41, count: 2 << 20)) }
            await #expect(throws: IncidentsError.self) {
                try await submit(Array((try corpus("phishing.msg")).prefix(700)))
            }
            // Truncated and damaged messages are still triaged, with their defects.
            let truncated = try await world.submit("truncated.eml", as: staff)
            let zipBomb = try await world.submit("zip-bomb.eml", as: staff)

            #expect(truncated[0].verdict != .safe)
            #expect(zipBomb[0].reasons.contains { $0.code == "attachment_archive_bomb" })
            #expect(try await world.reports.reports(in: world.scope).count == 2)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func otherReportsAndTenantIsolation(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ReportWorld.make(db)
            let staff = try await world.staff()
            let (_, otherScope) = try await world.services.makeEstablishment("Clinique Voisine")

            let usb = try await world.reports.submit(
                ReportSubmission(
                    kind: .usb, channel: .web, reporter: Reporter(email: "agent@chu-valbrune.fr", name: "Agent"),
                    description: "Clé USB trouvée au bloc B"), in: staff)

            #expect(usb[0].kind == .usb && usb[0].verdict == nil && usb[0].status == .open)
            await #expect(throws: IncidentsError.self) { _ = try await world.reports.detail(usb[0].id, in: otherScope) }
            #expect(try await world.reports.reports(in: otherScope).isEmpty)
            // A report address belongs to one establishment only.
            await #expect(throws: IncidentsError.self) {
                try await world.reports.updateSettings(
                    ReportSettings(reportAddresses: ["signalement@chu-valbrune.fr"]), in: otherScope)
            }
            await #expect(throws: IncidentsError.self) {
                try await world.reports.updateSettings(
                    ReportSettings(protectedDomains: ["not a domain"]), in: world.scope)
            }
            #expect(
                try await world.reports.establishment(forReportAddress: "SIGNALEMENT@chu-valbrune.fr")
                    == world.establishment.id)
            try await world.reports.close(usb[0].id, note: "Clé remise au service informatique", in: world.scope)
            #expect(try await world.reports.detail(usb[0].id, in: world.scope).report.status == .closed)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func reportersAreThankedAndToldTheVerdictOnce(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ReportWorld.make(db)
            let staff = try await world.staff()
            let smtp = try await FakeSMTPServer()
            let client = SMTPClient(
                settings: SMTPSettings(
                    host: "127.0.0.1", port: smtp.port, security: .none, from: "hygie@chu-valbrune.fr"))
            _ = try await world.submit("simulation.eml", as: staff)
            let suspicious = try await world.submit("pasted-headers.txt", as: staff)
            #expect(suspicious[0].verdict == .suspicious)

            #expect(try await world.reports.notifyReporters(client: client) == 2)
            #expect(try await world.reports.notifyReporters(client: client) == 0)
            _ = try await world.reports.decide(
                suspicious[0].id, verdict: .safe, note: "Vrai message de l'Assurance Maladie", in: world.scope)
            #expect(try await world.reports.notifyReporters(client: client) == 1)

            let texts = try smtp.messages.map {
                try MailTriage.MailMessage.parse(Array($0.data.utf8)).textBodies.joined()
            }
            #expect(texts.count == 3)
            #expect(texts[0].contains("était un exercice de sensibilisation") || texts[1].contains("était un exercice"))
            #expect(texts.contains { $0.contains("Merci d'avoir signalé") })
            #expect(texts[2].contains("ne présente pas de danger"))
            #expect(texts[2].contains("Vrai message de l'Assurance Maladie"))
            #expect(smtp.messages.allSatisfy { $0.recipients == ["infirmiere@chu-valbrune.fr"] })
            try await smtp.stop()
        }
    }
}
