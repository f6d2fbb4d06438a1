import CZlib
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public struct InputError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

/// Bytes of an input file, gzip-decompressed when the file starts with the gzip magic number
/// (several concatenated gzip members are read in turn).
public final class ByteSource {
    let file: UnsafeMutablePointer<FILE>
    let path: String
    var stream = z_stream()
    let gzip: Bool
    let inputBuffer: UnsafeMutablePointer<UInt8>
    let outputBuffer: UnsafeMutablePointer<UInt8>
    static let chunk = 1 << 18
    var finishedInput = false
    var memberEnded = false
    /// Bytes of the file consumed so far (compressed size for gzip), for progress.
    public private(set) var consumed: Int = 0

    public init(path: String) throws {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw InputError(message: "\(path) is a directory")
        }
        guard let file = fopen(path, "rb") else {
            throw InputError(message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        self.file = file
        self.path = path
        inputBuffer = .allocate(capacity: Self.chunk)
        outputBuffer = .allocate(capacity: Self.chunk)
        var magic: [UInt8] = [0, 0]
        let read = fread(&magic, 1, 2, file)
        rewind(file)
        gzip = read == 2 && magic[0] == 0x1F && magic[1] == 0x8B
        if gzip {
            let status = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else {
                fclose(file)
                throw InputError(message: "cannot start gzip decoding of \(path)")
            }
        }
    }

    deinit {
        if gzip { inflateEnd(&stream) }
        inputBuffer.deallocate()
        outputBuffer.deallocate()
        fclose(file)
    }

    /// Appends up to `count` bytes (at most 256 KiB) to `buffer`; returns 0 at the end.
    public func read(into buffer: inout [UInt8], count: Int) throws -> Int {
        if !gzip {
            let got = fread(inputBuffer, 1, min(count, Self.chunk), file)
            if got == 0, ferror(file) != 0 { throw InputError(message: "read error on \(path)") }
            buffer.append(contentsOf: UnsafeBufferPointer(start: inputBuffer, count: got))
            consumed += got
            return got
        }
        let wanted = min(count, Self.chunk)
        while true {
            if stream.avail_in == 0 {
                if finishedInput {
                    if !memberEnded { throw InputError(message: "\(path): gzip data ends too early") }
                    return 0
                }
                let got = fread(inputBuffer, 1, Self.chunk, file)
                consumed += got
                if got == 0 {
                    finishedInput = true
                    continue
                }
                stream.next_in = inputBuffer
                stream.avail_in = uInt(got)
                if memberEnded {
                    // Another gzip member follows.
                    inflateReset(&stream)
                    memberEnded = false
                }
            }
            stream.next_out = outputBuffer
            stream.avail_out = uInt(wanted)
            let status = inflate(&stream, Z_NO_FLUSH)
            let produced = wanted - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END:
                memberEnded = true
                if stream.avail_in > 0 {
                    inflateReset(&stream)
                    memberEnded = false
                }
            case Z_OK, Z_BUF_ERROR:
                break
            default:
                throw InputError(message: "\(path): corrupt gzip data")
            }
            if produced > 0 {
                buffer.append(contentsOf: UnsafeBufferPointer(start: outputBuffer, count: produced))
                return produced
            }
        }
    }
}

/// Files named on a command line: files as given, directories walked (sorted), keeping what `keep` accepts.
public func expandPaths(_ paths: [String], missing: String, keep: (String) -> Bool) throws -> [String] {
    var files: [String] = []
    for path in paths {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(message: "no such \(missing): \(path)")
        }
        guard isDirectory.boolValue else {
            files.append(path)
            continue
        }
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: path)
        while let relative = enumerator?.nextObject() as? String {
            let full = (path as NSString).appendingPathComponent(relative)
            var nested: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &nested), !nested.boolValue, keep(full) {
                found.append(full)
            }
        }
        files += found.sorted()
    }
    return files
}

/// Shape of an input, found from its first bytes.
public enum InputFormat: String, Sendable, CaseIterable {
    /// One JSON object per line.
    case jsonLines = "jsonl"
    /// JSON values (objects or arrays of objects), however laid out.
    case json
    /// Windows event XML (`<Event>…</Event>`, wrapped in `<Events>` or not).
    case xml
    /// Syslog lines (RFC 5424 or RFC 3164, with or without priority).
    case syslog

    public static func sniff(_ bytes: ArraySlice<UInt8>) -> InputFormat {
        guard
            let first = bytes.firstIndex(where: {
                $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 && $0 != 0xEF && $0 != 0xBB && $0 != 0xBF
            })
        else {
            return .jsonLines
        }
        switch bytes[first] {
        case UInt8(ascii: "["): return .json
        case UInt8(ascii: "{"):
            // JSON lines when the first line is a whole object.
            guard let newline = bytes[first...].firstIndex(of: 0x0A) else { return .json }
            var end = newline
            while end > first, [0x0A, 0x0D, 0x20, 0x09].contains(bytes[end - 1]) { end -= 1 }
            return end > first && bytes[end - 1] == UInt8(ascii: "}") ? .jsonLines : .json
        case UInt8(ascii: "<"):
            // `<13>…` is a syslog priority, `<Event` or `<?xml` is XML.
            let next = bytes.index(after: first)
            if next < bytes.endIndex, bytes[next] >= 0x30, bytes[next] <= 0x39 { return .syslog }
            return .xml
        default: return .syslog
        }
    }
}

/// A run of whole records read from one input.
public struct RecordBlock: Sendable {
    public var input: Int
    public var format: InputFormat
    public var data: [UInt8]
    /// Record i spans `bounds[2i] ..< bounds[2i+1]` in `data`.
    public var bounds: [Int32]
    /// Number of the first record in its input (1-based).
    public var firstRecord: Int

    public var count: Int { bounds.count / 2 }
}

/// Cuts an input into blocks of whole records.
public final class RecordReader {
    let source: ByteSource
    let input: Int
    var format: InputFormat?
    let forced: InputFormat?
    var buffer: [UInt8] = []
    var start = 0
    var atEnd = false
    var nextRecord = 1
    /// JSON scanner state across reads.
    var depth = 0
    var inString = false
    var escaped = false
    var recordStart = -1
    var arrayLevel = 0
    var scanPosition = 0
    static let blockSize = 1 << 20

    public init(path: String, input: Int, format: InputFormat?) throws {
        source = try ByteSource(path: path)
        self.input = input
        forced = format
    }

    public var consumed: Int { source.consumed }

    /// The next block, or nil at the end.
    public func next() throws -> RecordBlock? {
        var needMore = false
        while true {
            if !atEnd, buffer.count - start < Self.blockSize || needMore {
                if start > 0 {
                    buffer.removeSubrange(0..<start)
                    if recordStart >= 0 { recordStart -= start }
                    scanPosition -= start
                    start = 0
                }
                let target = max(Self.blockSize, buffer.count + (needMore ? Self.blockSize : 0))
                while !atEnd, buffer.count < target {
                    if try source.read(into: &buffer, count: Self.blockSize) == 0 { atEnd = true }
                }
                needMore = false
            }
            if format == nil {
                if buffer.isEmpty && atEnd { return nil }
                format = forced ?? InputFormat.sniff(buffer[0..<min(buffer.count, 4096)])
            }
            var bounds: [Int32] = []
            let end: Int
            switch format! {
            case .jsonLines, .syslog: end = splitLines(&bounds)
            case .json: end = splitJSON(&bounds)
            case .xml: end = splitXML(&bounds)
            }
            if bounds.isEmpty {
                if atEnd {
                    // Trailing partial record in JSON/XML: nothing more can complete it.
                    return nil
                }
                if buffer.count - start >= Self.blockSize * 64 {
                    throw InputError(message: "\(source.path): a record is larger than 64 MiB")
                }
                needMore = true
                continue
            }
            let data = Array(buffer[start..<end])
            let shift = Int32(start)
            let block = RecordBlock(
                input: input, format: format!, data: data, bounds: bounds.map { $0 - shift }, firstRecord: nextRecord)
            nextRecord += bounds.count / 2
            start = end
            return block
        }
    }

    func splitLines(_ bounds: inout [Int32]) -> Int {
        var lineStart = start
        var end = start
        buffer.withUnsafeBufferPointer { bytes in
            var index = start
            let count = bytes.count
            while index < count {
                guard let found = memchr(bytes.baseAddress! + index, 0x0A, count - index) else { break }
                let newline = bytes.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
                appendLine(bytes, lineStart, newline, &bounds)
                lineStart = newline + 1
                index = lineStart
                end = lineStart
            }
            if atEnd, lineStart < count {
                appendLine(bytes, lineStart, count, &bounds)
                end = count
            }
        }
        return end
    }

    func appendLine(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ bounds: inout [Int32]) {
        var stop = to
        if stop > from, bytes[stop - 1] == 0x0D { stop -= 1 }
        var begin = from
        while begin < stop, bytes[begin] == 0x20 || bytes[begin] == 0x09 { begin += 1 }
        if stop > begin {
            bounds.append(Int32(begin))
            bounds.append(Int32(stop))
        }
    }

    /// Top-level JSON objects, and the objects of top-level arrays.
    func splitJSON(_ bounds: inout [Int32]) -> Int {
        var end = start
        if scanPosition < start { scanPosition = start }
        buffer.withUnsafeBufferPointer { bytes in
            var index = scanPosition
            while index < bytes.count {
                let byte = bytes[index]
                if inString {
                    if escaped {
                        escaped = false
                    } else if byte == UInt8(ascii: "\\") {
                        escaped = true
                    } else if byte == UInt8(ascii: "\"") {
                        inString = false
                    }
                } else {
                    switch byte {
                    case UInt8(ascii: "\""): inString = true
                    case UInt8(ascii: "{"):
                        if depth == arrayLevel { recordStart = index }
                        depth += 1
                    case UInt8(ascii: "["):
                        if depth == arrayLevel { arrayLevel += 1 }
                        depth += 1
                    case UInt8(ascii: "}"):
                        depth -= 1
                        if depth == arrayLevel, recordStart >= 0 {
                            bounds.append(Int32(recordStart))
                            bounds.append(Int32(index + 1))
                            recordStart = -1
                            end = index + 1
                        }
                        if depth < 0 { depth = 0 }
                    case UInt8(ascii: "]"):
                        depth -= 1
                        if depth < arrayLevel { arrayLevel = max(0, depth) }
                        if depth < 0 { depth = 0 }
                        if recordStart < 0 { end = index + 1 }
                    default:
                        if recordStart < 0 && depth == arrayLevel { end = index + 1 }
                    }
                }
                index += 1
            }
            scanPosition = index
        }
        return end
    }

    /// First index of `needle` in `bytes` at or after `from`.
    func search(_ needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var index = from
        while index + needle.count <= bytes.count {
            guard let hit = memchr(base + index, Int32(needle[0]), bytes.count - index) else { return nil }
            let position = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            guard position + needle.count <= bytes.count else { return nil }
            if Array(UnsafeBufferPointer(rebasing: bytes[position..<(position + needle.count)])) == needle {
                return position
            }
            index = position + 1
        }
        return nil
    }

    /// `<Event …>…</Event>` elements.
    func splitXML(_ bounds: inout [Int32]) -> Int {
        var end = start
        buffer.withUnsafeBufferPointer { bytes in
            let open = Array("<Event".utf8)
            let close = Array("</Event>".utf8)
            var index = start
            while true {
                guard
                    let begin = search(open, in: bytes, from: index)
                else { break }
                // `<Events>` is the wrapper, not an event.
                let after = begin + open.count
                if after < bytes.count, bytes[after] == UInt8(ascii: "s") || bytes[after] == UInt8(ascii: "D") {
                    index = after
                    end = index
                    continue
                }
                guard let stop = search(close, in: bytes, from: after) else { break }
                bounds.append(Int32(begin))
                bounds.append(Int32(stop + close.count))
                index = stop + close.count
                end = index
            }
            if atEnd { end = bytes.count }
        }
        return end
    }
}

/// RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF), bounded.
public enum CSV {
    /// One field of a comma-separated export: quoted when needed, and with a leading `=`, `+`, `-`, `@`, tab or
    /// carriage return neutralised by a `'`, so that a spreadsheet never reads it as a formula.
    public static func field(_ value: String) -> String {
        var text = value
        if let first = text.first, "=+-@\t\r".contains(first) { text = "'" + text }
        if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }

    public static func rows(_ bytes: [UInt8], what: String, maximumFieldLength: Int = 1 << 20) throws(InputError)
        -> [[String]]
    {
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var index = 0
        var quoted = false
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        var line = 1
        let delimiter = delimiterIsSemicolon(bytes) ? UInt8(ascii: ";") : UInt8(ascii: ",")
        while index < bytes.count {
            let byte = bytes[index]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 2
                        continue
                    }
                    quoted = false
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""):
                    guard field.isEmpty else {
                        throw InputError(message: "\(what): line \(line): a quote inside an unquoted field")
                    }
                    quoted = true
                    start = line
                case delimiter:
                    row.append(String(decoding: field, as: UTF8.self))
                    field.removeAll(keepingCapacity: true)
                case 0x0D:
                    break
                case 0x0A:
                    row.append(String(decoding: field, as: UTF8.self))
                    field.removeAll(keepingCapacity: true)
                    rows.append(row)
                    row = []
                    line += 1
                default:
                    field.append(byte)
                }
            }
            if field.count > maximumFieldLength {
                throw InputError(message: "\(what): line \(line): a field is longer than \(maximumFieldLength) bytes")
            }
            index += 1
        }
        if quoted { throw InputError(message: "\(what): the quoted field opened on line \(start) never closes") }
        if !field.isEmpty || !row.isEmpty {
            row.append(String(decoding: field, as: UTF8.self))
            rows.append(row)
        }
        return rows
    }

    /// Spreadsheets in French locales write `;`: the header line decides.
    public static func delimiterIsSemicolon(_ bytes: [UInt8]) -> Bool {
        let header = bytes.prefix { $0 != 0x0A }
        return header.filter { $0 == UInt8(ascii: ";") }.count > header.filter { $0 == UInt8(ascii: ",") }.count
    }
}
