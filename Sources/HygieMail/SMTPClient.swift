public import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// How to reach the outgoing mail relay (config keys `hygie.smtp.*`).
public struct SMTPSettings: Sendable, Hashable {
    public enum Security: String, Sendable, Hashable {
        /// Plain SMTP (a relay on the local network or loopback).
        case none
        /// SMTP then `STARTTLS` (RFC 3207), required: the client refuses to go on in clear.
        case startTLS = "starttls"
        /// TLS from the first byte (RFC 8314, port 465).
        case tls
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// Envelope sender and `From:` address.
    public var from: String
    /// Name announced in `EHLO`.
    public var heloName: String
    /// PEM file of certificate authorities to trust instead of the system's (internal relays).
    public var trustRootsPath: String?

    public init(
        host: String, port: Int, security: Security = .startTLS, username: String? = nil, password: String? = nil,
        from: String, heloName: String = "hygie.localdomain", trustRootsPath: String? = nil
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.from = from
        self.heloName = heloName
        self.trustRootsPath = trustRootsPath
    }
}

/// A plain-text message.
public struct MailMessage: Sendable, Hashable {
    public var to: [String]
    public var subject: String
    public var text: String

    public init(to: [String], subject: String, text: String) {
        self.to = to
        self.subject = subject
        self.text = text
    }
}

/// Why a message was not sent.
public enum MailError: Error, Sendable, CustomStringConvertible {
    case connection(String)
    case refused(code: Int, reply: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .connection(let message): "cannot talk to the mail relay: \(message)"
        case .refused(let code, let reply): "the mail relay answered \(code): \(reply)"
        case .invalid(let message): message
        }
    }
}

/// Sends mail through a relay: `EHLO`, optional `STARTTLS` or implicit TLS, `AUTH PLAIN` or `AUTH LOGIN` when
/// credentials are set, one `MAIL FROM`, a `RCPT TO` per recipient, `DATA` with dot-stuffing (RFC 5321).
public struct SMTPClient: Sendable {
    public let settings: SMTPSettings

    public init(settings: SMTPSettings) { self.settings = settings }

    /// Sends `message`. - Throws: ``MailError``.
    public func send(_ message: MailMessage, date: Date = Date()) async throws {
        for address in message.to + [settings.from] where !Self.isAddress(address) {
            throw MailError.invalid("not an e-mail address: \(address)")
        }
        guard !message.to.isEmpty else { throw MailError.invalid("no recipient") }
        let data = Self.format(message, from: settings.from, date: date, domain: settings.heloName)
        let tls = try makeTLSContext()
        let settings = self.settings
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(15))
                .connect(host: settings.host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if settings.security == .tls, let tls {
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(settings.host)))
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MailError.connection("\(settings.host):\(settings.port): \(error)")
        }
        try await channel.executeThenClose { inbound, outbound in
            var session = Session(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            try await session.expect(220)
            var capabilities = try await session.command("EHLO \(settings.heloName)", expect: 250)
            if settings.security == .startTLS {
                guard capabilities.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }), let tls else {
                    throw MailError.connection("the relay does not offer STARTTLS")
                }
                _ = try await session.command("STARTTLS", expect: 220)
                let host = Self.sniName(settings.host)
                try await channel.channel.eventLoop.submit {
                    // The TLS handler goes in front of the async channel's handlers, on the channel's own loop.
                    try channel.channel.pipeline.syncOperations.addHandler(
                        try NIOSSLClientHandler(context: tls, serverHostname: host), position: .first)
                }.get()
                capabilities = try await session.command("EHLO \(settings.heloName)", expect: 250)
            }
            if let username = settings.username, let password = settings.password {
                let auth = capabilities.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased() ?? ""
                if auth.contains("PLAIN") {
                    let token = Data("\u{0}\(username)\u{0}\(password)".utf8).base64EncodedString()
                    _ = try await session.command("AUTH PLAIN \(token)", expect: 235)
                } else {
                    _ = try await session.command("AUTH LOGIN", expect: 334)
                    _ = try await session.command(Data(username.utf8).base64EncodedString(), expect: 334)
                    _ = try await session.command(Data(password.utf8).base64EncodedString(), expect: 235)
                }
            }
            _ = try await session.command("MAIL FROM:<\(settings.from)>", expect: 250)
            for recipient in message.to { _ = try await session.command("RCPT TO:<\(recipient)>", expect: 250) }
            _ = try await session.command("DATA", expect: 354)
            try await session.write(data + "\r\n.\r\n")
            try await session.expect(250)
            _ = try? await session.command("QUIT", expect: 221)  // try?: the message is accepted already.
        }
    }

    func makeTLSContext() throws -> NIOSSLContext? {
        guard settings.security != .none else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let path = settings.trustRootsPath {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
        }
        return try NIOSSLContext(configuration: configuration)
    }

    static func sniName(_ host: String) -> String? {
        // SNI carries names, never addresses (RFC 6066 section 3).
        host.contains(where: \.isLetter) && !host.contains(":") ? host : nil
    }

    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !text.contains(where: { $0 == "<" || $0 == ">" || $0 == "\r" || $0 == "\n" || $0 == " " })
    }

    /// The message in RFC 5322 form, UTF-8 body in base64, lines dot-stuffed for `DATA`.
    static func format(_ message: MailMessage, from: String, date: Date, domain: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let body = Data(message.text.utf8).base64EncodedString(options: [
            .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
        ])
        let headers = [
            "From: Hygie <\(from)>", "To: \(message.to.joined(separator: ", "))",
            "Subject: \(encodedWord(message.subject))", "Date: \(formatter.string(from: date))",
            "Message-ID: <\(UUID().uuidString.lowercased())@\(domain)>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64",
            "Auto-Submitted: auto-generated",
        ]
        let lines = (headers + [""] + body.components(separatedBy: "\r\n"))
        // SPEC: RFC 5321 4.5.2: a line starting with "." gets one more (base64 never does; headers might).
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n")
    }

    /// RFC 2047 encoded word when the subject is not plain ASCII.
    static func encodedWord(_ text: String) -> String {
        let clean = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.allSatisfy({ $0.isASCII }) { return clean }
        return "=?utf-8?B?\(Data(clean.utf8).base64EncodedString())?="
    }

    /// One SMTP conversation: commands out, multi-line replies in.
    struct Session {
        var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        var pending: [UInt8] = []

        mutating func write(_ text: String) async throws {
            try await outbound.write(ByteBuffer(string: text))
        }

        /// Sends a command and returns the text lines of the reply (capabilities after EHLO).
        mutating func command(_ line: String, expect code: Int) async throws -> [String] {
            try await write(line + "\r\n")
            return try await expect(code)
        }

        @discardableResult
        mutating func expect(_ code: Int) async throws -> [String] {
            var lines: [String] = []
            while true {
                let line = try await readLine()
                guard line.count >= 3, let value = Int(line.prefix(3)) else {
                    throw MailError.connection("unexpected reply: \(line.prefix(100))")
                }
                lines.append(String(line.dropFirst(4)))
                if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " {
                    guard value == code else {
                        throw MailError.refused(code: value, reply: lines.joined(separator: " "))
                    }
                    return lines
                }
            }
        }

        mutating func readLine() async throws -> String {
            while true {
                if let end = pending.firstIndex(of: 0x0A) {
                    var line = Array(pending[..<end])
                    pending.removeFirst(end + 1)
                    if line.last == 0x0D { line.removeLast() }
                    return String(decoding: line, as: UTF8.self)
                }
                guard pending.count < 65_536 else { throw MailError.connection("reply line too long") }
                guard var chunk = try await inbound.next() else { throw MailError.connection("connection closed") }
                pending += chunk.readBytes(length: chunk.readableBytes) ?? []
            }
        }
    }
}
