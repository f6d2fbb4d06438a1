import Foundation
import RecordInput
public import STIX

/// One entry of CISA's Known Exploited Vulnerabilities catalog.
public struct KEVEntry: Sendable, Equatable {
    public var cve: String
    public var vendor: String
    public var product: String
    public var name: String
    public var summary: String
    public var dateAdded: String
    public var dueDate: String
    public var requiredAction: String
    public var ransomware: Bool
    public var notes: String
    public var cwes: [String]

    /// CISA published a due date earlier than the date the entry was added (a known data anomaly).
    public var dueBeforeAdded: Bool { !dueDate.isEmpty && dueDate < dateAdded }
}

public enum KEVCatalog {
    /// The catalog in CISA's JSON form (`vulnerabilities[]`) or CSV form (header `cveID,…`).
    public static func parse(_ bytes: [UInt8]) throws(VulnDataError) -> (version: String?, entries: [KEVEntry]) {
        let first = bytes.first {
            $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 && $0 != 0xEF && $0 != 0xBB && $0 != 0xBF
        }
        if first == UInt8(ascii: "{") {
            let document = try parseJSON(bytes, what: "KEV catalog")
            guard let items = document["vulnerabilities"]?.arrayValue else {
                throw VulnDataError("KEV catalog: no vulnerabilities array")
            }
            var entries: [KEVEntry] = []
            for (index, item) in items.enumerated() {
                entries.append(
                    try entry(
                        { item.text($0) ?? "" }, cwes: item["cwes"]?.list.compactMap(\.stringValue) ?? [], at: index))
            }
            return (document.text("catalogVersion"), entries)
        }
        let rows: [[String]]
        do { rows = try CSV.rows(bytes, what: "KEV catalog") } catch { throw VulnDataError(error.message) }
        guard let header = rows.first, header.contains("cveID"), header.contains("dueDate") else {
            throw VulnDataError("KEV catalog: expected CISA's JSON or CSV (header with cveID and dueDate)")
        }
        var entries: [KEVEntry] = []
        for (index, row) in rows.dropFirst().enumerated() where !(row.count == 1 && row[0].isEmpty) {
            func field(_ name: String) -> String {
                guard let column = header.firstIndex(of: name), column < row.count else { return "" }
                return row[column].trimmingWhitespace
            }
            let cwes = field("cwes").split(separator: ",").map { String($0).trimmingWhitespace }.filter { !$0.isEmpty }
            entries.append(try entry(field, cwes: cwes, at: index))
        }
        return (nil, entries)
    }

    static func entry(_ field: (String) -> String, cwes: [String], at index: Int) throws(VulnDataError) -> KEVEntry {
        let cve = field("cveID")
        guard cve.hasPrefix("CVE-") else { throw VulnDataError("KEV catalog: entry \(index + 1) has no cveID") }
        let added = field("dateAdded")
        guard isDate(added) else { throw VulnDataError("KEV catalog: \(cve) has no valid dateAdded") }
        let due = field("dueDate")
        guard due.isEmpty || isDate(due) else { throw VulnDataError("KEV catalog: \(cve) has an invalid dueDate") }
        return KEVEntry(
            cve: cve, vendor: field("vendorProject"), product: field("product"), name: field("vulnerabilityName"),
            summary: field("shortDescription"), dateAdded: added, dueDate: due, requiredAction: field("requiredAction"),
            ransomware: field("knownRansomwareCampaignUse").lowercased() == "known", notes: field("notes"), cwes: cwes)
    }

    static func isDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D else { return false }
        return bytes.enumerated().allSatisfy { index, byte in index == 4 || index == 7 || Versions.isDigit(byte) }
    }
}

/// FIRST EPSS scores (`#model_version:…,score_date:…` then `cve,epss,percentile`).
public struct EPSSScores: Sendable {
    public var model: String?
    public var date: String?
    public var scores: [(cve: String, epss: Double, percentile: Double)]

    public static func parse(_ bytes: [UInt8]) throws(VulnDataError) -> EPSSScores {
        var result = EPSSScores(model: nil, date: nil, scores: [])
        var sawHeader = false
        var lineNumber = 0
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
            lineNumber += 1
            var text = String(decoding: line, as: UTF8.self).trimmingWhitespace
            if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
            if text.isEmpty { continue }
            if text.hasPrefix("#") {
                for pair in text.dropFirst().split(separator: ",") {
                    let parts = pair.split(separator: ":", maxSplits: 1).map { String($0).trimmingWhitespace }
                    guard parts.count == 2 else { continue }
                    if parts[0] == "model_version" { result.model = parts[1] }
                    if parts[0] == "score_date" { result.date = String(parts[1].prefix(10)) }
                }
                continue
            }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0).trimmingWhitespace
            }
            if !sawHeader {
                guard fields.first == "cve", fields.count >= 3 else {
                    throw VulnDataError("EPSS file: expected the header cve,epss,percentile on line \(lineNumber)")
                }
                sawHeader = true
                continue
            }
            guard fields.count >= 3, fields[0].hasPrefix("CVE-"), let epss = Double(fields[1]),
                let percentile = Double(fields[2]), (0...1).contains(epss), (0...1).contains(percentile)
            else { throw VulnDataError("EPSS file: line \(lineNumber) is not cve,epss,percentile") }
            result.scores.append((fields[0], epss, percentile))
        }
        guard sawHeader else { throw VulnDataError("EPSS file: no cve,epss,percentile header") }
        return result
    }
}

/// OSV vulnerability documents (one object, or an array of them).
public enum OSVFormat {
    public static func parse(_ bytes: [UInt8]) throws(VulnDataError) -> [VulnerabilityRecord] {
        let document = try parseJSON(bytes, what: "OSV file")
        let items = document.arrayValue ?? (document["vulns"]?.arrayValue ?? [document])
        var records: [VulnerabilityRecord] = []
        for item in items { records.append(try record(item)) }
        return records
    }

    public static func record(_ value: JSONValue) throws(VulnDataError) -> VulnerabilityRecord {
        guard let id = value.text("id"), value.text("modified") != nil else {
            throw VulnDataError("not an OSV document (id and modified are required)")
        }
        var record = VulnerabilityRecord(id: id, source: .osv)
        record.aliases = value["aliases"]?.list.compactMap(\.stringValue) ?? []
        if !id.hasPrefix("CVE-"), let cve = record.aliases.first(where: { $0.hasPrefix("CVE-") }) {
            record.aliases.append(id)
            record.aliases.removeAll { $0 == cve }
            record.id = cve
        }
        record.title = value.text("summary") ?? ""
        record.summary = value.text("details") ?? record.title
        record.published = value.text("published")
        record.modified = value.text("modified")
        record.references = value["references"]?.list.compactMap { $0.text("url") } ?? []
        for severity in value["severity"]?.list ?? [] {
            guard let vector = severity.text("score"), vector.hasPrefix("CVSS:") else { continue }
            let version = String(vector.dropFirst(5).prefix(3))
            let score = (try? CVSS.score(vector)) ?? 0
            record.cvss.append(
                CVSSEntry(version: version, vector: vector, baseScore: score, source: "osv", primary: true))
        }
        for affected in value["affected"]?.list ?? [] {
            guard let package = affected["package"], let ecosystem = package.text("ecosystem"),
                let name = package.text("name")
            else { continue }
            var product = AffectedProduct(vendor: ecosystem, product: name)
            product.ecosystem = ecosystem.split(separator: ":").first.map(String.init) ?? ecosystem
            product.packageName = name
            product.defaultStatus = .unaffected
            let scheme = OSVFormat.scheme(ecosystem: product.ecosystem ?? "")
            for range in affected["ranges"]?.list ?? [] {
                let type = range.text("type") ?? ""
                guard type != "GIT" else { continue }
                let rangeScheme: VersionScheme = type == "SEMVER" ? .semver : scheme
                var introduced: String?
                for event in range["events"]?.list ?? [] {
                    if let value = event.text("introduced") {
                        if let open = introduced {
                            product.versions.append(
                                AffectedVersion(status: .affected, version: open, openEnded: true, scheme: rangeScheme))
                        }
                        introduced = value == "0" ? "" : value
                    } else if let fixed = event.text("fixed") ?? event.text("limit") {
                        product.versions.append(
                            AffectedVersion(
                                status: .affected, version: introduced ?? "", lessThan: fixed, scheme: rangeScheme))
                        introduced = nil
                    } else if let last = event.text("last_affected") {
                        product.versions.append(
                            AffectedVersion(
                                status: .affected, version: introduced ?? "", lessThanOrEqual: last, scheme: rangeScheme
                            ))
                        introduced = nil
                    }
                }
                if let open = introduced {
                    product.versions.append(
                        AffectedVersion(status: .affected, version: open, openEnded: true, scheme: rangeScheme))
                }
            }
            for version in affected["versions"]?.list.compactMap(\.stringValue) ?? [] {
                product.versions.append(AffectedVersion(status: .affected, version: version, scheme: scheme))
            }
            record.affected.append(product)
        }
        return record
    }

    /// The comparator of an OSV ecosystem.
    public static func scheme(ecosystem: String) -> VersionScheme {
        switch ecosystem.split(separator: ":").first.map({ String($0).lowercased() }) ?? "" {
        case "pypi": return .pep440
        case "debian", "ubuntu": return .deb
        case "red hat", "almalinux", "rocky linux", "opensuse", "suse", "mageia", "openeuler": return .rpm
        case "npm", "go", "crates.io", "packagist", "pub", "hex", "swifturl", "nuget", "rubygems": return .semver
        default: return .generic
        }
    }
}

/// CSAF 2.0 advisories (CISA ICSA/ICSMA): products from the product tree, their vendor/product/
/// version text, and each vulnerability's known-affected products.
public enum CSAFFormat {
    public struct Result: Sendable {
        public var records: [VulnerabilityRecord]
        /// Version strings that are not versions or ranges (model numbers, free text), with their product.
        public var unparsed: [String]
    }

    public static func parse(_ bytes: [UInt8]) throws(VulnDataError) -> Result {
        try parse(document: parseJSON(bytes, what: "CSAF advisory"))
    }

    struct Leaf {
        var vendor: String
        var product: String
        var versions: [AffectedVersion]
    }

    public static func parse(document: JSONValue) throws(VulnDataError) -> Result {
        guard let meta = document["document"], let tracking = meta["tracking"], let advisory = tracking.text("id")
        else {
            throw VulnDataError("not a CSAF document (document.tracking.id is missing)")
        }
        guard (meta.text("csaf_version") ?? "2.0").hasPrefix("2.") else {
            throw VulnDataError("\(advisory): only CSAF 2.x is supported")
        }
        var leaves: [String: Leaf] = [:]
        var unparsed: [String] = []
        func walk(_ branches: [JSONValue], vendor: String, product: String, depth: Int) {
            guard depth < 32 else { return }
            for branch in branches {
                let name = branch.text("name") ?? ""
                let category = branch.text("category") ?? ""
                var vendor = vendor
                var product = product
                switch category {
                case "vendor": vendor = name
                case "product_name": product = name
                case "product_family": if product.isEmpty { product = name }
                default: break
                }
                if let leaf = branch["product"], let id = leaf.text("product_id") {
                    var versions: [AffectedVersion] = []
                    if category == "product_version" || category == "product_version_range" {
                        if let parsed = parseVersions(name) {
                            versions = parsed
                        } else {
                            unparsed.append("\(advisory): \(vendor) \(product): \(name)")
                        }
                    } else if category == "product_name" {
                        versions = [AffectedVersion(status: .affected, version: "", all: true, scheme: .generic)]
                    }
                    leaves[id] = Leaf(vendor: vendor, product: product.isEmpty ? name : product, versions: versions)
                }
                walk(branch["branches"]?.list ?? [], vendor: vendor, product: product, depth: depth + 1)
            }
        }
        walk(document["product_tree"]?["branches"]?.list ?? [], vendor: "", product: "", depth: 0)
        var records: [VulnerabilityRecord] = []
        for (index, vulnerability) in (document["vulnerabilities"]?.list ?? []).enumerated() {
            let id = vulnerability.text("cve") ?? "\(advisory)#\(index + 1)"
            var record = VulnerabilityRecord(id: id, source: .csaf)
            record.advisory = advisory
            record.title = meta.text("title") ?? advisory
            record.summary =
                vulnerability["notes"]?.list.first { $0.text("category") == "summary" }?.text("text")
                ?? vulnerability["notes"]?.list.first?.text("text") ?? ""
            record.published = tracking.text("initial_release_date")
            record.modified = tracking.text("current_release_date")
            record.status = tracking.text("status")
            if let cwe = vulnerability["cwe"]?.text("id") { record.cwes = [cwe] }
            for score in vulnerability["scores"]?.list ?? [] {
                for (key, version) in [("cvss_v3", ""), ("cvss_v4", "4.0")] {
                    guard let data = score[key], let vector = data.text("vectorString"),
                        let value = data["baseScore"]?.doubleValue
                    else { continue }
                    record.cvss.append(
                        CVSSEntry(
                            version: version.isEmpty ? (data.text("version") ?? "3.1") : version, vector: vector,
                            baseScore: value, source: "csaf", primary: true))
                }
            }
            let status = vulnerability["product_status"]
            for productID in status?["known_affected"]?.list.compactMap(\.stringValue) ?? [] {
                guard let leaf = leaves[productID] else { continue }
                var product = AffectedProduct(vendor: leaf.vendor, product: leaf.product)
                product.defaultStatus = .unaffected
                product.versions = leaf.versions
                record.affected.append(product)
            }
            records.append(record)
        }
        return Result(records: records, unparsed: unparsed)
    }

    /// `<=2.3`, `vers:all/*`, `>= 1.0.0 | <= 1.1.1`, `4.20 | 4.20 SR1 | 4.30`, `<= 12.2.x.x`.
    public static func parseVersions(_ text: String) -> [AffectedVersion]? {
        var normalised = text.replacingOccurrences(of: ".x", with: ".*")
        while normalised.contains(".*.*") { normalised = normalised.replacingOccurrences(of: ".*.*", with: ".*") }
        if normalised.lowercased().hasPrefix("vers:") {
            return VersionStatement.parse(normalised, scheme: .generic).map { [$0] }
        }
        let pieces = normalised.split(separator: "|").map { String($0).trimmingWhitespace }.filter { !$0.isEmpty }
        guard !pieces.isEmpty else { return nil }
        if pieces.count > 1, pieces.allSatisfy({ $0.hasPrefix("<") || $0.hasPrefix(">") }) {
            return VersionStatement.parse("vers:generic/" + pieces.joined(separator: "|"), scheme: .generic).map {
                [$0]
            }
        }
        var result: [AffectedVersion] = []
        for piece in pieces {
            var cleaned = piece
            if cleaned.hasPrefix("<="), cleaned.hasSuffix(".*") {
                cleaned = "<=" + String(cleaned.dropFirst(2)).trimmingWhitespace
            }
            if cleaned.hasPrefix("<="), cleaned.hasSuffix("*") {
                let bound = String(cleaned.dropFirst(2)).trimmingWhitespace.strippedV
                guard VersionStatement.isVersionLike(String(bound.dropLast(2))) else { return nil }
                result.append(AffectedVersion(status: .affected, version: "", lessThanOrEqual: bound, scheme: .generic))
                continue
            }
            guard let parsed = VersionStatement.parse(cleaned, scheme: .generic) else { return nil }
            result.append(parsed)
        }
        return result
    }
}
