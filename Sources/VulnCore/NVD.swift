public import STIX

public struct VulnDataError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension JSONValue {
    subscript(path: String...) -> JSONValue? {
        var value: JSONValue? = self
        for key in path { value = value?[key] }
        return value
    }

    var list: [JSONValue] { arrayValue ?? [] }

    /// A string member, trimmed; nil when missing or empty.
    func text(_ key: String) -> String? {
        guard let value = self[key]?.stringValue?.trimmingWhitespace, !value.isEmpty else { return nil }
        return value
    }
}

/// Reads a JSON document, turning parse errors into import errors.
func parseJSON(_ bytes: [UInt8], what: String) throws(VulnDataError) -> JSONValue {
    do {
        return try JSONParser.parse(bytes)
    } catch {
        throw VulnDataError("\(what): invalid JSON (\(error))")
    }
}

/// NVD CVE API 2.0 documents: a response (`vulnerabilities[].cve`) or one CVE object.
public enum NVDFeed {
    public static func parse(_ bytes: [UInt8]) throws(VulnDataError) -> [VulnerabilityRecord] {
        let document = try parseJSON(bytes, what: "NVD file")
        if let items = document["vulnerabilities"]?.arrayValue {
            var records: [VulnerabilityRecord] = []
            for (index, item) in items.enumerated() {
                guard let cve = item["cve"] else {
                    throw VulnDataError("NVD file: vulnerabilities[\(index)] has no cve object")
                }
                records.append(try record(cve, at: "vulnerabilities[\(index)]"))
            }
            return records
        }
        if document["id"] != nil, document["sourceIdentifier"] != nil || document["configurations"] != nil {
            return [try record(document, at: "document")]
        }
        throw VulnDataError("not an NVD CVE API 2.0 document (no vulnerabilities array)")
    }

    public static func record(_ cve: JSONValue, at location: String) throws(VulnDataError) -> VulnerabilityRecord {
        guard let id = cve.text("id"), id.hasPrefix("CVE-") else {
            throw VulnDataError("NVD file: \(location) has no CVE id")
        }
        var record = VulnerabilityRecord(id: id, source: .nvd)
        record.published = cve.text("published")
        record.modified = cve.text("lastModified")
        record.status = cve.text("vulnStatus")
        record.summary = cve["descriptions"]?.list.first { $0.text("lang") == "en" }?.text("value") ?? ""
        record.title = cve.text("cisaVulnerabilityName") ?? ""
        record.kevDateAdded = cve.text("cisaExploitAdd")
        for (key, version) in [
            ("cvssMetricV40", "4.0"), ("cvssMetricV31", "3.1"), ("cvssMetricV30", "3.0"), ("cvssMetricV2", "2.0"),
        ] {
            for metric in cve["metrics"]?[key]?.list ?? [] {
                guard let data = metric["cvssData"], let vector = data.text("vectorString"),
                    let score = data["baseScore"]?.doubleValue
                else { continue }
                record.cvss.append(
                    CVSSEntry(
                        version: version, vector: vector, baseScore: score, source: metric.text("source") ?? "nvd",
                        primary: metric.text("type") == "Primary"))
            }
        }
        for weakness in cve["weaknesses"]?.list ?? [] {
            for description in weakness["description"]?.list ?? [] {
                if let value = description.text("value"), value.hasPrefix("CWE-"), !record.cwes.contains(value) {
                    record.cwes.append(value)
                }
            }
        }
        for (index, configuration) in (cve["configurations"]?.list ?? []).enumerated() {
            record.configurations.append(try parseConfiguration(configuration, at: "\(id) configuration \(index)"))
        }
        record.references = cve["references"]?.list.compactMap { $0.text("url") } ?? []
        return record
    }

    static func parseConfiguration(_ value: JSONValue, at location: String) throws(VulnDataError) -> Configuration {
        var nodes: [ConfigurationNode] = []
        for node in value["nodes"]?.list ?? [] {
            var matches: [CPEMatchCriterion] = []
            for match in node["cpeMatch"]?.list ?? [] {
                guard let text = match.text("criteria") else {
                    throw VulnDataError("\(location): cpeMatch without criteria")
                }
                let criteria: CPE
                do { criteria = try CPE(parsing: text) } catch { throw VulnDataError("\(location): \(error)") }
                matches.append(
                    CPEMatchCriterion(
                        vulnerable: match["vulnerable"]?.boolValue ?? true, criteria: criteria,
                        startIncluding: match.text("versionStartIncluding"),
                        startExcluding: match.text("versionStartExcluding"),
                        endIncluding: match.text("versionEndIncluding"), endExcluding: match.text("versionEndExcluding")
                    ))
            }
            nodes.append(
                ConfigurationNode(
                    isAnd: node.text("operator")?.uppercased() == "AND", negate: node["negate"]?.boolValue ?? false,
                    matches: matches))
        }
        return Configuration(
            isAnd: value.text("operator")?.uppercased() == "AND", negate: value["negate"]?.boolValue ?? false,
            nodes: nodes)
    }
}

/// The result of matching one asset's CPE names against NVD records.
public struct CPEFinding: Sendable {
    public var cve: String
    public var cpe: CPE
    public var criteria: CPE
    public var confidence: MatchConfidence
    public var reason: String
}

extension VulnerabilityRecord {
    /// NVD semantics: the configurations an asset with these names satisfies, one finding per
    /// (CVE, asset name), the most confident reason kept.
    public func match(cpes: [CPE], loose: Bool = false) -> [CPEFinding] {
        var best: [CPE: CPEFinding] = [:]
        for configuration in configurations {
            for hit in configuration.evaluate(cpes, loose: loose) {
                let finding = CPEFinding(
                    cve: id, cpe: hit.target, criteria: hit.criterion.criteria, confidence: hit.confidence,
                    reason: hit.reason)
                if let existing = best[hit.target], existing.confidence <= finding.confidence { continue }
                best[hit.target] = finding
            }
        }
        return best.values.sorted { $0.cpe.description < $1.cpe.description }
    }
}
