import Crypto
import Foundation

/// What an attachment really is: hashes, the type its bytes show (not the one its name claims), and the
/// warning signs of malware delivery. Archives are listed from their directory, never decompressed.
public struct AttachmentReport: Sendable, Hashable, Codable {
    public enum Flag: String, Sendable, Hashable, Codable, CaseIterable {
        /// A program or script (PE, ELF, .js, .vbs, .hta, .ps1, .lnk…).
        case executable
        /// `facture.pdf.exe`: a harmless-looking extension before a dangerous one.
        case doubleExtension
        /// The name's extension does not match the content.
        case typeMismatch
        /// An Office document able to carry macros (VBA project inside, or a macro-enabled extension).
        case macros
        /// A disk image or container that strips Mark-of-the-Web (.iso, .img, .vhd).
        case diskImage
        /// An archive with an encrypted entry (content hidden from filters).
        case encryptedArchive
        /// An archive whose entries would expand more than 100× or beyond 1 GiB.
        case archiveBomb
        /// An archive containing a program or script.
        case executableInArchive
        /// An HTML file (credential forms and HTML smuggling).
        case html
        /// The file is a message itself (.eml, .msg).
        case message
    }

    public var filename: String
    public var declaredType: String
    /// The type the content shows: `pdf`, `zip`, `docx`, `pe`, `cfb`, `html`…
    public var detectedType: String
    public var size: Int
    public var md5: String
    public var sha1: String
    public var sha256: String
    public var flags: Set<Flag>
    /// Names inside an archive (first 200).
    public var archiveEntries: [String]

    public init(filename: String, declaredType: String, bytes: [UInt8]) {
        self.filename = filename
        self.declaredType = declaredType
        size = bytes.count
        md5 = Self.hex(Insecure.MD5.hash(data: bytes))
        sha1 = Self.hex(Insecure.SHA1.hash(data: bytes))
        sha256 = Self.hex(SHA256.hash(data: bytes))
        var flags = Set<Flag>()
        var entries: [String] = []
        var type = FileType.detect(bytes)
        if type == "zip" {
            let archive = ZipDirectory(bytes)
            entries = archive.entries.prefix(200).map(\.name)
            type = FileType.officeKind(entries) ?? "zip"
            if archive.entries.contains(where: \.encrypted) { flags.insert(.encryptedArchive) }
            let expanded = archive.entries.reduce(UInt64(0)) { $0 &+ $1.uncompressed }
            let packed = max(UInt64(1), archive.entries.reduce(UInt64(0)) { $0 &+ $1.compressed })
            if expanded > 1 << 30 || (expanded > 10 << 20 && expanded / packed > 100) { flags.insert(.archiveBomb) }
            if entries.contains(where: { FileType.isExecutableName($0) }) { flags.insert(.executableInArchive) }
            if entries.contains(where: { $0.lowercased().hasSuffix("vbaproject.bin") }) { flags.insert(.macros) }
        }
        if type == "cfb", let file = try? CompoundFile(bytes) {
            let names = Set(file.entries.map { $0.name.uppercased() })
            if names.contains("_VBA_PROJECT") || names.contains("VBA") || names.contains("MACROS") {
                flags.insert(.macros)
            }
            if names.contains("__PROPERTIES_VERSION1.0") { type = "msg" }
        }
        detectedType = type
        let lower = filename.lowercased()
        let extensionName = lower.split(separator: ".").last.map(String.init) ?? ""
        if ["pe", "elf", "macho", "lnk", "script"].contains(type) || FileType.isExecutableName(lower) {
            flags.insert(.executable)
        }
        let parts = lower.split(separator: ".")
        if parts.count >= 3, FileType.isExecutableName(lower),
            FileType.documentExtensions.contains(String(parts[parts.count - 2]))
        {
            flags.insert(.doubleExtension)
        }
        if ["docm", "xlsm", "pptm", "dotm", "xltm", "xlam", "ppsm"].contains(extensionName) { flags.insert(.macros) }
        if ["iso", "img", "vhd", "vhdx"].contains(extensionName) || type == "iso" { flags.insert(.diskImage) }
        if type == "html" || ["htm", "html", "shtml", "svg", "xhtml"].contains(extensionName) { flags.insert(.html) }
        if ["eml", "msg"].contains(extensionName) || type == "msg" || declaredType == "message/rfc822" {
            flags.insert(.message)
        }
        if let expected = FileType.expected[extensionName], expected != type, type != "unknown", type != "text",
            !(expected == "zip" && FileType.officeKinds.contains(type))
        {
            flags.insert(.typeMismatch)
        }
        self.flags = flags
        archiveEntries = entries
    }

    static func hex(_ digest: some Digest) -> String {
        var out = ""
        out.reserveCapacity(64)
        for byte in digest {
            out.append(Self.digits[Int(byte >> 4)])
            out.append(Self.digits[Int(byte & 0x0F)])
        }
        return out
    }

    static let digits = Array("0123456789abcdef")
}

/// File types from their first bytes.
enum FileType {
    static let documentExtensions: Set<String> = [
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "jpg", "jpeg", "png", "gif", "odt", "ods", "rtf",
        "csv", "zip", "html", "htm", "mp3", "mp4", "wav",
    ]
    static let executableExtensions: Set<String> = [
        "exe", "scr", "com", "pif", "bat", "cmd", "js", "jse", "vbs", "vbe", "wsf", "wsh", "hta", "ps1", "psm1",
        "msi", "msp", "dll", "cpl", "jar", "lnk", "reg", "application", "gadget", "iqy", "slk", "xll", "chm",
        "appx", "msix", "sh", "elf", "apk", "one", "url", "inf", "sct",
    ]
    static let officeKinds: Set<String> = ["docx", "xlsx", "pptx", "odf", "jar", "apk"]
    static let expected: [String: String] = [
        "pdf": "pdf", "zip": "zip", "docx": "docx", "xlsx": "xlsx", "pptx": "pptx", "doc": "cfb", "xls": "cfb",
        "ppt": "cfb", "msg": "msg", "png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "rar": "rar",
        "7z": "7z", "gz": "gzip", "exe": "pe", "dll": "pe", "rtf": "rtf", "iso": "iso",
    ]

    static func isExecutableName(_ name: String) -> Bool {
        guard let last = name.lowercased().split(separator: ".").last, name.contains(".") else { return false }
        return executableExtensions.contains(String(last))
    }

    static func detect(_ bytes: [UInt8]) -> String {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<(offset + prefix.count)]) == prefix
        }
        if starts([0x4D, 0x5A]) { return "pe" }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return "elf" }
        if starts([0xCF, 0xFA, 0xED, 0xFE]) || starts([0xCA, 0xFE, 0xBA, 0xBE]) { return "macho" }
        if starts(Array("%PDF".utf8)) { return "pdf" }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return "zip" }
        if starts(CompoundFile.signature) { return "cfb" }
        if starts(Array("Rar!".utf8)) { return "rar" }
        if starts([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) { return "7z" }
        if starts([0x1F, 0x8B]) { return "gzip" }
        if starts(Array("CD001".utf8), at: 0x8001) { return "iso" }
        if starts([0x4C, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00]) { return "lnk" }
        if starts(Array("{\\rtf".utf8)) { return "rtf" }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "png" }
        if starts([0xFF, 0xD8, 0xFF]) { return "jpeg" }
        if starts(Array("GIF8".utf8)) { return "gif" }
        if starts([0xE4, 0x52, 0x5C, 0x7B, 0x8C, 0xD8, 0xA7, 0x4D]) { return "onenote" }
        if starts(Array("conectix".utf8)) { return "vhd" }
        let head = String(decoding: bytes.prefix(512), as: UTF8.self).lowercased()
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if head.hasPrefix("<!doctype html") || head.hasPrefix("<html") || head.contains("<script")
            || head.hasPrefix("<svg")
        {
            return "html"
        }
        if head.hasPrefix("#!") || head.hasPrefix("@echo off") { return "script" }
        let printable = bytes.prefix(1024).allSatisfy { $0 >= 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        return printable ? "text" : "unknown"
    }

    /// OOXML, OpenDocument, Java and Android packages are zip files told apart by their entries.
    static func officeKind(_ entries: [String]) -> String? {
        if entries.contains("[Content_Types].xml") {
            if entries.contains(where: { $0.hasPrefix("word/") }) { return "docx" }
            if entries.contains(where: { $0.hasPrefix("xl/") }) { return "xlsx" }
            if entries.contains(where: { $0.hasPrefix("ppt/") }) { return "pptx" }
        }
        if entries.contains("mimetype"), entries.contains("content.xml") { return "odf" }
        if entries.contains("AndroidManifest.xml") { return "apk" }
        if entries.contains("META-INF/MANIFEST.MF") { return "jar" }
        return nil
    }
}

/// A zip file's central directory (names, sizes, encryption), read without inflating anything.
struct ZipDirectory {
    struct Entry {
        var name: String
        var compressed: UInt64
        var uncompressed: UInt64
        var encrypted: Bool
    }

    var entries: [Entry] = []

    init(_ bytes: [UInt8]) {
        // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
        guard bytes.count >= 22 else { return }
        var end = -1
        var index = bytes.count - 22
        let floor = max(0, bytes.count - 65_557)
        while index >= floor {
            if bytes[index] == 0x50, bytes[index + 1] == 0x4B, bytes[index + 2] == 0x05, bytes[index + 3] == 0x06 {
                end = index
                break
            }
            index -= 1
        }
        guard end >= 0 else { return }
        let count = Int(Self.u16(bytes, end + 10))
        var offset = Int(Self.u32(bytes, end + 16))
        for _ in 0..<min(count, 10_000) {
            guard offset + 46 <= bytes.count, Self.u32(bytes, offset) == 0x0201_4B50 else { break }
            let flags = Self.u16(bytes, offset + 8)
            let nameLength = Int(Self.u16(bytes, offset + 28))
            let extra = Int(Self.u16(bytes, offset + 30))
            let comment = Int(Self.u16(bytes, offset + 32))
            guard offset + 46 + nameLength <= bytes.count else { break }
            let name = bytes[(offset + 46)..<(offset + 46 + nameLength)]
            entries.append(
                Entry(
                    name: String(validating: name, as: UTF8.self) ?? Charset.windows1252(name),
                    compressed: UInt64(Self.u32(bytes, offset + 20)),
                    uncompressed: UInt64(Self.u32(bytes, offset + 24)),
                    encrypted: flags & 1 == 1))
            offset += 46 + nameLength + extra + comment
        }
    }

    static func u16(_ bytes: [UInt8], _ offset: Int) -> UInt16 { LittleEndian.u16(bytes, offset) ?? 0 }
    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 { LittleEndian.u32(bytes, offset) ?? 0 }
}
