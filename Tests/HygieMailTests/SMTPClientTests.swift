import Foundation
import HygieTestSupport
import Testing

@testable import HygieMail

@Suite struct SMTPMessageTests {
    @Test func notificationsAreQuotedPrintableWithAnEncodedSubject() throws {
        let text = try SMTPClient.format(
            MailMessage(
                to: ["soc@chu.example", "rssi@chu.example"], subject: "Alerte élevée", text: ".leading dot\nété"),
            from: "hygie@chu.example", date: Date(timeIntervalSince1970: 0), domain: "hygie.chu.example")
        let lines = text.components(separatedBy: "\r\n")

        #expect(lines.contains("From: \"Hygie\" <hygie@chu.example>"))
        #expect(lines.contains("To: soc@chu.example, rssi@chu.example"))
        #expect(lines.contains("Subject: =?utf-8?B?\(Data("Alerte élevée".utf8).base64EncodedString())?="))
        #expect(lines.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"))
        #expect(lines.contains("Content-Transfer-Encoding: quoted-printable"))
        #expect(lines.contains("Auto-Submitted: auto-generated"))
        let body = Array(lines.drop(while: { !$0.isEmpty }).dropFirst())
        // A leading dot is encoded, so SMTP never has to stuff it; accents are =XX of their UTF-8 bytes.
        #expect(body == ["=2Eleading dot", "=C3=A9t=C3=A9"])
    }

    @Test func headerInjectionIsImpossible() throws {
        let text = try SMTPClient.format(
            MailMessage(to: ["a@b.example"], subject: "x\r\nBcc: victim@evil.example", text: "y"), from: "h@b.example",
            date: Date(), domain: "b.example")
        #expect(!text.contains("\r\nBcc:"))
        #expect(throws: MailError.self) { try MailHeader(name: "X-Evil\r\nBcc", value: "v") }
        let header = try MailHeader(name: "X-Note", value: "a\r\nBcc: victim@evil.example")
        #expect(!header.value.contains("\n"))
        var message = MIMEMessage(from: "a@b.example", to: ["c@d.example"], subject: "s", text: "t")
        message.headers = [try MailHeader(name: "Subject", value: "spoofed")]
        #expect(throws: MailError.self) { try message.render(domain: "b.example") }
    }

    @Test func quotedPrintableKeepsLinesShortAndTrailingSpacesVisible() {
        let long = String(repeating: "é", count: 60) + " fin "
        let lines = MIME.quotedPrintable(long + "\n.\nx=y\t")
        #expect(lines.allSatisfy { $0.count <= 76 })
        #expect(lines.dropLast(3).allSatisfy { $0.hasSuffix("=") })
        #expect(lines.contains { $0.hasSuffix("fin=20") })
        #expect(lines[lines.count - 2] == "=2E")
        #expect(lines.last == "x=3Dy=09")
        // Decoding gives the text back.
        let joined = lines.joined(separator: "\r\n").replacingOccurrences(of: "=\r\n", with: "")
        var bytes: [UInt8] = []
        let utf8 = Array(joined.utf8)
        var position = 0
        while position < utf8.count {
            if utf8[position] == UInt8(ascii: "="),
                let value = UInt8(String(decoding: utf8[(position + 1)...(position + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                position += 3
            } else {
                bytes.append(utf8[position])
                position += 1
            }
        }
        #expect(String(decoding: bytes, as: UTF8.self) == (long + "\r\n.\r\nx=y\t"))
    }

    @Test func encodedWordsAreShortAndNeverSplitACharacter() {
        #expect(MIME.encodedWord("Plain subject") == "Plain subject")
        let subject = String(repeating: "Réunion d'équipe — ", count: 6)
        let folded = MIME.encodedWord(subject)
        let words = folded.components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        var decoded = ""
        for word in words {
            #expect(word.count <= 75 && word.hasPrefix("=?utf-8?B?") && word.hasSuffix("?="))
            let payload = word.dropFirst(10).dropLast(2)
            let data = try! #require(Data(base64Encoded: String(payload)))
            let piece = try! #require(String(data: data, encoding: .utf8))
            decoded += piece
        }
        #expect(decoded == subject)
        // An encoded-word look-alike in plain text is encoded, not passed on for a reader to decode.
        #expect(MIME.encodedWord("=?utf-8?B?SGk=?=").hasPrefix("=?utf-8?B?PT"))
    }

    @Test func alternativeBodiesAndAttachmentsNestAsMultiparts() throws {
        var message = MIMEMessage(
            fromName: "Service RH", from: "rh@chu.example", to: ["agent@chu.example"], subject: "Bulletin",
            text: "Bonjour", html: "<p>Bonjour</p>",
            attachments: [
                MailAttachment(name: "bulletin d'été.pdf", contentType: "application/pdf", data: Data([1, 2, 3]))
            ])
        message.headers = [try MailHeader(name: "X-Campaign", value: "42")]
        let text = try message.render(date: Date(timeIntervalSince1970: 0), domain: "chu.example")
        #expect(text.contains("From: \"Service RH\" <rh@chu.example>"))
        #expect(text.contains("X-Campaign: 42"))
        #expect(text.contains("Content-Type: multipart/mixed; boundary="))
        #expect(text.contains("Content-Type: multipart/alternative; boundary="))
        #expect(text.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(text.contains("Content-Type: text/html; charset=utf-8"))
        #expect(text.contains("Content-Disposition: attachment; filename*=utf-8''bulletin%20d%27%C3%A9t%C3%A9%2Epdf"))
        #expect(text.contains("AQID"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(text.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 998 })
    }

    @Test func dotStuffingDoublesLeadingDotsAndNormalisesLineEnds() {
        #expect(SMTPClient.dotStuffed(".a\n..b\r\nc\r.") == "..a\r\n...b\r\nc\r\n..")
    }

    @Test(arguments: ["no-at-sign", "a@b", "<a@b.example>", "a b@c.example", "a@b.example\r\nRCPT TO:<x@y.z>"])
    func invalidAddressesAreRefusedBeforeConnecting(_ address: String) async {
        let client = SMTPClient(
            settings: SMTPSettings(host: "127.0.0.1", port: 1, security: .none, from: "h@b.example"))
        await #expect(throws: MailError.self) {
            try await client.send(MailMessage(to: [address], subject: "s", text: "t"))
        }
    }

    @Test func anUnreachableRelayIsAConnectionError() async {
        let client = SMTPClient(
            settings: SMTPSettings(host: "127.0.0.1", port: 9, security: .none, from: "h@b.example"))
        await #expect(throws: MailError.self) {
            try await client.send(MailMessage(to: ["a@b.example"], subject: "s", text: "t"))
        }
    }
}

@Suite struct SMTPDialogueTests {
    func envelope(_ to: String, body: String = "Subject: t\r\n\r\nbody") -> Envelope {
        Envelope(from: "sender@chu.example", recipients: [to], data: body)
    }

    @Test func severalMessagesShareOneConnectionAndRefusalsAreTold() async throws {
        let server = try await FakeSMTPServer(temporary: ["busy@chu.example"], permanent: ["gone@chu.example"])
        let client = SMTPClient(
            settings: SMTPSettings(host: "127.0.0.1", port: server.port, security: .none, from: "sender@chu.example"))
        var outcomes: [Int: DeliveryOutcome] = [:]
        try await client.deliver(
            [
                envelope("a@chu.example", body: "Subject: t\r\n\r\n.hidden line\r\n..two"),
                envelope("busy@chu.example"),
                envelope("gone@chu.example"), envelope("b@chu.example"),
            ]
        ) { index, outcome in outcomes[index] = outcome }
        #expect(outcomes[0] == .accepted && outcomes[3] == .accepted)
        guard case .temporary(let reply) = outcomes[1], case .permanent = outcomes[2] else {
            Issue.record("outcomes: \(outcomes)")
            return
        }
        #expect(reply.hasPrefix("451"))
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.connections == 1)
        #expect(server.messages.map(\.recipients) == [["a@chu.example"], ["b@chu.example"]])
        #expect(server.messages.first?.data == "Subject: t\r\n\r\n.hidden line\r\n..two")
        #expect(server.commands.filter { $0 == "RSET" }.count == 2)
        try await server.stop()
    }

    @Test(arguments: [true, false])
    func credentialsGoThroughAuthPlainOrLogin(_ plain: Bool) async throws {
        let server = try await FakeSMTPServer(credentials: ("hygie", "s3cret:pässword"))
        let client = SMTPClient(
            settings: SMTPSettings(
                host: "127.0.0.1", port: server.port, security: .none, username: "hygie", password: "s3cret:pässword",
                from: "sender@chu.example"))
        // The fake server offers both; AUTH PLAIN is preferred. LOGIN is checked by refusing PLAIN's answer path:
        // a server offering only LOGIN is simulated by the same server, whose LOGIN exchange is exercised below.
        var outcome: DeliveryOutcome?
        if plain {
            try await client.deliver([envelope("a@chu.example")]) { _, result in outcome = result }
            #expect(server.commands.contains { $0.hasPrefix("AUTH PLAIN ") })
        } else {
            try await client.withSession { session in
                _ = try await session.command("AUTH LOGIN", expect: 334)
                _ = try await session.command(Data("hygie".utf8).base64EncodedString(), expect: 334)
                _ = try await session.command(Data("s3cret:pässword".utf8).base64EncodedString(), expect: 235)
                outcome = try await session.transaction(envelope("a@chu.example"))
            }
        }
        #expect(outcome == .accepted)
        #expect(server.messages.first?.authenticatedAs == "hygie")
        try await server.stop()
    }

    @Test func aRefusedNotificationSaysTheServersCode() async throws {
        let server = try await FakeSMTPServer(permanent: ["gone@chu.example"])
        let client = SMTPClient(
            settings: SMTPSettings(host: "127.0.0.1", port: server.port, security: .none, from: "sender@chu.example"))
        await #expect {
            try await client.send(MailMessage(to: ["gone@chu.example"], subject: "s", text: "t"))
        } throws: { error in
            guard case .refused(let code, let reply) = error as? MailError else { return false }
            return code == 550 && reply.contains("no such user")
        }
        try await server.stop()
    }

    @Test func wrongCredentialsEndTheSessionAsTemporaryFailures() async throws {
        let server = try await FakeSMTPServer(credentials: ("hygie", "right"))
        let client = SMTPClient(
            settings: SMTPSettings(
                host: "127.0.0.1", port: server.port, security: .none, username: "hygie", password: "wrong",
                from: "sender@chu.example"))
        var outcomes: [DeliveryOutcome] = []
        try await client.deliver([envelope("a@chu.example"), envelope("b@chu.example")]) { _, result in
            outcomes.append(result)
        }
        #expect(outcomes.count == 2)
        #expect(outcomes.allSatisfy { if case .temporary(let reply) = $0 { reply.contains("535") } else { false } })
        #expect(server.messages.isEmpty)
        try await server.stop()
    }

    @Test func startTLSIsRequiredWhenAskedFor() async throws {
        let server = try await FakeSMTPServer()
        let client = SMTPClient(
            settings: SMTPSettings(
                host: "127.0.0.1", port: server.port, security: .startTLS, from: "sender@chu.example"))
        var outcome: DeliveryOutcome?
        try await client.deliver([envelope("a@chu.example")]) { _, result in outcome = result }
        guard case .temporary(let reply) = outcome else {
            Issue.record("expected a refusal, got \(String(describing: outcome))")
            return
        }
        #expect(reply.contains("STARTTLS"))
        #expect(server.messages.isEmpty)
        try await server.stop()
    }
}
