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
    /// Accept any certificate (GoPhish's `ignore_cert_errors`, for test relays with self-signed certificates).
    public var ignoreCertificateErrors: Bool

    public init(
        host: String, port: Int, security: Security = .startTLS, username: String? = nil, password: String? = nil,
        from: String, heloName: String = "hygie.localdomain", trustRootsPath: String? = nil,
        ignoreCertificateErrors: Bool = false
    ) {
        self.ignoreCertificateErrors = ignoreCertificateErrors
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

/// One message for ``SMTPClient/deliver(_:report:)``: envelope sender, recipients and the rendered message.
public struct Envelope: Sendable, Hashable {
    public var from: String
    public var recipients: [String]
    /// The message (CRLF line ends), as ``MIMEMessage/render(date:domain:)`` writes it.
    public var data: String

    public init(from: String, recipients: [String], data: String) {
        self.from = from
        self.recipients = recipients
        self.data = data
    }
}

/// What became of one envelope.
public enum DeliveryOutcome: Sendable, Hashable {
    case accepted
    /// A 4xx reply or a lost connection: worth trying again later.
    case temporary(String)
    /// A 5xx reply: the relay will not take it.
    case permanent(String)
}

/// Sends mail through a relay: `EHLO`, optional `STARTTLS` (then `EHLO` again) or implicit TLS, `AUTH PLAIN` or
/// `AUTH LOGIN` when credentials are set, then for each message `MAIL FROM`, a `RCPT TO` per recipient and `DATA`
/// with dot-stuffing (RFC 5321), all on one connection.
public struct SMTPClient: Sendable {
    public let settings: SMTPSettings

    public init(settings: SMTPSettings) { self.settings = settings }

    /// Sends one notification. - Throws: ``MailError``.
    public func send(_ message: MailMessage, date: Date = Date()) async throws {
        let data = try Self.format(message, from: settings.from, date: date, domain: settings.heloName)
        var outcome = DeliveryOutcome.temporary("not sent")
        let recipients = message.to
        try await deliver([Envelope(from: settings.from, recipients: recipients, data: data)]) { _, result in
            outcome = result
        }
        switch outcome {
        case .accepted: return
        case .temporary(let reply), .permanent(let reply):
            // A refusal reads "451 text"; anything else is a connection problem already described.
            guard let code = Int(reply.prefix(3)), reply.count > 3 else { throw MailError.connection(reply) }
            throw MailError.refused(code: code, reply: String(reply.dropFirst(4)))
        }
    }

    /// Sends `envelopes` on one connection, calling `report` once for each (in order). A refused message does
    /// not stop the others (`RSET` and go on); a lost connection reports the rest as temporary failures.
    /// - Throws: ``MailError`` only for an invalid address, before connecting.
    public func deliver(
        _ envelopes: [Envelope], report: (Int, DeliveryOutcome) async -> Void
    ) async throws {
        for envelope in envelopes {
            for address in envelope.recipients + [envelope.from] where !Self.isAddress(address) {
                throw MailError.invalid("not an e-mail address: \(address)")
            }
            guard !envelope.recipients.isEmpty else { throw MailError.invalid("no recipient") }
        }
        guard !envelopes.isEmpty else { return }
        var next = 0
        do {
            try await withSession { session in
                for (index, envelope) in envelopes.enumerated() {
                    let outcome = try await session.transaction(envelope)
                    next = index + 1
                    await report(index, outcome)
                    if outcome != .accepted { _ = try await session.command("RSET", expect: 250) }
                }
            }
        } catch {
            let reason = (error as? MailError)?.description ?? "\(error)"
            for index in next..<envelopes.count { await report(index, .temporary(reason)) }
        }
    }

    /// Opens a connection, greets, secures and authenticates, runs `body`, says `QUIT`.
    func withSession(_ body: (inout Session) async throws -> Void) async throws {
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
                // SPEC: RFC 3207 4.2: the client forgets what it knew and says EHLO again.
                capabilities = try await session.command("EHLO \(settings.heloName)", expect: 250)
            }
            if let username = settings.username, let password = settings.password {
                let auth = capabilities.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased() ?? ""
                if auth.contains("PLAIN") {
                    let token = Data("\u{0}\(username)\u{0}\(password)".utf8).base64EncodedString()
                    _ = try await session.command("AUTH PLAIN \(token)", expect: 235)
                } else if auth.contains("LOGIN") {
                    _ = try await session.command("AUTH LOGIN", expect: 334)
                    _ = try await session.command(Data(username.utf8).base64EncodedString(), expect: 334)
                    _ = try await session.command(Data(password.utf8).base64EncodedString(), expect: 235)
                } else {
                    throw MailError.connection("the relay offers neither AUTH PLAIN nor AUTH LOGIN")
                }
            }
            try await body(&session)
            _ = try? await session.command("QUIT", expect: 221)  // try?: every message is answered already.
        }
    }

    func makeTLSContext() throws -> NIOSSLContext? {
        guard settings.security != .none else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let path = settings.trustRootsPath {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
        }
        if settings.ignoreCertificateErrors { configuration.certificateVerification = .none }
        return try NIOSSLContext(configuration: configuration)
    }

    static func sniName(_ host: String) -> String? {
        // SNI carries names, never addresses (RFC 6066 section 3).
        host.contains(where: \.isLetter) && !host.contains(":") ? host : nil
    }

    public static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && text.utf8.count <= 254
            && !text.contains(where: { $0 == "<" || $0 == ">" || $0 == "\r" || $0 == "\n" || $0 == " " })
    }

    /// A notification in RFC 5322 form, from Hygie, plain text.
    static func format(_ message: MailMessage, from: String, date: Date, domain: String) throws(MailError) -> String {
        var mime = MIMEMessage(
            fromName: "Hygie", from: from, to: message.to, subject: message.subject, text: message.text)
        mime.headers = [try MailHeader(name: "Auto-Submitted", value: "auto-generated")]
        return try mime.render(date: date, domain: domain)
    }

    /// RFC 5321 4.5.2: a line starting with "." gets one more; bare CR or LF become CRLF.
    static func dotStuffed(_ data: String) -> String {
        let lines = data.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
        return lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
    }

    /// One SMTP conversation: commands out, multi-line replies in.
    struct Session {
        var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        var pending: [UInt8] = []

        mutating func write(_ text: String) async throws {
            try await outbound.write(ByteBuffer(string: text))
        }

        /// One message: 4xx and 5xx replies become outcomes, a broken connection throws.
        mutating func transaction(_ envelope: Envelope) async throws -> DeliveryOutcome {
            do {
                _ = try await command("MAIL FROM:<\(envelope.from)>", expect: 250)
                var accepted = 0
                var refusal: MailError?
                for recipient in envelope.recipients {
                    do {
                        _ = try await command("RCPT TO:<\(recipient)>", expect: 250)
                        accepted += 1
                    } catch let error as MailError {
                        guard case .refused = error else { throw error }
                        refusal = error
                    }
                }
                if accepted == 0, let refusal { throw refusal }
                _ = try await command("DATA", expect: 354)
                try await write(SMTPClient.dotStuffed(envelope.data) + "\r\n.\r\n")
                try await expect(250)
                return .accepted
            } catch MailError.refused(let code, let reply) {
                let text = "\(code) \(reply)"
                return (400..<500).contains(code) ? .temporary(text) : .permanent(text)
            }
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
