import AwarenessCore
import Foundation
import HygieAwareness
import HygieCore
import HygieStorage
import SQLKit

/// The awareness part of `hygie demo`: a declared programme, 80 staff in target groups, three finished
/// campaigns whose click rate falls while the report rate rises, and training in progress.
enum DemoAwareness {
    /// A small deterministic generator: the demo looks the same every time.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
    }

    static func seed(boot: Bootstrap, scope: TenantScope, now: Date) async throws -> String {
        let awareness = boot.awareness
        let day: TimeInterval = 86_400
        _ = try await awareness.setProgramme(
            Programme(
                informedOn: Date(timeInterval: -200 * day, since: now).utcDay,
                representativesOn: Date(timeInterval: -230 * day, since: now).utcDay,
                approver: "Anne Dumas, directrice générale", retentionMonths: 12, trainingAfterClick: "phishing",
                trainingAfterSubmit: "passwords", trainingDueDays: 14), in: scope)
        let firstNames = [
            "Camille", "Lucas", "Emma", "Hugo", "Léa", "Louis", "Chloé", "Gabriel", "Manon", "Arthur", "Inès", "Jules",
            "Sarah", "Nathan", "Jade", "Tom", "Lina", "Théo", "Zoé", "Adam",
        ]
        let lastNames = [
            "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
            "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
        ]
        let departments: [(String, String, Int)] = [
            ("Urgences", "Infirmier·e", 16), ("Cardiologie", "Infirmier·e", 10), ("Réanimation", "Médecin", 10),
            ("Pharmacie", "Préparateur·rice", 8), ("Imagerie", "Manipulateur·rice radio", 8),
            ("Laboratoire", "Technicien·ne", 8), ("Admissions", "Secrétaire médicale", 10), ("Direction", "Cadre", 6),
            ("Ressources humaines", "Gestionnaire RH", 4),
        ]
        var people: [Target] = []
        for (department, position, count) in departments {
            for _ in 0..<count {
                let number = people.count
                let first = firstNames[number % firstNames.count]
                let last = lastNames[(number * 7 + number / firstNames.count) % lastNames.count]
                let email = "\(first).\(last).\(people.count)@valbrune.example".lowercased().folding(
                    options: .diacriticInsensitive, locale: nil)
                people.append(
                    Target(
                        firstName: first, lastName: last, email: email, position: position, department: department,
                        role: "staff", language: people.count % 9 == 0 ? "en" : "fr"))
            }
        }
        let clinical = people.filter { ["Urgences", "Cardiologie", "Réanimation"].contains($0.department) }
        _ = try await awareness.saveGroup(name: "Tout le personnel (démo)", targets: people, in: scope)
        _ = try await awareness.saveGroup(name: "Services de soins", targets: clinical, in: scope)
        let profile = try await awareness.saveProfile(
            ProfileInput(
                name: "Relais interne", host: "127.0.0.1:2525", security: "none",
                fromAddress: "Service informatique <support-informatique@valbrune-intranet.example>",
                headers: [HeaderEntry(key: "X-Hygie-Simulation", value: "valbrune")]), in: scope)
        let page = try await awareness.savePage(
            PageInput(
                name: "Portail RH (copie)",
                html: """
                    <html><body><h1>Portail RH</h1><p>Bonjour {{.FirstName}}, connectez-vous pour consulter votre \
                    bulletin.</p><form method="post" action="https://portail-rh.example/login"><label>Identifiant \
                    <input name="username"></label><label>Mot de passe <input type="password" name="password"></label>\
                    <button>Connexion</button></form></body></html>
                    """), in: scope)
        let lures: [(String, String, Int, Double, Double, Double, Double)] = [
            (
                "Bulletin de paie disponible", "{{.FirstName}}, votre bulletin de paie est disponible", 3, 150, 0.36,
                0.14, 0.09
            ),
            ("Colis en attente au vaguemestre", "Un colis vous attend à l'accueil", 2, 80, 0.24, 0.08, 0.21),
            (
                "Renouvellement double authentification", "Action requise : renouvelez votre double authentification",
                4, 20, 0.17, 0.05, 0.34
            ),
        ]
        var generator = Seeded(state: 2026)
        for lure in lures {
            let template = try await awareness.saveTemplate(
                TemplateInput(
                    name: lure.0, subject: lure.1, envelopeSender: "",
                    text:
                        "Bonjour {{.FirstName}},\n\n\(lure.0). Consultez-le ici : {{.URL}}\n\nLe service informatique",
                    html: "<p>Bonjour {{.FirstName}},</p><p>\(lure.0).</p><p><a href=\"{{.URL}}\">Consulter</a></p>"
                        + "<p>Le service informatique</p>{{.Tracker}}", difficulty: lure.2), in: scope)
            let campaign = try await awareness.launch(
                CampaignInput(
                    name: "\(lure.0) (\(Date(timeInterval: -lure.3 * day, since: now).utcDay.prefix(7)))",
                    groups: ["Tout le personnel (démo)"], template: template.name, page: page.name,
                    profile: profile.name, url: "https://rh-portail.valbrune-intranet.example"), in: scope)
            let launched = now.addingTimeInterval(-lure.3 * day).milliseconds
            try await simulate(
                campaign: campaign.id, establishment: scope.establishmentID.uuid, launched: launched,
                rates: (lure.4, lure.5, lure.6), generator: &generator, sql: boot.database.sql)
            _ = try await awareness.complete(campaign.id, in: scope)
            try await boot.database.sql.raw(
                """
                UPDATE aw_campaigns SET created_at = \(bind: launched), launch_at = \(bind: launched), \
                completed_at = \(bind: launched + 14 * 86_400_000) WHERE id = \(bind: campaign.id)
                """
            ).run()
        }
        // Training: everyone in the clinical departments must take the patient-data module.
        _ = try await awareness.assign(
            "patient-data", to: .department("Urgences"), dueOn: Date(timeInterval: 10 * day, since: now).utcDay,
            in: scope)
        _ = try await awareness.assign(
            "ransomware",
            to: .group(try await awareness.groups(in: scope).first { $0.name == "Services de soins" }!.id),
            dueOn: Date(timeInterval: 20 * day, since: now).utcDay, in: scope)
        // The programme has been running: invitations went out when the modules were assigned (the demo sends no mail).
        try await boot.database.sql.raw(
            """
            UPDATE aw_assignments SET invited_at = assigned_at WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            AND invited_at IS NULL
            """
        ).run()
        let assignments = try await awareness.assignments(in: scope)
        for (index, assignment) in assignments.enumerated() where index % 3 != 0 {
            let completed = now.addingTimeInterval(-Double(index % 40) * day).milliseconds
            try await boot.database.sql.raw(
                """
                UPDATE aw_assignments SET completed_at = \(bind: completed), attempts = \(bind: Int64(1 + index % 2)), \
                best_score = \(bind: Int64(80 + (index % 3) * 10)), certificate = \(bind: "HYG-DEMO\(1000 + index)"), \
                invited_at = \(bind: completed - 86_400_000) WHERE id = \(bind: assignment.id)
                """
            ).run()
        }
        let reports = try await awareness.overview(in: scope).campaigns
        func rate(_ figures: CampaignFigures, _ count: Int) -> String {
            figures.rate(count).map { String(format: "%.0f %%", $0 * 100) } ?? "—"
        }
        let first = reports.first!.figures
        let last = reports.last!.figures
        return "\(reports.count) finished phishing simulations (click rate \(rate(first, first.clicked)) → "
            + "\(rate(last, last.clicked)), report rate \(rate(first, first.reported)) → \(rate(last, last.reported))), "
            + "\(people.count) people in 2 groups, \(assignments.count) training assignments"
    }

    /// Fills a campaign's results and timeline as if it had run from `launched` (times spread over two weeks).
    static func simulate(
        campaign: Int64, establishment: UUID, launched: Int64, rates: (click: Double, submit: Double, report: Double),
        generator: inout Seeded, sql: any SQLDatabase
    ) async throws {
        let results = try await sql.raw(
            "SELECT id, email FROM aw_results WHERE campaign_id = \(bind: campaign) ORDER BY id"
        ).all().map { (try $0.decode(column: "id", as: Int64.self), try $0.decode(column: "email", as: String.self)) }
        var events: [SQLGroupExpression] = []
        func event(_ result: Int64, _ email: String, _ time: Int64, _ message: String, scanner: Bool = false) {
            events.append(
                SQLGroupExpression(
                    SQLList([
                        SQLBind(establishment), SQLBind(campaign), SQLBind(result), SQLBind(email), SQLBind(time),
                        SQLBind(message), SQLBind(scanner ? "{\"scanner\":\"scanner user agent (proofpoint)\"}" : ""),
                        SQLBind(scanner),
                    ])))
        }
        for (index, (id, email)) in results.enumerated() {
            let sent = launched + Int64(index) * 20_000
            event(id, email, sent, EventMessage.sent)
            var status: Int64 = 1
            var opened: Int64?
            var clicked: Int64?
            var submitted: Int64?
            var reported: Int64?
            var scanner: Int64 = 0
            if index % 17 == 0 {
                scanner = 1
                event(id, email, sent + 3_000, EventMessage.clicked, scanner: true)
            }
            let draw = Double.random(in: 0..<1, using: &generator)
            if draw < rates.click + 0.2 {
                opened = sent + Int64.random(in: 60_000..<7_200_000, using: &generator)
                status = 2
                event(id, email, opened!, EventMessage.opened)
            }
            if draw < rates.click {
                clicked = opened! + Int64.random(in: 5_000..<600_000, using: &generator)
                status = 3
                event(id, email, clicked!, EventMessage.clicked)
                if draw < rates.submit {
                    submitted = clicked! + Int64.random(in: 20_000..<180_000, using: &generator)
                    status = 4
                    event(id, email, submitted!, EventMessage.submitted)
                }
            }
            let reportDraw = Double.random(in: 0..<1, using: &generator)
            if reportDraw < rates.report {
                reported = (clicked ?? opened ?? sent) + Int64.random(in: 120_000..<5_400_000, using: &generator)
                event(id, email, reported!, EventMessage.reported)
            }
            try await sql.raw(
                """
                UPDATE aw_results SET sent_at = \(bind: sent), send_at = \(bind: sent), attempts = 1, \
                status = \(bind: status), raw_status = \(bind: max(status, scanner > 0 ? 3 : 0)), \
                opened_at = \(bind: opened), clicked_at = \(bind: clicked), submitted_at = \(bind: submitted), \
                reported = \(bind: reported != nil), reported_at = \(bind: reported), scanner_hits = \(bind: scanner), \
                modified_at = \(bind: reported ?? submitted ?? clicked ?? opened ?? sent) WHERE id = \(bind: id)
                """
            ).run()
        }
        try await sql.raw("UPDATE aw_events SET time = \(bind: launched) WHERE campaign_id = \(bind: campaign)").run()
        for chunk in stride(from: 0, to: events.count, by: 100) {
            try await sql.raw(
                """
                INSERT INTO aw_events (establishment_id, campaign_id, result_id, email, time, message, details, \
                scanner) VALUES \(SQLList(Array(events[chunk..<min(chunk + 100, events.count)])))
                """
            ).run()
        }
    }
}
