import Foundation
import Testing

@testable import Sigma

/// Hygie's own rules: each fires on its attack and stays quiet on the matching daily work.
@Suite struct HospitalRulesTests {
    static let set: RuleSet = {
        let loaded = try! RuleLoader.load([RuleLoader.builtInRulesDirectory!])
        return RuleSet(rules: loaded.rules, diagnostics: loaded.diagnostics, mapping: builtInMapping)
    }()

    func titles(_ json: String) -> [String] { matches(Self.set, json) }

    static let sysmon = "\"Channel\":\"Microsoft-Windows-Sysmon/Operational\""

    @Test func theyAllLoadWithAuthors() {
        #expect(Self.set.diagnostics.isEmpty, "\(Self.set.diagnostics)")
        #expect(Self.set.rules.count + Self.set.correlations.count == 8)
        #expect(Self.set.rules.allSatisfy { $0.metadata.author == "Hygie project" && $0.metadata.level != nil })
    }

    @Test func hl7EngineSpawningShell() {
        let attack =
            #"{\#(Self.sysmon),"EventID":1,"ParentImage":"C:\\Program Files\\Mirth Connect\\mcservice.exe","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c whoami"}"#
        #expect(titles(attack) == ["HL7 Interface Engine Spawns A Shell"])
        let normal =
            #"{\#(Self.sysmon),"EventID":1,"ParentImage":"C:\\Program Files\\Mirth Connect\\mcservice.exe","Image":"C:\\Program Files\\Java\\bin\\java.exe"}"#
        #expect(titles(normal).isEmpty)
        let linux =
            #"{"Channel":"Linux-Sysmon/Operational","EventID":1,"ParentCommandLine":"java -cp mirth-server-launcher.jar com.mirth.connect.server.launcher.MirthLauncher","Image":"/usr/bin/bash"}"#
        #expect(titles(linux) == ["HL7 Interface Engine Spawns A Shell On Linux"])
    }

    @Test func shadowCopyAndBackupDestruction() {
        let vss =
            #"{\#(Self.sysmon),"EventID":1,"Image":"C:\\Windows\\System32\\vssadmin.exe","CommandLine":"vssadmin.exe Delete Shadows /All /Quiet"}"#
        #expect(titles(vss) == ["Shadow Copies Or Backups Destroyed Before Ransomware"])
        let list =
            #"{\#(Self.sysmon),"EventID":1,"Image":"C:\\Windows\\System32\\vssadmin.exe","CommandLine":"vssadmin list shadows"}"#
        #expect(titles(list).isEmpty)
        let wbadmin =
            #"{"Channel":"Security","EventID":4688,"NewProcessName":"C:\\Windows\\System32\\wbadmin.exe","CommandLine":"wbadmin DELETE CATALOG -quiet"}"#
        #expect(titles(wbadmin) == ["Shadow Copies Or Backups Destroyed Before Ransomware"])
        let deleted =
            #"{\#(Self.sysmon),"EventID":23,"Image":"C:\\Users\\x\\AppData\\Local\\Temp\\r.exe","TargetFilename":"E:\\Backup\\Veeam\\DPI\\DPI2026-11-28.vbk"}"#
        #expect(titles(deleted) == ["Backup Files Deleted On A Backup Repository"])
        let retention =
            #"{\#(Self.sysmon),"EventID":23,"Image":"C:\\Program Files\\Veeam\\Backup\\VeeamAgent.exe","TargetFilename":"E:\\Backup\\Veeam\\DPI\\old.vbk"}"#
        #expect(titles(retention).isEmpty)
    }

    @Test func remoteDesktop() {
        let biomed =
            #"{"Channel":"Security","EventID":4624,"LogonType":10,"Computer":"IRM-02.chu.local","IpAddress":"10.3.0.8"}"#
        #expect(titles(biomed) == ["Remote Desktop Logon To A Biomedical Workstation"])
        let office =
            #"{"Channel":"Security","EventID":4624,"LogonType":10,"Computer":"WS-ADM-01.chu.local","IpAddress":"10.3.0.8"}"#
        #expect(titles(office).isEmpty)
        let exposed =
            #"{"Channel":"Security","EventID":4624,"LogonType":10,"Computer":"WS-ADM-01.chu.local","IpAddress":"185.220.101.4"}"#
        #expect(titles(exposed) == ["Remote Desktop Logon From A Public Address"])
        let network =
            #"{"Channel":"Security","EventID":4624,"LogonType":3,"Computer":"IRM-02","IpAddress":"185.220.101.4"}"#
        #expect(titles(network).isEmpty)
    }

    @Test func massDicomAccessCorrelation() throws {
        func read(_ user: String, _ second: Int) -> String {
            #"{"Channel":"Security","EventID":5145,"SubjectUserName":"\#(user)","ShareName":"\\\\*\\PACS_ARCHIVE","RelativeTargetName":"2026\\11\\IMG\#(second).dcm","SystemTime":"\#(DateParts.iso8601(1_790_000_000 + Double(second) / 2))","Computer":"SRV-PACS-01"}"#
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pacs-\(UUID().uuidString).jsonl").path
        // 600 images in five minutes for one account, 40 for a radiologist.
        let lines = (0..<600).map { read("svc_compromised", $0) } + (0..<40).map { read("dr.martin", $0 * 10) }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var detections: [HuntDetection] = []
        _ = try Hunter(ruleSet: Self.set, jobs: 2).run(inputs: [path]) { detections += $0 }
        #expect(detections.map(\.title) == ["Mass Access To PACS DICOM Images By One Account"])
        #expect(detections.first?.matched.first == MatchedField(field: "SubjectUserName", value: "svc_compromised"))
        #expect(detections.first?.level == .high)
    }
}
