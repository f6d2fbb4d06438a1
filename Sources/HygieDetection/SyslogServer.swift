import Foundation
public import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
public import ServiceLifecycle

/// Where and how a syslog receiver listens (config keys `hygie.syslog.udp`, `hygie.syslog.tcp`, `hygie.syslog.tls`
/// as `host:port`, plus `hygie.syslog.tlsCertificate`, `tlsKey` and `tlsClientCA` for RFC 5425).
public struct SyslogSettings: Sendable, Hashable {
    public enum Transport: String, Sendable { case udp, tcp, tls }
    public var transport: Transport
    public var host: String
    public var port: Int
    public var certificatePath: String?
    public var keyPath: String?
    /// When set, clients must present a certificate signed by this CA (its name can identify the source).
    public var clientCAPath: String?
    /// Longest message accepted.
    public var maxMessageBytes: Int

    public init(
        transport: Transport, host: String, port: Int, certificatePath: String? = nil, keyPath: String? = nil,
        clientCAPath: String? = nil, maxMessageBytes: Int = 64 << 10
    ) {
        self.transport = transport
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.clientCAPath = clientCAPath
        self.maxMessageBytes = maxMessageBytes
    }

    /// Parses `host:port` or `[v6]:port`.
    public static func address(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65_535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

/// A syslog receiver (UDP per RFC 5426, TCP per RFC 6587 with octet counting or newline framing, TLS per
/// RFC 5425). Messages are appended to the spool before more is read: when the spool is full, TCP stops reading
/// (the sender's window closes) and UDP datagrams are counted as lost.
public final class SyslogServer: Service, Sendable {
    let settings: SyslogSettings
    let ingest: IngestService
    let logger: Logger
    let onBound: @Sendable (Int) -> Void

    public init(
        settings: SyslogSettings, ingest: IngestService, logger: Logger,
        onBound: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.settings = settings
        self.ingest = ingest
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let channel: any Channel
        let settings = self.settings
        let ingest = self.ingest
        let logger = self.logger
        switch settings.transport {
        case .udp:
            channel = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.socketOption(.so_rcvbuf), value: 8 << 20)
                .channelOption(.maxMessagesPerRead, value: 64)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(UDPSyslogHandler(ingest: ingest))
                    }
                }
                .bind(host: settings.host, port: settings.port).get()
        case .tcp, .tls:
            let tls: NIOSSLContext? = try Self.tlsContext(settings)
            let maxBytes = settings.maxMessageBytes
            let transport = settings.transport.rawValue
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.autoRead, value: false)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            TCPSyslogHandler(ingest: ingest, maxBytes: maxBytes, transport: transport, logger: logger))
                    }
                }
                .bind(host: settings.host, port: settings.port).get()
        }
        let port = channel.localAddress?.port ?? settings.port
        logger.notice(
            "syslog receiver listening", metadata: ["transport": "\(settings.transport.rawValue)", "port": "\(port)"])
        onBound(port)
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }

    static func tlsContext(_ settings: SyslogSettings) throws -> NIOSSLContext? {
        guard settings.transport == .tls else { return nil }
        guard let certificate = settings.certificatePath, let key = settings.keyPath else {
            throw DetectionError.badInput("syslog over TLS needs hygie.syslog.tlsCertificate and tlsKey")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        if let ca = settings.clientCAPath {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            configuration.certificateVerification = .noHostnameVerification
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Datagrams the kernel dropped on UDP sockets bound to `port` (`/proc/net/udp*`, column `drops`).
    public static func kernelDrops(port: Int) -> Int {
        var total = 0
        for file in ["/proc/net/udp", "/proc/net/udp6"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let columns = line.split(separator: " ")
                guard columns.count >= 13, let local = columns[1].split(separator: ":").last,
                    Int(local, radix: 16) == port, let drops = Int(columns[12])
                else { continue }
                total += drops
            }
        }
        return total
    }
}

/// One datagram, one message (RFC 5426 section 3.1). The datagrams of one read burst are appended together (one
/// spool write, one `fsync` under the `always` policy) when the burst ends.
final class UDPSyslogHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let ingest: IngestService
    var pending: [(entry: SourceDirectory.Entry, sender: String, message: [UInt8])] = []

    init(ingest: IngestService) { self.ingest = ingest }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let address = envelope.remoteAddress.ipAddress
        guard let entry = ingest.directory.source(address: address, certificate: nil) else {
            ingest.metrics.rejected("udp", reason: "unknown_sender")
            return
        }
        var buffer = envelope.data
        var bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0 { bytes.removeLast() }
        guard !bytes.isEmpty else {
            ingest.metrics.rejected("udp", reason: "empty")
            return
        }
        pending.append((entry, address ?? "", bytes))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        defer { pending.removeAll(keepingCapacity: true) }
        guard !pending.isEmpty else { return }
        do {
            try ingest.ingestSyslog(pending, transport: "udp")
        } catch {
            ingest.metrics.rejected("udp", reason: error.isFull ? "spool_full" : "spool_error", pending.count)
        }
    }
}

/// RFC 6587 framing: octet counting (`LEN SP MSG`) when a frame starts with a digit, otherwise a line ending in
/// LF (or NUL). Reads are requested only after the previous ones reached the spool.
final class TCPSyslogHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let ingest: IngestService
    let maxBytes: Int
    let transport: String
    let logger: Logger
    var buffer: [UInt8] = []
    var pending: [[UInt8]] = []
    var entry: SourceDirectory.Entry?
    var sender = ""
    var blocked = false
    var closed = false

    init(ingest: IngestService, maxBytes: Int, transport: String, logger: Logger) {
        self.ingest = ingest
        self.maxBytes = maxBytes
        self.transport = transport
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        sender = context.channel.remoteAddress?.ipAddress ?? ""
        if transport == "tcp" { identify(context, certificate: nil) }
        context.read()
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
            identify(context, certificate: handler?.peerCertificate.flatMap { Self.commonName($0) })
        }
        context.fireUserInboundEventTriggered(event)
    }

    func identify(_ context: ChannelHandlerContext, certificate: String?) {
        entry = ingest.directory.source(address: sender, certificate: certificate)
        if entry == nil {
            ingest.metrics.rejected(transport, reason: "unknown_sender")
            logger.notice(
                "syslog connection from an unknown sender closed", metadata: ["sender": "\(sender)"])
            closed = true
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        var incoming = unwrapInboundIn(data)
        buffer.append(contentsOf: incoming.readBytes(length: incoming.readableBytes) ?? [])
        do {
            try frame()
        } catch {
            ingest.metrics.rejected(transport, reason: "malformed")
            logger.info("syslog framing error; closing", metadata: ["sender": "\(sender)", "error": "\(error)"])
            closed = true
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context)
    }

    /// Appends pending messages; reads more only once they are in the spool.
    func flush(_ context: ChannelHandlerContext) {
        guard !closed else { return }
        if !pending.isEmpty, let entry {
            do {
                try ingest.ingestSyslog(pending.map { (entry, sender, $0) }, transport: transport)
                pending.removeAll(keepingCapacity: true)
                blocked = false
            } catch {
                if !blocked {
                    logger.warning("spool full: syslog reading paused", metadata: ["sender": "\(sender)"])
                }
                blocked = true
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(250)) {
                    let (handler, context) = loopBound.value
                    handler.flush(context)
                }
                return
            }
        }
        context.read()
    }

    func frame() throws {
        var start = 0
        defer { if start > 0 { buffer.removeFirst(start) } }
        while start < buffer.count {
            let first = buffer[start]
            if first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9") {
                // Octet counting: digits, a space, then exactly that many bytes.
                var cursor = start
                var length = 0
                while cursor < buffer.count, buffer[cursor] >= UInt8(ascii: "0"), buffer[cursor] <= UInt8(ascii: "9") {
                    length = length * 10 + Int(buffer[cursor] - UInt8(ascii: "0"))
                    guard length <= maxBytes else { throw DetectionError.badInput("frame longer than \(maxBytes)") }
                    cursor += 1
                }
                guard cursor < buffer.count else { return }
                guard buffer[cursor] == UInt8(ascii: " ") else {
                    throw DetectionError.badInput("octet count not followed by a space")
                }
                guard cursor + 1 + length <= buffer.count else { return }
                emit(buffer[(cursor + 1)..<(cursor + 1 + length)])
                start = cursor + 1 + length
            } else if first == 0x0A || first == 0x0D || first == 0x20 || first == 0 {
                start += 1
            } else {
                guard let end = buffer[start...].firstIndex(where: { $0 == 0x0A || $0 == 0 }) else {
                    guard buffer.count - start <= maxBytes else {
                        throw DetectionError.badInput("line longer than \(maxBytes)")
                    }
                    return
                }
                guard end - start <= maxBytes else { throw DetectionError.badInput("line longer than \(maxBytes)") }
                emit(buffer[start..<end])
                start = end + 1
            }
        }
    }

    func emit(_ bytes: ArraySlice<UInt8>) {
        var message = Array(bytes)
        while let last = message.last, last == 0x0D || last == 0x0A { message.removeLast() }
        if !message.isEmpty { pending.append(message) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // What the peer sent before closing is still ours to keep.
        if !pending.isEmpty, let entry {
            do {
                try ingest.ingestSyslog(pending.map { (entry, sender, $0) }, transport: transport)
            } catch {
                ingest.metrics.rejected(transport, reason: "spool_full", pending.count)
            }
            pending.removeAll()
        }
        if !buffer.isEmpty { ingest.metrics.rejected(transport, reason: "truncated") }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.info("syslog connection error", metadata: ["sender": "\(sender)", "error": "\(error)"])
        context.close(promise: nil)
    }

    /// The subject common name of a certificate: the last `2.5.4.3` attribute in its DER (the subject follows the
    /// issuer in a TBSCertificate).
    static func commonName(_ certificate: NIOSSLCertificate) -> String? {
        guard let der = try? certificate.toDERBytes() else { return nil }
        let oid: [UInt8] = [0x06, 0x03, 0x55, 0x04, 0x03]
        var found: String?
        var index = 0
        while index + oid.count + 2 < der.count {
            if Array(der[index..<(index + oid.count)]) == oid {
                let lengthIndex = index + oid.count + 1
                let length = Int(der[lengthIndex])
                if length < 0x80, lengthIndex + 1 + length <= der.count {
                    found = String(decoding: der[(lengthIndex + 1)..<(lengthIndex + 1 + length)], as: UTF8.self)
                }
            }
            index += 1
        }
        return found
    }
}
