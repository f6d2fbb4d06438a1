import Foundation

/// Punycode (RFC 3492) decoding of IDNA labels (`xn--…`).
public enum Punycode {
    /// A label's Unicode form, or nil if it is not valid punycode.
    public static func decode(_ label: String) -> String? {
        let base = 36
        let tMin = 1
        let tMax = 26
        var input = Array(label.unicodeScalars)
        guard input.count <= 63, input.allSatisfy(\.isASCII) else { return nil }
        var output: [Unicode.Scalar] = []
        if let dash = input.lastIndex(of: "-") {
            output = Array(input[..<dash])
            input = Array(input[(dash + 1)...])
        }
        var n = 128
        var i = 0
        var bias = 72
        var position = 0
        while position < input.count {
            let oldI = i
            var weight = 1
            var k = base
            while true {
                guard position < input.count else { return nil }
                let scalar = input[position].value
                position += 1
                let digit: Int
                switch scalar {
                case 0x30...0x39: digit = Int(scalar) - 22
                case 0x41...0x5A: digit = Int(scalar) - 0x41
                case 0x61...0x7A: digit = Int(scalar) - 0x61
                default: return nil
                }
                guard digit <= (Int(Int32.max) - i) / weight else { return nil }
                i += digit * weight
                let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if digit < t { break }
                guard weight <= Int(Int32.max) / (base - t) else { return nil }
                weight *= base - t
                k += base
            }
            let count = output.count + 1
            var delta = oldI == 0 ? (i - oldI) / 700 : (i - oldI) / 2
            delta += delta / count
            var shift = 0
            while delta > ((base - tMin) * tMax) / 2 {
                delta /= base - tMin
                shift += base
            }
            bias = shift + (base - tMin + 1) * delta / (delta + 38)
            n += i / count
            i %= count
            guard n <= 0x10FFFF, let scalar = Unicode.Scalar(UInt32(n)) else { return nil }
            output.insert(scalar, at: i)
            i += 1
        }
        return String(String.UnicodeScalarView(output))
    }

    /// A host with its `xn--` labels shown in Unicode (labels that do not decode stay as they are).
    public static func displayHost(_ host: String) -> String {
        guard host.contains("xn--") else { return host }
        return host.split(separator: ".", omittingEmptySubsequences: false).map { label in
            label.lowercased().hasPrefix("xn--") ? (decode(String(label.dropFirst(4))) ?? String(label)) : String(label)
        }.joined(separator: ".")
    }
}

/// Domain names: the registrable part and the look-alike checks.
public enum DomainName {
    /// Public suffixes of two labels seen in French and European mail. Hygie does not ship the Public Suffix
    /// List; other suffixes are taken as one label, which only makes look-alike checks a little coarser.
    static let twoLabelSuffixes: Set<String> = [
        "gouv.fr", "asso.fr", "nom.fr", "com.fr", "tm.fr", "presse.fr", "co.uk", "org.uk", "ac.uk", "gov.uk",
        "nhs.uk", "com.au", "co.jp", "com.br", "co.nz", "co.za", "com.cn", "com.tr", "co.in", "com.mx", "com.es",
        "gob.es", "co.it", "gv.at", "ac.be", "com.pl", "co.il", "com.sg", "com.hk", "com.tw", "co.kr",
    ]

    /// `login.chu-valbrune.fr` → `chu-valbrune.fr`; `ars.sante.gouv.fr` → `sante.gouv.fr`.
    public static func registrable(_ host: String) -> String {
        let labels = host.lowercased().split(separator: ".")
        guard labels.count > 2 else { return labels.joined(separator: ".") }
        let lastTwo = labels.suffix(2).joined(separator: ".")
        return labels.suffix(twoLabelSuffixes.contains(lastTwo) ? 3 : 2).joined(separator: ".")
    }

    /// The label before the public suffix (`chu-valbrune`) and the suffix (`fr`).
    static func split(_ domain: String) -> (core: String, suffix: String) {
        let registrable = registrable(domain)
        guard let dot = registrable.firstIndex(of: ".") else { return (registrable, "") }
        return (String(registrable[..<dot]), String(registrable[registrable.index(after: dot)...]))
    }

    /// Whether `host` is `domain` or one of its subdomains.
    public static func belongs(_ host: String, to domain: String) -> Bool {
        let host = host.lowercased()
        let domain = domain.lowercased()
        return host == domain || host.hasSuffix("." + domain)
    }

    /// Characters that look alike, mapped to one representative (Unicode's confusables in spirit, for the
    /// letters phishers use: Cyrillic and Greek look-alikes, digits for letters).
    static let confusable: [Character: Character] = [
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "l", "ј": "j", "ѕ": "s", "ԁ": "d",
        "ɡ": "g", "һ": "h", "ӏ": "l", "ո": "n", "ս": "u", "ν": "v", "ο": "o", "α": "a", "ρ": "p", "τ": "t",
        "κ": "k", "ι": "l", "0": "o", "1": "l", "i": "l", "|": "l", "!": "l", "3": "e", "5": "s", "$": "s",
        "@": "a", "ı": "l", "ł": "l", "ß": "b", "q": "g", "_": "-",
    ]

    /// The skeleton two names share when they look alike: diacritics removed, confusable characters mapped,
    /// `rn`→`m`, `vv`→`w`, `cl`→`d`.
    public static func skeleton(_ text: String) -> String {
        let folded = text.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: nil)
        var out = String(folded.map { confusable[$0] ?? $0 })
        for (pair, single) in [("rn", "m"), ("vv", "w"), ("cl", "d")] {
            out = out.replacingOccurrences(of: pair, with: single)
        }
        return out
    }

    /// Optimal-string-alignment distance (insertions, deletions, substitutions, adjacent swaps), stopping early
    /// above `limit`.
    public static func distance(_ left: String, _ right: String, limit: Int = 3) -> Int {
        let a = Array(left)
        let b = Array(right)
        if abs(a.count - b.count) > limit { return limit + 1 }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMinimum = current[0]
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { value = min(value, previous2[j - 2] + 1) }
                current[j] = value
                rowMinimum = min(rowMinimum, value)
            }
            if rowMinimum > limit { return limit + 1 }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}

/// A domain that imitates one the establishment protects (its own, its GHT's, its regional agency's, the
/// health insurance's, its suppliers').
public struct Lookalike: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Same look with other characters (`chu-vaIbrune.fr`, Cyrillic letters, `rn` for `m`).
        case homoglyph
        /// One or two typing errors away (`chu-valbrnue.fr`).
        case typo
        /// Same name under another suffix (`chu-valbrune.com`).
        case suffix
        /// Hyphens added or removed (`chuvalbrune.fr`).
        case hyphenation
        /// The protected name used as a subdomain of another domain (`chu-valbrune.fr.secure-login.com`).
        case embedded
        /// The protected name with words added (`chu-valbrune-rh.fr`).
        case combination
    }

    public var domain: String
    public var imitates: String
    public var kind: Kind

    /// The first protected domain that `domain` imitates, if any. Protected domains and their subdomains are
    /// never look-alikes.
    public static func check(_ domain: String, protected: [String]) -> Lookalike? {
        let host = Punycode.displayHost(domain.lowercased())
        guard host.contains(".") else { return nil }
        for original in protected.map({ $0.lowercased() }) where !original.isEmpty {
            if DomainName.belongs(domain.lowercased(), to: original) || DomainName.belongs(host, to: original) {
                return nil
            }
        }
        let (core, suffix) = DomainName.split(host)
        for original in protected.map({ $0.lowercased() }) where original.contains(".") {
            let (originalCore, originalSuffix) = DomainName.split(original)
            guard originalCore.count >= 4 else { continue }
            func found(_ kind: Kind) -> Lookalike {
                Lookalike(domain: domain.lowercased(), imitates: original, kind: kind)
            }
            if core == originalCore, suffix != originalSuffix { return found(.suffix) }
            if core != originalCore, DomainName.skeleton(core) == DomainName.skeleton(originalCore) {
                return found(.homoglyph)
            }
            let strippedCore = core.replacingOccurrences(of: "-", with: "")
            if core != originalCore, strippedCore == originalCore.replacingOccurrences(of: "-", with: "") {
                return found(.hyphenation)
            }
            // Two edits only for long names: sibling organisations (`ght-valbrune` and `chu-valbrune`) are two
            // edits apart and are not look-alikes of each other.
            let limit = originalCore.count >= 14 ? 2 : 1
            if core != originalCore, DomainName.distance(core, originalCore, limit: limit) <= limit {
                return found(.typo)
            }
            let labels = host.split(separator: ".").dropLast(DomainName.registrable(host).split(separator: ".").count)
            if labels.contains(where: { $0 == originalCore }) || host.hasPrefix(original + ".") {
                return found(.embedded)
            }
            if originalCore.count >= 5, core != originalCore, core.contains(originalCore) { return found(.combination) }
        }
        return nil
    }
}
