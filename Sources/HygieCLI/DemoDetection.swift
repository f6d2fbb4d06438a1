import Foundation
import HygieCore
import HygieDetection
import HygieStorage

/// Detection part of `hygie demo`: log sources of the demo hospital, one rule of its own with an exception, and ten
/// days of events (domain controllers, HL7 engine, PACS, firewall) put in this node's spool. `hygie serve`
/// evaluates them at start, through the same path as live events, so the alerts, charts and event search of the
/// demo are real results.
enum DemoDetection {
    static let ownRule = """
        title: Connexion au DPI d'un compte désactivé
        id: 5f0d7a1e-9c3b-4e21-8d47-1a2b3c4d5e6f
        status: experimental
        description: Un compte marqué désactivé dans l'annuaire a ouvert une session sur un serveur du dossier patient.
        author: Claire Morel (RSSI, CH de Valbrune)
        date: 2026-11-01
        tags:
            - attack.initial_access
            - attack.t1078
        logsource:
            product: windows
            service: security
        detection:
            selection:
                EventID: 4624
                TargetUserName|startswith: 'z-desactive-'
                Computer|startswith: 'SRV-DPI'
            condition: selection
        level: high
        """

    /// Returns how many events were put in the spool.
    static func seed(
        scope: TenantScope, detection: DetectionService, events: Bool, spoolDirectory: String, now: Date
    ) async throws -> Int {
        let (winlogbeat, _) = try await detection.createSource(
            name: "Winlogbeat — contrôleurs de domaine et serveurs", kind: .http, sender: nil,
            expectedIntervalSeconds: 1800, in: scope)
        let (firewall, _) = try await detection.createSource(
            name: "Pare-feu Fortinet", kind: .syslog, sender: "10.20.0.0/16", expectedIntervalSeconds: 3600, in: scope)
        // A source that stopped sending: the health check raises an alert for it.
        _ = try await detection.createSource(
            name: "Serveurs Linux du laboratoire", kind: .syslog, sender: "10.30.0.0/16", expectedIntervalSeconds: 600,
            in: scope)
        _ = try await detection.importRules(
            files: [(path: "demo.yml", text: ownRule)], shared: false, origin: "manual", enable: true, in: scope)
        if let rule = try await detection.rules(in: scope).first(where: { $0.title.hasPrefix("Shadow Copies") }) {
            _ = try await detection.addException(
                ruleID: rule.id,
                detection:
                    "selection:\n    Computer: 'SRV-SAUV-01'\n    User|endswith: '\\svc-veeam'\ncondition: not selection",
                reason: "Rotation des clichés par le logiciel de sauvegarde (ticket DSI-2291)",
                expiresAt: now.addingTimeInterval(90 * 86_400), in: scope)
        }

        guard events else { return 0 }
        var generator = SystemRandomNumberGenerator()
        var json: [String] = []
        var syslog: [String] = []
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        func stamp(_ date: Date) -> String { formatter.string(from: date) }
        func sysmon(_ date: Date, host: String, user: String, image: String, commandLine: String, parent: String)
            -> String
        {
            object([
                "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": host, "User": user,
                "UtcTime": stamp(date), "Image": image, "CommandLine": commandLine, "ParentImage": parent,
                "ProcessId": Int.random(in: 1000...9000, using: &generator),
            ])
        }
        func logon(_ date: Date, host: String, user: String, type: Int, address: String, id: Int = 4624) -> String {
            object([
                "Channel": "Security", "EventID": id, "Computer": host, "TimeCreated": stamp(date),
                "TargetUserName": user, "TargetDomainName": "VALBRUNE", "LogonType": type, "IpAddress": address,
                "WorkstationName": "-",
            ])
        }
        let workstations =
            (1...40).map { String(format: "PC-URG-%03d", $0) } + (1...25).map { String(format: "PC-CARD-%03d", $0) }
        let staff = ["s.garnier", "p.vasseur", "i.chevalier", "j.marchand", "k.benali", "c.morel", "m.lefevre"]
        for day in 0..<10 {
            let base = now.addingTimeInterval(-Double(10 - day) * 86_400)
            // Ordinary activity: logons and the EHR client on workstations.
            for n in 0..<120 {
                let at = base.addingTimeInterval(Double(n) * 600 + Double.random(in: 0...300, using: &generator))
                let host = workstations[n % workstations.count]
                let user = staff[n % staff.count]
                json.append(logon(at, host: host, user: user, type: 2, address: "-"))
                json.append(
                    sysmon(
                        at.addingTimeInterval(5), host: host, user: "VALBRUNE\\\(user)",
                        image: "C:\\Program Files (x86)\\DPI\\Client\\dpi.exe",
                        commandLine: "\"C:\\Program Files (x86)\\DPI\\Client\\dpi.exe\" /site=VALBRUNE",
                        parent: "C:\\Windows\\explorer.exe"))
                if n % 3 == 0 {
                    let source = "10.20.\(n % 8).\(10 + n % 200)"
                    syslog.append(
                        "<134>1 \(stamp(at)) fw-coeur-01 - - - - CEF:0|Fortinet|FortiGate|7.2.8|0000000013|forward traffic|3|src=\(source) dst=10.10.1.\(n % 50) dpt=443 act=accept suser=\(user)"
                    )
                }
            }
            // Password spraying against the domain controller on two evenings.
            if day == 3 || day == 7 {
                for n in 0..<30 {
                    json.append(
                        logon(
                            base.addingTimeInterval(20 * 3600 + Double(n) * 7), host: "SRV-AD-01",
                            user: staff[n % staff.count], type: 3, address: "10.20.4.\(66 + day)", id: 4625))
                }
            }
            // The interface engine spawns a shell (web shell or exploited channel).
            if day == 5 || day == 9 {
                json.append(
                    sysmon(
                        base.addingTimeInterval(3 * 3600), host: "SRV-HL7-01", user: "VALBRUNE\\svc-mirth",
                        image: "C:\\Windows\\System32\\cmd.exe", commandLine: "cmd.exe /c whoami /all",
                        parent: "C:\\Program Files\\Mirth Connect\\mcservice.exe"))
            }
            // Remote desktop onto a biomedical workstation (MRI console) from the IT network.
            if day % 4 == 1 {
                json.append(
                    logon(
                        base.addingTimeInterval(14 * 3600), host: "IRM-CONSOLE-01", user: "biomed.presta", type: 10,
                        address: "10.20.9.12"))
            }
        }
        // The evening before: shadow copies deleted on the file server (the ransomware playbook), and the same
        // command by the backup software, which the exception covers.
        let evening = now.addingTimeInterval(-14 * 3600)
        json.append(
            sysmon(
                evening, host: "SRV-FICHIERS-02", user: "VALBRUNE\\adm-temp",
                image: "C:\\Windows\\System32\\vssadmin.exe", commandLine: "vssadmin.exe delete shadows /all /quiet",
                parent: "C:\\Windows\\System32\\cmd.exe"))
        json.append(
            sysmon(
                evening.addingTimeInterval(60), host: "SRV-SAUV-01", user: "VALBRUNE\\svc-veeam",
                image: "C:\\Windows\\System32\\vssadmin.exe", commandLine: "vssadmin.exe delete shadows /for=E: /quiet",
                parent: "C:\\Program Files\\Veeam\\Backup\\VeeamAgent.exe"))
        json.append(
            logon(
                now.addingTimeInterval(-3 * 3600), host: "SRV-DPI-02", user: "z-desactive-l.perrin", type: 10,
                address: "10.20.5.31"))
        // Yesterday afternoon one account read 620 images from the PACS share in eight minutes (exfiltration
        // before encryption): each read is a low-level match, the correlation rule raises the alert.
        let pacs = now.addingTimeInterval(-20 * 3600)
        for n in 0..<620 {
            json.append(
                object([
                    "Channel": "Security", "EventID": 5145, "Computer": "SRV-PACS-01",
                    "TimeCreated": stamp(pacs.addingTimeInterval(Double(n) * 0.77)), "SubjectUserName": "svc-export",
                    "SubjectDomainName": "VALBRUNE", "IpAddress": "10.20.7.45", "ShareName": "\\\\*\\PACS",
                    "RelativeTargetName": "studies\\1.2.840.113619.2.55.\(n)\\IM\(n % 40).dcm",
                    "AccessMask": "0x1",
                ]))
        }

        // Traffic to the regional agency's shared indicators (IOC alerts and sightings).
        json += DemoIntel.events(now: now, stamp: stamp, object: object)

        let spool = try Spool(directory: spoolDirectory, policy: .always)
        let received = Int64(now.timeIntervalSince1970 * 1000)
        var records = json.map {
            SpoolRecord(
                format: .json, establishmentID: scope.establishmentID.uuid, sourceID: winlogbeat.id,
                receivedAt: received, data: Array($0.utf8))
        }
        records += syslog.map {
            SpoolRecord(
                format: .syslog, establishmentID: scope.establishmentID.uuid, sourceID: firewall.id,
                receivedAt: received, sender: "10.20.0.1", data: Array($0.utf8))
        }
        for chunk in stride(from: 0, to: records.count, by: 1000) {
            try spool.append(Array(records[chunk..<min(chunk + 1000, records.count)]))
        }
        return records.count
    }

    static func object(_ fields: [String: Any]) -> String {
        // try?: string and integer values always serialise.
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
