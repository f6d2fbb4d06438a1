import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An SMTP server on 127.0.0.1 for tests: EHLO with AUTH PLAIN and LOGIN, MAIL, RCPT (chosen recipients get a
/// 4xx or 5xx answer), DATA with dot-unstuffing, RSET, QUIT. Keeps every message and counts connections.
public final class FakeSMTPServer: Sendable {
    public struct Received: Sendable, Hashable {
        public var from: String
        public var recipients: [String]
        /// The message as the client meant it (dot-stuffing undone), CRLF line ends.
        public var data: String
        public var connection: Int
        public var authenticatedAs: String?
    }

    struct State {
        var messages: [Received] = []
        var connections = 0
        var commands: [String] = []
    }

    let state = NIOLockedValueBox(State())
    let channel: any Channel
    public let port: Int
    /// Recipients answered `451` (try later) or `550` (refused).
    let temporary: Set<String>
    let permanent: Set<String>
    let credentials: (String, String)?

    public init(temporary: Set<String> = [], permanent: Set<String> = [], credentials: (String, String)? = nil)
        async throws
    {
        self.temporary = temporary
        self.permanent = permanent
        self.credentials = credentials
        let box = state
        let temporary = temporary
        let permanent = permanent
        let credentials = credentials
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let number = box.withLockedValue { state -> Int in
                    state.connections += 1
                    return state.connections
                }
                return channel.pipeline.addHandler(
                    Handler(
                        number: number, box: box, temporary: temporary, permanent: permanent, credentials: credentials))
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    public var messages: [Received] { state.withLockedValue { $0.messages } }
    public var connections: Int { state.withLockedValue { $0.connections } }
    /// Every command line received (AUTH lines included), for checking the dialogue.
    public var commands: [String] { state.withLockedValue { $0.commands } }

    public func stop() async throws { try await channel.close() }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let number: Int
        let box: NIOLockedValueBox<State>
        let temporary: Set<String>
        let permanent: Set<String>
        let credentials: (String, String)?
        var buffer: [UInt8] = []
        var from = ""
        var recipients: [String] = []
        var inData = false
        var data: [String] = []
        var login: [String]?
        var user: String?

        init(
            number: Int, box: NIOLockedValueBox<State>, temporary: Set<String>, permanent: Set<String>,
            credentials: (String, String)?
        ) {
            self.number = number
            self.box = box
            self.temporary = temporary
            self.permanent = permanent
            self.credentials = credentials
        }

        func channelActive(context: ChannelHandlerContext) {
            send("220 fake.smtp.test ESMTP", context: context)
        }

        func send(_ line: String, context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: line + "\r\n")), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data bytes: NIOAny) {
            var incoming = unwrapInboundIn(bytes)
            buffer += incoming.readBytes(length: incoming.readableBytes) ?? []
            while let end = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<end])
                buffer.removeFirst(end + 1)
                if line.last == 0x0D { line.removeLast() }
                handle(String(decoding: line, as: UTF8.self), context: context)
            }
        }

        func decode(_ text: String) -> String {
            String(decoding: Data(base64Encoded: text) ?? Data(), as: UTF8.self)
        }

        func handle(_ line: String, context: ChannelHandlerContext) {
            if inData {
                if line == "." {
                    inData = false
                    let message = Received(
                        from: from, recipients: recipients, data: data.joined(separator: "\r\n"), connection: number,
                        authenticatedAs: user)
                    box.withLockedValue { $0.messages.append(message) }
                    data = []
                    send("250 2.0.0 queued", context: context)
                } else {
                    data.append(line.hasPrefix(".") ? String(line.dropFirst()) : line)
                }
                return
            }
            box.withLockedValue { $0.commands.append(line) }
            if var steps = login {
                steps.append(decode(line))
                login = steps
                if steps.count == 1 {
                    send("334 UGFzc3dvcmQ6", context: context)
                } else {
                    login = nil
                    authenticate(steps[0], steps[1], context: context)
                }
                return
            }
            let upper = line.uppercased()
            if upper.hasPrefix("EHLO") {
                send("250-fake.smtp.test", context: context)
                send("250-AUTH PLAIN LOGIN", context: context)
                send("250 8BITMIME", context: context)
            } else if upper.hasPrefix("AUTH PLAIN ") {
                let parts = decode(String(line.dropFirst(11))).split(
                    separator: "\u{0}", omittingEmptySubsequences: false)
                guard parts.count == 3 else { return send("501 5.5.2 bad AUTH PLAIN", context: context) }
                authenticate(String(parts[1]), String(parts[2]), context: context)
            } else if upper == "AUTH LOGIN" {
                login = []
                send("334 VXNlcm5hbWU6", context: context)
            } else if upper.hasPrefix("MAIL FROM:") {
                if credentials != nil && user == nil {
                    return send("530 5.7.0 authentication required", context: context)
                }
                from = Self.address(line)
                recipients = []
                send("250 2.1.0 ok", context: context)
            } else if upper.hasPrefix("RCPT TO:") {
                let address = Self.address(line)
                if temporary.contains(address) {
                    send("451 4.3.0 try again later", context: context)
                } else if permanent.contains(address) {
                    send("550 5.1.1 no such user", context: context)
                } else {
                    recipients.append(address)
                    send("250 2.1.5 ok", context: context)
                }
            } else if upper == "DATA" {
                guard !recipients.isEmpty else { return send("554 5.5.1 no valid recipients", context: context) }
                inData = true
                send("354 end with .", context: context)
            } else if upper == "RSET" {
                from = ""
                recipients = []
                send("250 2.0.0 reset", context: context)
            } else if upper == "QUIT" {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "221 2.0.0 bye\r\n"))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            } else {
                send("502 5.5.1 unknown command", context: context)
            }
        }

        func authenticate(_ name: String, _ password: String, context: ChannelHandlerContext) {
            if let credentials, credentials.0 == name, credentials.1 == password {
                user = name
                send("235 2.7.0 authenticated", context: context)
            } else {
                send("535 5.7.8 bad credentials", context: context)
            }
        }

        static func address(_ line: String) -> String {
            guard let open = line.firstIndex(of: "<"), let close = line.lastIndex(of: ">"), open < close else {
                return ""
            }
            return String(line[line.index(after: open)..<close])
        }
    }
}
