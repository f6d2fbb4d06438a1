import ArgumentParser
import Foundation
import HygieCore
import HygieDetection
import HygieIntel
import HygieStorage

/// Seeds a fictional hospital so that a newcomer can sign in and look around. Later modules add their own data.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Seed a fictional hospital (Centre hospitalier de Valbrune): departments, users of every role, log sources, ten days of log events, threat intelligence, an inventory with vulnerability findings and a half-finished CaRE domain 2 self-assessment.",
        discussion:
            "Every demo account gets the same random password, printed once. Never use on a production instance.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Do not put demo log events in the spool (sources, rules and settings are still created).")
    var noEvents = false

    @Option(
        help: ArgumentHelp(
            "Folder of public vulnerability data to import first (kev_catalog.json, nvd_golden/, csaf_cisa/icsma/, vulnrichment/), such as ../shared/data/vuln.",
            valueName: "dir"))
    var vulnData: String?

    @Flag(
        help:
            "Also make the agency a regional hub: Valbrune and the clinic join it, a few dozen fictional establishments bring a year of history, two alerts are broadcast."
    )
    var hub = false

    struct Person {
        let email: String
        let name: String
        let role: Role
        let department: String?
    }

    func run() async throws {
        let boot = try Bootstrap(configuration: try await common.load())
        try await boot.withDatabase {
            try await boot.prepareSchema()
            let identity = try boot.identity()
            let tenancy = boot.tenancy
            let actor = Actor.system("hygie demo", channel: "cli")
            if try await tenancy.establishments(visibleTo: User.ID(), isInstanceAdmin: true).contains(where: {
                $0.finess?.value == "999000017"
            }) {
                print("Demo data is already present (Centre hospitalier de Valbrune).")
                return
            }
            let password = "Demo-" + SecureRandom.token(bytes: 9)
            let existingRegion = try await tenancy.regions().first { $0.code == "VDL" }
            let region: Region
            if let existingRegion {
                region = existingRegion
            } else {
                region = try await tenancy.createRegion(name: "Région Val-de-Lune (fictive)", code: "VDL", by: actor)
            }
            let group = try await tenancy.createGroup(
                name: "GHT Vallée de la Brune (fictif)", regionID: region.id, by: actor)
            let hospital = try await tenancy.createEstablishment(
                .init(
                    name: "Centre hospitalier de Valbrune", finess: "999000017", kind: "ch",
                    groupID: group.id.uuidString, regionID: region.id.uuidString), by: actor)
            let clinic = try await tenancy.createEstablishment(
                .init(
                    name: "Clinique des Tilleuls", finess: "999000025", kind: "clinic", groupID: nil,
                    regionID: region.id.uuidString), by: actor)
            let agency = try await tenancy.createEstablishment(
                .init(
                    name: "Agence régionale de santé Val-de-Lune", finess: nil, kind: "authority", groupID: nil,
                    regionID: region.id.uuidString), by: actor)

            let scope = try await identity.scope(for: hospital.id, actor: actor)
            var departments: [String: Department.ID] = [:]
            for (code, name, kind) in [
                ("URG", "Urgences", "clinical"), ("CARD", "Cardiologie", "clinical"),
                ("REA", "Réanimation", "clinical"),
                ("PHARMA", "Pharmacie à usage intérieur", "medico-technical"),
                ("RADIO", "Imagerie médicale", "medico-technical"),
                ("LABO", "Laboratoire de biologie", "medico-technical"),
                ("BIOMED", "Ingénierie biomédicale", "technical"),
                ("DSI", "Direction des systèmes d'information", "technical"),
                ("DIR", "Direction générale", "administrative"),
                ("RH", "Ressources humaines", "administrative"),
            ] {
                departments[code] = try await tenancy.createDepartment(name: name, code: code, kind: kind, in: scope).id
            }
            let people: [Person] = [
                Person(email: "rssi@valbrune.example", name: "Claire Morel", role: .rssi, department: "DSI"),
                Person(email: "analyste@valbrune.example", name: "Karim Benali", role: .analyst, department: "DSI"),
                Person(email: "auditrice@valbrune.example", name: "Hélène Roussel", role: .auditor, department: "DIR"),
                Person(email: "dpo@valbrune.example", name: "Marc Lefèvre", role: .dpo, department: "DIR"),
                Person(
                    email: "infirmiere.urgences@valbrune.example", name: "Sophie Garnier", role: .staff,
                    department: "URG"),
                Person(
                    email: "cardiologue@valbrune.example", name: "Dr Paul Vasseur", role: .staff, department: "CARD"),
                Person(
                    email: "pharmacien@valbrune.example", name: "Inès Chevalier", role: .staff, department: "PHARMA"),
                Person(email: "biomed@valbrune.example", name: "Julien Marchand", role: .staff, department: "BIOMED"),
                Person(
                    email: "prestataire.soc@valbrune.example", name: "SOC Partenaire", role: .partner, department: nil),
            ]
            for person in people {
                _ = try await identity.addMember(
                    NewUser(
                        email: person.email, displayName: person.name, password: password, role: person.role.rawValue,
                        departmentID: person.department.flatMap { departments[$0]?.uuidString }),
                    in: scope)
            }
            let clinicScope = try await identity.scope(for: clinic.id, actor: actor)
            _ = try await tenancy.createDepartment(
                name: "Chirurgie ambulatoire", code: "AMBU", kind: "clinical", in: clinicScope)
            _ = try await identity.addMember(
                NewUser(email: "rssi@tilleuls.example", displayName: "Nadia Perrin", password: password, role: "rssi"),
                in: clinicScope)
            let agencyScope = try await identity.scope(for: agency.id, actor: actor)
            _ = try await identity.addMember(
                NewUser(
                    email: "coordination@ars-valdelune.example", displayName: "Élodie Fabre", password: password,
                    role: "coordinator"), in: agencyScope)
            // The RSSI of Valbrune also advises the clinic: one account, two establishments.
            _ = try await identity.addMember(
                NewUser(
                    email: "rssi@valbrune.example", displayName: "Claire Morel", password: password, role: "auditor"),
                in: clinicScope)

            let partnerSecret = try await DemoIntel.seed(
                intel: boot.intel, agency: agencyScope, hospital: scope, clinic: clinic.id, now: Date())
            let vulnSummary = try await DemoVuln.seed(scope: scope, boot: boot, dataDirectory: vulnData, now: Date())
            let complianceSummary = try await DemoCompliance.seed(
                boot: boot, identity: identity, hospital: scope, clinic: clinicScope, region: region, actor: actor,
                now: Date())
            let awarenessSummary = try await DemoAwareness.seed(boot: boot, scope: scope, now: Date())
            let reportsSummary = try await DemoReports.seed(boot: boot, scope: scope)
            let casesSummary = try await DemoCases.seed(boot: boot, scope: scope, now: Date())
            let privacySummary = try await DemoPrivacy.seed(boot: boot, scope: scope, now: Date())
            _ = try await boot.detection.syncBuiltInRules()
            let events = try await DemoDetection.seed(
                scope: scope, detection: boot.detection, events: !noEvents,
                spoolDirectory: boot.configuration.spoolDir
                    ?? (boot.configuration.dataDir as NSString).appendingPathComponent("spool"), now: Date())
            print(
                """
                Demo data created: \(hospital.name) (10 departments, \(people.count) people), \(clinic.name), \(agency.name).
                Sign in with any of these accounts and the password \(password)
                (every role but staff sets up two-factor authentication at first sign-in):
                """)
            for person in people {
                print("  \(person.role.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(person.email)")
            }
            print("  rssi         rssi@tilleuls.example (Clinique des Tilleuls)")
            print("  coordinator  coordination@ars-valdelune.example (ARS)")
            print(
                """
                Threat intelligence: the agency shares "CERT Santé — indicateurs régionaux" with the region; the hospital
                shares with its GHT. TAXII account soc-partenaire-valbrune, secret (shown once): \(partnerSecret)
                """)
            print(
                "Vulnerabilities: \(vulnSummary)."
                    + (vulnData == nil
                        ? " Import CISA KEV and NVD data (hygie vuln import) to match the inventory against real CVEs."
                        : ""))
            print("Compliance: \(complianceSummary).")
            print("Awareness: \(awarenessSummary).")
            print("Reports: \(reportsSummary).")
            print("Cases: \(casesSummary).")
            print("EHR privacy: \(privacySummary).")
            if hub {
                let summary = try await DemoHub.seed(
                    boot: boot, identity: identity,
                    agency: TenantScope(establishmentID: agency.id, role: .coordinator, actor: actor), hospital: scope,
                    clinic: clinicScope)
                print("Coordination: \(summary); sign in as coordination@ars-valdelune.example.")
            }
            if events > 0 {
                print(
                    "\(events) demo log events wait in this node's spool: `hygie serve` evaluates them at start (alerts, rules, sources, event search)."
                )
            }
        }
    }
}
