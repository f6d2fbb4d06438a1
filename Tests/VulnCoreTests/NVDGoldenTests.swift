import Testing

@testable import VulnCore

/// The nine real NVD records of `nvd_golden/`, with expectations derived by hand from NVD semantics:
/// every `cpeMatch` attribute must be a superset of the asset's (NISTIR 7696), version ranges per
/// `versionStart/End…`, AND configurations need both the vulnerable product and its platform.
@Suite struct NVDGoldenTests {
    static let records: [VulnerabilityRecord] = try! NVDFeed.parse(dataFile("nvd_golden/nvd_api2_golden.json"))

    func matches(_ id: String, _ cpes: [String], loose: Bool = false) throws -> [CPEFinding] {
        let record = try #require(Self.records.first { $0.id == id })
        return record.match(cpes: try cpes.map { try CPE(parsing: $0) }, loose: loose)
    }

    func affected(_ id: String, _ cpes: String...) throws -> Bool { try !matches(id, cpes).isEmpty }

    @Test func parsesEveryRecord() throws {
        #expect(
            Self.records.map(\.id).sorted() == [
                "CVE-2019-0708", "CVE-2019-10964", "CVE-2022-0778", "CVE-2023-40159", "CVE-2023-43208", "CVE-2023-4966",
                "CVE-2024-21762", "CVE-2024-28130", "CVE-2024-3400",
            ])
        let citrix = try #require(Self.records.first { $0.id == "CVE-2023-4966" })
        #expect(citrix.kevDateAdded == "2023-10-18")
        #expect(citrix.preferredCVSS?.baseScore == 7.5)  // the primary (NVD) score before the CNA's 9.4
        #expect(citrix.cwes.contains("CWE-119"))
        let pacs = try #require(Self.records.first { $0.id == "CVE-2023-40159" })
        #expect(pacs.preferredCVSS?.version == "4.0")
    }

    @Test func ourCVSSScoresEqualTheRecordsScores() throws {
        var checked = 0
        for record in Self.records {
            for entry in record.cvss where entry.version != "2.0" {
                #expect(try CVSS.evaluate(entry.vector).base == entry.baseScore, "\(record.id) \(entry.vector)")
                checked += 1
            }
        }
        #expect(checked >= 12)
    }

    @Test func citrixBleedNeedsTheRightEditionAndBuild() throws {
        let adc = "cpe:2.3:a:citrix:netscaler_application_delivery_controller"
        #expect(try affected("CVE-2023-4966", "\(adc):13.1-49.13:*:*:*:-:*:*:*"))
        #expect(try !affected("CVE-2023-4966", "\(adc):13.1-49.15:*:*:*:-:*:*:*"))  // fixed build
        #expect(try affected("CVE-2023-4966", "\(adc):13.1-37.163:*:*:*:fips:*:*:*"))
        #expect(try !affected("CVE-2023-4966", "\(adc):13.1-37.164:*:*:*:fips:*:*:*"))
        #expect(try affected("CVE-2023-4966", "\(adc):12.1-55.299:*:*:*:fips:*:*:*"))
        #expect(try !affected("CVE-2023-4966", "\(adc):12.1-55.299:*:*:*:-:*:*:*"))  // 12.1 only in FIPS/NDcPP
        // ANY edition on the asset is not "-" nor "fips": strict NISTIR 7696 says no match.
        #expect(try !affected("CVE-2023-4966", "\(adc):13.1-49.13:*:*:*:*:*:*:*"))
        let gateway = "cpe:2.3:a:citrix:netscaler_gateway"
        #expect(try affected("CVE-2023-4966", "\(gateway):14.1-8.49:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2023-4966", "\(gateway):14.1-8.50:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2023-4966", "\(gateway):12.1-55.299:*:*:*:*:*:*:*"))
        let finding = try #require(try matches("CVE-2023-4966", ["\(gateway):13.1-49.13:*:*:*:*:*:*:*"]).first)
        #expect(finding.confidence == .range)
        #expect(finding.reason.contains("≥ 13.1") && finding.reason.contains("< 13.1-49.15"))
    }

    @Test func insulinPumpsNeedFirmwareOnTheirHardware() throws {
        let firmware523 = "cpe:2.3:o:medtronic:minimed_paradigm_523_firmware"
        let pump523 = "cpe:2.3:h:medtronic:minimed_paradigm_523:-:*:*:*:*:*:*:*"
        #expect(try affected("CVE-2019-10964", "\(firmware523):2.4a:*:*:*:*:*:*:*", pump523))
        #expect(try affected("CVE-2019-10964", "\(firmware523):2.4:*:*:*:*:*:*:*", pump523))
        #expect(try !affected("CVE-2019-10964", "\(firmware523):2.4b:*:*:*:*:*:*:*", pump523))  // after 2.4a
        #expect(try !affected("CVE-2019-10964", "\(firmware523):2.4a:*:*:*:*:*:*:*"))  // no platform
        // The wrong hardware does not complete the AND.
        #expect(
            try !affected(
                "CVE-2019-10964", "\(firmware523):2.4a:*:*:*:*:*:*:*",
                "cpe:2.3:h:medtronic:minimed_paradigm_723:-:*:*:*:*:*:*:*"))
        // All firmware versions of the 508 are affected.
        #expect(
            try affected(
                "CVE-2019-10964", "cpe:2.3:o:medtronic:minimed_508_firmware:1.0:*:*:*:*:*:*:*",
                "cpe:2.3:h:medtronic:minimed_508:-:*:*:*:*:*:*:*"))
        // The hardware given with ANY version is not the dictionary's "-".
        #expect(
            try !affected(
                "CVE-2019-10964", "cpe:2.3:o:medtronic:minimed_508_firmware:1.0:*:*:*:*:*:*:*",
                "cpe:2.3:h:medtronic:minimed_508:*:*:*:*:*:*:*:*"))
    }

    @Test func blueKeepNamesServicePacksAndImagingDevices() throws {
        #expect(try affected("CVE-2019-0708", "cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*"))
        #expect(try affected("CVE-2019-0708", "cpe:2.3:o:microsoft:windows_server_2008:r2:sp1:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2019-0708", "cpe:2.3:o:microsoft:windows_7:*:sp1:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2019-0708", "cpe:2.3:o:microsoft:windows_7:-:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2019-0708", "cpe:2.3:o:microsoft:windows_10:-:*:*:*:*:*:*:*"))
        #expect(
            try affected(
                "CVE-2019-0708", "cpe:2.3:o:siemens:axiom_multix_m_firmware:vb10a:*:*:*:*:*:*:*",
                "cpe:2.3:h:siemens:axiom_multix_m:-:*:*:*:*:*:*:*"))
        let exact = try #require(
            try matches("CVE-2019-0708", ["cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*"]).first)
        #expect(exact.confidence == .exact)
    }

    @Test func fortiOSRanges() throws {
        let fortios = "cpe:2.3:o:fortinet:fortios"
        #expect(try affected("CVE-2024-21762", "\(fortios):7.2.6:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2024-21762", "\(fortios):7.2.7:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2024-21762", "\(fortios):7.4.3:*:*:*:*:*:*:*"))
        #expect(try affected("CVE-2024-21762", "\(fortios):6.0.17:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2024-21762", "\(fortios):5.6.14:*:*:*:*:*:*:*"))
        #expect(try affected("CVE-2024-21762", "cpe:2.3:a:fortinet:fortiproxy:2.0.13:*:*:*:*:*:*:*"))
        // A FortiProxy version is not a FortiOS one.
        #expect(try !affected("CVE-2024-21762", "cpe:2.3:a:fortinet:fortiproxy:6.4.14:*:*:*:*:*:*:*"))
        // Unknown version: strict says nothing, loose says "product name only".
        #expect(try matches("CVE-2024-21762", ["\(fortios):*:*:*:*:*:*:*:*"]).isEmpty)
        let loose = try matches("CVE-2024-21762", ["\(fortios):*:*:*:*:*:*:*:*"], loose: true)
        #expect(loose.first?.confidence == .product)
    }

    @Test func openSSLLetterVersionsAndDistributions() throws {
        let openssl = "cpe:2.3:a:openssl:openssl"
        #expect(try affected("CVE-2022-0778", "\(openssl):1.1.1m:*:*:*:*:*:*:*"))
        #expect(try affected("CVE-2022-0778", "\(openssl):1.1.1:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2022-0778", "\(openssl):1.1.1n:*:*:*:*:*:*:*"))
        #expect(try affected("CVE-2022-0778", "\(openssl):1.0.2zc:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2022-0778", "\(openssl):1.0.2zd:*:*:*:*:*:*:*"))
        #expect(try affected("CVE-2022-0778", "\(openssl):3.0.1:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2022-0778", "\(openssl):3.0.2:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2022-0778", "\(openssl):1.0.1u:*:*:*:*:*:*:*"))
        #expect(try affected("CVE-2022-0778", "cpe:2.3:o:debian:debian_linux:11.0:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2022-0778", "cpe:2.3:o:debian:debian_linux:12.0:*:*:*:*:*:*:*"))
        #expect(
            try affected(
                "CVE-2022-0778", "cpe:2.3:o:netapp:a250_firmware:-:*:*:*:*:*:*:*",
                "cpe:2.3:h:netapp:a250:-:*:*:*:*:*:*:*"))
        #expect(try affected("CVE-2022-0778", "cpe:2.3:a:tenable:nessus:8.15.3:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2022-0778", "cpe:2.3:a:tenable:nessus:8.15.4:*:*:*:*:*:*:*"))
    }

    @Test func healthcareApplications() throws {
        #expect(try affected("CVE-2023-43208", "cpe:2.3:a:nextgen:mirth_connect:4.4.0:*:*:*:*:*:*:*"))
        #expect(try affected("CVE-2023-43208", "cpe:2.3:a:nextgen:mirth_connect:3.12.0:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2023-43208", "cpe:2.3:a:nextgen:mirth_connect:4.4.1:*:*:*:*:*:*:*"))
        #expect(try affected("CVE-2023-40159", "cpe:2.3:a:philips:vue_pacs:12.2.8.400:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2023-40159", "cpe:2.3:a:philips:vue_pacs:12.2.8.410:*:*:*:*:*:*:*"))
        #expect(try !affected("CVE-2023-40159", "cpe:2.3:a:philips:vue_motion:12.2.8.400:*:*:*:*:*:*:*"))
    }

    @Test func unanalysedRecordsMatchNothing() throws {
        for id in ["CVE-2024-28130", "CVE-2024-3400"] {
            #expect(try matches(id, ["cpe:2.3:o:paloaltonetworks:pan-os:11.1.0:*:*:*:*:*:*:*"], loose: true).isEmpty)
            #expect(try matches(id, ["cpe:2.3:*:*:*:*:*:*:*:*:*:*:*"], loose: true).isEmpty)
        }
        let panos = try #require(Self.records.first { $0.id == "CVE-2024-3400" })
        #expect(panos.configurations.isEmpty && panos.kevDateAdded == "2024-04-12")
    }

    @Test func oneFindingPerAssetNameWithTheBestReason() throws {
        let index = VulnerabilityIndex(records: Self.records)
        let components = [
            InventoryComponent(
                name: "FortiOS", vendor: "Fortinet", version: "7.2.6",
                cpe: try CPE(parsing: "cpe:2.3:o:fortinet:fortios:*:*:*:*:*:*:*:*"), source: .declared),
            InventoryComponent(
                name: "OpenSSL", vendor: "OpenSSL", version: "1.1.1m",
                cpe: try CPE(parsing: "cpe:2.3:a:openssl:openssl:1.1.1m:*:*:*:*:*:*:*"), source: .nmap),
        ]
        let found = index.match(components)
        #expect(found.map(\.recordID).sorted() == ["CVE-2022-0778", "CVE-2024-21762"])
        #expect(found.first { $0.recordID == "CVE-2022-0778" }?.confidence == .banner)
        #expect(found.first { $0.recordID == "CVE-2024-21762" }?.confidence == .range)
    }

    @Test func malformedDocumentsAreRefused() {
        for text in [
            "", "{", #"{"vulnerabilities": [{"nocve": 1}]}"#, #"{"resultsPerPage": 1}"#, "[1,2,3]",
            #"{"vulnerabilities": [{"cve": {"id": "CVE-1", "configurations": [{"nodes": [{"cpeMatch": [{"criteria": "bad"}]}]}]}}]}"#,
            #"{"vulnerabilities": [{"cve": {"id": ""#, String(repeating: "[", count: 10_000),
        ] {
            #expect(throws: VulnDataError.self) { try NVDFeed.parse(Array(text.utf8)) }
        }
    }
}
