public import Foundation
import HygieIncidents
public import Logging
import NIOCore
import NIOPosix
import PrivacyCore
public import ServiceLifecycle

/// Where the HL7 v2 listener listens (`hygie.privacy.mllpListen`) and for which establishment
/// (`hygie.privacy.mllpEstablishment`, resolved to its id at start).
public struct MLLPSettings: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var establishment: UUID

    public init(host: String, port: Int, establishment: UUID) {
        self.host = host
        self.port = port
        self.establishment = establishment
    }
}

/// An MLLP receiver for the ADT feed of the hospital's interface engine: each framed message is applied to the
/// establishment's stays and answered with an ACK (AA applied, AE not applicable, AR unreadable). Framing
/// errors are logged and the bytes dropped; a connection silent for ten minutes is closed. It speaks plain
/// TCP, as interface engines do: run it on loopback or the internal integration network.
public struct MLLPListener: Service {
    let settings: MLLPSettings
    let service: PrivacyService
    let logger: Logger
    let onBound: @Sendable (Int) -> Void

    public init(
        settings: MLLPSettings, service: PrivacyService, logger: Logger,
        onBound: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.settings = settings
        self.service = service
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .minutes(10)))
                    try channel.pipeline.syncOperations.addHandler(CloseWhenIdle())
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? settings.port
        logger.notice("HL7 MLLP listener", metadata: ["port": "\(port)"])
        onBound(port)
        let service = self.service
        let establishment = settings.establishment
        let logger = self.logger
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask {
                            try? await connection.executeThenClose { inbound, outbound in
                                var framer = MLLPFramer()
                                for try await chunk in inbound {
                                    for output in framer.feed(chunk.readableBytesView) {
                                        switch output {
                                        case .message(let bytes):
                                            let ack = try await service.applyADT(
                                                String(decoding: bytes, as: UTF8.self), establishment: establishment)
                                            if ack.contains("MSA|AA") == false {
                                                logger.warning(
                                                    "HL7 message not applied",
                                                    metadata: [
                                                        "ack":
                                                            "\(ack.split(separator: "\r").dropFirst().joined(separator: " | "))"
                                                    ])
                                            }
                                            try await outbound.write(ByteBuffer(bytes: MLLPFramer.frame(ack)))
                                        case .error(let problem):
                                            logger.warning("MLLP framing error", metadata: ["problem": "\(problem)"])
                                        }
                                    }
                                }
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
