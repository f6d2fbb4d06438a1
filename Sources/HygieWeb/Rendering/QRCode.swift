import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// A QR code (ISO/IEC 18004) in byte mode at error-correction level M, versions 1 to 10 (up to 213 bytes):
/// enough for an `otpauth://` URI. Hygie draws it itself as SVG so that no secret leaves the server.
struct QRCode {
    let size: Int
    private(set) var modules: [[Bool]]
    private var reserved: [[Bool]]

    enum Failure: Error { case tooLong }

    // Level M: (total data codewords, EC codewords per block, [(blocks, data codewords per block)]).
    private static let levelM: [(Int, Int, [(Int, Int)])] = [
        (16, 10, [(1, 16)]), (28, 16, [(1, 28)]), (44, 26, [(1, 44)]), (64, 18, [(2, 32)]),
        (86, 24, [(2, 43)]), (108, 16, [(4, 27)]), (124, 18, [(4, 31)]), (154, 22, [(2, 38), (2, 39)]),
        (182, 22, [(3, 36), (2, 37)]), (216, 26, [(4, 43), (1, 44)]),
    ]
    private static let alignment: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50],
    ]
    private static let remainderBits = [0, 7, 7, 7, 7, 7, 0, 0, 0, 0]

    init(text: String) throws {
        let bytes = Array(text.utf8)
        guard
            let version = (1...10).first(where: {
                Self.levelM[$0 - 1].0 * 8 >= 4 + ($0 < 10 ? 8 : 16) + bytes.count * 8
            })
        else { throw Failure.tooLong }
        let (dataCount, ecPerBlock, groups) = Self.levelM[version - 1]

        // Data bit stream: mode 0100, length, bytes, terminator, padding.
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, version < 10 ? 8 : 16)
        for byte in bytes { append(Int(byte), 8) }
        append(0, min(4, dataCount * 8 - bits.count))
        while bits.count % 8 != 0 { bits.append(false) }
        var data: [UInt8] = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { ($0 << 1) | ($1 ? 1 : 0) }
        }
        var pad: [UInt8] = [0xEC, 0x11]
        while data.count < dataCount {
            data.append(pad[0])
            pad.swapAt(0, 1)
        }

        // Blocks, error correction, interleaving.
        var blocks: [[UInt8]] = []
        var offset = 0
        for (count, length) in groups {
            for _ in 0..<count {
                blocks.append(Array(data[offset..<offset + length]))
                offset += length
            }
        }
        let ecBlocks = blocks.map { ReedSolomon.remainder($0, degree: ecPerBlock) }
        var codewords: [UInt8] = []
        for index in 0..<(blocks.map(\.count).max() ?? 0) {
            for block in blocks where index < block.count { codewords.append(block[index]) }
        }
        for index in 0..<ecPerBlock {
            for block in ecBlocks { codewords.append(block[index]) }
        }

        size = 17 + 4 * version
        modules = Array(repeating: Array(repeating: false, count: size), count: size)
        reserved = modules
        placeFunctionPatterns(version: version)
        var stream: [Bool] = codewords.flatMap { byte in (0..<8).reversed().map { (byte >> $0) & 1 == 1 } }
        stream += Array(repeating: false, count: Self.remainderBits[version - 1])
        placeData(stream)

        // Choose the mask with the lowest penalty.
        var best: (penalty: Int, modules: [[Bool]])?
        for mask in 0..<8 {
            var candidate = self
            candidate.applyMask(mask)
            candidate.placeFormat(mask: mask)
            let penalty = candidate.penalty()
            if best == nil || penalty < best!.penalty { best = (penalty, candidate.modules) }
        }
        modules = best!.modules
    }

    private mutating func set(_ row: Int, _ column: Int, _ dark: Bool) {
        modules[row][column] = dark
        reserved[row][column] = true
    }

    private mutating func placeFunctionPatterns(version: Int) {
        for (row, column) in [(0, 0), (0, size - 7), (size - 7, 0)] {
            for dy in -1...7 {
                for dx in -1...7 {
                    let y = row + dy
                    let x = column + dx
                    guard (0..<size).contains(y), (0..<size).contains(x) else { continue }
                    let inRing =
                        (0...6).contains(dy) && (0...6).contains(dx)
                        && (dy == 0 || dy == 6 || dx == 0 || dx == 6)
                    let inCore = (2...4).contains(dy) && (2...4).contains(dx)
                    set(y, x, inRing || inCore)
                }
            }
        }
        for index in 8..<(size - 8) {
            set(6, index, index % 2 == 0)
            set(index, 6, index % 2 == 0)
        }
        let centres = Self.alignment[version - 1]
        for y in centres {
            for x in centres {
                if (y == 6 && x == 6) || (y == 6 && x == centres.last!) || (y == centres.last! && x == 6) { continue }
                for dy in -2...2 {
                    for dx in -2...2 { set(y + dy, x + dx, max(abs(dy), abs(dx)) != 1) }
                }
            }
        }
        set(size - 8, 8, true)  // the dark module
        // Reserve format areas (written per mask later).
        for index in 0...8 {
            reserved[8][index] = true
            reserved[index][8] = true
        }
        for index in 0..<8 {
            reserved[8][size - 1 - index] = true
            reserved[size - 1 - index][8] = true
        }
        if version >= 7 {
            var remainder = version
            for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
            let info = (version << 12) | remainder
            for index in 0..<18 {
                let dark = (info >> index) & 1 == 1
                let a = size - 11 + index % 3
                let b = index / 3
                set(a, b, dark)
                set(b, a, dark)
            }
        }
    }

    private mutating func placeData(_ stream: [Bool]) {
        var index = 0
        var upward = true
        var column = size - 1
        while column > 0 {
            if column == 6 { column -= 1 }
            for step in 0..<size {
                let row = upward ? size - 1 - step : step
                for x in [column, column - 1] where !reserved[row][x] {
                    modules[row][x] = index < stream.count ? stream[index] : false
                    index += 1
                }
            }
            upward.toggle()
            column -= 2
        }
    }

    private mutating func applyMask(_ mask: Int) {
        for row in 0..<size {
            for column in 0..<size where !reserved[row][column] {
                let flip: Bool
                switch mask {
                case 0: flip = (row + column) % 2 == 0
                case 1: flip = row % 2 == 0
                case 2: flip = column % 3 == 0
                case 3: flip = (row + column) % 3 == 0
                case 4: flip = (row / 2 + column / 3) % 2 == 0
                case 5: flip = (row * column) % 2 + (row * column) % 3 == 0
                case 6: flip = ((row * column) % 2 + (row * column) % 3) % 2 == 0
                default: flip = ((row + column) % 2 + (row * column) % 3) % 2 == 0
                }
                if flip { modules[row][column].toggle() }
            }
        }
    }

    private mutating func placeFormat(mask: Int) {
        let data = (0b00 << 3) | mask  // level M is 00
        var remainder = data
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        let bits = ((data << 10) | remainder) ^ 0x5412
        func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
        for index in 0...5 { modules[index][8] = bit(index) }
        modules[7][8] = bit(6)
        modules[8][8] = bit(7)
        modules[8][7] = bit(8)
        for index in 9..<15 { modules[8][14 - index] = bit(index) }
        for index in 0..<8 { modules[8][size - 1 - index] = bit(index) }
        for index in 8..<15 { modules[size - 15 + index][8] = bit(index) }
        modules[size - 8][8] = true
    }

    private func penalty() -> Int {
        var total = 0
        for line in 0..<size {
            for horizontal in [true, false] {
                var runColour = false
                var run = 0
                for index in 0..<size {
                    let dark = horizontal ? modules[line][index] : modules[index][line]
                    if index > 0 && dark == runColour {
                        run += 1
                    } else {
                        if run >= 5 { total += run - 2 }
                        runColour = dark
                        run = 1
                    }
                }
                if run >= 5 { total += run - 2 }
            }
        }
        for row in 0..<(size - 1) {
            for column in 0..<(size - 1) {
                let colour = modules[row][column]
                if modules[row][column + 1] == colour && modules[row + 1][column] == colour
                    && modules[row + 1][column + 1] == colour
                {
                    total += 3
                }
            }
        }
        let finderLike: [Bool] = [true, false, true, true, true, false, true, false, false, false, false]
        for line in 0..<size {
            for start in 0...(size - 11) {
                var horizontalMatch = true
                var verticalMatch = true
                var horizontalReverse = true
                var verticalReverse = true
                for k in 0..<11 {
                    if modules[line][start + k] != finderLike[k] { horizontalMatch = false }
                    if modules[start + k][line] != finderLike[k] { verticalMatch = false }
                    if modules[line][start + k] != finderLike[10 - k] { horizontalReverse = false }
                    if modules[start + k][line] != finderLike[10 - k] { verticalReverse = false }
                }
                total += 40 * [horizontalMatch, verticalMatch, horizontalReverse, verticalReverse].filter { $0 }.count
            }
        }
        let dark = modules.reduce(0) { $0 + $1.filter { $0 }.count }
        total += abs(dark * 20 - size * size * 10) / (size * size) * 10
        return total
    }

    /// The code as an SVG image with a quiet zone of four modules.
    func svg(pixelsPerModule: Int = 5, title: String) -> String {
        let dimension = size + 8
        var path = ""
        for row in 0..<size {
            for column in 0..<size where modules[row][column] {
                path += "M\(column + 4) \(row + 4)h1v1h-1z"
            }
        }
        let pixels = dimension * pixelsPerModule
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(dimension) \(dimension)" width="\(pixels)" \
            height="\(pixels)" role="img" aria-label="\(HTMLEscape.attribute(title))" shape-rendering="crispEdges">\
            <rect width="100%" height="100%" fill="#fff"/><path d="\(path)" fill="#000"/></svg>
            """
    }
}

/// Reed-Solomon error correction over GF(256) with the QR polynomial 0x11D.
enum ReedSolomon {
    static let tables: (exp: [UInt8], log: [Int]) = {
        var exp = [UInt8](repeating: 0, count: 512)
        var log = [Int](repeating: 0, count: 256)
        var value = 1
        for index in 0..<255 {
            exp[index] = UInt8(value)
            log[value] = index
            value <<= 1
            if value & 0x100 != 0 { value ^= 0x11D }
        }
        for index in 255..<512 { exp[index] = exp[index - 255] }
        return (exp, log)
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        if a == 0 || b == 0 { return 0 }
        return tables.exp[tables.log[Int(a)] + tables.log[Int(b)]]
    }

    static func generator(degree: Int) -> [UInt8] {
        var poly: [UInt8] = [1]
        for index in 0..<degree {
            var next = [UInt8](repeating: 0, count: poly.count + 1)
            for (position, coefficient) in poly.enumerated() {
                next[position] ^= coefficient
                next[position + 1] ^= multiply(coefficient, tables.exp[index])
            }
            poly = next
        }
        return poly
    }

    static func remainder(_ data: [UInt8], degree: Int) -> [UInt8] {
        let generator = generator(degree: degree)
        var buffer = data + [UInt8](repeating: 0, count: degree)
        for index in 0..<data.count {
            let factor = buffer[index]
            if factor == 0 { continue }
            for (position, coefficient) in generator.enumerated() {
                buffer[index + position] ^= multiply(coefficient, factor)
            }
        }
        return Array(buffer[data.count...])
    }
}
