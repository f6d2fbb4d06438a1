import Foundation
import HygieCore
import HygieIntel
import HygieStorage
import STIX

/// Threat-intelligence part of `hygie demo`: the regional agency shares a collection of indicators with the
/// region (a ransomware campaign against hospitals, in STIX with its report, malware, attack pattern and
/// relationships); the hospital has its own GHT collection, a TAXII account for its SOC provider, a sharing group
/// with the clinic and its own domains. Some demo log events hit the shared indicators (see ``events``), so
/// `hygie serve` raises IOC alerts and sightings from them.
enum DemoIntel {
    static let agencyIdentity = "identity--7d4d9a60-2c3b-4e8f-9a51-3c1f5e2b8a10"
    static let malware = "malware--0c7e3b1a-5d2f-4e6a-8b9c-1d2e3f4a5b6c"
    static let pattern = "attack-pattern--a62a8db3-f23a-4d8f-afd6-9dbc77e7813b"
    static let report = "report--4b9d2e1f-8a7c-4d3e-9f10-2a3b4c5d6e7f"

    /// Indicator id, pattern, name, TLP and confidence.
    static let indicators: [(String, String, String, TLP, Int)] = [
        (
            "indicator--1a2b3c4d-0001-4a5b-8c6d-7e8f9a0b1c2d", "[ipv4-addr:value = '185.220.101.45']",
            "Serveur de commande LockBit (campagne santé, nov. 2026)", .green, 90
        ),
        (
            "indicator--1a2b3c4d-0002-4a5b-8c6d-7e8f9a0b1c2d", "[domain-name:value = 'maj-logiciel-dpi.example']",
            "Faux site de mise à jour du DPI", .amber, 85
        ),
        (
            "indicator--1a2b3c4d-0003-4a5b-8c6d-7e8f9a0b1c2d",
            "[file:hashes.'SHA-256' = '9f2c6d1e8b7a4c3f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7']",
            "Chargeur Word « Facture_Laboratoire.docm »", .green, 95
        ),
        (
            "indicator--1a2b3c4d-0004-4a5b-8c6d-7e8f9a0b1c2d",
            "[url:value = 'https://portail-rh-chu.example/connexion.php']",
            "Page de collecte d'identifiants imitant le portail RH", .amber, 80
        ),
        (
            "indicator--1a2b3c4d-0005-4a5b-8c6d-7e8f9a0b1c2d",
            "[email-addr:value = 'facturation@labo-analyses-medicales.example']",
            "Expéditeur des courriels piégés", .green, 75
        ),
        (
            "indicator--1a2b3c4d-0006-4a5b-8c6d-7e8f9a0b1c2d", "[ipv4-addr:value ISSUBSET '45.155.205.0/24']",
            "Plage de balayage RDP (hébergeur abusif)", .clear, 60
        ),
        (
            "indicator--1a2b3c4d-0007-4a5b-8c6d-7e8f9a0b1c2d", "[ipv4-addr:value = '10.20.5.31']",
            "Adresse interne signalée par erreur (liste d'avertissement)", .green, 30
        ),
        (
            "indicator--1a2b3c4d-0008-4a5b-8c6d-7e8f9a0b1c2d", "[domain-name:value = 'exfil-pacs.example']",
            "Domaine d'exfiltration DICOM (enquête en cours)", .red, 70
        ),
        (
            "indicator--1a2b3c4d-0009-4a5b-8c6d-7e8f9a0b1c2d",
            "[process:name = 'vssadmin.exe' AND process:command_line LIKE '%delete shadows%'] FOLLOWEDBY [file:name LIKE '%.lockbit'] WITHIN 600 SECONDS",
            "Suppression des clichés puis chiffrement (comportement)", .green, 70
        ),
    ]

    static func stamp(_ date: Date) -> String {
        STIXTimestamp(date).stixString
    }

    static func bundle(now: Date) -> [UInt8] {
        let created = stamp(now.addingTimeInterval(-5 * 86_400))
        func common(_ type: String, _ id: String, tlp: TLP = .green) -> String {
            #""type":"\#(type)","spec_version":"2.1","id":"\#(id)","created":"\#(created)","modified":"\#(created)","created_by_ref":"\#(agencyIdentity)","object_marking_refs":["\#(tlp.markingDefinitionID)"]"#
        }
        var objects = [
            #"{"type":"identity","spec_version":"2.1","id":"\#(agencyIdentity)","created":"\#(created)","modified":"\#(created)","name":"CERT Santé régional (ARS Val-de-Lune, fictif)","identity_class":"organization","sectors":["healthcare","government-public-services"]}"#,
            #"{\#(common("malware", malware)),"name":"LockBit 3.0","is_family":true,"malware_types":["ransomware"],"description":"Rançongiciel utilisé contre plusieurs centres hospitaliers de la région en novembre 2026."}"#,
            #"{\#(common("attack-pattern", pattern, tlp: .clear)),"name":"Hameçonnage avec pièce jointe","external_references":[{"source_name":"mitre-attack","external_id":"T1566.001","url":"https://attack.mitre.org/techniques/T1566/001/"}]}"#,
        ]
        for (id, pattern, name, tlp, confidence) in indicators {
            objects.append(
                #"{\#(common("indicator", id, tlp: tlp)),"name":"\#(name)","indicator_types":["malicious-activity"],"pattern":"\#(pattern)","pattern_type":"stix","valid_from":"\#(created)","confidence":\#(confidence)}"#
            )
            objects.append(
                #"{\#(common("relationship", "relationship--" + id.dropFirst("indicator--".count), tlp: tlp)),"relationship_type":"indicates","source_ref":"\#(id)","target_ref":"\#(malware)"}"#
            )
        }
        objects.append(
            #"{\#(common("relationship", "relationship--9e8d7c6b-5a49-4382-9716-0f1e2d3c4b5a")),"relationship_type":"uses","source_ref":"\#(malware)","target_ref":"\#(pattern)"}"#
        )
        let refs = ([malware, pattern] + indicators.filter { $0.3 != .red }.map(\.0)).map { "\"\($0)\"" }.joined(
            separator: ",")
        objects.append(
            #"{\#(common("report", report)),"name":"Campagne de rançongiciel visant les établissements de santé","published":"\#(created)","report_types":["threat-report","campaign"],"description":"Courriels piégés se faisant passer pour un laboratoire d'analyses, chargeur Word, puis LockBit 3.0. Indicateurs à rechercher dans les journaux des deux dernières semaines.","object_refs":[\#(refs)]}"#
        )
        return Array(
            ("{\"type\":\"bundle\",\"id\":\"bundle--6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9\",\"objects\":["
                + objects.joined(separator: ",") + "]}").utf8)
    }

    /// Seeds the agency's and the hospital's intelligence; returns the partner account's secret.
    static func seed(
        intel: IntelService, agency: TenantScope, hospital: TenantScope, clinic: Establishment.ID, now: Date
    ) async throws -> String {
        let regional = try await intel.createCollection(
            title: "CERT Santé — indicateurs régionaux",
            description: "Indicateurs partagés avec les établissements de la région",
            alias: "cert-regional", defaultTLP: .amber, distribution: .region, sharingGroupID: nil, in: agency)
        _ = try await intel.importContent(bundle(now: now), format: .stix, into: regional.id, in: agency)

        let group = try await intel.createSharingGroup(
            name: "GHT Vallée de la Brune", description: "Établissements du GHT et leur prestataire de SOC",
            establishments: [clinic], accounts: [], in: hospital)
        let shared = try await intel.createCollection(
            title: "Valbrune — partage GHT", description: "Ce que le CH de Valbrune partage avec le GHT",
            alias: "valbrune-ght",
            defaultTLP: .amber, distribution: .group, sharingGroupID: group.id, in: hospital)
        let csv = """
            type,value,name,description,tlp,valid_from,valid_until,confidence,labels
            ip,91.215.85.142,Tentatives VPN répétées,Comptes de service ciblés depuis cette adresse,amber,,,70,bruteforce;vpn
            domain,valbrune-intranet-connexion.example,Domaine imitant l'intranet,Signalé par un agent des urgences,green,,,80,phishing
            sha256,4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a4938271605f,Pièce jointe « Planning_garde.xlsm »,,amber,,,85,phishing
            """
        _ = try await intel.importContent(Array(csv.utf8), format: .csv, into: shared.id, in: hospital)
        let own = try await intel.createCollection(
            title: "Valbrune — observations", description: "Nos observations publiées pour l'ARS",
            alias: "valbrune-sightings",
            defaultTLP: .amber, distribution: .establishment, sharingGroupID: nil, in: hospital)
        let (account, secret) = try await intel.createAccount(
            username: "soc-partenaire-valbrune", organisation: "SOC Partenaire (prestataire)", maxTLP: .amber,
            in: hospital)
        try await intel.grant(
            collection: shared.id, account: account.id, group: nil, canRead: true, canWrite: true, in: hospital)
        try await intel.grant(
            collection: own.id, account: account.id, group: nil, canRead: true, canWrite: false, in: hospital)
        try await intel.updateSettings(
            IntelSettings(ownDomains: ["valbrune.example"], anonymiseUpward: true), in: hospital)
        return secret
    }

    /// Log events of the demo hospital that hit the shared indicators (and one that the warning list stops).
    static func events(now: Date, stamp: (Date) -> String, object: ([String: Any]) -> String) -> [String] {
        var events: [String] = []
        let morning = now.addingTimeInterval(-30 * 3600)
        for n in 0..<3 {
            events.append(
                object([
                    "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "Computer": "PC-URG-07",
                    "User": "VALBRUNE\\s.garnier", "UtcTime": stamp(morning.addingTimeInterval(Double(n) * 300)),
                    "Image": "C:\\Users\\s.garnier\\AppData\\Local\\Temp\\update.exe",
                    "DestinationIp": "185.220.101.45",
                    "DestinationPort": 443, "Protocol": "tcp", "SourceIp": "10.20.12.57",
                ]))
        }
        events.append(
            object([
                "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 22, "Computer": "PC-URG-07",
                "UtcTime": stamp(morning.addingTimeInterval(-60)), "QueryName": "maj-logiciel-dpi.example",
                "Image": "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
            ]))
        events.append(
            object([
                "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": "PC-URG-07",
                "User": "VALBRUNE\\s.garnier", "UtcTime": stamp(morning.addingTimeInterval(-120)),
                "Image": "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
                "CommandLine": "\"WINWORD.EXE\" /n \"C:\\Users\\s.garnier\\Downloads\\Facture_Laboratoire.docm\"",
                "Hashes":
                    "MD5=0F1E2D3C4B5A69788796A5B4C3D2E1F0,SHA256=9F2C6D1E8B7A4C3F5E6D7C8B9A0F1E2D3C4B5A69788796A5B4C3D2E1F0A9B8C7",
                "ParentImage": "C:\\Windows\\explorer.exe",
            ]))
        for n in 0..<4 {
            events.append(
                object([
                    "Channel": "Security", "EventID": 4625, "Computer": "SRV-RDS-01",
                    "TimeCreated": stamp(now.addingTimeInterval(Double(-7200 + n * 40))),
                    "TargetUserName": "administrateur", "LogonType": 10, "IpAddress": "45.155.205.\(17 + n)",
                ]))
        }
        return events
    }
}
