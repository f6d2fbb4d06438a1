import ComplianceCore
import Foundation
import STIX
import Testing

@Suite struct OSCALTests {
    func read(_ name: String) throws -> OSCAL.Document {
        try OSCAL.read(Array(try frameworkFile("oscal/\(name)")))
    }

    /// Sorts object members recursively, for comparisons that ignore key order.
    func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            return .object(members.map { .init($0.key, canonical($0.value)) }.sorted { $0.key < $1.key })
        case .array(let values): return .array(values.map(canonical))
        default: return value
        }
    }

    @Test func readsTheBasicCatalogAsAFramework() throws {
        guard case .catalog(let catalog) = try read("basic-catalog.json") else {
            Issue.record("not a catalog")
            return
        }
        #expect((catalog.raw["groups"]?.arrayValue?.count) == 2)
        #expect(catalog.controlIDs.count == 4)
        let framework = catalog.framework()
        // Two groups, each with one sub-group.
        #expect(framework.nodes.count(where: { !$0.assessable }) == 4)
        #expect(
            framework.nodes.filter { $0.depth == 1 }.compactMap(\.name) == [
                "Organization of Information Security", "Access control",
            ])
        #expect(framework.assessableCount == 4)
        #expect(framework.nodes.filter(\.assessable).allSatisfy { $0.parentURN != nil && $0.description != nil })
    }

    @Test func readsTheModerateBaselineProfile() throws {
        guard case .profile(let profile) = try read("NIST_SP-800-53_rev5_MODERATE-baseline_profile.json") else {
            Issue.record("not a profile")
            return
        }
        #expect(profile.imports.count == 1)
        #expect(profile.imports[0].includedIDs.count == 287)
        #expect(profile.imports[0].href.hasPrefix("#"))
        #expect(Set(profile.imports[0].includedIDs).count == 287)
    }

    @Test func readsTheAssessmentResultsExample() throws {
        guard case .assessmentResults(let results) = try read("ifa_assessment-results-example.json") else {
            Issue.record("not assessment results")
            return
        }
        #expect(results.results.count == 1)
        #expect(results.count("observations") == 2)
        #expect(results.count("risks") == 1)
        #expect(results.count("findings") == 1)
        #expect(Set(results.findingStates.values).isSubset(of: ["satisfied", "not-satisfied"]))
    }

    @Test(arguments: [
        "basic-catalog.json", "NIST_SP-800-53_rev5_MODERATE-baseline_profile.json",
        "ifa_assessment-results-example.json",
    ])
    func roundTripsWithoutLoss(name: String) throws {
        let original = try JSONParser.parse(Array(try frameworkFile("oscal/\(name)")))
        let document = try read(name)
        let written = JSONWriter.bytes(document.json)
        let reread = try JSONParser.parse(written)
        #expect(reread == original)
        #expect(try OSCAL.read(written) == document)
    }

    @Test(arguments: [
        ("{}", "one member"),
        ("[1]", "one member"),
        ("{\"ssp\": {}}", "unsupported OSCAL model ssp"),
        ("{\"catalog\": {\"uuid\": \"nope\"}}", "needs a uuid"),
        ("{\"catalog\": {\"uuid\": \"74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724\"}}", "has no metadata"),
        (
            "{\"catalog\": {\"uuid\": \"74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724\", \"metadata\": {\"title\": \"t\"}}}",
            "metadata.last-modified is required"
        ),
        (
            "{\"catalog\": {\"uuid\": \"74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724\", \"metadata\": {\"title\": \"t\", \"last-modified\": \"x\", \"version\": \"1\", \"oscal-version\": \"1.1.2\"}, \"controls\": [{\"title\": \"no id\"}]}}",
            "has no id"
        ),
        (
            "{\"profile\": {\"uuid\": \"74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724\", \"metadata\": {\"title\": \"t\", \"last-modified\": \"x\", \"version\": \"1\", \"oscal-version\": \"1.1.2\"}}}",
            "at least one import"
        ),
        ("{\"catalog\": ", "not valid JSON"),
    ])
    func refusesMalformedDocuments(text: String, message: String) {
        #expect {
            _ = try OSCAL.read(Array(text.utf8))
        } throws: { error in
            (error as? FrameworkError)?.description.contains(message) == true
        }
    }

    @Test func tokensAreValidOSCALIdentifiers() {
        #expect(OSCAL.token("o1.c") == "o1.c")
        #expect(OSCAL.token("1.R") == "req-1.R")
        #expect(OSCAL.token("EXI 01") == "EXI-01")
        #expect(OSCAL.token("") == "req-")
    }

    @Test func exportsAssessmentResultsThatReadBack() throws {
        var satisfied = AssessmentReport.Requirement(
            urn: "u:p1", refID: "p1", name: "PSSI", theme: "P", status: .compliant)
        satisfied.evidence = [
            AssessmentReport.Evidence(
                title: "PSSI 2024", sha256: String(repeating: "a", count: 64), effective: "2024-03-01")
        ]
        var partial = AssessmentReport.Requirement(
            urn: "u:o1.c", refID: "o1.c", name: "PCRA", theme: "O1", status: .partial)
        partial.origin = .coverage
        partial.coverage = 0.6
        var measured = AssessmentReport.Requirement(
            urn: "u:o3.a", refID: "o3.a", name: "AD", theme: "O3", status: .nonCompliant)
        measured.indicator = "compliance.ad-level"
        measured.measured = MeasuredValue(value: 2, measuredAt: Date(timeIntervalSince1970: 1_790_000_000))
        let skipped = AssessmentReport.Requirement(
            urn: "u:o4", refID: "o4", name: "Restore", theme: "O4", status: .notAssessed)
        let report = AssessmentReport(
            assessmentID: UUID(), title: "CaRE D2 2026", establishment: "CH Exemple", frameworkURN: "urn:f",
            frameworkName: "CaRE D2", frameworkVersion: 1, started: Date(timeIntervalSince1970: 1_780_000_000),
            closed: nil, generated: Date(timeIntervalSince1970: 1_790_000_000),
            requirements: [satisfied, partial, measured, skipped])
        let json = report.oscal()
        guard case .assessmentResults(let results) = try OSCAL.read(JSONWriter.bytes(json)) else {
            Issue.record("not assessment results")
            return
        }
        #expect(results.findingStates == ["p1": "satisfied", "o1.c": "not-satisfied", "o3.a": "not-satisfied"])
        #expect(results.count("observations") == 2)
        let metadata = try #require(json["assessment-results"]?["metadata"])
        #expect(metadata["oscal-version"]?.stringValue == "1.1.2")
        #expect(metadata["last-modified"]?.stringValue == "2026-09-21T14:13:20Z")
        let csv = report.csv()
        #expect(csv.hasPrefix("ref_id;requirement;theme;status"))
        #expect(csv.contains("o1.c;PCRA;O1;partial;coverage;;;60.0 %"))
        #expect(csv.split(separator: "\r\n").count == 5)
    }

    @Test func csvNeutralisesFormulas() {
        var item = AssessmentReport.Requirement(
            urn: "u", refID: "=HYPERLINK(\"x\")", name: "a;b", theme: "t", status: .compliant)
        item.comment = "@SUM(1)"
        let report = AssessmentReport(
            assessmentID: UUID(), title: "t", establishment: "e", frameworkURN: "f", frameworkName: "f",
            frameworkVersion: 1,
            started: Date(), closed: nil, generated: Date(), requirements: [item])
        let line = report.csv().split(separator: "\r\n")[1]
        #expect(line.hasPrefix("\"'=HYPERLINK(\"\"x\"\")\";\"a;b\""))
        #expect(line.hasSuffix("'@SUM(1)"))
    }
}
