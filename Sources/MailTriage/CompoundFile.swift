/// A reader of Microsoft Compound File Binary files ([MS-CFB]), the container of Outlook .msg files and of
/// legacy Office documents: storages (folders) and streams (files) addressed through a sector allocation
/// table. Every index is checked, every chain is bounded by the number of sectors (a loop ends it), and
/// sizes are capped by the file, so a hostile file costs at most its own size.
public struct CompoundFile: Sendable {
    public struct Entry: Sendable, Hashable {
        public enum Kind: UInt8, Sendable { case unknown = 0, storage = 1, stream = 2, root = 5 }

        public var name: String
        public var kind: Kind
        var left: UInt32
        var right: UInt32
        var child: UInt32
        var start: UInt32
        var size: UInt64
    }

    static let signature: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]
    static let endOfChain: UInt32 = 0xFFFF_FFFE
    static let noStream: UInt32 = 0xFFFF_FFFF

    let data: [UInt8]
    let sectorSize: Int
    let miniSectorSize: Int
    let miniCutoff: UInt64
    let fat: [UInt32]
    let miniFAT: [UInt32]
    let miniStream: [UInt8]
    /// Directory entries; index 0 is the root storage.
    public let entries: [Entry]

    /// Whether the bytes start with the compound-file signature.
    public static func isCompoundFile(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.starts(with: signature)
    }

    public init(_ bytes: [UInt8]) throws(MailParseError) {
        guard bytes.count >= 512, Self.isCompoundFile(bytes) else {
            throw MailParseError("not a compound file (Outlook .msg): the signature D0 CF 11 E0 is missing")
        }
        data = bytes
        let major = Self.u16(bytes, 0x1A)
        let shift = Int(Self.u16(bytes, 0x1E))
        guard (major == 3 && shift == 9) || (major == 4 && shift == 12) else {
            throw MailParseError("compound file: unsupported version \(major) with sector shift \(shift)")
        }
        sectorSize = 1 << shift
        let miniShift = Int(Self.u16(bytes, 0x20))
        guard miniShift == 6 else { throw MailParseError("compound file: mini sector shift \(miniShift), expected 6") }
        miniSectorSize = 64
        miniCutoff = UInt64(Self.u32(bytes, 0x38))
        let sectorCount = max(0, (bytes.count - sectorSize) / sectorSize)

        // The FAT sectors come from the header's 109 DIFAT entries, then from the DIFAT chain.
        let fatSectorCount = Int(Self.u32(bytes, 0x2C))
        guard fatSectorCount <= sectorCount else {
            throw MailParseError("compound file: \(fatSectorCount) FAT sectors declared in a file of \(sectorCount)")
        }
        var fatSectors: [UInt32] = []
        for index in 0..<109 where fatSectors.count < fatSectorCount {
            fatSectors.append(Self.u32(bytes, 0x4C + index * 4))
        }
        var difat = Self.u32(bytes, 0x44)
        var difatSeen = 0
        let perDIFAT = sectorSize / 4 - 1
        while fatSectors.count < fatSectorCount, difat < UInt32(sectorCount), difatSeen <= sectorCount {
            let offset = (Int(difat) + 1) * sectorSize
            for index in 0..<perDIFAT where fatSectors.count < fatSectorCount {
                fatSectors.append(Self.u32(bytes, offset + index * 4))
            }
            difat = Self.u32(bytes, offset + perDIFAT * 4)
            difatSeen += 1
        }
        var fat: [UInt32] = []
        fat.reserveCapacity(fatSectors.count * sectorSize / 4)
        for sector in fatSectors {
            guard sector < UInt32(sectorCount) else {
                throw MailParseError("compound file: FAT sector \(sector) out of range")
            }
            let offset = (Int(sector) + 1) * sectorSize
            for index in 0..<(sectorSize / 4) { fat.append(Self.u32(bytes, offset + index * 4)) }
        }
        self.fat = fat

        var directory: [UInt8] = []
        for sector in try Self.chain(Self.u32(bytes, 0x30), fat: fat, count: sectorCount) {
            let offset = (Int(sector) + 1) * sectorSize
            directory += bytes[offset..<(offset + sectorSize)]
        }
        var entries: [Entry] = []
        var offset = directory.startIndex
        while offset + 128 <= directory.endIndex {
            let raw = Array(directory[offset..<(offset + 128)])
            let nameLength = min(64, Int(Self.u16(raw, 64)))
            var units: [UInt16] = []
            var index = 0
            while index + 1 < nameLength {
                let unit = UInt16(raw[index]) | UInt16(raw[index + 1]) << 8
                if unit == 0 { break }
                units.append(unit)
                index += 2
            }
            entries.append(
                Entry(
                    name: String(decoding: units, as: UTF16.self), kind: Entry.Kind(rawValue: raw[66]) ?? .unknown,
                    left: Self.u32(raw, 68), right: Self.u32(raw, 72), child: Self.u32(raw, 76),
                    start: Self.u32(raw, 116),
                    size: major == 3 ? UInt64(Self.u32(raw, 120)) : Self.u64(raw, 120)))
            offset += 128
        }
        guard let root = entries.first, root.kind == .root else {
            throw MailParseError("compound file: the first directory entry is not the root storage")
        }
        self.entries = entries

        var miniFAT: [UInt32] = []
        for sector in try Self.chain(Self.u32(bytes, 0x3C), fat: fat, count: sectorCount) {
            let offset = (Int(sector) + 1) * sectorSize
            for index in 0..<(sectorSize / 4) { miniFAT.append(Self.u32(bytes, offset + index * 4)) }
        }
        self.miniFAT = miniFAT
        var mini: [UInt8] = []
        for sector in try Self.chain(root.start, fat: fat, count: sectorCount) {
            let offset = (Int(sector) + 1) * sectorSize
            mini += bytes[offset..<(offset + sectorSize)]
        }
        miniStream = Array(mini.prefix(Int(min(root.size, UInt64(mini.count)))))
    }

    /// The sectors of a chain, in order; refuses out-of-range sectors and loops.
    static func chain(_ start: UInt32, fat: [UInt32], count: Int) throws(MailParseError) -> [UInt32] {
        var out: [UInt32] = []
        var sector = start
        while sector != endOfChain, sector != noStream {
            guard Int(sector) < count, Int(sector) < fat.count else {
                throw MailParseError("compound file: sector \(sector) is outside the file")
            }
            guard out.count <= count else { throw MailParseError("compound file: a sector chain loops") }
            out.append(sector)
            sector = fat[Int(sector)]
        }
        return out
    }

    /// The children of a storage (an index into ``entries``), by walking its red-black tree.
    public func children(of storage: Int) -> [Int] {
        guard entries.indices.contains(storage) else { return [] }
        var out: [Int] = []
        var visited = Set<UInt32>()
        var stack = [entries[storage].child]
        while let next = stack.popLast() {
            guard next != Self.noStream, Int(next) < entries.count, visited.insert(next).inserted else { continue }
            out.append(Int(next))
            stack.append(entries[Int(next)].left)
            stack.append(entries[Int(next)].right)
        }
        return out.sorted()
    }

    /// A child of `storage` by name (case-insensitive, as CFB compares).
    public func child(_ name: String, of storage: Int) -> Int? {
        children(of: storage).first { entries[$0].name.uppercased() == name.uppercased() }
    }

    /// The bytes of a stream entry.
    public func stream(_ index: Int) throws(MailParseError) -> [UInt8] {
        guard entries.indices.contains(index), entries[index].kind == .stream else {
            throw MailParseError("compound file: entry \(index) is not a stream")
        }
        let entry = entries[index]
        guard entry.size <= UInt64(data.count) else {
            throw MailParseError("compound file: stream \"\(entry.name)\" is larger than the file")
        }
        let size = Int(entry.size)
        var out: [UInt8] = []
        out.reserveCapacity(size)
        if entry.size < miniCutoff {
            let sectors = miniStream.count / miniSectorSize
            for sector in try Self.chain(entry.start, fat: miniFAT, count: sectors) where out.count < size {
                let offset = Int(sector) * miniSectorSize
                out += miniStream[offset..<min(offset + miniSectorSize, miniStream.count)]
            }
        } else {
            let sectors = (data.count - sectorSize) / sectorSize
            for sector in try Self.chain(entry.start, fat: fat, count: sectors) where out.count < size {
                let offset = (Int(sector) + 1) * sectorSize
                out += data[offset..<(offset + sectorSize)]
            }
        }
        guard out.count >= size else {
            throw MailParseError("compound file: stream \"\(entry.name)\" is truncated")
        }
        return Array(out.prefix(size))
    }

    static func u16(_ bytes: [UInt8], _ offset: Int) -> UInt16 { LittleEndian.u16(bytes, offset) ?? 0 }

    /// Past the end reads as "no sector" (0xFFFFFFFF), which ends any chain.
    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 { LittleEndian.u32(bytes, offset) ?? noStream }

    static func u64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        UInt64(u32(bytes, offset)) | UInt64(u32(bytes, offset + 4)) << 32
    }
}
