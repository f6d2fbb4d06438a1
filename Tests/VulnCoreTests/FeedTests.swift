import Foundation
import STIX
import Testing

@testable import VulnCore

@Suite struct FeedTests {
    @Test func everyVulnrichmentRecordParses() throws {
        var lines = 0
        var count = 0
        var withCPE = 0
        var onlyInvalidCPEs = 0
        var ssvc = 0
        var kev = 0
        var affected = 0
        try eachLine("vulnrichment/cve5_vulnrichment_all.jsonl.gz") { line in
            lines += 1
            guard let record = try CVERecordFormat.parse(line) else { return }
            count += 1
            if record.affected.contains(where: { !$0.cpes.isEmpty || !$0.invalidCPEs.isEmpty }) { withCPE += 1 }
            if record.affected.allSatisfy(\.cpes.isEmpty), record.affected.contains(where: { !$0.invalidCPEs.isEmpty })
            {
                onlyInvalidCPEs += 1  // IBM's `cpe:2.3:a:ibm:cpe:2.3:…` and `sterling_connect:direct`
            }
            if record.ssvc != nil { ssvc += 1 }
            if record.kevDateAdded != nil { kev += 1 }
            if !record.affected.isEmpty { affected += 1 }
        }
        #expect(lines == 44_130)
        #expect(count == 44_026)  // 104 REJECTED records are kept out of matching
        #expect(withCPE == 19_437)
        #expect(onlyInvalidCPEs == 5)
        #expect(ssvc == 44_026)
        #expect(kev == 224)
        #expect(affected > 40_000)
    }

    @Test func cveRecordsMatchOnVendorProductAndVersions() throws {
        let record = try #require(
            try CVERecordFormat.parse(
                Array(
                    #"""
                    {"dataType":"CVE_RECORD","cveMetadata":{"cveId":"CVE-2099-0001","state":"PUBLISHED"},
                     "containers":{"cna":{"providerMetadata":{"shortName":"acme"},"title":"Pump overflow",
                       "descriptions":[{"lang":"en","value":"An overflow."}],
                       "affected":[{"vendor":"Phillips ","product":"IntelliVue MX40","defaultStatus":"unaffected",
                         "versions":[{"version":"6.0","lessThan":"6.2.1","status":"affected","versionType":"custom"},
                                     {"version":"5.0.36_and_prior","status":"affected"},
                                     {"version":"n/a","status":"affected"}]}],
                       "metrics":[{"cvssV3_1":{"vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","baseScore":9.8}}]},
                      "adp":[{"providerMetadata":{"shortName":"CISA-ADP"},
                        "metrics":[{"other":{"type":"ssvc","content":{"options":[{"Exploitation":"active"},{"Automatable":"yes"},{"Technical Impact":"total"}]}}},
                                   {"other":{"type":"kev","content":{"dateAdded":"2099-01-02"}}}]}]}}
                    """#.utf8)))
        #expect(record.ssvc == SSVCOptions(exploitation: "active", automatable: "yes", technicalImpact: "total"))
        #expect(record.kevDateAdded == "2099-01-02")
        let index = VulnerabilityIndex(records: [record])
        func match(_ version: String) -> [VulnerabilityMatch] {
            index.match([
                InventoryComponent(name: "IntelliVue MX40", vendor: "Philips", version: version, source: .declared)
            ])
        }
        #expect(match("6.1.9").first?.confidence == .range)
        #expect(match("6.2.1").isEmpty)
        #expect(match("5.0.30").first?.confidence == .range)  // `5.0.36_and_prior`
        #expect(match("5.1").isEmpty)
        #expect(match("9.0").isEmpty)
        // Without a version nothing is claimed, unless asked for product-only matches.
        #expect(
            index.match([InventoryComponent(name: "IntelliVue MX40", vendor: "Philips", source: .declared)]).isEmpty)
        let loose = index.match(
            [InventoryComponent(name: "IntelliVue MX40", vendor: "Philips", source: .declared)], loose: true)
        #expect(loose.first?.confidence == .product)
        #expect(
            try CVERecordFormat.parse(Array(#"{"cveMetadata":{"cveId":"CVE-1-1","state":"REJECTED"}}"#.utf8)) == nil)
        #expect(throws: VulnDataError.self) { try CVERecordFormat.parse(Array(#"{"dataType":"CVE_RECORD"}"#.utf8)) }
        #expect(throws: VulnDataError.self) { try CVERecordFormat.parse(Array(#"{"cveMetadata":{"cveId""#.utf8)) }
    }

    @Test func unaffectedStatementsWinOverAffectedOnes() throws {
        var product = AffectedProduct(vendor: "Linux", product: "Linux")
        product.defaultStatus = .affected
        product.versions = [
            AffectedVersion(status: .affected, version: "6.7", scheme: .semver),
            AffectedVersion(status: .unaffected, version: "0", lessThan: "6.7", scheme: .semver),
            AffectedVersion(status: .unaffected, version: "6.6.3", lessThanOrEqual: "6.6.*", scheme: .generic),
        ]
        #expect(product.status(of: "6.5.0").0 == .unaffected)
        #expect(product.status(of: "6.6.9").0 == .unaffected)
        #expect(product.status(of: "6.7").0 == .affected)
        #expect(product.status(of: "6.8.1").0 == .affected)  // default status
    }

    @Test func kevCatalogWithItsAnomalies() throws {
        let json = try KEVCatalog.parse(dataFile("kev_catalog.json"))
        #expect(json.version == "2025.08.25")
        #expect(json.entries.count == 1_404)
        #expect(json.entries.filter(\.ransomware).count == 293)
        #expect(json.entries.filter(\.dueBeforeAdded).count == 15)
        #expect(json.entries.filter(\.cwes.isEmpty).count == 152)
        let csv = try KEVCatalog.parse(dataFile("kev_catalog.csv"))
        #expect(csv.entries == json.entries)
        #expect(throws: VulnDataError.self) {
            try KEVCatalog.parse(Array(#"{"vulnerabilities": [{"cveID": "CVE-1"}]}"#.utf8))
        }
        #expect(throws: VulnDataError.self) { try KEVCatalog.parse(Array("a,b\n1,2\n".utf8)) }
        #expect(throws: VulnDataError.self) { try KEVCatalog.parse(Array(#"{"vulnerabilities": ["#.utf8)) }
    }

    @Test func epssScoresKeepTheirModel() throws {
        let scores = try EPSSScores.parse(
            Array(
                "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\ncve,epss,percentile\nCVE-2023-4966,0.94349,0.99962\nCVE-2019-0708,0.94474,0.99989\n"
                    .utf8))
        #expect(scores.model == "v2025.03.14")
        #expect(scores.date == "2025-08-25")
        #expect(scores.scores.count == 2 && scores.scores[0].epss == 0.94349)
        #expect(throws: VulnDataError.self) { try EPSSScores.parse(Array("cve,epss,percentile\nCVE-1,2.5,0.1\n".utf8)) }
        #expect(throws: VulnDataError.self) { try EPSSScores.parse(Array("hello\n".utf8)) }
        #expect(throws: VulnDataError.self) { try EPSSScores.parse(Array("cve,epss,percentile\nCVE-1,abc\n".utf8)) }
    }

    @Test func osvRangesAndEcosystems() throws {
        let records = try OSVFormat.parse(
            Array(
                #"""
                {"id":"GHSA-xxxx","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2099-0002"],"summary":"Bad parser",
                 "affected":[{"package":{"ecosystem":"PyPI","name":"pydicom","purl":"pkg:pypi/pydicom"},
                   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.4.0rc1"}]},
                             {"type":"ECOSYSTEM","events":[{"introduced":"3.0.0"},{"last_affected":"3.0.1"}]}]}]}
                """#.utf8))
        let record = try #require(records.first)
        #expect(record.id == "CVE-2099-0002" && record.aliases == ["GHSA-xxxx"])
        let index = VulnerabilityIndex(records: records)
        func hit(_ version: String) -> Bool {
            !index.match([
                InventoryComponent(
                    name: "pydicom", version: version, purl: "pkg:pypi/pydicom@\(version)", source: .sbom)
            ])
            .isEmpty
        }
        #expect(hit("2.3.1"))
        #expect(hit("2.4.0b1"))  // PEP 440: a beta before the fixed release candidate
        #expect(!hit("2.4.0rc1"))
        #expect(hit("3.0.1"))
        #expect(!hit("3.0.2"))
        #expect(throws: VulnDataError.self) { try OSVFormat.parse(Array(#"{"id":"X"}"#.utf8)) }
    }

    @Test func cvssReferenceVectors() throws {
        let document = try JSONParser.parse(try dataFile("version_vectors/cvss_vectors.json"))
        for item in document["cvss3"]?.arrayValue ?? [] {
            let vector = try #require(item["vector"]?.stringValue)
            let scores = try CVSS.evaluate(vector)
            #expect(scores.base == item["base"]?.doubleValue, "\(vector)")
            #expect(scores.temporal == item["temporal"]?.doubleValue, "\(vector)")
            #expect(scores.environmental == item["environmental"]?.doubleValue, "\(vector)")
            #expect(
                scores.severity == item["base_severity"]?.stringValue || scores.effective != scores.base, "\(vector)")
        }
        #expect(document["cvss4"]?.arrayValue?.count == 14)
        for item in document["cvss4"]?.arrayValue ?? [] {
            let vector = try #require(item["vector"]?.stringValue)
            let scores = try CVSS.evaluate(vector)
            #expect(scores.effective == item["score"]?.doubleValue, "\(vector)")
            #expect(scores.severity == item["severity"]?.stringValue, "\(vector)")
        }
        for vector in document["invalid"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
            #expect(throws: VulnDataError.self, "\(vector)") { try CVSS.evaluate(vector) }
        }
        // Supplemental metrics do not change the score; an unset E is the worst case.
        let base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
        #expect(try CVSS.score(base + "/S:P/AU:Y/R:U/V:C/RE:H/U:Red") == CVSS.score(base))
        #expect(try CVSS.score(base + "/E:A") == CVSS.score(base))
        #expect(try CVSS.score(base + "/E:U") < CVSS.score(base))
        #expect(throws: VulnDataError.self) {
            try CVSS.evaluate("CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
        }
        #expect(throws: VulnDataError.self) { try CVSS.evaluate("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") }
        #expect(throws: VulnDataError.self) { try CVSS.evaluate("AV:N/AC:L") }
    }

    @Test func ssvcDeployerTableMatchesCERTCC() throws {
        let text = String(decoding: try dataFile("ssvc/deployer_patch_application_priority_1_0_0.csv"), as: UTF8.self)
        let rows = text.split(separator: "\n").dropFirst()
        #expect(rows.count == 72)
        for row in rows {
            let fields = row.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            let exploitation = SSVC.exploitation(fields[1])
            let exposure = SSVC.Exposure(rawValue: fields[2])!
            let human: SSVC.HumanImpact = ["low": .low, "medium": .medium, "high": .high, "very high": .veryHigh][
                fields[4]]!
            let expected: SSVC.Decision = [
                "defer": .defer, "scheduled": .scheduled, "out-of-cycle": .outOfCycle, "immediate": .immediate,
            ][fields[5]]!
            #expect(
                SSVC.decide(
                    exploitation: exploitation, exposure: exposure, automatable: fields[3] == "yes", humanImpact: human)
                    == expected, "\(row)")
        }
        let coordinator = String(decoding: try dataFile("ssvc/cisa_coordinator_2_0_3.csv"), as: UTF8.self)
        #expect(coordinator.split(separator: "\n").dropFirst().count == 36)
        #expect(SSVC.humanImpact(safety: .catastrophic, mission: .degraded) == .veryHigh)
        #expect(SSVC.humanImpact(safety: .marginal, mission: .mefFailure) == .high)
        let sentence = SSVC.explain(
            .immediate, exploitation: .active, exposure: .open, automatable: true, humanImpact: .veryHigh, french: true)
        #expect(sentence.hasPrefix("Agir immédiatement") && sentence.contains("exploitation active"))
    }

    @Test func medicalAdvisoriesParseAndNormaliseVendors() throws {
        let folder = (vulnData as NSString).appendingPathComponent("csaf_cisa/icsma")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
        #expect(files.count == 144)
        var records: [VulnerabilityRecord] = []
        var unparsed: [String] = []
        for file in files {
            let result = try CSAFFormat.parse(Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))))
            records += result.records
            unparsed += result.unparsed
        }
        #expect(records.allSatisfy { $0.advisory?.hasPrefix("ICSMA-") == true })
        #expect(records.contains { $0.affected.contains { $0.vendor == "Phillips" } })
        // Model numbers and free text are reported, not guessed.
        #expect(unparsed.contains { $0.contains("MMT-1710") })
        #expect(
            !unparsed.contains { $0.hasSuffix(": B.02") || $0.contains("2.3.6 and  below") || $0.contains("12.2.x.x") })
        // "Phillips" in an advisory reaches an asset recorded as "Philips".
        let index = VulnerabilityIndex(records: records)
        let vendors = Set(records.flatMap { $0.affected.map { Vendors.canonical($0.vendor) } })
        #expect(vendors.contains("philips") && !vendors.contains("phillips"))
        #expect(
            vendors.contains("bd") && vendors.contains("bbraun") && vendors.contains("ge")
                && vendors.contains("draeger"))
        let pacs = index.match([
            InventoryComponent(name: "Vue PACS", vendor: "Philips", version: "12.2.1.5", source: .declared)
        ])
        #expect(!pacs.isEmpty)
        // "All versions" reaches a device whose firmware nobody recorded, as a certain match.
        let petCT = index.match([
            InventoryComponent(
                name: "PET/CT Systems Windows 7-Based", vendor: "Siemens Healthineers", source: .declared)
        ])
        #expect(petCT.contains { $0.recordID == "CVE-2015-1635" && $0.confidence == .range })
        var all = 0
        try eachLine("csaf_cisa/cisa_csaf_all.jsonl.gz") { line in
            all += 1
            _ = try CSAFFormat.parse(line)
        }
        #expect(all == 2_383)
    }

    @Test func csafVersionStrings() {
        func one(_ text: String) -> AffectedVersion? { CSAFFormat.parseVersions(text)?.first }
        #expect(one("<=1.9.4.1")?.lessThanOrEqual == "1.9.4.1")
        #expect(one("< V4.1.0")?.lessThan == "4.1.0")
        #expect(one("vers:all/*")?.all == true)
        #expect(one(">= 1.0.0 | <= 1.1.1").map { ($0.version, $0.lessThanOrEqual) } ?? ("", nil) == ("1.0.0", "1.1.1"))
        #expect(CSAFFormat.parseVersions("4.20 | 4.20 SR1 | 4.30")?.count == 3)
        #expect(one("<= 12.2.x.x")?.contains("12.2.7.3") == true)
        #expect(one("<= 12.2.x.x")?.contains("12.3.0") == false)
        #expect(CSAFFormat.parseVersions("MMT-1710") == nil)
        #expect(CSAFFormat.parseVersions("Rev B-M") == nil)
        #expect(VersionStatement.parse("version 4.3 and prior", scheme: .generic) == nil)
        #expect(VersionStatement.parse("4.3 and prior", scheme: .generic)?.lessThanOrEqual == "4.3")
        #expect(VersionStatement.parse("prior to 2.1", scheme: .generic)?.lessThan == "2.1")
    }
}
