import Foundation
import HygieCore
import HygieStorage
public import Logging
import MailTriage
public import NIOCore
import NIOPosix
import SQLKit
public import ServiceLifecycle

/// Where the report receiver listens (`hygie.incidents.smtpListen`, e.g. `127.0.0.1:2525`).
public struct ReportListenerSettings: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Name in the greeting and in `EHLO` answers.
    public var hostname: String

    public init(host: String, port: Int, hostname: String = "hygie") {
        self.host = host
        self.port = port
        self.hostname = hostname
    }
}

/// An SMTP receiver for the report addresses (`signalement@…`): the hospital's mail server forwards to it what
/// staff send there, by hand (forward as attachment) or with a report button (Microsoft's report format).
/// It accepts only the configured report addresses, announces and enforces the size limit, answers a refused
/// report with the reason (the sender's server turns it into a bounce the reporter can read), and keeps no
/// connection idle for more than five minutes. It speaks plain SMTP: run it on loopback or an internal
/// network behind the mail relay, which does TLS and anti-spam.
public struct ReportMailListener: Service {
    let settings: ReportListenerSettings
    let service: ReportService
    let logger: Logger
    let onBound: @Sendable (Int) -> Void

    public init(
        settings: ReportListenerSettings, service: ReportService, logger: Logger,
        onBound: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.settings = settings
        self.service = service
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let service = self.service
        let settings = self.settings
        let logger = self.logger
        try await TCPListener.run(
            host: settings.host, port: settings.port, idle: .minutes(5), name: "report receiver", logger: logger,
            onBound: onBound
        ) { inbound, outbound in
            var session = SMTPSession(service: service, settings: settings, logger: logger)
            try await session.run(inbound, outbound)
        }
    }
}

/// A plain TCP server for line protocols (the SMTP report receiver, the HL7 MLLP listener): each connection runs
/// `session` in its own task, a connection silent for `idle` is closed, and graceful shutdown stops accepting.
public enum TCPListener {
    public static func run(
        host: String, port: Int, idle: TimeAmount, name: String, logger: Logger,
        onBound: @escaping @Sendable (Int) -> Void,
        session:
            @escaping @Sendable (
                NIOAsyncChannelInboundStream<ByteBuffer>, NIOAsyncChannelOutboundWriter<ByteBuffer>
            ) async throws -> Void
    ) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(CloseWhenIdle())
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let bound = server.channel.localAddress?.port ?? port
        logger.notice("\(name) listening", metadata: ["port": "\(bound)"])
        onBound(bound)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask {
                            try? await connection.executeThenClose { inbound, outbound in
                                try await session(inbound, outbound)
                            }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }
}

/// Closes a connection that stayed silent for the idle timeout.
final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// One SMTP conversation (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
struct SMTPSession {
    let service: ReportService
    let settings: ReportListenerSettings
    let logger: Logger
    var buffer: [UInt8] = []
    var sender = ""
    var recipients: [(String, Establishment.ID)] = []
    var greeted = false

    init(service: ReportService, settings: ReportListenerSettings, logger: Logger) {
        self.service = service
        self.settings = settings
        self.logger = logger
    }

    var limit: Int { service.maximumMessageBytes }

    mutating func run(
        _ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws {
        func reply(_ text: String) async throws { try await outbound.write(ByteBuffer(string: text + "\r\n")) }
        try await reply("220 \(settings.hostname) Hygie report receiver ESMTP")
        var iterator = inbound.makeAsyncIterator()
        var data: [UInt8]?
        var oversized = false
        var cursor = 0
        while true {
            // Next complete line (commands, or message lines in DATA); consumed bytes are dropped per chunk.
            guard let newline = buffer[cursor...].firstIndex(of: 0x0A) else {
                buffer.removeFirst(cursor)
                cursor = 0
                guard let chunk = try await iterator.next() else { return }
                buffer += chunk.readableBytesView
                if buffer.count > (data == nil ? 4_096 : 1 << 20), !buffer.contains(0x0A) {
                    try await reply("500 5.5.2 line too long")
                    return
                }
                continue
            }
            var line = Array(buffer[cursor..<newline])
            cursor = newline + 1
            if line.last == 0x0D { line.removeLast() }
            if var message = data {
                if line == [0x2E] {
                    data = nil
                    if oversized {
                        oversized = false
                        try await reply("552 5.3.4 the message is larger than \(limit >> 20) MiB")
                    } else {
                        try await reply(await deliver(message))
                    }
                    reset()
                    continue
                }
                if line.first == 0x2E { line.removeFirst() }
                if message.count + line.count + 2 > limit {
                    oversized = true
                    data = []
                } else if !oversized {
                    message += line
                    message += [0x0D, 0x0A]
                    data = message
                }
                continue
            }
            let text = String(decoding: line, as: UTF8.self)
            let verb = text.split(separator: " ", maxSplits: 1).first.map { $0.uppercased() } ?? ""
            switch verb {
            case "EHLO":
                greeted = true
                reset()
                try await outbound.write(
                    ByteBuffer(
                        string: "250-\(settings.hostname)\r\n250-SIZE \(limit)\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
                            + "250 ENHANCEDSTATUSCODES\r\n"))
            case "HELO":
                greeted = true
                reset()
                try await reply("250 \(settings.hostname)")
            case "MAIL":
                guard greeted else {
                    try await reply("503 5.5.1 say EHLO first")
                    continue
                }
                guard let address = Self.path(text, after: "MAIL FROM:") else {
                    try await reply("501 5.5.4 syntax: MAIL FROM:<address>")
                    continue
                }
                if let size = Self.sizeParameter(text), size > limit {
                    try await reply("552 5.3.4 the message is larger than \(limit >> 20) MiB")
                    continue
                }
                reset()
                sender = address
                try await reply("250 2.1.0 ok")
            case "RCPT":
                guard let address = Self.path(text, after: "RCPT TO:"), !address.isEmpty else {
                    try await reply("501 5.5.4 syntax: RCPT TO:<address>")
                    continue
                }
                guard recipients.count < 20 else {
                    try await reply("452 4.5.3 too many recipients")
                    continue
                }
                do {
                    if let establishment = try await service.establishment(forReportAddress: address) {
                        recipients.append((address.lowercased(), establishment))
                        try await reply("250 2.1.5 ok")
                    } else {
                        try await reply("550 5.1.1 <\(address)>: not a report address")
                    }
                } catch {
                    try await reply("451 4.3.0 try again later")
                }
            case "DATA":
                guard !recipients.isEmpty else {
                    try await reply("503 5.5.1 no valid recipient")
                    continue
                }
                data = []
                try await reply("354 end the message with <CRLF>.<CRLF>")
            case "RSET":
                reset()
                try await reply("250 2.0.0 ok")
            case "NOOP":
                try await reply("250 2.0.0 ok")
            case "QUIT":
                try await reply("221 2.0.0 bye")
                return
            case "VRFY":
                try await reply("252 2.1.5 cannot verify")
            case "STARTTLS":
                try await reply("502 5.5.1 no TLS here: the hospital's mail relay delivers on a trusted network")
            default:
                try await reply("500 5.5.2 command not recognised")
            }
        }
    }

    mutating func reset() {
        sender = ""
        recipients = []
    }

    /// Submits the message to every establishment among the recipients; the reply tells the outcome.
    func deliver(_ message: [UInt8]) async -> String {
        let from = (try? ReportedMail.read(message).from) ?? nil
        let address = from?.address ?? sender
        var stored: [Int64] = []
        for establishment in Set(recipients.map(\.1.uuid)).map(Establishment.ID.init) {
            do {
                let reporter = try await service.reporter(address, name: from?.name ?? "", establishment: establishment)
                let scope = TenantScope(
                    establishmentID: establishment, role: .staff,
                    actor: Actor(
                        userID: reporter.userID,
                        displayName: reporter.email.isEmpty ? "report receiver" : reporter.email,
                        establishmentID: establishment, role: .staff, channel: "smtp", requestID: nil,
                        sourceAddress: nil))
                let reports = try await service.submit(
                    ReportSubmission(kind: .email, channel: .smtp, reporter: reporter, message: message), in: scope)
                stored += reports.map(\.id)
            } catch let error as IncidentsError {
                return "554 5.6.0 \(error.publicMessage)"
            } catch {
                logger.error("report not stored", metadata: ["error": "\(error)"])
                return "451 4.3.0 the report could not be stored; try again later"
            }
        }
        return "250 2.0.0 report \(stored.map(String.init).joined(separator: ",")) received"
    }

    /// `<address>` after a command prefix (case-insensitive); the empty path `<>` gives "".
    static func path(_ line: String, after prefix: String) -> String? {
        guard line.uppercased().hasPrefix(prefix) else { return nil }
        let rest = line.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
        guard rest.hasPrefix("<"), let close = rest.firstIndex(of: ">") else { return nil }
        return String(rest[rest.index(after: rest.startIndex)..<close])
    }

    static func sizeParameter(_ line: String) -> Int? {
        line.split(separator: " ").first { $0.uppercased().hasPrefix("SIZE=") }.flatMap { Int($0.dropFirst(5)) }
    }
}
