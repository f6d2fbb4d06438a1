import Foundation
import MailTriage
import Testing

/// The project's own corpus (`scripts/make-mail-corpus.py`): every message is read and triaged as a
/// security analyst would expect.
func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return Array(try Data(contentsOf: url))
}

let valbrune = TriageSettings(
    ownDomains: ["chu-valbrune.fr"], protectedDomains: ["ght-valbrune.fr", "ameli.fr", "sante.gouv.fr"])

@Suite struct CorpusTests {
    @Test func phishingMessageIsReadThroughEveryLayer() throws {
        let message = try MailMessage.parse(try fixture("phishing.eml"))

        #expect(message.subject == "Votre boîte aux lettres est pleine - action requise")
        #expect(message.from?.address == "support@chu-va1brune.fr")
        #expect(message.textBodies.first?.contains("0 €") == true)
        #expect(message.textBodies.first?.contains("vérifier votre mot de passe") == true)
        #expect(message.htmlBodies.first?.contains("bo&icirc;te") == true)
        #expect(message.attachments.map(\.filename) == ["Facture_2026.zip"])
        #expect(message.defects.isEmpty)
    }

    @Test func phishingMessageGetsAMaliciousVerdictWithItsReasons() throws {
        let analysis = MailAnalysis(try MailMessage.parse(try fixture("phishing.eml")), settings: valbrune)
        let codes = Set(analysis.reasons.map(\.code))

        #expect(analysis.hops.count == 2)
        #expect(analysis.originIP == "198.51.100.7")
        #expect(analysis.authentication.spf == "fail")
        #expect(analysis.authentication.dmarc == "fail")
        #expect(analysis.authentication.authservID == "mx1.chu-valbrune.fr")
        #expect(analysis.lookalikes.contains { $0.domain == "chu-va1brune.fr" && $0.kind == .homoglyph })
        #expect(analysis.urls.contains { $0.flags.contains(.defanged) || $0.url.contains("webmail.chu-va1brune.fr") })
        let wrapped = try #require(analysis.urls.first { $0.flags.contains(.wrapped) })
        #expect(wrapped.target == "https://webmail.chu-va1brune.fr/login?u=infirmiere")
        #expect(wrapped.flags.contains(.textMismatch))
        #expect(analysis.urls.contains { $0.flags.contains(.shortener) })
        #expect(analysis.urls.contains { $0.flags.contains(.ipHost) && $0.flags.contains(.unusualPort) })
        let zip = try #require(analysis.attachments.first)
        #expect(zip.detectedType == "zip")
        #expect(zip.archiveEntries == ["Facture_2026.pdf.exe"])
        #expect(zip.flags.contains(.executableInArchive))
        #expect(zip.sha256.count == 64 && zip.md5.count == 32 && zip.sha1.count == 40)
        for code in [
            "dmarc_fail", "spf_fail", "reply_to_mismatch", "lookalike_domain", "link_text_mismatch",
            "attachment_executable_in_archive", "pressure_words", "display_name_impersonation",
        ] {
            #expect(codes.contains(code), "missing \(code)")
        }
        let verdict = analysis.verdict()
        #expect(verdict.verdict == .malicious)
        #expect(verdict.score >= 70)
        #expect(analysis.observables.contains(Observable(.domain, "chu-va1brune.fr")))
        #expect(analysis.observables.contains(Observable(.sha256, zip.sha256)))
        #expect(analysis.observables.contains(Observable(.ipv4, "203.0.113.45")))
    }

    @Test func forwardAsAttachmentKeepsTheOriginalHeaders() throws {
        let report = ReportedMail(try MailMessage.parse(try fixture("forwarded-as-attachment.eml")))

        #expect(!report.inline)
        #expect(report.category == nil)
        #expect(report.envelope.from?.address == "infirmiere@chu-valbrune.fr")
        let original = try #require(report.originals.first)
        #expect(report.originals.count == 1)
        #expect(original.messageID == "phish-4471@chu-va1brune.fr")
        #expect(original.headers.all("Received").count == 2)
        let direct = MailAnalysis(try MailMessage.parse(try fixture("phishing.eml")), settings: valbrune)
        #expect(MailAnalysis(original, settings: valbrune).clusterKey == direct.clusterKey)
    }

    @Test func microsoftReportFormatWithMicrosoftAuthenticationResults() throws {
        let report = ReportedMail(try MailMessage.parse(try fixture("microsoft-report.eml")))

        #expect(report.category == .phishing)
        let original = try #require(report.originals.first)
        #expect(original.subject == "Remboursement en attente : vérifiez vos coordonnées")
        #expect(original.from?.name == "Assurance Maladie")
        let analysis = MailAnalysis(original, settings: valbrune)
        #expect(analysis.authentication.authservID == nil)
        #expect(analysis.authentication.compauth == "fail")
        #expect(analysis.authentication.dmarc == "fail")
        let codes = Set(analysis.reasons.map(\.code))
        #expect(codes.contains("dmarc_fail"))
        // ameli.fr itself is protected, so the sender is a spoof; the link host imitates it by combination.
        #expect(analysis.urls.contains { $0.target == "https://ameli-remboursement.example/carte-vitale" })
        #expect(analysis.urls.contains { $0.flags.contains(.redirector) && $0.host == "xn--aml-bma.example" })
        #expect(analysis.urls.contains { $0.displayHost == "amélí.example" || $0.displayHost.hasPrefix("am") })
        #expect(analysis.verdict().verdict != .safe)
    }

    @Test func microsoftReportCarryingAnOutlookMessage() throws {
        let report = ReportedMail(try MailMessage.parse(try fixture("microsoft-report-msg.eml")))

        #expect(report.category == .phishing)
        let original = try #require(report.originals.first)
        #expect(original.subject == "Votre boîte aux lettres est pleine - action requise")
        #expect(original.headers.all("Received").count == 2)
        let analysis = MailAnalysis(original, settings: valbrune)
        #expect(analysis.attachments.map(\.filename) == ["Facture.docm", "notes.txt"])
        #expect(analysis.attachments[0].flags.contains(.macros))
        #expect(analysis.verdict().verdict == .malicious)
    }

    @Test func legitimateInternalMailIsSafe() throws {
        let analysis = MailAnalysis(try MailMessage.parse(try fixture("legitimate.eml")), settings: valbrune)

        #expect(analysis.authentication.authservID == "mx1.chu-valbrune.fr")
        #expect(analysis.authentication.dkim == "pass")
        #expect(analysis.authentication.dmarc == "pass")
        #expect(analysis.lookalikes.isEmpty)
        #expect(analysis.from?.name == "Direction des systèmes d'information du GHT")
        let verdict = analysis.verdict()
        #expect(verdict.verdict == .safe, "\(verdict.reasons)")
    }

    @Test func simulationIdentifiersAreFoundAndDecideTheVerdictWhenConfirmed() throws {
        let analysis = MailAnalysis(try MailMessage.parse(try fixture("simulation.eml")), settings: valbrune)

        #expect(analysis.simulationIDs == ["Ab3dE7q"])
        #expect(analysis.verdict(simulation: true).verdict == .simulation)
        #expect(analysis.verdict(simulation: false).verdict != .simulation)
    }

    @Test func threatIntelligenceMatchMakesAMessageMalicious() throws {
        let analysis = MailAnalysis(try MailMessage.parse(try fixture("legitimate.eml")), settings: valbrune)

        let verdict = analysis.verdict(intelligence: [
            Observable(.domain, "ght-valbrune.fr"): "indicator from CERT Santé"
        ])

        #expect(verdict.verdict == .malicious)
        #expect(verdict.reasons.first?.code == "intel_match")
    }

    @Test func everyCharsetIsDecoded() throws {
        let message = try MailMessage.parse(try fixture("charsets.eml"))

        #expect(message.subject == "“Relevé” – novembre")
        #expect(message.from?.name == "Renée € Trésor")
        let bodies = message.textBodies
        #expect(bodies.count == 5)
        #expect(bodies[0] == "Montant : 1\u{A0}200 € – l’échéance est dépassée.")
        #expect(bodies[1] == "Reçu à Besançon")
        #expect(bodies[2] == "Coût : 30 € (œuvre)")
        #expect(bodies[3] == "Données de santé — 健康")
        #expect(message.defects.contains { $0.contains("unknown charset \"x-made-up\"") })
        #expect(message.attachments.first?.filename == "Relevé de compte.pdf")
        #expect(
            AttachmentReport(filename: "a.pdf", declaredType: "", bytes: message.attachments[0].bytes).detectedType
                == "pdf")
    }

    @Test func truncatedMessageIsReadWithADefect() throws {
        let message = try MailMessage.parse(try fixture("truncated.eml"))

        #expect(message.subject.hasPrefix("Votre boîte"))
        #expect(message.defects.contains { $0.contains("closing boundary is missing") })
        #expect(MailAnalysis(message, settings: valbrune).verdict().verdict != .safe)
    }

    @Test func deepNestingStopsAtTheLimit() throws {
        let message = try MailMessage.parse(try fixture("deep-nesting.eml"))

        #expect(message.defects.contains { $0.contains("nested too deeply") })
    }

    @Test func zipBombIsListedNotInflated() throws {
        let analysis = MailAnalysis(try MailMessage.parse(try fixture("zip-bomb.eml")), settings: valbrune)

        let zip = try #require(analysis.attachments.first)
        #expect(zip.flags.contains(.archiveBomb))
        #expect(zip.size < 100_000)
        #expect(analysis.reasons.contains { $0.code == "attachment_archive_bomb" })
    }

    @Test func uuencodedAttachmentIsDecoded() throws {
        let message = try MailMessage.parse(try fixture("uuencode.eml"))

        let text = String(decoding: try #require(message.attachments.first).bytes, as: UTF8.self)
        #expect(text == String(repeating: "Rapport de garde\n", count: 4))
    }

    @Test func pastedHeadersAloneCanBeTriaged() throws {
        let message = try MailMessage.parse(try fixture("pasted-headers.txt"))

        #expect(message.from?.address == "remboursement@ameli.fr")
        let analysis = MailAnalysis(message, settings: valbrune)
        #expect(analysis.originIP == "192.0.2.77")
        #expect(analysis.reasons.contains { $0.code == "spoofed_own_domain" } == false)
        #expect(analysis.authentication.spf == "fail")
    }
}

@Suite struct OutlookMessageTests {
    @Test func readsPropertiesHeadersBodiesAndAttachments() throws {
        let message = try OutlookMessage.read(try fixture("phishing.msg"))

        #expect(message.subject == "Votre boîte aux lettres est pleine - action requise")
        #expect(message.from?.address == "support@chu-va1brune.fr")
        #expect(
            message.textBodies == [
                "Vérifiez votre mot de passe immédiatement : https://webmail.chu-va1brune.fr/login\n"
            ])
        #expect(message.htmlBodies.first?.contains("webmail.chu-valbrune.fr") == true)
        #expect(message.attachments.map(\.filename) == ["Facture.docm", "notes.txt"])
        // notes.txt is 5,000 bytes: a regular-sector stream, not a mini-stream one.
        #expect(message.attachments[1].bytes == Array(repeating: UInt8(ascii: "x"), count: 5_000))
    }

    @Test func draftWithoutTransportHeadersGetsHeadersFromProperties() throws {
        let message = try OutlookMessage.read(try fixture("draft.msg"))

        #expect(message.subject == "Brouillon sans en-têtes")
        #expect(message.from?.name == "Claire Martin")
        #expect(message.defects.contains { $0.contains("no transport headers") })
    }

    @Test func embeddedMessageIsAnOriginal() throws {
        let report = ReportedMail(try ReportedMail.read(try fixture("report-with-embedded.msg")))

        #expect(!report.inline)
        #expect(report.originals.first?.subject == "Votre boîte aux lettres est pleine - action requise")
    }

    @Test func malformedCompoundFilesGetClearErrors() throws {
        var bytes = try fixture("phishing.msg")

        #expect(throws: MailParseError.self) { try OutlookMessage.read(Array(bytes.prefix(300))) }
        #expect(throws: MailParseError.self) { try OutlookMessage.read(Array(repeating: 0, count: 2_048)) }
        // The directory's first sector pointing outside the file.
        bytes.replaceSubrange(0x30..<0x34, with: [0x00, 0x00, 0x01, 0x00])
        #expect(throws: MailParseError.self) { try OutlookMessage.read(bytes) }
        // A FAT whose chain loops on itself.
        var looping = try fixture("draft.msg")
        let fatSector = 512
        for index in stride(from: fatSector, to: fatSector + 512, by: 4) {
            let sector = UInt32((index - fatSector) / 4)
            let value = sector == 0 ? 0xFFFF_FFFD : sector
            looping.replaceSubrange(index..<(index + 4), with: withUnsafeBytes(of: value.littleEndian, Array.init))
        }
        #expect(throws: MailParseError.self) { try OutlookMessage.read(looping) }
    }
}
