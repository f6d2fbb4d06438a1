/// How version strings of one source compare. Each source names its scheme: NVD and vendor advisories
/// use `generic`, OSV ecosystems and CVE records say which one they use.
public enum VersionScheme: String, Sendable, CaseIterable, Codable {
    /// Vendor strings: numbers compare as numbers, a leading `v` and trailing `.0` parts are ignored,
    /// letter suffixes (`2.4a`, OpenSSL `1.1.1n`), hotfixes (`10.2.9-h1`), service packs and updates
    /// sort after the base version, and only the words dev, alpha, beta, pre, preview and rc before it.
    case generic
    /// Semantic Versioning 2.0 (a leading `v` is accepted, a missing minor or patch counts as 0).
    case semver
    /// Debian's dpkg (`epoch:upstream-revision`, `~` sorts before everything).
    case deb
    /// RPM's rpmvercmp (`epoch:version-release`, `~` before and `^` after).
    case rpm
    /// Python's PEP 440 (epochs, pre-, post- and development releases, local versions).
    case pep440
}

public struct VersionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum Versions {
    /// -1, 0 or 1 as `a` sorts before, equal to or after `b`.
    public static func compare(_ a: String, _ b: String, scheme: VersionScheme) throws(VersionError) -> Int {
        switch scheme {
        case .generic: return compareGeneric(a, b)
        case .semver: return try SemVer(parsing: a).compare(try SemVer(parsing: b))
        case .deb: return try compareDebian(a, b)
        case .rpm: return compareRPM(a, b)
        case .pep440: return try PEP440(parsing: a).compare(try PEP440(parsing: b))
        }
    }

    /// The comparison, or nil when either side is not a version of the scheme.
    public static func compareIfValid(_ a: String, _ b: String, scheme: VersionScheme) -> Int? {
        do { return try compare(a, b, scheme: scheme) } catch { return nil }
    }

    // MARK: generic

    enum Token: Equatable {
        case number([UInt8])  // digits without leading zeros
        case word([UInt8])  // lower-case letters
    }

    static let preReleaseWords: [String: Int] = [
        "dev": 0, "snapshot": 0, "alpha": 1, "beta": 2, "pre": 3, "preview": 3, "rc": 4, "cr": 4,
    ]

    static func tokens(_ text: String) -> [Token] {
        var bytes = Array(text.utf8)
        // `v1.2`, `V1.2`: the prefix is not part of the version.
        if bytes.count > 1, bytes[0] | 0x20 == UInt8(ascii: "v"), isDigit(bytes[1]) { bytes.removeFirst() }
        var result: [Token] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if isDigit(byte) {
                var end = index
                while end < bytes.count, isDigit(bytes[end]) { end += 1 }
                var start = index
                while start < end - 1, bytes[start] == UInt8(ascii: "0") { start += 1 }
                result.append(.number(Array(bytes[start..<end])))
                index = end
            } else if isLetter(byte) {
                var end = index
                while end < bytes.count, isLetter(bytes[end]) { end += 1 }
                result.append(.word(bytes[index..<end].map { $0 | 0x20 }))
                index = end
            } else {
                index += 1
            }
        }
        return result
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }

    static func preRelease(_ token: Token) -> Int? {
        guard case .word(let letters) = token else { return nil }
        return preReleaseWords[String(decoding: letters, as: UTF8.self)]
    }

    static func compareDigits(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.count != b.count { return a.count < b.count ? -1 : 1 }
        return a.lexicographicallyPrecedes(b) ? -1 : (a == b ? 0 : 1)
    }

    /// How a version with this extra part compares with the same version without it.
    static func extra(_ token: Token) -> Int {
        switch token {
        case .number(let digits): return digits == [UInt8(ascii: "0")] ? 0 : 1
        case .word: return preRelease(token) != nil ? -1 : 1
        }
    }

    public static func compareGeneric(_ a: String, _ b: String) -> Int {
        let left = tokens(a)
        let right = tokens(b)
        var index = 0
        while index < left.count || index < right.count {
            // A missing part counts as 0, so `1.0` equals `1.0.0` and `1.0.0-rc.1` sorts before `1.0.0`.
            guard index < left.count else {
                let order = -extra(right[index])
                if order != 0 { return order }
                index += 1
                continue
            }
            guard index < right.count else {
                let order = extra(left[index])
                if order != 0 { return order }
                index += 1
                continue
            }
            switch (left[index], right[index]) {
            case (.number(let x), .number(let y)):
                let order = compareDigits(x, y)
                if order != 0 { return order }
            case (.word(let x), .word(let y)):
                if x != y {
                    switch (preRelease(left[index]), preRelease(right[index])) {
                    case (let p?, let q?) where p != q: return p < q ? -1 : 1
                    case (_?, nil): return -1
                    case (nil, _?): return 1
                    default: return x.lexicographicallyPrecedes(y) ? -1 : 1
                    }
                }
            case (.number, .word):
                // `1.0.1` after `1.0.rc1`, and after `1.0a` (a number part outranks a suffix).
                return 1
            case (.word, .number):
                return -1
            }
            index += 1
        }
        return 0
    }

    // MARK: dpkg

    static func compareDebian(_ a: String, _ b: String) throws(VersionError) -> Int {
        let x = try DebianVersion(a)
        let y = try DebianVersion(b)
        if x.epoch != y.epoch { return x.epoch < y.epoch ? -1 : 1 }
        let upstream = verrevcmp(x.upstream, y.upstream)
        if upstream != 0 { return upstream < 0 ? -1 : 1 }
        let revision = verrevcmp(x.revision, y.revision)
        return revision == 0 ? 0 : (revision < 0 ? -1 : 1)
    }

    struct DebianVersion {
        var epoch: Int = 0
        var upstream: [UInt8]
        var revision: [UInt8] = []

        init(_ text: String) throws(VersionError) {
            let trimmed = text.trimmingWhitespace
            guard !trimmed.isEmpty else { throw VersionError("empty Debian version") }
            var rest = Substring(trimmed)
            if let colon = rest.firstIndex(of: ":") {
                guard let epoch = Int(rest[..<colon]), epoch >= 0 else {
                    throw VersionError("Debian version \(text): the epoch must be a number")
                }
                self.epoch = epoch
                rest = rest[rest.index(after: colon)...]
            }
            if let dash = rest.lastIndex(of: "-") {
                revision = Array(rest[rest.index(after: dash)...].utf8)
                rest = rest[..<dash]
            }
            guard let first = rest.utf8.first, Versions.isDigit(first) else {
                throw VersionError("Debian version \(text): the upstream version must start with a digit")
            }
            let allowed = Set(".+~-:".utf8)
            for byte in rest.utf8 where !(Versions.isDigit(byte) || Versions.isLetter(byte) || allowed.contains(byte)) {
                throw VersionError("Debian version \(text): invalid character")
            }
            upstream = Array(rest.utf8)
        }
    }

    static func order(_ byte: UInt8?) -> Int {
        guard let byte else { return 0 }
        if isDigit(byte) { return 0 }
        if isLetter(byte) { return Int(byte) }
        if byte == UInt8(ascii: "~") { return -1 }
        return Int(byte) + 256
    }

    /// dpkg's `verrevcmp`.
    static func verrevcmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            var firstDiff = 0
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let ac = order(i < a.count ? a[i] : nil)
                let bc = order(j < b.count ? b[j] : nil)
                if ac != bc { return ac - bc }
                i += 1
                j += 1
            }
            while i < a.count, a[i] == UInt8(ascii: "0") { i += 1 }
            while j < b.count, b[j] == UInt8(ascii: "0") { j += 1 }
            while i < a.count, j < b.count, isDigit(a[i]), isDigit(b[j]) {
                if firstDiff == 0 { firstDiff = Int(a[i]) - Int(b[j]) }
                i += 1
                j += 1
            }
            if i < a.count, isDigit(a[i]) { return 1 }
            if j < b.count, isDigit(b[j]) { return -1 }
            if firstDiff != 0 { return firstDiff }
        }
        return 0
    }

    // MARK: rpm

    static func compareRPM(_ a: String, _ b: String) -> Int {
        func split(_ text: String) -> (Int, String, String?) {
            var rest = Substring(text.trimmingWhitespace)
            var epoch = 0
            if let colon = rest.firstIndex(of: ":"), let value = Int(rest[..<colon]) {
                epoch = value
                rest = rest[rest.index(after: colon)...]
            }
            if let dash = rest.lastIndex(of: "-") {
                return (epoch, String(rest[..<dash]), String(rest[rest.index(after: dash)...]))
            }
            return (epoch, String(rest), nil)
        }
        let x = split(a)
        let y = split(b)
        if x.0 != y.0 { return x.0 < y.0 ? -1 : 1 }
        let version = rpmvercmp(Array(x.1.utf8), Array(y.1.utf8))
        if version != 0 { return version }
        switch (x.2, y.2) {
        case (let r1?, let r2?): return rpmvercmp(Array(r1.utf8), Array(r2.utf8))
        case (_?, nil): return 1  // `1.0.0-rc.1` is a release of 1.0.0
        case (nil, _?): return -1
        default: return 0
        }
    }

    /// RPM's `rpmvercmp`, with `~` (sorts before) and `^` (sorts after).
    static func rpmvercmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a == b { return 0 }
        let tilde = UInt8(ascii: "~")
        let caret = UInt8(ascii: "^")
        func isAlnum(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            while i < a.count, !isAlnum(a[i]), a[i] != tilde, a[i] != caret { i += 1 }
            while j < b.count, !isAlnum(b[j]), b[j] != tilde, b[j] != caret { j += 1 }
            let x = i < a.count ? a[i] : nil
            let y = j < b.count ? b[j] : nil
            if x == tilde || y == tilde {
                if x != tilde { return 1 }
                if y != tilde { return -1 }
                i += 1
                j += 1
                continue
            }
            if x == caret || y == caret {
                if x == nil { return -1 }
                if y == nil { return 1 }
                if x != caret { return 1 }
                if y != caret { return -1 }
                i += 1
                j += 1
                continue
            }
            guard let first = x, y != nil else { break }
            let startA = i
            let startB = j
            let numeric = isDigit(first)
            if numeric {
                while i < a.count, isDigit(a[i]) { i += 1 }
                while j < b.count, isDigit(b[j]) { j += 1 }
            } else {
                while i < a.count, isLetter(a[i]) { i += 1 }
                while j < b.count, isLetter(b[j]) { j += 1 }
            }
            if j == startB { return numeric ? 1 : -1 }
            var segmentA = Array(a[startA..<i])
            var segmentB = Array(b[startB..<j])
            if numeric {
                while segmentA.count > 1, segmentA[0] == UInt8(ascii: "0") { segmentA.removeFirst() }
                while segmentB.count > 1, segmentB[0] == UInt8(ascii: "0") { segmentB.removeFirst() }
                let order = compareDigits(segmentA, segmentB)
                if order != 0 { return order }
            } else if segmentA != segmentB {
                return segmentA.lexicographicallyPrecedes(segmentB) ? -1 : 1
            }
        }
        if i >= a.count && j >= b.count { return 0 }
        return i < a.count ? 1 : -1
    }
}

// MARK: SemVer

struct SemVer {
    var core: [UInt64]
    var pre: [Substring]

    init(parsing text: String) throws(VersionError) {
        var body = Substring(text.trimmingWhitespace)
        if body.first == "v" || body.first == "V" { body = body.dropFirst() }
        if let plus = body.firstIndex(of: "+") { body = body[..<plus] }
        var preText: Substring = ""
        if let dash = body.firstIndex(of: "-") {
            preText = body[body.index(after: dash)...]
            body = body[..<dash]
            guard !preText.isEmpty else { throw VersionError("semantic version \(text): empty pre-release") }
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else {
            throw VersionError("semantic version \(text): expected MAJOR.MINOR.PATCH")
        }
        var core: [UInt64] = []
        for part in parts {
            guard !part.isEmpty, part.utf8.allSatisfy(Versions.isDigit), let value = UInt64(part) else {
                throw VersionError("semantic version \(text): \"\(part)\" is not a number")
            }
            core.append(value)
        }
        while core.count < 3 { core.append(0) }
        self.core = core
        pre = preText.isEmpty ? [] : preText.split(separator: ".", omittingEmptySubsequences: false)
        for identifier in pre
        where identifier.isEmpty
            || !identifier.utf8.allSatisfy({ Versions.isDigit($0) || Versions.isLetter($0) || $0 == 0x2D })
        {
            throw VersionError("semantic version \(text): invalid pre-release identifier")
        }
    }

    func compare(_ other: SemVer) -> Int {
        for (x, y) in zip(core, other.core) where x != y { return x < y ? -1 : 1 }
        switch (pre.isEmpty, other.pre.isEmpty) {
        case (true, true): return 0
        case (true, false): return 1
        case (false, true): return -1
        default: break
        }
        for (x, y) in zip(pre, other.pre) where x != y {
            let nx = x.utf8.allSatisfy(Versions.isDigit) ? UInt64(x) : nil
            let ny = y.utf8.allSatisfy(Versions.isDigit) ? UInt64(y) : nil
            switch (nx, ny) {
            case (let a?, let b?): if a != b { return a < b ? -1 : 1 }
            case (_?, nil): return -1
            case (nil, _?): return 1
            default: return x < y ? -1 : 1
            }
        }
        return pre.count == other.pre.count ? 0 : (pre.count < other.pre.count ? -1 : 1)
    }
}

// MARK: PEP 440

struct PEP440 {
    var epoch: UInt64 = 0
    var release: [UInt64] = []
    /// (0 = a, 1 = b, 2 = rc, number)
    var pre: (Int, UInt64)?
    var post: UInt64?
    var dev: UInt64?
    var local: [Substring] = []

    init(parsing text: String) throws(VersionError) {
        let lowered = text.trimmingWhitespace.lowercased()
        var bytes = Array(lowered.utf8)[...]
        let invalid = VersionError("\(text) is not a PEP 440 version")
        if bytes.first == UInt8(ascii: "v") { bytes = bytes.dropFirst() }
        func number() -> UInt64? {
            var end = bytes.startIndex
            while end < bytes.endIndex, Versions.isDigit(bytes[end]) { end += 1 }
            guard end > bytes.startIndex else { return nil }
            let value = UInt64(String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self))
            bytes = bytes[end...]
            return value
        }
        func separator() {
            if let byte = bytes.first, byte == 0x2E || byte == 0x2D || byte == 0x5F { bytes = bytes.dropFirst() }
        }
        func word(_ options: [String]) -> String? {
            for option in options where bytes.starts(with: option.utf8) {
                bytes = bytes.dropFirst(option.utf8.count)
                return option
            }
            return nil
        }
        guard var first = number() else { throw invalid }
        if bytes.first == UInt8(ascii: "!") {
            epoch = first
            bytes = bytes.dropFirst()
            guard let value = number() else { throw invalid }
            first = value
        }
        release = [first]
        while bytes.first == UInt8(ascii: "."), bytes.count > 1, Versions.isDigit(bytes[bytes.startIndex + 1]) {
            bytes = bytes.dropFirst()
            guard let value = number() else { throw invalid }
            release.append(value)
        }
        var saved = bytes
        separator()
        if let label = word(["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"]) {
            let kind = label.hasPrefix("a") ? 0 : (label.hasPrefix("b") ? 1 : 2)
            separator()
            pre = (kind, number() ?? 0)
            saved = bytes
        } else {
            bytes = saved
        }
        if bytes.first == UInt8(ascii: "-"), bytes.count > 1, Versions.isDigit(bytes[bytes.startIndex + 1]) {
            bytes = bytes.dropFirst()
            post = number()
            saved = bytes
        } else {
            separator()
            if word(["post", "rev", "r"]) != nil {
                separator()
                post = number() ?? 0
                saved = bytes
            } else {
                bytes = saved
            }
        }
        separator()
        if word(["dev"]) != nil {
            separator()
            dev = number() ?? 0
        } else {
            bytes = saved
        }
        if bytes.first == UInt8(ascii: "+") {
            let rest = String(decoding: bytes.dropFirst(), as: UTF8.self)
            local = rest.split(whereSeparator: { $0 == "." || $0 == "-" || $0 == "_" })
            guard !local.isEmpty,
                local.allSatisfy({ $0.utf8.allSatisfy { Versions.isDigit($0) || Versions.isLetter($0) } })
            else { throw invalid }
            bytes = bytes[bytes.endIndex...]
        }
        guard bytes.isEmpty else { throw invalid }
    }

    func compare(_ other: PEP440) -> Int {
        if epoch != other.epoch { return epoch < other.epoch ? -1 : 1 }
        var a = release
        var b = other.release
        while a.count > 1, a.last == 0 { a.removeLast() }
        while b.count > 1, b.last == 0 { b.removeLast() }
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        // Keys per PEP 440: a development release without pre- or post-release sorts before pre-releases.
        func preKey(_ v: PEP440) -> (Int, UInt64) {
            if let pre = v.pre { return (pre.0 + 1, pre.1) }
            if v.post == nil, v.dev != nil { return (0, 0) }
            return (4, 0)
        }
        let p = preKey(self)
        let q = preKey(other)
        if p != q { return p < q ? -1 : 1 }
        let postA = post.map { Int64($0) } ?? -1
        let postB = other.post.map { Int64($0) } ?? -1
        if postA != postB { return postA < postB ? -1 : 1 }
        let devA = dev ?? UInt64.max
        let devB = other.dev ?? UInt64.max
        if devA != devB { return devA < devB ? -1 : 1 }
        // Local segments: numbers by value ("00" is "0") and above words; words without regard to case.
        for (x, y) in zip(local, other.local) {
            switch (UInt64(x), UInt64(y)) {
            case (let m?, let n?): if m != n { return m < n ? -1 : 1 }
            case (_?, nil): return 1
            case (nil, _?): return -1
            default:
                let (a, b) = (x.lowercased(), y.lowercased())
                if a != b { return a < b ? -1 : 1 }
            }
        }
        return local.count == other.local.count ? 0 : (local.count < other.local.count ? -1 : 1)
    }
}

extension String {
    var trimmingWhitespace: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
