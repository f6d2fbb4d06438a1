public import Foundation
import HygieIncidents
public import Logging
import NIOCore
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
        let service = self.service
        let establishment = settings.establishment
        let logger = self.logger
        try await TCPListener.run(
            host: settings.host, port: settings.port, idle: .minutes(10), name: "HL7 MLLP listener", logger: logger,
            onBound: onBound
        ) { inbound, outbound in
            var framer = MLLPFramer()
            for try await chunk in inbound {
                for output in framer.feed(chunk.readableBytesView) {
                    switch output {
                    case .message(let bytes):
                        let ack = try await service.applyADT(
                            String(decoding: bytes, as: UTF8.self), establishment: establishment)
                        if !ack.contains("MSA|AA") {
                            let answer = ack.split(separator: "\r").dropFirst().joined(separator: " | ")
                            logger.warning("HL7 message not applied", metadata: ["ack": "\(answer)"])
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
