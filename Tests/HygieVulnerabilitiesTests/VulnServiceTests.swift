import Foundation
import HygieCore
import HygieStorage
import HygieTestSupport
import RecordInput
import SQLKit
import Testing
import VulnCore

@testable import HygieVulnerabilities

let vulnData: String = {
    if let shared = ProcessInfo.processInfo.environment["HYGIE_SHARED_DATA"] {
        return (shared as NSString).appendingPathComponent("vuln")
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.deletingLastPathComponent().appendingPathComponent("shared/data/vuln").path
}()

func path(_ relative: String) -> String { (vulnData as NSString).appendingPathComponent(relative) }

struct VulnWorld {
    let services: TestServices
    let vuln: VulnService
    let scope: TenantScope

    static func make(_ db: DatabaseService) async throws -> VulnWorld {
        let services = try TestServices(database: db)
        let vuln = VulnService(database: db, audit: services.audit, clock: services.clock)
        let (_, scope) = try await services.makeEstablishment("CH Vauban")
        _ = try await vuln.importData(.nvd, paths: [path("nvd_golden/nvd_api2_golden.json")], by: TestServices.cli)
        _ = try await vuln.importData(.kev, paths: [path("kev_catalog.json")], by: TestServices.cli)
        return VulnWorld(services: services, vuln: vuln, scope: scope)
    }

    static let inventory = """
        name,type,address,internet,criticality,safety,manufacturer,model,vendor,product,version,cpe
        fw-edge,network,203.0.113.1,yes,vital,,Fortinet,FortiGate 100F,Fortinet,FortiOS,7.2.6,cpe:2.3:o:fortinet:fortios:*:*:*:*:*:*:*:*
        interfaces,server,10.0.0.20,no,high,,,,NextGen,Mirth Connect,4.4.0,cpe:2.3:a:nextgen:mirth_connect:*:*:*:*:*:*:*:*
        pacs,server,10.0.0.30,no,high,critical,Philips,Vue PACS,Philips,Vue PACS,12.2.8.410,cpe:2.3:a:philips:vue_pacs:*:*:*:*:*:*:*:*
        """

    func importInventory(_ text: String = VulnWorld.inventory) async throws -> ImportReport {
        try await vuln.importInventory(.csv, bytes: Array(text.utf8), origin: "inventory.csv", in: scope)
    }
}

@Suite struct VulnServiceTests {
    @Test(arguments: TestDatabase.enabled)
    func importsMatchesAndPrioritises(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await VulnWorld.make(db)
            let counts = try await world.vuln.catalogCounts()
            #expect(counts.records >= 1_404 && counts.kev == 1_404)
            let report = try await world.importInventory()
            #expect(report.created == 3)
            let findings = try await world.vuln.findings(FindingFilter(), in: world.scope).items
            // FortiOS 7.2.6 and Mirth 4.4.0 are affected; Vue PACS 12.2.8.410 is the fixed build.
            #expect(Set(findings.compactMap(\.recordID)) == ["CVE-2024-21762", "CVE-2023-43208"])
            let forti = try #require(findings.first { $0.recordID == "CVE-2024-21762" })
            // Known exploited, internet-exposed, vital: act now.
            #expect(forti.kev && forti.exploitation == .active && forti.exposure == .open)
            #expect(forti.priority == .immediate)
            #expect(forti.explanation(french: true).hasPrefix("Agir immédiatement"))
            #expect(forti.confidence == .range && forti.reason.contains("7.2.6"))
            let mirth = try #require(findings.first { $0.recordID == "CVE-2023-43208" })
            #expect(mirth.priority < forti.priority)
            #expect(findings.first?.recordID == "CVE-2024-21762")  // most urgent first
            let summary = try await world.vuln.summary(in: world.scope)
            #expect(summary.assets == 3 && summary.internetExposed == 1 && summary.kevOnExposed == 1)
            #expect(summary.openByPriority[.immediate] == 1)
            let assets = try await world.vuln.assets(in: world.scope)
            #expect(assets.first?.name == "fw-edge" && (assets.first?.risk ?? 0) > 0)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func laterImportsVerifyFixesAndReopen(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await VulnWorld.make(db)
            _ = try await world.importInventory()
            world.services.clock.advance(by: 5 * 86_400)
            let patched = VulnWorld.inventory.replacingOccurrences(of: "FortiOS,7.2.6", with: "FortiOS,7.2.7")
            let second = try await world.importInventory(patched)
            #expect(second.created == 0 && second.updated == 3)  // de-duplicated by address
            var filter = FindingFilter()
            filter.statuses = [.fixed]
            let fixed = try await world.vuln.findings(filter, in: world.scope).items
            #expect(fixed.map(\.recordID) == ["CVE-2024-21762"])
            let events = try await world.vuln.events(of: fixed[0].id, in: world.scope)
            #expect(events.contains { $0.note.contains("no longer detected") && $0.newValue == "fixed" })
            #expect(try await world.vuln.summary(in: world.scope).meanDaysToRemediate == 5)
            // The vulnerable build comes back (a restore from an old image): the finding reopens.
            _ = try await world.importInventory()
            let open = try await world.vuln.findings(FindingFilter(), in: world.scope).items
            #expect(open.contains { $0.recordID == "CVE-2024-21762" && $0.status == .open })
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func remediationLifecycleRules(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await VulnWorld.make(db)
            _ = try await world.importInventory()
            let finding = try #require(try await world.vuln.findings(FindingFilter(), in: world.scope).items.first)
            await #expect(throws: ValidationError.self) {
                try await world.vuln.update(
                    finding.id, FindingUpdate(status: .riskAccepted, note: "legacy"), in: world.scope)
            }
            await #expect(throws: ValidationError.self) {
                try await world.vuln.update(finding.id, FindingUpdate(status: .falsePositive), in: world.scope)
            }
            let accepted = try await world.vuln.update(
                finding.id,
                FindingUpdate(
                    status: .riskAccepted, note: "vendor patch in test", assignee: "Équipe réseau",
                    acceptedUntil: "2026-12-31"), in: world.scope)
            #expect(
                accepted.status == .riskAccepted && accepted.acceptedUntil == "2026-12-31"
                    && accepted.assignee == "Équipe réseau")
            let events = try await world.vuln.events(of: finding.id, in: world.scope)
            #expect(events.map(\.kind).suffix(2) == ["status", "assignee"])
            // Past the acceptance, matching brings it back.
            world.services.clock.advance(by: 120 * 86_400)
            _ = try await world.vuln.match(in: world.scope)
            #expect(try await world.vuln.finding(finding.id, in: world.scope).status == .open)
            // Another establishment sees nothing of it.
            let (_, other) = try await world.services.makeEstablishment("CH Autre")
            await #expect(throws: HygieCoreError.self) { try await world.vuln.finding(finding.id, in: other) }
            #expect(try await world.vuln.findings(FindingFilter(), in: other).total == 0)
            #expect(try await world.vuln.assets(in: other).isEmpty)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func expertFindingsWithEvidence(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await VulnWorld.make(db)
            _ = try await world.importInventory()
            let pacs = try #require(try await world.vuln.assets(in: world.scope, search: "pacs").first)
            let assessment = try await world.vuln.createAssessment(
                title: "Test d'intrusion 2026", kind: "pentest", auditor: "PASSI Exemple", scope: "Imagerie",
                startedOn: "2026-09-01", endedOn: "2026-09-05", in: world.scope)
            let ids = try await world.vuln.createExpertFinding(
                ExpertFindingDraft(
                    title: "Compte DICOM par défaut",
                    description: "Le compte de service accepte le mot de passe du fabricant.",
                    recommendation: "Changer le mot de passe", severity: .critical, assetIDs: [pacs.id],
                    assessmentID: assessment),
                in: world.scope)
            #expect(ids.count == 1)
            let finding = try await world.vuln.finding(ids[0], in: world.scope)
            #expect(finding.origin == .expert && finding.priority == .immediate && finding.assetName == "pacs")
            let evidence = try await world.vuln.addEvidence(
                to: ids[0], filename: "../capture.txt", contentType: "text/plain", bytes: Array("login ok".utf8),
                in: world.scope)
            #expect(evidence.filename == "capture.txt")
            #expect(evidence.sha256 == "login ok".data(using: .utf8)!.sha256Hex)
            let (_, content) = try await world.vuln.evidenceContent(evidence.id, in: world.scope)
            #expect(String(decoding: content, as: UTF8.self) == "login ok")
            #expect(try await world.vuln.assessments(in: world.scope).first?.findingCount == 1)
            await #expect(throws: ValidationError.self) {
                try await world.vuln.createExpertFinding(
                    ExpertFindingDraft(title: "", description: "", recommendation: "", severity: .low, assetIDs: []),
                    in: world.scope)
            }
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func brokenFilesImportNothing(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await VulnWorld.make(db)
            let before = try await world.vuln.catalogCounts()
            let truncated = Array(
                try Data(contentsOf: URL(fileURLWithPath: path("nvd_golden/nvd_api2_golden.json"))).prefix(30_000))
            await #expect(throws: VulnError.self) {
                try await world.vuln.importData(.nvd, bytes: truncated, origin: "upload", by: TestServices.cli)
            }
            // A CVE list where the last record is broken: the good ones before it are not kept either.
            let lines =
                #"{"cveMetadata":{"cveId":"CVE-2099-1111","state":"PUBLISHED"},"containers":{"cna":{"title":"ok"}}}"#
                + "\n" + #"{"cveMetadata":{"cveId":"CVE-2099-2222"}}"# + "\n"
            await #expect(throws: VulnError.self) {
                try await world.vuln.importData(.cve5, bytes: Array(lines.utf8), origin: "upload", by: TestServices.cli)
            }
            await #expect(throws: VulnError.self) {
                try await world.vuln.importData(
                    .kev, bytes: Array(#"{"title":"not kev"}"#.utf8), origin: "upload", by: TestServices.cli)
            }
            #expect(try await world.vuln.catalogCounts() == before)
            await #expect(throws: VulnError.self) {
                try await world.importInventory("name,type\n\"broken")
            }
            await #expect(throws: VulnError.self) {
                try await world.vuln.importInventory(
                    .nmap, bytes: Array("<nmaprun><host>".utf8), origin: "scan.xml", in: world.scope)
            }
            #expect(try await world.vuln.assets(in: world.scope).isEmpty)
            // Only the instance administrator feeds the shared catalogue.
            await #expect(throws: HygieCoreError.self) {
                try await world.vuln.importData(.kev, bytes: [], origin: "upload", by: world.scope.actor)
            }
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func medicalAdvisoriesAndSBOMs(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await VulnWorld.make(db)
            let report = try await world.vuln.importData(.csaf, paths: [path("csaf_cisa/icsma")], by: TestServices.cli)
            #expect(report.records > 300)
            #expect(report.warnings.contains { $0.hasPrefix("unparsed version: ICSMA-") })
            // A device recorded with the other spelling of its manufacturer.
            let csv = """
                name,type,manufacturer,model,firmware,safety,department
                Moniteur-REA-04,medical_device,Phillips,IntelliBridge EC 40 Hub,C.00.03,critical,Réanimation
                """
            _ = try await world.importInventory(csv)
            var filter = FindingFilter()
            filter.medicalOnly = true
            let found = try await world.vuln.findings(filter, in: world.scope).items
            #expect(!found.isEmpty)
            #expect(found.allSatisfy { $0.componentLabel == nil && $0.assetName == "Moniteur-REA-04" })
            let sbom = """
                {"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"device","name":"Interface HL7","version":"4.4.0"}},
                 "components":[{"type":"application","name":"mirth_connect","version":"4.4.0","cpe":"cpe:2.3:a:nextgen:mirth_connect:4.4.0:*:*:*:*:*:*:*"}]}
                """
            _ = try await world.vuln.importInventory(
                .sbom, bytes: Array(sbom.utf8), origin: "sbom.json", in: world.scope)
            let all = try await world.vuln.findings(FindingFilter(), in: world.scope).items
            #expect(all.contains { $0.recordID == "CVE-2023-43208" && $0.assetName == "Interface HL7" })
            let csvExport = try await world.vuln.exportCSV(FindingFilter(), in: world.scope)
            #expect(csvExport.hasPrefix("id,cve,title"))
            #expect(CSV.field("=cmd|calc") == "'=cmd|calc")
        }
    }
}
