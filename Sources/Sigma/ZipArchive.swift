import CZlib

/// An error reading a zip archive, with a message for the user.
public struct ZipError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Reads the files of a zip archive held in memory (a rule pack such as a SigmaHQ release).
///
/// Stored and deflated entries are supported; every entry's CRC-32 is checked. Sizes are bounded so that a
/// crafted archive cannot exhaust memory ("zip bomb"). ZIP64 archives and encrypted entries are refused.
// SPEC: PKWARE APPNOTE.TXT 6.3.10, sections 4.3.7 (local header), 4.3.12 (central directory), 4.3.16 (end record).
public struct ZipArchive: Sendable {
    public struct Entry: Sendable {
        public var path: String
        public var data: [UInt8]
    }

    /// The regular files of the archive, in central-directory order.
    public let entries: [Entry]

    /// - Parameters:
    ///   - bytes: the whole archive.
    ///   - maxEntrySize: largest uncompressed file accepted.
    ///   - maxTotalSize: largest sum of uncompressed sizes accepted.
    ///   - include: which paths to extract (others are skipped without being inflated).
    /// - Throws: ``ZipError`` for anything that is not a readable, bounded archive.
    public init(
        bytes: [UInt8], maxEntrySize: Int = 16 << 20, maxTotalSize: Int = 512 << 20,
        include: (String) -> Bool = { _ in true }
    ) throws(ZipError) {
        func u16(_ at: Int) throws(ZipError) -> Int {
            guard at >= 0, at + 2 <= bytes.count else { throw ZipError(description: "truncated zip archive") }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8
        }
        func u32(_ at: Int) throws(ZipError) -> Int {
            guard at >= 0, at + 4 <= bytes.count else { throw ZipError(description: "truncated zip archive") }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
        }
        // The end record is in the last 22 + 65,535 bytes (its comment is at most 64 KiB).
        var end = -1
        var probe = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while probe >= lowest {
            if bytes[probe] == 0x50, bytes[probe + 1] == 0x4b, bytes[probe + 2] == 0x05, bytes[probe + 3] == 0x06 {
                end = probe
                break
            }
            probe -= 1
        }
        guard end >= 0 else { throw ZipError(description: "not a zip archive (no end of central directory)") }
        let count = try u16(end + 10)
        let directoryOffset = try u32(end + 16)
        if count == 0xFFFF || directoryOffset == 0xFFFF_FFFF {
            throw ZipError(description: "ZIP64 archives are not supported")
        }
        var entries: [Entry] = []
        var total = 0
        var cursor = directoryOffset
        for _ in 0..<count {
            guard try u32(cursor) == 0x0201_4b50 else { throw ZipError(description: "corrupt central directory") }
            let flags = try u16(cursor + 8)
            let method = try u16(cursor + 10)
            let crc = UInt32(try u32(cursor + 16))
            let compressedSize = try u32(cursor + 20)
            let size = try u32(cursor + 24)
            let nameLength = try u16(cursor + 28)
            let extraLength = try u16(cursor + 30)
            let commentLength = try u16(cursor + 32)
            let localOffset = try u32(cursor + 42)
            guard cursor + 46 + nameLength <= bytes.count else { throw ZipError(description: "truncated zip archive") }
            let path = String(decoding: bytes[(cursor + 46)..<(cursor + 46 + nameLength)], as: UTF8.self)
            cursor += 46 + nameLength + extraLength + commentLength
            if path.hasSuffix("/") || !include(path) { continue }
            if flags & 1 != 0 { throw ZipError(description: "\(path): encrypted entries are not supported") }
            guard size <= maxEntrySize else {
                throw ZipError(
                    description: "\(path): \(size) bytes uncompressed, more than the \(maxEntrySize) allowed")
            }
            total += size
            guard total <= maxTotalSize else {
                throw ZipError(description: "archive expands to more than \(maxTotalSize) bytes")
            }
            guard try u32(localOffset) == 0x0403_4b50 else {
                throw ZipError(description: "\(path): corrupt local header")
            }
            let dataStart = localOffset + 30 + (try u16(localOffset + 26)) + (try u16(localOffset + 28))
            guard dataStart + compressedSize <= bytes.count else {
                throw ZipError(description: "\(path): truncated data")
            }
            let compressed = Array(bytes[dataStart..<(dataStart + compressedSize)])
            let data: [UInt8]
            switch method {
            case 0:
                guard compressedSize == size else { throw ZipError(description: "\(path): size mismatch") }
                data = compressed
            case 8: data = try Self.inflateRaw(compressed, size: size, path: path)
            default: throw ZipError(description: "\(path): compression method \(method) is not supported")
            }
            let actual = data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
            guard actual == crc else { throw ZipError(description: "\(path): CRC-32 mismatch") }
            entries.append(Entry(path: path, data: data))
        }
        self.entries = entries
    }

    static func inflateRaw(_ input: [UInt8], size: Int, path: String) throws(ZipError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: max(size, 1))
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ZipError(description: "\(path): cannot start inflating")
        }
        defer { inflateEnd(&stream) }
        var input = input
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(size)
                return inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END, Int(stream.total_out) == size else {
            throw ZipError(description: "\(path): corrupt deflate data")
        }
        return size == 0 ? [] : output
    }
}
