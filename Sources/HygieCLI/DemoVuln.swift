import Foundation
import HygieCore
import HygieStorage
import HygieVulnerabilities

/// Vulnerability part of `hygie demo`: Valbrune's inventory (network edge, servers, imaging, biomedical devices,
/// printers) imported as a spreadsheet, an nmap scan of the DMZ and an infusion-gateway SBOM, three months of
/// history (a patched gateway closes its findings), a penetration test with expert findings and evidence, and
/// remediation decisions. Vulnerability data is public and imported at run time: with `--vuln-data DIR` (a folder
/// holding CISA's KEV catalog, NVD API files, CSAF advisories or CVE records) the demo imports it first, so that
/// the inventory matches real CVEs.
enum DemoVuln {
    /// Columns: name, type, address, department, zone, internet, criticality, safety, manufacturer, model,
    /// firmware, vendor, product, version, cpe.
    static func inventory(citrixBuild: String) -> String {
        let rows: [String] = [
            "fw-edge-01;network;203.0.113.10;DSI;dmz;oui;vitale;;Fortinet;FortiGate 200F;;Fortinet;FortiOS;7.2.6;cpe:2.3:o:fortinet:fortios:*:*:*:*:*:*:*:*",
            "adc-portail-01;network;203.0.113.20;DSI;dmz;oui;haute;;Citrix;NetScaler ADC;;Citrix;NetScaler Gateway;\(citrixBuild);cpe:2.3:a:citrix:netscaler_gateway:*:*:*:*:*:*:*:*",
            "srv-hl7-01;server;10.10.2.15;DSI;serveurs;non;vitale;marginal;;;;NextGen;Mirth Connect;4.4.0;cpe:2.3:a:nextgen:mirth_connect:*:*:*:*:*:*:*:*",
            "srv-pacs-01;server;10.10.3.20;Imagerie médicale;serveurs;non;haute;marginal;Philips;Vue PACS;;Philips;Vue PACS;12.2.8.400;cpe:2.3:a:philips:vue_pacs:*:*:*:*:*:*:*:*",
            "srv-pacs-01;server;10.10.3.20;Imagerie médicale;serveurs;non;haute;marginal;Philips;Vue PACS;;OpenSSL;OpenSSL;1.1.1m;cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*",
            "srv-ris-01;server;10.10.3.21;Imagerie médicale;serveurs;non;haute;;;;;Microsoft;Windows Server 2008 R2 SP1;;cpe:2.3:o:microsoft:windows_server_2008:r2:sp1:*:*:*:*:*:*",
            "srv-dpi-01;server;10.10.2.30;DSI;serveurs;non;vitale;marginal;;;;Debian;Debian GNU/Linux;11.0;cpe:2.3:o:debian:debian_linux:11.0:*:*:*:*:*:*:*",
            "srv-ad-01;server;10.10.1.10;DSI;serveurs;non;vitale;;;;;Microsoft;Windows Server 2019;1809;",
            "pc-console-irm;workstation;10.20.5.11;Imagerie médicale;biomedical;non;haute;critical;Siemens;Magnetom console;;Microsoft;Windows 7 SP1;;cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*",
            "pc-urgences-07;workstation;10.30.1.107;Urgences;bureautique;non;moyenne;;;;;Microsoft;Windows 10;22H2;",
            "pompe-insuline-rea-03;medical_device;;Réanimation;biomedical;non;haute;catastrophic;Medtronic;MiniMed Paradigm 523;2.4a;Medtronic;MiniMed Paradigm 523 firmware;2.4a;cpe:2.3:o:medtronic:minimed_paradigm_523_firmware:*:*:*:*:*:*:*:*",
            "pompe-insuline-rea-03;medical_device;;Réanimation;biomedical;non;haute;catastrophic;Medtronic;MiniMed Paradigm 523;2.4a;Medtronic;MiniMed Paradigm 523;;cpe:2.3:h:medtronic:minimed_paradigm_523:-:*:*:*:*:*:*:*",
            "passerelle-monitorage-rea;medical_device;10.40.1.40;Réanimation;biomedical;non;vitale;critical;Philips;IntelliBridge EC 40 Hub;C.00.03;;;;",
            "radio-mobile-urg;medical_device;10.40.2.12;Urgences;biomedical;non;haute;marginal;Siemens;Axiom Multix M;VB10A;Siemens;Axiom Multix M firmware;VB10A;cpe:2.3:o:siemens:axiom_multix_m_firmware:*:*:*:*:*:*:*:*",
            "radio-mobile-urg;medical_device;10.40.2.12;Urgences;biomedical;non;haute;marginal;Siemens;Axiom Multix M;VB10A;Siemens;Axiom Multix M;;cpe:2.3:h:siemens:axiom_multix_m:-:*:*:*:*:*:*:*",
            "irm-01;medical_device;10.40.3.10;Imagerie médicale;biomedical;non;haute;marginal;GE Healthcare;Signa HDxt;HD23;;;;",
            "pompe-perfusion-card-12;medical_device;10.40.4.12;Cardiologie;biomedical;non;haute;critical;B. Braun;Space Infusomat;;;;;",
            "moniteur-card-02;medical_device;10.40.4.2;Cardiologie;biomedical;non;haute;critical;Philips;IntelliVue MX450;;;;;",
            "imprimante-urg-01;iot;10.50.1.21;Urgences;bureautique;non;faible;;Kyocera;ECOSYS M3645;;;;;",
            "camera-parking-02;iot;10.50.9.2;Direction générale;video;non;faible;;Axis;P1455-LE;;;;;",
        ]
        return
            "Nom;Type;Adresse IP;Service;Zone;Exposé Internet;Criticité;Impact patient;Fabricant;Modèle;Firmware;Éditeur;Logiciel;Version;CPE\n"
            + rows.joined(separator: "\n") + "\n"
    }

    static let dmzScan = """
        <?xml version="1.0"?><nmaprun scanner="nmap" args="nmap -sV 203.0.113.0/28">
        <host><status state="up"/><address addr="203.0.113.10" addrtype="ipv4"/><hostnames><hostname name="fw-edge-01" type="user"/></hostnames>
        <ports><port protocol="tcp" portid="443"><state state="open"/><service name="https" product="Fortinet FortiGate SSL VPN"/></port></ports></host>
        <host><status state="up"/><address addr="203.0.113.30" addrtype="ipv4"/><hostnames><hostname name="www-valbrune" type="PTR"/></hostnames>
        <ports><port protocol="tcp" portid="443"><state state="open"/><service name="http" product="Apache httpd" version="2.4.49"><cpe>cpe:/a:apache:http_server:2.4.49</cpe></service></port></ports></host>
        </nmaprun>
        """

    static let gatewaySBOM = """
        {"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"device","name":"Passerelle perfusion Alaris","version":"1.1.3",
          "manufacturer":{"name":"BD"},"properties":[{"name":"fda:end-of-support","value":"2025-12-31"}]}},
         "components":[
          {"type":"operating-system","name":"Windows Embedded Standard 7","version":"SP1","supplier":{"name":"Microsoft"},
           "cpe":"cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*",
           "properties":[{"name":"fda:support-level","value":"unsupported"},{"name":"fda:end-of-support","value":"2020-01-14"}]},
          {"type":"library","name":"openssl","version":"1.0.2zc","supplier":{"name":"OpenSSL"},"cpe":"cpe:2.3:a:openssl:openssl:1.0.2zc:*:*:*:*:*:*:*"}]}
        """

    static func seed(scope: TenantScope, boot: Bootstrap, dataDirectory: String?, now: Date) async throws -> String {
        var lines: [String] = []
        let cli = Actor.system("hygie demo", channel: "cli")
        if let dataDirectory {
            for (kind, relative) in [
                (VulnDataKind.kev, "kev_catalog.json"), (.nvd, "nvd_golden/nvd_api2_golden.json"),
                (.csaf, "csaf_cisa/icsma"),
                (.cve5, "vulnrichment/cve5_vulnrichment_hospital_vendors.jsonl.gz"),
            ] {
                let path = (dataDirectory as NSString).appendingPathComponent(relative)
                guard FileManager.default.fileExists(atPath: path) else { continue }
                let report = try await boot.vuln.importData(kind, paths: [path], by: cli)
                lines.append("\(kind.rawValue): \(report.records) records")
            }
        }
        // Three months of history on a clock of its own: first inventory twelve weeks ago, the portal patched
        // five weeks later, the penetration test last week.
        let clock = ManualClock(now.addingTimeInterval(-84 * 86_400))
        let vuln = VulnService(
            database: boot.database, audit: boot.audit, clock: clock, configuration: boot.configuration.vuln)
        _ = try await vuln.importInventory(
            .csv, bytes: Array(inventory(citrixBuild: "13.1-49.13").utf8), origin: "inventaire-2026.csv", in: scope)
        clock.advance(by: 35 * 86_400)
        _ = try await vuln.importInventory(
            .csv, bytes: Array(inventory(citrixBuild: "13.1-49.15").utf8), origin: "inventaire-2026-maj.csv", in: scope)
        _ = try await vuln.importInventory(.nmap, bytes: Array(dmzScan.utf8), origin: "scan-dmz.xml", in: scope)
        _ = try await vuln.importInventory(.sbom, bytes: Array(gatewaySBOM.utf8), origin: "sbom-alaris.json", in: scope)
        clock.advance(by: 42 * 86_400)
        let assets = try await vuln.assets(in: scope, limit: 1_000)
        func asset(_ name: String) -> UUID? { assets.first { $0.name == name }?.id }
        let pentest = try await vuln.createAssessment(
            title: "Test d'intrusion externe et interne 2026", kind: "pentest",
            auditor: "Cabinet PASSI Exemple (fictif)",
            scope: "DMZ, réseau bureautique, VLAN biomédical",
            startedOn: VulnService.day(clock.now().addingTimeInterval(-4 * 86_400)),
            endedOn: VulnService.day(clock.now()), in: scope)
        let expert: [(String, String, String, ExpertSeverity, [String])] = [
            (
                "Compte de service DICOM avec mot de passe constructeur",
                "Le PACS accepte l'identifiant de maintenance documenté par le fabricant ; accès à toutes les études.",
                "Changer le mot de passe avec le fabricant, restreindre l'accès DICOM au VLAN imagerie.", .critical,
                ["srv-pacs-01"]
            ),
            (
                "VLAN biomédical joignable depuis le réseau bureautique",
                "Les pompes et moniteurs répondent depuis un poste des urgences (pas de filtrage inter-VLAN).",
                "Filtrer les flux vers le VLAN biomédical (seuls les serveurs de supervision).", .high,
                ["pompe-perfusion-card-12", "moniteur-card-02", "passerelle-monitorage-rea"]
            ),
            (
                "Interface d'administration de la caméra en HTTP avec identifiants par défaut",
                "admin/admin fonctionne sur la caméra du parking.", "Changer le mot de passe, désactiver HTTP.",
                .medium,
                ["camera-parking-02"]
            ),
        ]
        var expertIDs: [UUID] = []
        for (title, description, recommendation, severity, names) in expert {
            expertIDs += try await vuln.createExpertFinding(
                ExpertFindingDraft(
                    title: title, description: description, recommendation: recommendation, severity: severity,
                    assetIDs: names.compactMap(asset), assessmentID: pentest), in: scope)
        }
        if let first = expertIDs.first {
            _ = try await vuln.addEvidence(
                to: first, filename: "capture-connexion-pacs.txt", contentType: "text/plain",
                bytes: Array(
                    "$ dicom-echo -aet MAINT srv-pacs-01 104\nAssociation accepted (fictional demo evidence)\n".utf8),
                in: scope)
            _ = try await vuln.update(
                first,
                FindingUpdate(
                    status: .inProgress, note: "Ticket ouvert chez le fabricant", assignee: "Équipe imagerie"),
                in: scope)
        }
        clock.advance(by: 5 * 86_400)
        // Remediation decisions on the matched findings, when vulnerability data was imported.
        let open = try await vuln.findings(FindingFilter(), in: scope).items
        if let pump = open.first(where: { $0.assetName == "pompe-insuline-rea-03" }) {
            _ = try await vuln.update(
                pump.id,
                FindingUpdate(
                    status: .riskAccepted, note: "Pompe remplacée au T2 2027 ; télécommande radio retirée du service.",
                    acceptedUntil: VulnService.day(clock.now().addingTimeInterval(180 * 86_400))), in: scope)
        }
        if let firewall = open.first(where: { $0.assetName == "fw-edge-01" && $0.kev }) {
            _ = try await vuln.update(
                firewall.id,
                FindingUpdate(
                    status: .inProgress, note: "Mise à jour FortiOS 7.2.7 planifiée ce soir", assignee: "Karim Benali"),
                in: scope)
        }
        let summary = try await vuln.summary(in: scope)
        lines.append(
            "\(summary.assets) assets, \(summary.openByPriority.values.reduce(0, +)) open findings, \(summary.kevOnExposed) known-exploited on internet-exposed assets"
        )
        return lines.joined(separator: "; ")
    }
}
