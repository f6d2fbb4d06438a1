import CZlib
public import Foundation
import Synchronization

/// When the spool forces appended records to disk.
public enum SpoolSyncPolicy: Sendable, Hashable {
    /// `fsync` before acknowledging; concurrent appends share one `fsync` (group commit). Survives power loss.
    case always
    /// `fsync` at most every interval; acknowledged records survive a crash of Hygie (`kill -9`) but the last
    /// interval can be lost if the machine loses power.
    case interval(milliseconds: Int)
    /// Never `fsync`; the kernel writes back when it wants. Survives a crash of Hygie only.
    case never

    /// Parses `always`, `never`, `interval` or `interval:250`.
    public init?(_ text: String) {
        switch text.lowercased() {
        case "always": self = .always
        case "never": self = .never
        case "interval": self = .interval(milliseconds: 200)
        default:
            let parts = text.split(separator: ":")
            guard parts.count == 2, parts[0].lowercased() == "interval", let ms = Int(parts[1]), ms > 0 else {
                return nil
            }
            self = .interval(milliseconds: ms)
        }
    }
}

/// How events were framed by their sender; tells the detection worker which reader to use.
public enum IngestFormat: UInt8, Sendable, CaseIterable {
    /// One JSON object (Winlogbeat, NXLog, evtx exporters, ECS).
    case json = 1
    /// One syslog line (RFC 5424, RFC 3164, CEF or JSON as message).
    case syslog = 2

    public var name: String { self == .json ? "json" : "syslog" }
}

/// One event as stored in the spool.
public struct SpoolRecord: Sendable, Hashable {
    public var format: IngestFormat
    public var establishmentID: UUID
    public var sourceID: UUID
    /// Milliseconds since 1970 at reception.
    public var receivedAt: Int64
    /// The sender's address (syslog) or empty.
    public var sender: String
    public var data: [UInt8]

    public init(
        format: IngestFormat, establishmentID: UUID, sourceID: UUID, receivedAt: Int64, sender: String = "",
        data: [UInt8]
    ) {
        self.format = format
        self.establishmentID = establishmentID
        self.sourceID = sourceID
        self.receivedAt = receivedAt
        self.sender = sender
        self.data = data
    }
}

/// A place in the spool: a segment and a byte offset in it.
public struct SpoolPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var segment: Int64
    public var offset: Int64

    public init(segment: Int64, offset: Int64) {
        self.segment = segment
        self.offset = offset
    }

    public static func < (lhs: SpoolPosition, rhs: SpoolPosition) -> Bool {
        (lhs.segment, lhs.offset) < (rhs.segment, rhs.offset)
    }

    public var description: String { "\(segment):\(offset)" }
}

/// Why an append was refused.
public enum SpoolError: Error, Sendable, CustomStringConvertible {
    /// The disk quota is reached: the caller must answer "retry later" (HTTP 503, TCP stops reading).
    case full(quotaBytes: Int)
    case io(String)
    case tooLarge(Int)

    public var description: String {
        switch self {
        case .full(let quota): "the ingestion spool is full (\(quota) bytes); retry later"
        case .io(let message): "spool I/O error: \(message)"
        case .tooLarge(let size): "an event of \(size) bytes is larger than the spool accepts"
        }
    }
}

/// A durable, append-only queue of received events on local disk, between the receivers and the detection
/// workers.
///
/// Segment files `<n>.seg` hold records `[length u32][crc32 u32][payload]`. A receiver acknowledges an event only
/// after ``append(_:)`` returns (and, with ``SpoolSyncPolicy/always``, after `fsync`). Detection reads from a
/// position committed in the database with its results, so a restart replays exactly what was not committed.
/// At start-up the tail of the last segment is checked and a torn record (crash in the middle of a write) is cut.
/// See docs/decisions/0005-durable-ingestion-spool.md.
public final class Spool: Sendable {
    /// An open segment file; closed when the last user lets go (a reader or a pending `fsync`).
    final class SegmentFile: Sendable {
        let id: Int64
        let descriptor: Int32
        init(id: Int64, descriptor: Int32) {
            self.id = id
            self.descriptor = descriptor
        }
        deinit { close(descriptor) }
    }

    struct WriterState {
        var file: SegmentFile
        var size: Int64
        /// Bytes of every segment on disk.
        var usedBytes: Int64
        var segments: [Int64: Int64]  // id → size
        var appended: UInt64 = 0
        var synced: UInt64 = 0
        var lastSync = ContinuousClock.now
    }

    public let directory: String
    public let quotaBytes: Int
    public let segmentBytes: Int64
    public let policy: SpoolSyncPolicy
    /// Identifies this node's spool in the checkpoint table (kept in `node-id`).
    public let nodeID: String
    /// Records cut at start-up or skipped because their checksum failed.
    public let recovered: Int
    private let state: Mutex<WriterState>
    private let syncLock = Mutex(())
    /// Holds an exclusive `flock` on `<directory>/lock` for the life of the spool: one process per spool.
    private let lockDescriptor: Int32
    /// Largest record accepted.
    public static let maxRecordBytes = 1 << 20
    static let headerBytes = 8

    /// Opens (or creates) the spool in `directory`.
    /// - Throws: ``SpoolError/io(_:)`` when the directory cannot be used.
    public init(
        directory: String, quotaBytes: Int = 1 << 30, segmentBytes: Int64 = 32 << 20, policy: SpoolSyncPolicy = .always
    ) throws {
        self.directory = directory
        self.quotaBytes = quotaBytes
        self.segmentBytes = segmentBytes
        self.policy = policy
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SpoolError.io("cannot create \(directory)")
        }
        let lockPath = (directory as NSString).appendingPathComponent("lock")
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw SpoolError.io("cannot open \(lockPath)") }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            close(lock)
            throw SpoolError.io("\(directory) is in use by another Hygie process (stop it first)")
        }
        lockDescriptor = lock
        let nodeFile = (directory as NSString).appendingPathComponent("node-id")
        if let existing = try? String(contentsOfFile: nodeFile, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines), !existing.isEmpty
        {
            nodeID = existing
        } else {
            nodeID = UUID().uuidString.lowercased()
            guard manager.createFile(atPath: nodeFile, contents: Data(nodeID.utf8)) else {
                throw SpoolError.io("cannot write \(nodeFile)")
            }
        }
        var segments: [Int64: Int64] = [:]
        for name in (try? manager.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".seg") {
            if let id = Int64(name.dropLast(4)) {
                let path = (directory as NSString).appendingPathComponent(name)
                segments[id] = ((try? manager.attributesOfItem(atPath: path)[.size]) as? Int64) ?? 0
            }
        }
        let lastID = segments.keys.max() ?? 1
        let path = Self.path(directory, lastID)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SpoolError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        // Keep the valid prefix of the last segment: a crash may have left half a record.
        let (validEnd, cut) = Self.scanValidPrefix(descriptor)
        if validEnd < (segments[lastID] ?? 0) { _ = ftruncate(descriptor, off_t(validEnd)) }
        _ = lseek(descriptor, off_t(validEnd), SEEK_SET)
        segments[lastID] = validEnd
        recovered = cut
        let used = segments.values.reduce(0, +)
        state = Mutex(
            WriterState(
                file: SegmentFile(id: lastID, descriptor: descriptor), size: validEnd, usedBytes: used,
                segments: segments))
    }

    deinit { close(lockDescriptor) }

    static func path(_ directory: String, _ id: Int64) -> String {
        (directory as NSString).appendingPathComponent(String(format: "%020lld.seg", id))
    }

    /// Length of the run of valid records at the start of a file, and whether something followed it.
    static func scanValidPrefix(_ descriptor: Int32) -> (Int64, Int) {
        var offset: Int64 = 0
        var header = [UInt8](repeating: 0, count: headerBytes)
        while true {
            guard pread(descriptor, &header, headerBytes, off_t(offset)) == headerBytes else { break }
            let length = Int(readUInt32(header, 0))
            guard length > 0, length <= maxRecordBytes + 64 else { break }
            var payload = [UInt8](repeating: 0, count: length)
            guard pread(descriptor, &payload, length, off_t(offset) + off_t(headerBytes)) == length,
                checksum(payload) == readUInt32(header, 4)
            else { break }
            offset += Int64(headerBytes + length)
        }
        var probe: UInt8 = 0
        let trailing = pread(descriptor, &probe, 1, off_t(offset)) == 1 ? 1 : 0
        return (offset, trailing)
    }

    /// Bytes on disk, for `/metrics` and the quota.
    public var usedBytes: Int { Int(state.withLock { $0.usedBytes }) }

    /// The oldest position still on disk.
    public var startPosition: SpoolPosition {
        state.withLock { SpoolPosition(segment: $0.segments.keys.min() ?? $0.file.id, offset: 0) }
    }

    /// Appends records durably (per the sync policy). Either all records are appended or none is.
    /// - Throws: ``SpoolError/full(quotaBytes:)`` when the quota would be exceeded, ``SpoolError/io(_:)``.
    public func append(_ records: [SpoolRecord]) throws(SpoolError) {
        guard !records.isEmpty else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.reduce(0) { $0 + $1.data.count + 80 })
        for record in records {
            guard record.data.count <= Self.maxRecordBytes else { throw SpoolError.tooLarge(record.data.count) }
            Self.encode(record, into: &bytes)
        }
        let quota = Int64(quotaBytes)
        let rotate = segmentBytes
        let directory = self.directory
        let ticket: UInt64 = try state.withLock { (state) throws(SpoolError) -> UInt64 in
            guard state.usedBytes + Int64(bytes.count) <= quota else { throw SpoolError.full(quotaBytes: Int(quota)) }
            if state.size > 0, state.size + Int64(bytes.count) > rotate {
                // New segment: the old one is made durable first, so "synced" keeps meaning "everything before".
                _ = fsync(state.file.descriptor)
                let id = state.file.id + 1
                let path = Self.path(directory, id)
                let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                guard descriptor >= 0 else { throw SpoolError.io("cannot create \(path)") }
                state.file = SegmentFile(id: id, descriptor: descriptor)
                state.size = 0
                state.segments[id] = 0
                state.synced = state.appended
            }
            let written = bytes.withUnsafeBytes { raw -> Int in
                var done = 0
                while done < raw.count {
                    let result = pwrite(
                        state.file.descriptor, raw.baseAddress! + done, raw.count - done,
                        off_t(state.size) + off_t(done))
                    if result < 0 {
                        if errno == EINTR { continue }
                        return -1
                    }
                    done += result
                }
                return done
            }
            guard written == bytes.count else {
                // Leave the segment as it was: the partial bytes are beyond `size` and get overwritten.
                throw SpoolError.io("write failed: \(String(cString: strerror(errno)))")
            }
            state.size += Int64(bytes.count)
            state.segments[state.file.id, default: 0] += Int64(bytes.count)
            state.usedBytes += Int64(bytes.count)
            state.appended += 1
            return state.appended
        }
        switch policy {
        case .always: sync(upTo: ticket)
        case .interval(let milliseconds):
            let due = state.withLock { ContinuousClock.now - $0.lastSync > .milliseconds(milliseconds) }
            if due { sync(upTo: ticket) }
        case .never: break
        }
    }

    /// Makes every append up to `ticket` durable. Appenders waiting here share one `fsync`.
    func sync(upTo ticket: UInt64 = .max) {
        syncLock.withLock { _ in
            let (file, target, synced) = state.withLock { ($0.file, $0.appended, $0.synced) }
            guard synced < min(ticket, target) else { return }
            _ = fdatasync(file.descriptor)
            state.withLock {
                $0.synced = max($0.synced, target)
                $0.lastSync = ContinuousClock.now
            }
        }
    }

    /// Forces everything appended so far to disk (graceful shutdown, interval policy).
    public func flush() { sync() }

    /// Reads up to `maxRecords` records from `position`. Returns them with the position after the last one.
    /// Corrupt records (checksum failure in an older segment) end that segment's reading; they are counted in
    /// `corrupt`.
    public func read(from position: SpoolPosition, maxRecords: Int, maxBytes: Int = 8 << 20) throws(SpoolError) -> (
        records: [SpoolRecord], next: SpoolPosition, corrupt: Int
    ) {
        var position = position
        var records: [SpoolRecord] = []
        var corrupt = 0
        var budget = maxBytes
        while records.count < maxRecords, budget > 0 {
            let (current, end, nextExisting) = state.withLock { state -> (SegmentFile?, Int64, Int64?) in
                let current = state.file.id == position.segment ? state.file : nil
                let end = state.file.id == position.segment ? state.size : (state.segments[position.segment] ?? -1)
                let next = state.segments.keys.filter { $0 > position.segment }.min()
                return (current, end, next)
            }
            if end < 0 || position.offset >= end {
                // End of this segment: move on if a later one exists, otherwise wait for more.
                guard let next = nextExisting, current == nil else { break }
                position = SpoolPosition(segment: next, offset: 0)
                continue
            }
            let descriptor: Int32
            var owned: Int32 = -1
            if let current {
                descriptor = current.descriptor
            } else {
                owned = open(Self.path(directory, position.segment), O_RDONLY | O_CLOEXEC)
                guard owned >= 0 else {
                    throw SpoolError.io("cannot open segment \(position.segment)")
                }
                descriptor = owned
            }
            defer { if owned >= 0 { close(owned) } }
            var header = [UInt8](repeating: 0, count: Self.headerBytes)
            while records.count < maxRecords, budget > 0, position.offset < end {
                guard pread(descriptor, &header, Self.headerBytes, off_t(position.offset)) == Self.headerBytes else {
                    break
                }
                let length = Int(Self.readUInt32(header, 0))
                var payload = [UInt8](repeating: 0, count: max(length, 0))
                guard length > 0, length <= Self.maxRecordBytes + 64,
                    position.offset + Int64(Self.headerBytes + length) <= end,
                    pread(descriptor, &payload, length, off_t(position.offset) + off_t(Self.headerBytes)) == length,
                    Self.checksum(payload) == Self.readUInt32(header, 4), let record = Self.decode(payload)
                else {
                    // Unreadable from here to the end of the segment.
                    corrupt += 1
                    position.offset = end
                    break
                }
                records.append(record)
                budget -= length
                position.offset += Int64(Self.headerBytes + length)
            }
        }
        return (records, position, corrupt)
    }

    /// Deletes segments entirely before `position` (their records are committed); frees quota.
    public func release(before position: SpoolPosition) {
        let removable = state.withLock { state -> [Int64] in
            let ids = state.segments.keys.filter { $0 < position.segment && $0 != state.file.id }
            for id in ids {
                state.usedBytes -= state.segments[id] ?? 0
                state.segments[id] = nil
            }
            return ids
        }
        for id in removable { unlink(Self.path(directory, id)) }
    }

    // MARK: Encoding

    static func encode(_ record: SpoolRecord, into bytes: inout [UInt8]) {
        let sender = Array(record.sender.utf8.prefix(255))
        var payload: [UInt8] = []
        payload.reserveCapacity(44 + sender.count + record.data.count)
        payload.append(record.format.rawValue)
        withUnsafeBytes(of: record.establishmentID.uuid) { payload.append(contentsOf: $0) }
        withUnsafeBytes(of: record.sourceID.uuid) { payload.append(contentsOf: $0) }
        withUnsafeBytes(of: record.receivedAt.littleEndian) { payload.append(contentsOf: $0) }
        payload.append(UInt8(sender.count))
        payload.append(contentsOf: sender)
        payload.append(contentsOf: record.data)
        appendUInt32(UInt32(payload.count), to: &bytes)
        appendUInt32(checksum(payload), to: &bytes)
        bytes.append(contentsOf: payload)
    }

    static func decode(_ payload: [UInt8]) -> SpoolRecord? {
        guard payload.count >= 42, let format = IngestFormat(rawValue: payload[0]) else { return nil }
        func uuid(_ at: Int) -> UUID {
            UUID(
                uuid: (
                    payload[at], payload[at + 1], payload[at + 2], payload[at + 3], payload[at + 4], payload[at + 5],
                    payload[at + 6], payload[at + 7], payload[at + 8], payload[at + 9], payload[at + 10],
                    payload[at + 11], payload[at + 12], payload[at + 13], payload[at + 14], payload[at + 15]
                ))
        }
        var received: Int64 = 0
        for index in 0..<8 { received |= Int64(payload[33 + index]) << (8 * index) }
        let senderLength = Int(payload[41])
        guard payload.count >= 42 + senderLength else { return nil }
        return SpoolRecord(
            format: format, establishmentID: uuid(1), sourceID: uuid(17), receivedAt: received,
            sender: String(decoding: payload[42..<(42 + senderLength)], as: UTF8.self),
            data: Array(payload[(42 + senderLength)...]))
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
    }

    static func appendUInt32(_ value: UInt32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func readUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
}
