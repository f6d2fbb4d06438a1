import Foundation
import MailTriage
import Testing

@Suite struct MIMEParserTests {
    @Test func refusesWhatIsNotAMessage() {
        #expect(throws: MailParseError.self) { try MailMessage.parse([]) }
        #expect(throws: MailParseError.self) { try MailMessage.parse(Array("just some text\nwith lines\n".utf8)) }
        #expect(throws: MailParseError.self) { try MailMessage.parse((0..<4_096).map { UInt8($0 % 251) }) }
    }

    @Test func refusesMessagesOverTheSizeLimit() {
        let big = Array("Subject: x\r\n\r\n".utf8) + Array(repeating: UInt8(ascii: "a"), count: 2_000)

        #expect(throws: MailParseError.self) { try MailMessage.parse(big, limits: MailLimits(maximumSize: 1_000)) }
    }

    @Test func multipartWithoutBoundaryIsReadAsText() throws {
        let message = try MailMessage.parse(Array("Subject: x\nContent-Type: multipart/mixed\n\nbody\n".utf8))

        #expect(message.textBodies == ["body\n"])
        #expect(message.defects.contains { $0.contains("without a boundary") })
    }

    @Test func boundaryPrefixOfAnotherIsNotConfused() throws {
        let text = """
            Subject: x
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: multipart/alternative; boundary="b-inner"

            --b-inner
            Content-Type: text/plain

            inner
            --b-inner--
            --b
            Content-Type: text/plain

            outer
            --b--
            """
        let message = try MailMessage.parse(Array(text.utf8))

        #expect(message.textBodies == ["inner", "outer"])
        #expect(message.defects.isEmpty)
    }

    @Test func encodedWordsFollowRFC2047() {
        #expect(EncodedWords.decode("=?utf-8?q?caf=C3=A9?= =?utf-8?q?_cr=C3=A8me?=") == "café crème")
        #expect(EncodedWords.decode("=?UTF-8?B?w6k=?= suite") == "é suite")
        #expect(EncodedWords.decode("pas =?encodé") == "pas =?encodé")
        #expect(EncodedWords.decode("=?iso-8859-1?Q?=E9t=E9?=") == "été")
        #expect(EncodedWords.decode("a =?bogus?X?zz?= b") == "a =?bogus?X?zz?= b")
    }

    @Test func transferEncodingsAreLenient() {
        #expect(TransferEncoding.base64(Array("aGVs\r\nbG8=".utf8)).bytes == Array("hello".utf8))
        #expect(TransferEncoding.base64(Array("aGVs*bG8".utf8)).defect != nil)
        #expect(TransferEncoding.quotedPrintable(Array("a=3Db=\r\nc=ZZ".utf8)) == Array("a=bc=ZZ".utf8))
    }

    @Test func parametersFollowRFC2231() {
        let value = ParameterizedValue(
            #"attachment; filename*0*=utf-8''R%C3%A9sultat; filename*1=" final.pdf"; size=12 (comment)"#)

        #expect(value.token == "attachment")
        #expect(value.parameters["filename"] == "Résultat final.pdf")
        #expect(value.parameters["size"] == "12")
    }

    @Test func addressesAreReadLeniently() {
        let list = MailAddress.list(
            #""Martin, Claire" <c.martin@chu-valbrune.fr>, rh@chu-valbrune.fr (RH), Group: a@b.fr;"#)

        #expect(list.map(\.address) == ["c.martin@chu-valbrune.fr", "rh@chu-valbrune.fr", "a@b.fr"])
        #expect(list[0].name == "Martin, Claire")
    }
}

@Suite struct HeaderAnalysisTests {
    @Test func authenticationResultsInBothForms() {
        let standard = AuthenticationResults(
            "mx.example.org 1; spf=pass (good) smtp.mailfrom=example.org; dkim=fail reason=\"bad; sig\" header.d=example.org; dmarc=none"
        )
        let microsoft = AuthenticationResults(
            "spf=softfail (sender IP is 192.0.2.1) smtp.mailfrom=x.example;dkim=none (message not signed) header.d=none;dmarc=fail action=oreject header.from=x.example;compauth=fail reason=601"
        )
        let arc = AuthenticationResults("i=1; mx.microsoft.com 1; spf=pass smtp.mailfrom=a.example")

        #expect(standard.authservID == "mx.example.org")
        #expect(standard.result("dkim")?.properties["reason"] == "bad; sig")
        #expect(standard.result("spf")?.properties["smtp.mailfrom"] == "example.org")
        #expect(standard.result("dmarc")?.result == "none")
        #expect(microsoft.authservID == nil)
        #expect(microsoft.results.map(\.method) == ["spf", "dkim", "dmarc", "compauth"])
        #expect(microsoft.result("dmarc")?.properties["action"] == "oreject")
        #expect(microsoft.result("compauth")?.properties["reason"] == "601")
        #expect(arc.authservID == "mx.microsoft.com")
        #expect(arc.result("spf")?.result == "pass")
        #expect(AuthenticationResults("garbage ;;; ===").results.isEmpty)
    }

    @Test func receivedHopsAndDates() throws {
        let hop = ReceivedHop(
            "from mail.example.org (mail.example.org [203.0.113.9]) by mx.chu-valbrune.fr (Postfix) with ESMTPS id 1; Mon, 16 Nov 2026 09:12:03 +0100 (CET)"
        )
        let ipv6 = ReceivedHop("from host (IPv6:2001:db8::5) by mx with SMTP; 16 Nov 2026 08:00:00 GMT")

        #expect(hop.from == "mail.example.org")
        #expect(hop.by == "mx.chu-valbrune.fr")
        #expect(hop.with == "ESMTPS")
        #expect(hop.ips == ["203.0.113.9"])
        #expect(hop.date == Date(timeIntervalSince1970: 1_794_816_723))
        #expect(ipv6.ips == ["2001:db8::5"])
        #expect(IPAddress.isPrivate("10.1.2.3") && IPAddress.isPrivate("172.20.0.1") && !IPAddress.isPrivate("8.8.8.8"))
        #expect(MailDate.parse("not a date") == nil)
    }
}

@Suite struct URLTests {
    @Test func defangedAndPlainURLs() {
        let found = URLExtractor.plain(
            "Voir hxxps://evil[.]example/a?b=1, ou www.exemple.fr. Fin (https://x.example/p).")

        #expect(found == ["https://evil.example/a?b=1", "http://www.exemple.fr", "https://x.example/p"])
        #expect(URLExtractor.defang("https://evil.example/x") == "hxxps://evil[.]example/x")
    }

    @Test func wrappersAndRedirectorsAreUnwrapped() {
        let links = URLExtractor.links(
            text: [
                "https://urldefense.proofpoint.com/v2/url?u=https-3A__phish.example_login&d=DwMF",
                "https://l.facebook.com/l.php?u=https%3A%2F%2Fphish.example%2Fb&h=AT0",
                "https://user:x@bank.example@203.0.113.5/",
            ], html: [])

        #expect(links[0].target == "https://phish.example/login" && links[0].flags.contains(.wrapped))
        #expect(links[1].target == "https://phish.example/b" && links[1].flags.contains(.redirector))
        #expect(links[2].flags.contains(.credentials) && links[2].flags.contains(.ipHost))
    }

    @Test func htmlLinksKeepTheirTextAndEntities() {
        let links = URLExtractor.links(
            text: [],
            html: [
                #"<a class=x href='https://a.example/?x=1&amp;y=2'>Site <b>officiel</b></a><A HREF=https://b.example>www.chu-valbrune.fr</A>"#
            ])

        #expect(links[0].url == "https://a.example/?x=1&y=2")
        #expect(links[0].text == "Site  officiel")
        #expect(!links[0].flags.contains(.textMismatch))
        #expect(links[1].flags.contains(.textMismatch))
    }
}

@Suite struct DomainTests {
    @Test func punycodeDecodes() {
        #expect(Punycode.decode("mnchen-3ya") == "münchen")
        #expect(Punycode.decode("bcher-kva") == "bücher")
        #expect(Punycode.displayHost("www.xn--chu-valbrne-1hb.fr") == "www.chu-valbrüne.fr")
        #expect(Punycode.decode("99999999999999999999") == nil)
        #expect(Punycode.decode("a-é") == nil)
    }

    @Test func lookalikesOfEveryKind() {
        let protected = ["chu-valbrune.fr", "ameli.fr"]
        func kind(_ domain: String) -> Lookalike.Kind? { Lookalike.check(domain, protected: protected)?.kind }

        #expect(kind("chu-valbrune.fr") == nil)
        #expect(kind("mail.chu-valbrune.fr") == nil)
        #expect(kind("chu-va1brune.fr") == .homoglyph)
        #expect(kind("chu-vaIbrune.fr") == .homoglyph)
        #expect(kind("xn--chu-valbrne-1hb.fr") == .homoglyph)
        #expect(kind("chu-valbrune.com") == .suffix)
        #expect(kind("chuvalbrune.fr") == .hyphenation)
        #expect(kind("chu-valbrnue.fr") == .typo)
        #expect(kind("chu-valbrune.fr.secure-login.example") == .embedded)
        #expect(kind("chu-valbrune-rh.fr") == .combination)
        #expect(kind("arneli.fr") == .homoglyph)
        #expect(kind("hopital-voisin.fr") == nil)
        #expect(kind("ght-valbrune.fr") == nil)
        #expect(kind("example.org") == nil)
    }

    @Test func registrableDomains() {
        #expect(DomainName.registrable("a.b.chu-valbrune.fr") == "chu-valbrune.fr")
        #expect(DomainName.registrable("ars.sante.gouv.fr") == "sante.gouv.fr")
        #expect(DomainName.distance("kitten", "sitting") == 3)
        #expect(DomainName.distance("abcd", "abdc") == 1)
    }
}

@Suite struct AttachmentTests {
    @Test func typesFromContentNotFromNames() {
        let pe = AttachmentReport(
            filename: "Facture.pdf.exe", declaredType: "application/pdf", bytes: [0x4D, 0x5A, 0, 0])
        let fakePDF = AttachmentReport(
            filename: "scan.pdf", declaredType: "application/pdf", bytes: [0x4D, 0x5A, 0, 0])
        let html = AttachmentReport(
            filename: "message.htm", declaredType: "text/html", bytes: Array("<html><form>".utf8))
        let iso = AttachmentReport(filename: "photos.iso", declaredType: "application/octet-stream", bytes: [1, 2, 3])

        #expect(pe.flags.isSuperset(of: [.executable, .doubleExtension]))
        #expect(fakePDF.detectedType == "pe" && fakePDF.flags.contains(.typeMismatch))
        #expect(html.flags.contains(.html))
        #expect(iso.flags.contains(.diskImage))
    }

    @Test func hashesAreTheStandardOnes() {
        let report = AttachmentReport(filename: "a.txt", declaredType: "text/plain", bytes: Array("abc".utf8))

        #expect(report.md5 == "900150983cd24fb0d6963f7d28e17f72")
        #expect(report.sha1 == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(report.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
