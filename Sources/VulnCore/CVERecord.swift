import Foundation
public import STIX

/// CVE JSON 5 records (CVE List, CISA Vulnrichment): the CNA container and the ADP containers,
/// CISA-ADP's SSVC, KEV, CVSS and CPE additions included.
public enum CVERecordFormat {
    public static func parse(_ bytes: [UInt8]) throws(VulnDataError) -> VulnerabilityRecord? {
        try record(parseJSON(bytes, what: "CVE record"))
    }

    /// The record, or nil for a REJECTED record (kept out of matching).
    public static func record(_ document: JSONValue) throws(VulnDataError) -> VulnerabilityRecord? {
        guard document.text("dataType") == "CVE_RECORD" || document["cveMetadata"] != nil else {
            throw VulnDataError("not a CVE JSON 5 record (no cveMetadata)")
        }
        guard let id = document["cveMetadata"]?.text("cveId"), id.hasPrefix("CVE-") else {
            throw VulnDataError("CVE record without cveMetadata.cveId")
        }
        let state = document["cveMetadata"]?.text("state")
        if state == "REJECTED" { return nil }
        var record = VulnerabilityRecord(id: id, source: .cve5)
        record.status = state
        record.published = document["cveMetadata"]?.text("datePublished")
        record.modified = document["cveMetadata"]?.text("dateUpdated")
        guard let cna = document["containers"]?["cna"] else { throw VulnDataError("\(id): no CNA container") }
        record.title = cna.text("title") ?? ""
        record.summary =
            cna["descriptions"]?.list.first { ($0.text("lang") ?? "").hasPrefix("en") }?.text("value")
            ?? cna["descriptions"]?.list.first?.text("value") ?? ""
        record.references = cna["references"]?.list.compactMap { $0.text("url") } ?? []
        let cnaName = cna["providerMetadata"]?.text("shortName") ?? "cna"
        try add(container: cna, source: cnaName, primary: true, to: &record)
        for adp in document["containers"]?["adp"]?.list ?? [] {
            let name = adp["providerMetadata"]?.text("shortName") ?? "adp"
            try add(container: adp, source: name, primary: false, to: &record)
        }
        return record
    }

    static func add(container: JSONValue, source: String, primary: Bool, to record: inout VulnerabilityRecord)
        throws(VulnDataError)
    {
        for affected in container["affected"]?.list ?? [] {
            record.affected.append(affectedProduct(affected))
        }
        for metric in container["metrics"]?.list ?? [] {
            for (key, version) in [("cvssV4_0", "4.0"), ("cvssV3_1", "3.1"), ("cvssV3_0", "3.0"), ("cvssV2_0", "2.0")] {
                guard let data = metric[key], let vector = data.text("vectorString"),
                    let score = data["baseScore"]?.doubleValue
                else { continue }
                record.cvss.append(
                    CVSSEntry(version: version, vector: vector, baseScore: score, source: source, primary: primary))
            }
            guard let other = metric["other"], let content = other["content"] else { continue }
            switch other.text("type") {
            case "ssvc":
                var options: [String: String] = [:]
                for option in content["options"]?.list ?? [] {
                    for member in option.members ?? [] { options[member.key] = member.value.stringValue }
                }
                record.ssvc = SSVCOptions(
                    exploitation: options["Exploitation"]?.lowercased() ?? "none",
                    automatable: options["Automatable"]?.lowercased() ?? "no",
                    technicalImpact: options["Technical Impact"]?.lowercased() ?? "partial")
            case "kev":
                record.kevDateAdded = record.kevDateAdded ?? content.text("dateAdded")
            default: break
            }
        }
        for problem in container["problemTypes"]?.list ?? [] {
            for description in problem["descriptions"]?.list ?? [] {
                if let cwe = description.text("cweId"), !record.cwes.contains(cwe) { record.cwes.append(cwe) }
            }
        }
    }

    static func affectedProduct(_ value: JSONValue) -> AffectedProduct {
        var product = AffectedProduct(vendor: value.text("vendor") ?? "", product: value.text("product") ?? "")
        if let package = value.text("packageName") {
            product.packageName = package
            if product.product.isEmpty { product.product = package }
        }
        product.ecosystem = value.text("collectionURL").flatMap(ecosystem(collection:))
        for text in value["cpes"]?.list.compactMap(\.stringValue) ?? [] {
            // CNAs write odd names (`8.0.36_and_prior` as a version); keep the ones that parse.
            if let cpe = try? CPE(parsing: text.trimmingWhitespace) {
                product.cpes.append(cpe)
            } else {
                product.invalidCPEs.append(text)
            }
        }
        product.defaultStatus = AffectedStatus(rawValue: value.text("defaultStatus") ?? "unknown") ?? .unknown
        for version in value["versions"]?.list ?? [] {
            let status = AffectedStatus(rawValue: version.text("status") ?? "affected") ?? .unknown
            let scheme = scheme(versionType: version.text("versionType"))
            let text = version.text("version") ?? ""
            if version.text("lessThan") != nil || version.text("lessThanOrEqual") != nil {
                product.versions.append(
                    AffectedVersion(
                        status: status, version: text, lessThan: version.text("lessThan"),
                        lessThanOrEqual: version.text("lessThanOrEqual"), scheme: scheme))
            } else if var parsed = VersionStatement.parse(text, scheme: scheme ?? .generic) {
                parsed.status = status
                if scheme == nil, !parsed.all { parsed.scheme = nil }
                product.versions.append(parsed)
            } else {
                product.versions.append(AffectedVersion(status: status, version: text, scheme: nil))
            }
        }
        return product
    }

    /// The comparator for a CVE `versionType` (nil: not comparable, such as git commits).
    static func scheme(versionType: String?) -> VersionScheme? {
        switch versionType?.lowercased() {
        case "git", "commit": return nil
        case "semver": return .semver
        case "rpm": return .rpm
        case "deb", "debian", "dpkg": return .deb
        case "python", "pypi", "pep440": return .pep440
        default: return .generic
        }
    }

    static func ecosystem(collection: String) -> String? {
        let url = collection.lowercased()
        if url.contains("pypi") { return "PyPI" }
        if url.contains("npmjs") { return "npm" }
        if url.contains("maven") { return "Maven" }
        if url.contains("crates.io") { return "crates.io" }
        if url.contains("rubygems") { return "RubyGems" }
        if url.contains("nuget") { return "NuGet" }
        if url.contains("pkg.go.dev") || url.contains("proxy.golang") { return "Go" }
        if url.contains("packagist") { return "Packagist" }
        return nil
    }
}

/// Version statements written as text by CNAs and vendors: `< V4.1.0`, `<=2.3`, `8.0.36_and_prior`,
/// `4.3 and earlier`, `prior to 2.1`, `1.0 - 1.5`, `vers:generic/>=2.0|<2.4`, `All versions`.
public enum VersionStatement {
    /// The statement as an affected range or version, or nil when the text is not one.
    public static func parse(_ raw: String, scheme: VersionScheme) -> AffectedVersion? {
        var text = raw.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard !text.isEmpty, text.count <= 200 else { return nil }
        let lower = text.lowercased()
        if ["*", "all", "all versions", "all_versions", "any"].contains(lower) {
            return AffectedVersion(status: .affected, version: "", all: true, scheme: scheme)
        }
        if ["n/a", "na", "-", "unspecified", "unknown", "none", "various", "see advisory"].contains(lower) {
            return nil
        }
        if lower.hasPrefix("vers:") { return parseVers(text, scheme: scheme) }
        if lower.hasPrefix("all versions prior to ") || lower.hasPrefix("all versions before ") {
            text = String(text.dropFirst(lower.hasPrefix("all versions prior to ") ? 22 : 20))
            return bound(text, inclusive: false, scheme: scheme)
        }
        for prefix in ["versions prior to ", "prior to ", "before ", "earlier than ", "below "]
        where lower.hasPrefix(prefix) {
            return bound(String(text.dropFirst(prefix.count)), inclusive: false, scheme: scheme)
        }
        for prefix in ["up to and including ", "up to ", "through "] where lower.hasPrefix(prefix) {
            return bound(String(text.dropFirst(prefix.count)), inclusive: true, scheme: scheme)
        }
        for prefix in ["<=", "≤", "=<"] where text.hasPrefix(prefix) {
            return bound(String(text.dropFirst(prefix.count)), inclusive: true, scheme: scheme)
        }
        if text.hasPrefix("<") { return bound(String(text.dropFirst()), inclusive: false, scheme: scheme) }
        for suffix in [
            " and prior", "_and_prior", " and earlier", " and below", " or earlier", " or prior", " and before",
            " and older", " or older", " or lower", " and lower", " and all prior versions",
        ] where lower.hasSuffix(suffix) {
            return bound(String(text.dropLast(suffix.count)), inclusive: true, scheme: scheme)
        }
        if text.hasPrefix(">=") {
            let rest = String(text.dropFirst(2)).trimmingWhitespace
            guard isVersionLike(rest) else { return nil }
            return AffectedVersion(status: .affected, version: rest, openEnded: true, scheme: scheme)
        }
        // `1.0 - 1.5`, `4.0 to 4.5`, `4.0 through 4.5`
        for separator in [" - ", " to ", " through ", " thru "] {
            let pieces = text.components(separatedBy: separator)
            if pieces.count == 2, isVersionLike(pieces[0].strippedV), isVersionLike(pieces[1].strippedV) {
                return AffectedVersion(
                    status: .affected, version: pieces[0].strippedV, lessThanOrEqual: pieces[1].strippedV,
                    scheme: scheme)
            }
        }
        let plain = text.strippedV
        guard isVersionLike(plain) else { return nil }
        return AffectedVersion(status: .affected, version: plain, scheme: scheme)
    }

    static func bound(_ text: String, inclusive: Bool, scheme: VersionScheme) -> AffectedVersion? {
        let version = text.trimmingWhitespace.strippedV
        guard isVersionLike(version) else { return nil }
        return inclusive
            ? AffectedVersion(status: .affected, version: "", lessThanOrEqual: version, scheme: scheme)
            : AffectedVersion(status: .affected, version: "", lessThan: version, scheme: scheme)
    }

    /// `vers:generic/>=2.0|<2.4` (purl-spec VERS); only one range per statement is kept.
    static func parseVers(_ text: String, scheme: VersionScheme) -> AffectedVersion? {
        guard let slash = text.firstIndex(of: "/") else { return nil }
        let constraints = text[text.index(after: slash)...].split(separator: "|").map {
            String($0).trimmingWhitespace
        }
        var result = AffectedVersion(status: .affected, version: "", scheme: scheme)
        var bounded = false
        for constraint in constraints {
            if constraint == "*" { return AffectedVersion(status: .affected, version: "", all: true, scheme: scheme) }
            if constraint.hasPrefix(">=") {
                result.version = String(constraint.dropFirst(2)).strippedV
            } else if constraint.hasPrefix(">") {
                result.version = String(constraint.dropFirst()).strippedV
            } else if constraint.hasPrefix("<=") {
                result.lessThanOrEqual = String(constraint.dropFirst(2)).strippedV
                bounded = true
            } else if constraint.hasPrefix("<") {
                result.lessThan = String(constraint.dropFirst()).strippedV
                bounded = true
            } else if !constraint.hasPrefix("!=") {
                let version = constraint.hasPrefix("=") ? String(constraint.dropFirst()) : constraint
                guard isVersionLike(version.strippedV) else { return nil }
                if constraints.count == 1 {
                    return AffectedVersion(status: .affected, version: version.strippedV, scheme: scheme)
                }
            }
        }
        if !bounded {
            guard !result.version.isEmpty else { return nil }
            result.openEnded = true
        }
        return result
    }

    /// Starts with a digit (after an optional `V`/`R`) and has no spaces other than service-pack words.
    static func isVersionLike(_ text: String) -> Bool {
        let trimmed = text.trimmingWhitespace
        guard !trimmed.isEmpty, trimmed.count <= 64 else { return false }
        // `4.1`, `V4.1`, `B.02`, `VM5.0`, `SV20.1`, `HD 16` (not model numbers such as `MMT-1710`): at most
        // three letters before the first digit.
        var bytes = Array(trimmed.utf8)[...]
        var letters = 0
        while let first = bytes.first, Versions.isLetter(first), letters < 3 {
            bytes = bytes.dropFirst()
            letters += 1
        }
        if letters > 0, let first = bytes.first, first == UInt8(ascii: ".") || first == 0x20 {
            bytes = bytes.dropFirst()
        }
        guard let first = bytes.first, Versions.isDigit(first) else { return false }
        let words = trimmed.lowercased().split(separator: " ")
        let allowedWords: Set<Substring> = ["sp", "update", "build", "patch", "hotfix", "rev", "r", "release"]
        return words.dropFirst().allSatisfy { word in
            allowedWords.contains(word) || word.first.map { $0.isNumber || $0 == "s" || $0 == "u" || $0 == "r" } == true
        }
    }
}

extension String {
    /// Without a leading `V`/`v` before a digit (`V4.1.0` → `4.1.0`).
    var strippedV: String {
        let trimmed = trimmingWhitespace
        let bytes = Array(trimmed.utf8)
        if bytes.count > 1, bytes[0] | 0x20 == UInt8(ascii: "v"), Versions.isDigit(bytes[1]) {
            return String(trimmed.dropFirst())
        }
        return trimmed
    }
}
