import CZlib
public import Foundation
public import HygieCore
import HygieStorage
public import Logging
public import ServiceLifecycle
import Synchronization

/// A syslog sender pattern: an address, a CIDR network, or a TLS client-certificate name (`cn:NAME`).
struct SenderPattern: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case address([UInt8])
        case network([UInt8], prefix: Int)
        case certificate(String)
    }
    let kind: Kind

    init?(_ text: String) {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text.lowercased().hasPrefix("cn:") {
            let name = String(text.dropFirst(3))
            guard !name.isEmpty else { return nil }
            kind = .certificate(name.lowercased())
            return
        }
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let address = Self.bytes(String(parts[0])) else { return nil }
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), prefix >= 0, prefix <= address.count * 8 else { return nil }
            kind = .network(address, prefix: prefix)
        } else {
            kind = .address(address)
        }
    }

    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            // IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address.
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                return Array(bytes[12...])
            }
            return bytes
        }
        return nil
    }

    func matches(address: [UInt8]?, certificate: String?) -> Bool {
        switch kind {
        case .certificate(let name): return certificate?.lowercased() == name
        case .address(let bytes): return address == bytes
        case .network(let network, let prefix):
            guard let address, address.count == network.count else { return false }
            var remaining = prefix
            for index in 0..<network.count where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if address[index] & mask != network[index] & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    /// More specific patterns win: certificate, then address, then longer prefixes.
    var specificity: Int {
        switch kind {
        case .certificate: 1000
        case .address: 500
        case .network(_, let prefix): prefix
        }
    }
}

/// Which establishment and source an ingest token or a syslog sender belongs to. Refreshed from the database
/// every few seconds, so receivers never query it per event.
public final class SourceDirectory: Service, Sendable {
    struct Entry: Sendable {
        var establishmentID: UUID
        var sourceID: UUID
    }
    struct Snapshot: Sendable {
        var tokens: [String: Entry] = [:]
        var senders: [(SenderPattern, Entry)] = []
    }

    let service: DetectionService
    let logger: Logger
    private let snapshot = Mutex(Snapshot())

    public init(service: DetectionService, logger: Logger) {
        self.service = service
        self.logger = logger
    }

    /// Reloads sources now (after a change through this node, and at start-up).
    public func reload() async throws {
        var next = Snapshot()
        for (source, tokenHash) in try await service.allSources() {
            let entry = Entry(establishmentID: source.establishmentID.uuid, sourceID: source.id)
            if let tokenHash { next.tokens[tokenHash] = entry }
            if source.kind == .syslog, let sender = source.sender, let pattern = SenderPattern(sender) {
                next.senders.append((pattern, entry))
            }
        }
        next.senders.sort { $0.0.specificity > $1.0.specificity }
        snapshot.withLock { $0 = next }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await reload()
            } catch {
                logger.warning("cannot reload log sources", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(5))
        }
    }

    func source(token: String) -> Entry? {
        let hash = DetectionService.hashToken(token)
        return snapshot.withLock { $0.tokens[hash] }
    }

    func source(address: String?, certificate: String?) -> Entry? {
        let bytes = address.flatMap(SenderPattern.bytes)
        return snapshot.withLock { state in
            state.senders.first { $0.0.matches(address: bytes, certificate: certificate) }?.1
        }
    }
}

/// Accepts events from receivers: resolves the source, frames the payload into records and appends them to the
/// spool. Returning means the events are durable (per the spool's sync policy).
public struct IngestService: Sendable {
    public let spool: Spool
    public let directory: SourceDirectory
    public let metrics: DetectionMetrics
    let clock: any HygieClock
    /// Where IHE ATNA audit messages (syslog MSGID `IHE+RFC-3881`: EHR record accesses) go instead of the
    /// detection spool, with the source's establishment; `hygie serve` hands them to EHR access monitoring.
    let auditRecords: (@Sendable (UUID, [[UInt8]]) -> Void)?

    public init(
        spool: Spool, directory: SourceDirectory, metrics: DetectionMetrics, clock: any HygieClock,
        auditRecords: (@Sendable (UUID, [[UInt8]]) -> Void)? = nil
    ) {
        self.spool = spool
        self.directory = directory
        self.metrics = metrics
        self.clock = clock
        self.auditRecords = auditRecords
    }

    /// Whether a syslog message is an ATNA audit record (RFC 5424 MSGID `IHE+RFC-3881`).
    static func isAuditRecord(_ message: [UInt8]) -> Bool {
        let marker = Array("IHE+RFC-3881".utf8)
        let head = message.prefix(256)
        guard head.count >= marker.count else { return false }
        var index = head.startIndex
        while index + marker.count <= head.endIndex {
            if head[index] == marker[0], head[index..<index + marker.count].elementsEqual(marker) { return true }
            index += 1
        }
        return false
    }

    /// The source behind an ingest token.
    /// - Throws: ``DetectionError/invalidToken``.
    public func authenticate(token: String?) throws -> (establishment: UUID, source: UUID) {
        guard let token, let entry = directory.source(token: token) else {
            metrics.rejected("http", reason: "unauthenticated")
            throw DetectionError.invalidToken
        }
        return (entry.establishmentID, entry.sourceID)
    }

    /// Appends the events of an HTTP body: NDJSON (one object per line) or a JSON array of objects, optionally
    /// gzip-compressed. Returns the number of events accepted; refuses the whole body on any malformed event.
    public func ingestHTTP(
        body: [UInt8], gzip: Bool, establishment: UUID, source: UUID, maxBytes: Int
    ) throws -> Int {
        var bytes = body
        if gzip {
            do {
                bytes = try Self.gunzip(body, limit: maxBytes)
            } catch {
                metrics.rejected("http", reason: "malformed")
                throw error
            }
        }
        let documents: [ArraySlice<UInt8>]
        do {
            documents = try JSONFraming.split(bytes)
        } catch {
            metrics.rejected("http", reason: "malformed")
            throw error
        }
        let now = clock.milliseconds
        let records = documents.map {
            SpoolRecord(
                format: .json, establishmentID: establishment, sourceID: source, receivedAt: now, data: Array($0))
        }
        do {
            try spool.append(records)
        } catch {
            metrics.rejected("http", reason: error.isFull ? "spool_full" : "spool_error", records.count)
            throw error
        }
        metrics.received("http", records.count)
        return records.count
    }

    /// Appends framed syslog messages with their source and sender. Throws ``SpoolError/full(quotaBytes:)`` so
    /// the caller can stop reading and retry.
    func ingestSyslog(
        _ messages: [(entry: SourceDirectory.Entry, sender: String, message: [UInt8])], transport: String
    ) throws(SpoolError) {
        let now = clock.milliseconds
        var messages = messages
        if let auditRecords {
            var audit: [UUID: [[UInt8]]] = [:]
            messages.removeAll { item in
                guard Self.isAuditRecord(item.message) else { return false }
                audit[item.entry.establishmentID, default: []].append(item.message)
                return true
            }
            for (establishment, records) in audit { auditRecords(establishment, records) }
            metrics.received("atna", audit.values.reduce(0) { $0 + $1.count })
            if messages.isEmpty { return }
        }
        try spool.append(
            messages.map {
                SpoolRecord(
                    format: .syslog, establishmentID: $0.entry.establishmentID, sourceID: $0.entry.sourceID,
                    receivedAt: now, sender: $0.sender, data: $0.message)
            })
        metrics.received(transport, messages.count)
    }

    /// Inflates a gzip body with a size limit.
    static func gunzip(_ input: [UInt8], limit: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DetectionError.badInput("cannot inflate")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var input = input
        var status: Int32 = Z_OK
        try input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { target -> Int in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return target.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw DetectionError.badInput("the body is not valid gzip")
                }
                output.append(contentsOf: chunk[0..<produced])
                guard output.count <= limit else {
                    throw DetectionError.badInput("the body expands to more than \(limit) bytes")
                }
                if produced == 0 && stream.avail_in == 0 && status != Z_STREAM_END {
                    throw DetectionError.badInput("the gzip body is truncated")
                }
            } while status != Z_STREAM_END
        }
        return output
    }
}

extension Error {
    var isFull: Bool {
        if case .full = self as? SpoolError { return true }
        return false
    }
}

/// Splits an HTTP ingest body into JSON objects: NDJSON lines or the elements of a top-level array. Checks that
/// each element is one complete object (balanced, strings closed, valid UTF-8); the detection reader parses it.
enum JSONFraming {
    static func split(_ bytes: [UInt8]) throws -> [ArraySlice<UInt8>] {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw DetectionError.badInput("the body is not valid UTF-8")
        }
        var index = bytes.startIndex
        skipSpace(bytes, &index)
        guard index < bytes.endIndex else { throw DetectionError.badInput("the body holds no event") }
        var objects: [ArraySlice<UInt8>] = []
        if bytes[index] == UInt8(ascii: "[") {
            index += 1
            skipSpace(bytes, &index)
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "]") {
                throw DetectionError.badInput("the body holds no event")
            }
            while true {
                skipSpace(bytes, &index)
                objects.append(try object(bytes, &index, number: objects.count + 1))
                skipSpace(bytes, &index)
                guard index < bytes.endIndex else { throw DetectionError.badInput("the JSON array is not closed") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else {
                    throw DetectionError.badInput("expected , or ] after event \(objects.count)")
                }
                index += 1
                skipSpace(bytes, &index)
                guard index == bytes.endIndex else {
                    throw DetectionError.badInput("unexpected data after the JSON array")
                }
                return objects
            }
        }
        while index < bytes.endIndex {
            objects.append(try object(bytes, &index, number: objects.count + 1))
            // Only spaces may follow an object on its line.
            while index < bytes.endIndex,
                bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t")
                    || bytes[index] == UInt8(ascii: "\r")
            {
                index += 1
            }
            if index < bytes.endIndex {
                guard bytes[index] == UInt8(ascii: "\n") else {
                    throw DetectionError.badInput("line \(objects.count): unexpected data after the JSON object")
                }
            }
            skipSpace(bytes, &index)
        }
        return objects
    }

    static func skipSpace(_ bytes: [UInt8], _ index: inout Int) {
        while index < bytes.endIndex, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    /// One balanced `{…}` starting at `index`.
    static func object(_ bytes: [UInt8], _ index: inout Int, number: Int) throws -> ArraySlice<UInt8> {
        guard index < bytes.endIndex, bytes[index] == UInt8(ascii: "{") else {
            throw DetectionError.badInput("event \(number) is not a JSON object")
        }
        let start = index
        var depth = 0
        var inString = false
        while index < bytes.endIndex {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                } else if byte < 0x20 {
                    throw DetectionError.badInput("event \(number): control character in a string")
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                depth += 1
                if depth > 64 { throw DetectionError.badInput("event \(number): nested too deeply") }
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 {
                    index += 1
                    guard index - start <= Spool.maxRecordBytes else {
                        throw DetectionError.badInput("event \(number) is larger than \(Spool.maxRecordBytes) bytes")
                    }
                    return bytes[start..<index]
                }
            }
            index += 1
        }
        throw DetectionError.badInput("event \(number) is truncated")
    }
}
