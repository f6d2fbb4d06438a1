import Foundation

/// Text in a declared character set, as mail clients read it.
///
/// Labels follow the WHATWG Encoding Standard where mail does: `us-ascii` and `iso-8859-1` are read as
/// Windows-1252 (messages labelled Latin-1 routinely carry curly quotes and the euro sign in 0x80–0x9F).
/// UTF-8, Windows-1252/Latin-1, ISO-8859-15 and UTF-16/32 are decoded here; any other label is read as UTF-8
/// with a defect, never refused.
public enum Charset {
    /// The decoded text and, when the bytes did not fit the label, what was wrong.
    public static func decode(_ bytes: some Collection<UInt8>, label: String?) -> (text: String, defect: String?) {
        let name = normalised(label)
        switch name {
        case "utf-8", "utf8", "unicode-1-1-utf-8", "":
            if let text = String(validating: bytes, as: UTF8.self) { return (text, nil) }
            return (String(decoding: bytes, as: UTF8.self), "invalid UTF-8 bytes replaced")
        case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "l1", "iso_8859-1", "windows-1252", "cp1252",
            "x-cp1252", "cp819", "ibm819", "ansi_x3.4-1968":
            return (windows1252(bytes), nil)
        case "iso-8859-15", "iso8859-15", "latin-9", "latin9", "l9", "iso_8859-15":
            return (latin9(bytes), nil)
        case "utf-16", "utf-16le", "utf-16be", "utf-32", "utf-32le", "utf-32be":
            let encoding: String.Encoding =
                switch name {
                case "utf-16le": .utf16LittleEndian
                case "utf-16be": .utf16BigEndian
                case "utf-32": .utf32
                case "utf-32le": .utf32LittleEndian
                case "utf-32be": .utf32BigEndian
                default: .utf16
                }
            if let text = String(data: Data(bytes), encoding: encoding) { return (text, nil) }
            return (String(decoding: bytes, as: UTF8.self), "bytes are not valid \(name)")
        default:
            let text = String(decoding: bytes, as: UTF8.self)
            return (text, "unknown charset \"\(label ?? "")\" read as UTF-8")
        }
    }

    static func normalised(_ label: String?) -> String {
        guard var label = label?.trimmingCharacters(in: .whitespaces).lowercased() else { return "" }
        // RFC 2231 language suffix in encoded words: `utf-8*fr`.
        if let star = label.firstIndex(of: "*") { label = String(label[..<star]) }
        return label.trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
    }

    /// Windows-1252: Latin-1 with printable characters in 0x80–0x9F (unassigned bytes keep their C1 value).
    static func windows1252(_ bytes: some Collection<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.reserveCapacity(bytes.count)
        for byte in bytes {
            if byte >= 0x80, byte <= 0x9F, let scalar = Unicode.Scalar(cp1252High[Int(byte - 0x80)]) {
                scalars.append(scalar)
            } else {
                scalars.append(Unicode.Scalar(byte))
            }
        }
        return String(scalars)
    }

    static func latin9(_ bytes: some Collection<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            let value: UInt32 =
                switch byte {
                case 0xA4: 0x20AC
                case 0xA6: 0x0160
                case 0xA8: 0x0161
                case 0xB4: 0x017D
                case 0xB8: 0x017E
                case 0xBC: 0x0152
                case 0xBD: 0x0153
                case 0xBE: 0x0178
                default: UInt32(byte)
                }
            scalars.append(Unicode.Scalar(value) ?? "?")
        }
        return String(scalars)
    }

    static let cp1252High: [UInt32] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152,
        0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122,
        0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]
}

/// Content-Transfer-Encoding decoders (RFC 2045 base64 and quoted-printable, and the older uuencode), lenient
/// as readers must be: stray characters are skipped and reported, never fatal.
public enum TransferEncoding {
    /// The decoded bytes and a defect when the input was damaged.
    public static func decode(_ body: ArraySlice<UInt8>, encoding: String) -> (bytes: [UInt8], defect: String?) {
        switch encoding.lowercased().trimmingCharacters(in: .whitespaces) {
        case "base64": return base64(body)
        case "quoted-printable": return (quotedPrintable(body), nil)
        case "x-uuencode", "uuencode", "x-uue": return uudecode(body)
        case "", "7bit", "8bit", "binary": return (Array(body), nil)
        case let other: return (Array(body), "unknown transfer encoding \"\(other)\" kept as is")
        }
    }

    static let base64Values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        // base64url, as some generators write it.
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// Base64 ignoring line breaks and padding; characters outside the alphabet are skipped and reported.
    public static func base64(_ body: some Collection<UInt8>) -> (bytes: [UInt8], defect: String?) {
        var out: [UInt8] = []
        out.reserveCapacity(body.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var stray = 0
        var ended = false
        for byte in body {
            if byte == UInt8(ascii: "=") {
                ended = true
                continue
            }
            let value = base64Values[Int(byte)]
            if value == 0xFF {
                if byte != 0x0D, byte != 0x0A, byte != 0x20, byte != 0x09 { stray += 1 }
                continue
            }
            if ended { stray += 1 }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return (out, stray > 0 ? "base64 with \(stray) stray characters" : nil)
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// Quoted-printable: `=XX`, soft line breaks (`=` at the end of a line, trailing blanks allowed), and an
    /// `=` not followed by two hex digits kept literally.
    public static func quotedPrintable(_ body: some Collection<UInt8>, underscoreIsSpace: Bool = false) -> [UInt8] {
        let bytes = Array(body)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "_"), underscoreIsSpace {
                out.append(0x20)
                index += 1
            } else if byte == UInt8(ascii: "=") {
                var next = index + 1
                while next < bytes.count, bytes[next] == 0x20 || bytes[next] == 0x09 { next += 1 }
                if next < bytes.count, bytes[next] == 0x0A {
                    index = next + 1
                } else if next + 1 < bytes.count, bytes[next] == 0x0D, bytes[next + 1] == 0x0A {
                    index = next + 2
                } else if next == bytes.count {
                    index = next
                } else if index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
                    out.append(high << 4 | low)
                    index += 3
                } else {
                    out.append(byte)
                    index += 1
                }
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    /// uuencode between `begin` and `end` lines.
    static func uudecode(_ body: ArraySlice<UInt8>) -> (bytes: [UInt8], defect: String?) {
        var out: [UInt8] = []
        var started = false
        for line in body.split(separator: 0x0A, omittingEmptySubsequences: false) {
            var line = Array(line)
            if line.last == 0x0D { line.removeLast() }
            if !started {
                if line.starts(with: Array("begin ".utf8)) { started = true }
                continue
            }
            if line == Array("end".utf8) { return (out, nil) }
            guard let first = line.first else { continue }
            let count = Int((first &- 0x20) & 0x3F)
            if count == 0 { continue }
            var produced = 0
            var index = 1
            while produced < count, index + 3 < line.count + 1 {
                func value(_ offset: Int) -> UInt8 {
                    index + offset < line.count ? (line[index + offset] &- 0x20) & 0x3F : 0
                }
                let group = [value(0) << 2 | value(1) >> 4, value(1) << 4 | value(2) >> 2, value(2) << 6 | value(3)]
                for byte in group where produced < count {
                    out.append(byte)
                    produced += 1
                }
                index += 4
            }
        }
        return (out, started ? "uuencoded data without an end line" : "no uuencoded data (no begin line)")
    }
}
