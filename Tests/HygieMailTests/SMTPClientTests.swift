import Foundation
import Testing

@testable import HygieMail

@Suite struct SMTPMessageTests {
    @Test func messagesAreMIMEWithEncodedSubjectAndBase64Body() throws {
        let text = SMTPClient.format(
            MailMessage(
                to: ["soc@chu.example", "rssi@chu.example"], subject: "Alerte élevée", text: ".leading dot\nété"),
            from: "hygie@chu.example", date: Date(timeIntervalSince1970: 0), domain: "hygie.chu.example")
        let lines = text.components(separatedBy: "\r\n")

        #expect(lines.contains("From: Hygie <hygie@chu.example>"))
        #expect(lines.contains("To: soc@chu.example, rssi@chu.example"))
        #expect(lines.contains("Subject: =?utf-8?B?\(Data("Alerte élevée".utf8).base64EncodedString())?="))
        #expect(lines.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"))
        let body = lines.drop(while: { !$0.isEmpty }).dropFirst().joined()
        #expect(String(decoding: Data(base64Encoded: body) ?? Data(), as: UTF8.self) == ".leading dot\nété")
        #expect(!text.contains("\r\n.\r\n"))
    }

    @Test func headerInjectionIsImpossible() throws {
        let text = SMTPClient.format(
            MailMessage(to: ["a@b.example"], subject: "x\r\nBcc: victim@evil.example", text: "y"), from: "h@b.example",
            date: Date(), domain: "b.example")

        #expect(!text.contains("\r\nBcc:"))
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
