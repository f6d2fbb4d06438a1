/// Where a vulnerability record came from.
public enum RecordSource: String, Sendable, Codable, CaseIterable {
    case nvd
    case cve5
    case osv
    case csaf
}

/// One vulnerability as Hygie keeps it, whatever its source: identity, text, scores, exploitation
/// facts and what it affects (NVD configurations and/or affected products with version ranges).
public struct VulnerabilityRecord: Sendable {
    public var id: String
    public var source: RecordSource
    public var aliases: [String] = []
    public var title: String = ""
    public var summary: String = ""
    public var published: String?
    public var modified: String?
    /// NVD `vulnStatus`, CVE `state`, CSAF document status.
    public var status: String?
    public var cvss: [CVSSEntry] = []
    public var cwes: [String] = []
    public var ssvc: SSVCOptions?
    /// Date CISA added the CVE to KEV, as stated by NVD or the CISA ADP container.
    public var kevDateAdded: String?
    public var configurations: [Configuration] = []
    public var affected: [AffectedProduct] = []
    public var references: [String] = []
    /// Advisory id (CSAF tracking id) for records that come from an advisory.
    public var advisory: String?

    public init(id: String, source: RecordSource) {
        self.id = id
        self.source = source
    }

    /// The score to rank with: CVSS 4.0, else 3.1, else 3.0, else 2.0 (primary source first).
    public var preferredCVSS: CVSSEntry? {
        for version in ["4.0", "3.1", "3.0", "2.0"] {
            let candidates = cvss.filter { $0.version == version }
            if let primary = candidates.first(where: \.primary) ?? candidates.first { return primary }
        }
        return nil
    }
}

public struct CVSSEntry: Sendable, Equatable, Codable {
    public var version: String
    public var vector: String
    public var baseScore: Double
    public var source: String
    public var primary: Bool

    public init(version: String, vector: String, baseScore: Double, source: String, primary: Bool) {
        self.version = version
        self.vector = vector
        self.baseScore = baseScore
        self.source = source
        self.primary = primary
    }
}

/// The SSVC decision points CISA publishes per CVE (coordinator role).
public struct SSVCOptions: Sendable, Equatable, Codable {
    public var exploitation: String
    public var automatable: String
    public var technicalImpact: String

    public init(exploitation: String, automatable: String, technicalImpact: String) {
        self.exploitation = exploitation
        self.automatable = automatable
        self.technicalImpact = technicalImpact
    }
}

public enum AffectedStatus: String, Sendable, Codable {
    case affected
    case unaffected
    case unknown
}

/// A product a record names as affected (CVE `affected[]`, OSV `affected[]`, CSAF product tree).
public struct AffectedProduct: Sendable {
    public var vendor: String
    public var product: String
    public var cpes: [CPE] = []
    /// CPE names the source wrote that are not CPE names (reported, not matched).
    public var invalidCPEs: [String] = []
    /// Package identity (OSV ecosystem and name, or a purl type and name).
    public var ecosystem: String?
    public var packageName: String?
    public var defaultStatus: AffectedStatus = .unknown
    public var versions: [AffectedVersion] = []

    public init(vendor: String, product: String) {
        self.vendor = vendor
        self.product = product
    }

    /// Index keys (`vendor:product` normalised) this entry can be found under.
    public var keys: [String] {
        var result: Set<String> = []
        if let key = ProductKey.make(vendor: vendor, product: product) { result.insert(key) }
        for cpe in cpes { if let key = ProductKey.make(cpe: cpe) { result.insert(key) } }
        if let ecosystem, let packageName { result.insert(ProductKey.package(ecosystem: ecosystem, name: packageName)) }
        return result.sorted()
    }
}

/// One version statement: an exact version, or a range from `version` (empty = from the first) to
/// `lessThan` / `lessThanOrEqual`, or open-ended.
public struct AffectedVersion: Sendable, Equatable {
    public var status: AffectedStatus
    public var version: String
    public var lessThan: String?
    public var lessThanOrEqual: String?
    /// A range with no upper bound (OSV `introduced` without `fixed`).
    public var openEnded = false
    /// Every version (`*`, "All versions").
    public var all = false
    /// How to compare, or nil when the versions cannot be compared (git commits, free text).
    public var scheme: VersionScheme?

    public init(
        status: AffectedStatus, version: String, lessThan: String? = nil, lessThanOrEqual: String? = nil,
        openEnded: Bool = false, all: Bool = false, scheme: VersionScheme?
    ) {
        self.status = status
        self.version = version
        self.lessThan = lessThan
        self.lessThanOrEqual = lessThanOrEqual
        self.openEnded = openEnded
        self.all = all
        self.scheme = scheme
    }

    public var isRange: Bool { lessThan != nil || lessThanOrEqual != nil || openEnded }

    /// Human text of the statement, e.g. `≥ 2.0, < 2.4.1`.
    public var text: String {
        if all { return "all versions" }
        var parts: [String] = []
        let lower = version.trimmingWhitespace
        if isRange {
            if !lower.isEmpty, lower != "0" { parts.append("≥ \(lower)") }
            if let lessThan { parts.append("< \(lessThan)") }
            if let lessThanOrEqual { parts.append("≤ \(lessThanOrEqual)") }
            return parts.isEmpty ? "all versions" : parts.joined(separator: ", ")
        }
        return "= \(lower)"
    }

    /// True when `candidate` falls in this statement (nil when it cannot be decided).
    public func contains(_ candidate: String) -> Bool? {
        if all { return true }
        guard let scheme else { return nil }
        let lower = version.trimmingWhitespace
        guard isRange else {
            guard !lower.isEmpty else { return nil }
            return Versions.compareIfValid(candidate, lower, scheme: scheme).map { $0 == 0 }
        }
        if !lower.isEmpty, lower != "0", lower != "*" {
            guard let order = Versions.compareIfValid(candidate, lower, scheme: scheme) else { return nil }
            if order < 0 { return false }
        }
        if let lessThan {
            guard let order = Versions.compareIfValid(candidate, lessThan, scheme: scheme) else { return nil }
            return order < 0
        }
        if let bound = lessThanOrEqual {
            if bound == "*" { return true }
            if bound.hasSuffix(".*") {
                // `5.15.*`: any version whose leading parts are 5.15.
                let prefix = String(bound.dropLast(2))
                let prefixParts = prefix.split(separator: ".")
                let parts = candidate.split(separator: ".")
                guard parts.count >= prefixParts.count else {
                    return Versions.compareIfValid(candidate, prefix, scheme: scheme).map { $0 <= 0 }
                }
                let head = parts.prefix(prefixParts.count).joined(separator: ".")
                guard let order = Versions.compareIfValid(head, prefix, scheme: scheme) else { return nil }
                return order <= 0
            }
            guard let order = Versions.compareIfValid(candidate, bound, scheme: scheme) else { return nil }
            return order <= 0
        }
        return true  // open-ended
    }
}

extension AffectedProduct {
    /// The status of `version` for this product: an `unaffected` statement wins over an `affected` one
    /// (no false alarm when a CNA lists a fixed branch), then the default status.
    public func status(of version: String?) -> (AffectedStatus, AffectedVersion?, decided: Bool) {
        guard let version, !version.isEmpty else {
            // Without a version only "all versions" statements (or the default status alone) decide.
            if let every = versions.first(where: \.all) { return (every.status, every, true) }
            if versions.isEmpty { return (defaultStatus, nil, true) }
            return (.unknown, nil, false)
        }
        var affected: AffectedVersion?
        var undecided = false
        for entry in versions {
            switch entry.contains(version) {
            case true?:
                if entry.status == .unaffected { return (.unaffected, entry, true) }
                if entry.status == .affected, affected == nil { affected = entry }
            case false?: continue
            case nil: if entry.status == .affected { undecided = true }
            }
        }
        if let affected { return (.affected, affected, true) }
        if undecided, defaultStatus != .unaffected { return (.unknown, nil, false) }
        return (defaultStatus, nil, true)
    }
}

/// Normalised index keys: vendor aliases folded, case and punctuation ignored.
public enum ProductKey {
    public static func make(vendor: String, product: String) -> String? {
        let v = Vendors.canonical(vendor)
        var p = normalise(product)
        // "Philips Vue PACS" by Philips is "vue_pacs".
        for prefix in Set([v, normalise(vendor)]) where p.hasPrefix(prefix + "_") {
            p = String(p.dropFirst(prefix.count + 1))
        }
        guard !v.isEmpty, !p.isEmpty, !placeholders.contains(p), !placeholders.contains(v) else { return nil }
        return v + ":" + p
    }

    public static func make(cpe: CPE) -> String? {
        guard case .value(let vendor) = cpe.vendor, case .value(let product) = cpe.product,
            !CPE.hasWildcard(vendor), !CPE.hasWildcard(product)
        else { return nil }
        return make(vendor: CPE.unescaped(vendor), product: CPE.unescaped(product))
    }

    public static func package(ecosystem: String, name: String) -> String {
        "pkg:" + ecosystem.lowercased() + ":" + name.lowercased()
    }

    static let placeholders: Set<String> = ["n_a", "na", "unknown", "unspecified", "none", "various", "multiple"]

    /// Lower case, accents folded, every run of other characters as one `_`.
    public static func normalise(_ text: String) -> String {
        var out: [UInt8] = []
        var pendingSeparator = false
        for scalar in Vendors.folded(text).unicodeScalars {
            let value = scalar.value
            let isAlnum =
                (value >= 0x30 && value <= 0x39) || (value >= 0x61 && value <= 0x7A) || (value >= 0x41 && value <= 0x5A)
            if isAlnum {
                if pendingSeparator, !out.isEmpty { out.append(UInt8(ascii: "_")) }
                pendingSeparator = false
                out.append(UInt8(value) | (value >= 0x41 && value <= 0x5A ? 0x20 : 0))
            } else {
                pendingSeparator = true
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Vendor names as CPE dictionaries and advisories write them, folded to one spelling.
public enum Vendors {
    static let legalWords: Set<String> = [
        "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc", "gmbh", "ag", "sa",
        "sas", "plc", "bv", "nv", "se", "kg", "group", "international", "systems", "technologies", "ab", "oy",
    ]

    /// Canonical vendor for a spelling (after normalisation and without legal words).
    static let aliases: [String: String] = [
        "phillips": "philips", "koninklijke_philips": "philips", "philips_healthcare": "philips",
        "philips_medical": "philips", "royal_philips": "philips",
        "general_electric": "ge", "general_electric_ge": "ge", "ge_healthcare": "ge", "ge_medical": "ge",
        "ge_medical_systems": "ge", "gehc": "ge",
        "b_braun": "bbraun", "b_braun_medical": "bbraun", "b_braun_melsungen": "bbraun", "braun": "bbraun",
        "siemens_healthineers": "siemens", "siemens_healthcare": "siemens", "siemens_medical": "siemens",
        "siemens_medical_solutions": "siemens",
        "becton_dickinson": "bd", "becton_dickinson_and": "bd", "bd_becton_dickinson": "bd",
        "drager": "draeger", "drager_medical": "draeger", "draeger_medical": "draeger", "dragerwerk": "draeger",
        "baxter_healthcare": "baxter", "hill_rom": "hillrom", "carestream_health": "carestream",
        "agfa_healthcare": "agfa", "agfa_gevaert": "agfa", "nextgen_healthcare": "nextgen",
        "palo_alto_networks": "paloaltonetworks", "palo_alto": "paloaltonetworks", "fortinet_inc": "fortinet",
        "medtronic_minimed": "medtronic", "fresenius_kabi": "fresenius", "fresenius_medical_care": "fresenius",
        "smiths_medical_asd": "smiths_medical", "icu_medical_inc": "icu_medical", "hewlett_packard_enterprise": "hpe",
        "netscaler": "citrix", "pulse_secure": "ivanti", "progress_software": "progress",
    ]

    /// The canonical form of a vendor name.
    public static func canonical(_ name: String) -> String {
        // "Becton, Dickinson and Company (BD)", "General Electric (GE)": the parenthesis repeats the name.
        var text = name
        while let open = text.firstIndex(of: "("), let close = text[open...].firstIndex(of: ")") {
            text.removeSubrange(open...close)
        }
        let normalised = ProductKey.normalise(text)
        var words = normalised.split(separator: "_").map(String.init)
        while words.count > 1, let last = words.last, legalWords.contains(last) { words.removeLast() }
        let joined = words.joined(separator: "_")
        if let alias = aliases[joined] { return alias }
        if let alias = aliases[normalised] { return alias }
        return joined
    }

    /// Lower case with Latin accents folded (`Dräger` → `drager`, `ß` → `ss`).
    static func folded(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.lowercased().unicodeScalars {
            switch scalar {
            case "à", "á", "â", "ã", "ä", "å": out.append("a")
            case "ç": out.append("c")
            case "è", "é", "ê", "ë": out.append("e")
            case "ì", "í", "î", "ï": out.append("i")
            case "ñ": out.append("n")
            case "ò", "ó", "ô", "õ", "ö", "ø": out.append("o")
            case "ù", "ú", "û", "ü": out.append("u")
            case "ý", "ÿ": out.append("y")
            case "ß": out.append("ss")
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

// MARK: storage form

extension CPE: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try CPE(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension AffectedVersion: Codable {}
extension AffectedProduct: Codable {}
