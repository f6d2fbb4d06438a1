import ComplianceCore
import Foundation
import HygieCompliance
import HygieCore
import HygieStorage

/// Demo compliance data: a half-finished CaRE domain 2 self-assessment at Valbrune built up over seven
/// weeks (so trends have a history), its Active Directory level, an ANSSI hygiene assessment, the 3-2-1 backup
/// roadmap, recurring audits, and CaRE assessments in the other establishments of the region for the
/// coordinator's fleet view.
enum DemoCompliance {
    struct Answer {
        let ref: String
        let status: ResultStatus
        var comment: String? = nil
        var covered: [String]? = nil
        var evidence: [(title: String, file: String?, link: String?, effective: Int)] = []
    }

    static func seed(
        boot: Bootstrap, identity: IdentityService, hospital: TenantScope, clinic: TenantScope, region: Region,
        actor: Actor, now: Date
    ) async throws -> String {
        let weeks = 7
        let clock = ManualClock(now.addingTimeInterval(-Double(weeks) * 7 * 86_400))
        let compliance = ComplianceService(
            database: boot.database, audit: boot.audit, clock: clock, configuration: boot.configuration.compliance,
            indicatorSources: [boot.vuln, boot.detection, identity])
        try await compliance.installBuiltins()
        let care = try await compliance.findFramework("CaRE-D2")
        let tree = try await compliance.framework(care.id)
        func urn(_ ref: String, in framework: Framework) -> String {
            framework.nodes.first { $0.refID == ref }!.urn
        }
        func day(_ offset: Int) -> String { DayStamp(clock.now()).adding(days: offset).description }
        func apply(_ answers: [Answer], to assessment: UUID, framework: Framework, in scope: TenantScope) async throws {
            for answer in answers {
                var update = ResultUpdate()
                update.status = answer.status
                update.comment = answer.comment
                update.coveredUnits = answer.covered
                let requirement = urn(answer.ref, in: framework)
                _ = try await compliance.updateResult(assessment, requirement: requirement, update, in: scope)
                for evidence in answer.evidence {
                    _ = try await compliance.addEvidence(
                        NewEvidence(
                            title: evidence.title, link: evidence.link, filename: evidence.file,
                            contentType: evidence.file == nil ? nil : "text/plain",
                            content: evidence.file.map { _ in
                                Data("\(evidence.title)\nDocument fictif de démonstration Hygie.\n".utf8)
                            },
                            effectiveOn: day(evidence.effective)),
                        attachTo: assessment, requirement: requirement, in: scope)
                }
            }
        }

        // Valbrune: the CaRE domain 2 file, answered week after week.
        let units = [
            ScopeUnit(id: "mco", name: "Centre hospitalier de Valbrune (MCO)", weight: 620),
            ScopeUnit(id: "ssr", name: "Site de la Roche (soins de suite)", weight: 230),
            ScopeUnit(id: "ehpad", name: "EHPAD Les Glycines", weight: 150),
        ]
        let reviewer = try await identity.members(in: hospital).first { $0.role == .auditor }
        let careAssessment = try await compliance.createAssessment(
            framework: care.id, title: "CaRE domaine 2 — dossier de candidature", units: units,
            dueOn: DayStamp(now).adding(days: 75).description, reviewerID: reviewer?.user.id.uuid, in: hospital)
        let ad = try await compliance.findFramework("ANSSI-AD")
        let adTree = try await compliance.framework(ad.id)
        let adAssessment = try await compliance.createAssessment(
            framework: ad.id, title: "Annuaire Active Directory — audit ORADAD", in: hospital)
        let batches: [[Answer]] = [
            [
                Answer(
                    ref: "p1", status: .compliant,
                    comment: "PSSI revue en comité de direction et signée par le directeur.",
                    evidence: [("PSSI v3 signée", "pssi-v3-signee.txt", nil, -620)]),
                Answer(
                    ref: "p2", status: .compliant,
                    evidence: [("Note d'organisation du projet PCRA", "organisation-pcra.txt", nil, -200)]),
            ],
            [
                Answer(
                    ref: "o1.a", status: .compliant,
                    evidence: [
                        (
                            "Schéma de gouvernance continuité", nil,
                            "https://intranet.valbrune.example/qualite/gouvernance-pcra", -150
                        )
                    ]),
                Answer(
                    ref: "o1.b", status: .partial,
                    comment: "Plan blanc mis à jour ; la fiche réflexe cellule de crise cyber reste à valider.",
                    evidence: [("Plan blanc 2025 (volet numérique)", "plan-blanc-2025.txt", nil, -300)]),
            ],
            [
                Answer(
                    ref: "o1.c", status: .partial,
                    comment: "BIA et PCRA réalisés pour les urgences, la pharmacie et la facturation.",
                    covered: ["mco"], evidence: [("PCRA urgences, pharmacie, facturation", "pcra-mco.txt", nil, -60)]),
                Answer(
                    ref: "o2.a", status: .compliant,
                    evidence: [("Politique de sauvegarde v2", "politique-sauvegarde-v2.txt", nil, -400)]),
            ],
            [
                Answer(
                    ref: "o1.d", status: .compliant,
                    comment:
                        "Exercice « rançongiciel sur le DPI » avec la cellule de crise ; calendrier des suivants joint.",
                    evidence: [("Compte rendu d'exercice de crise cyber", "retex-exercice.txt", nil, -290)])
            ],
            [
                Answer(
                    ref: "o3.c", status: .partial,
                    comment: "Feuille de route 3-2-1 validée ; copie immuable prévue au printemps.",
                    evidence: [("Feuille de route sauvegardes 3-2-1", "feuille-de-route-321.txt", nil, -20)]),
                Answer(
                    ref: "o1.c", status: .partial, covered: ["mco", "ehpad"],
                    evidence: [("PCRA EHPAD Les Glycines", "pcra-ehpad.txt", nil, -10)]),
            ],
            [],
            [
                Answer(
                    ref: "o3.b", status: .nonCompliant, comment: "Pas encore de procédure d'isolement des sauvegardes.")
            ],
        ]
        for (week, batch) in batches.enumerated() {
            try await apply(batch, to: careAssessment.id, framework: tree, in: hospital)
            if week == 2 {
                try await apply(
                    [
                        Answer(ref: "L1", status: .compliant),
                        Answer(ref: "L2", status: .compliant),
                        Answer(
                            ref: "L3", status: .partial,
                            comment: "Délégations excessives sur deux unités d'organisation ; correction planifiée."),
                        Answer(
                            ref: "AUDIT.1", status: .compliant,
                            evidence: [("Rapport ORADAD", "rapport-oradad.txt", nil, -3)]),
                    ], to: adAssessment.id, framework: adTree, in: hospital)
            }
            _ = try await compliance.dailyRecord()
            clock.advance(by: 7 * 86_400)
        }
        clock.advance(by: now.timeIntervalSince(clock.now()))
        // Requirements still to answer, handed to the people who know.
        let members = try await identity.members(in: hospital)
        for (ref, role) in [("o2.b", Role.analyst), ("o3.d", .analyst), ("o4", .rssi)] {
            guard let member = members.first(where: { $0.role == role }) else { continue }
            var update = ResultUpdate()
            update.assigneeID = member.user.id.uuid
            _ = try await compliance.updateResult(
                careAssessment.id, requirement: urn(ref, in: tree), update, in: hospital)
        }

        // ANSSI hygiene guide, standard level, just started.
        let hygiene = try await compliance.findFramework("ANSSI-HYGIENE")
        let hygieneTree = try await compliance.framework(hygiene.id)
        let hygieneAssessment = try await compliance.createAssessment(
            framework: hygiene.id, title: "Guide d'hygiène ANSSI — autoévaluation 2026", groups: ["S"], in: hospital)
        try await apply(
            [
                Answer(ref: "1", status: .partial, comment: "Deux administrateurs formés sur cinq."),
                Answer(ref: "2", status: .compliant), Answer(ref: "5", status: .compliant),
                Answer(ref: "10", status: .partial), Answer(ref: "24", status: .compliant),
                Answer(
                    ref: "35", status: .nonCompliant, comment: "Trois serveurs Windows 2012 R2 encore en production."),
            ], to: hygieneAssessment.id, framework: hygieneTree, in: hospital)

        // The action plan and the 3-2-1 trajectory.
        let actions: [(String, String, Int?, Int, ActionStatus, ActionPriority, String?)] = [
            (
                "Deuxième support de sauvegarde (bandes LTO-9)", "Sauvegardes 3-2-1", -40, 30, .inProgress, .high,
                "Équipe infrastructure"
            ),
            (
                "Copie immuable hors site (coffre objet verrouillé)", "Sauvegardes 3-2-1", 20, 150, .planned, .high,
                "Équipe infrastructure"
            ),
            (
                "Supervision centralisée des travaux de sauvegarde", "Sauvegardes 3-2-1", 0, 90, .planned, .medium,
                "RSSI"
            ),
            (
                "Procédure d'isolement et « bouton rouge »", "Isolement en cas d'attaque", -10, 45, .inProgress, .high,
                "RSSI"
            ),
            ("Test de restauration du DPI avec le référent métier", "Restauration", -30, -5, .planned, .high, "DSI"),
            ("PCRA du site de la Roche", "Plans de continuité", 0, 120, .planned, .medium, "Cadre de santé SSR"),
            ("Inventaire des comptes à privilèges", "Hygiène", -90, -20, .done, .medium, "Équipe système"),
        ]
        for (title, milestone, start, due, status, priority, owner) in actions {
            _ = try await compliance.createAction(
                ActionInput(
                    title: title, assessmentID: careAssessment.id, owner: owner, milestone: milestone,
                    priority: priority, status: status, startOn: start.map(day), dueOn: day(due)),
                in: hospital)
        }
        _ = try await compliance.planActions(for: careAssessment.id, in: hospital)

        // Recurring audits.
        let schedules: [(String, ScheduleKind, Int, Int, String?)] = [
            ("Exercice de crise cyber", .crisisExercise, 12, 40, "rssi@valbrune.example"),
            ("Test de restauration d'une application critique", .restoreTest, 3, -10, "rssi@valbrune.example"),
            ("Revue annuelle des comptes et habilitations du DPI", .accountReview, 12, 95, "rssi@valbrune.example"),
            ("Revue de la politique de sauvegarde", .backupReview, 6, 150, nil),
        ]
        for (title, kind, months, offset, owner) in schedules {
            _ = try await compliance.createSchedule(
                ScheduleInput(
                    title: title, kind: kind, intervalMonths: months, nextDue: day(offset), ownerEmail: owner),
                in: hospital)
        }

        // The rest of the region, for the coordinator's fleet view.
        var fleet = 1
        let clinicAssessment = try await compliance.createAssessment(
            framework: care.id, title: "CaRE domaine 2", in: clinic)
        try await apply(
            [
                Answer(ref: "p1", status: .compliant, evidence: [("PSSI", "pssi.txt", nil, -500)]),
                Answer(ref: "p2", status: .partial), Answer(ref: "o2.a", status: .nonCompliant),
            ], to: clinicAssessment.id, framework: tree, in: clinic)
        fleet += 1
        let others: [(String, String, String, [Answer])] = [
            (
                "Centre hospitalier de Brunelle (fictif)", "999000041", "ch",
                [
                    Answer(ref: "p1", status: .compliant, evidence: [("PSSI", "pssi.txt", nil, -300)]),
                    Answer(ref: "p2", status: .compliant, evidence: [("Organisation PCRA", "pcra.txt", nil, -100)]),
                    Answer(ref: "o1.a", status: .compliant, evidence: [("Gouvernance", "gouvernance.txt", nil, -90)]),
                    Answer(
                        ref: "o2.a", status: .compliant,
                        evidence: [("Politique de sauvegarde", "sauvegarde.txt", nil, -80)]),
                    Answer(ref: "o4", status: .compliant, evidence: [("PV de restauration", "pv.txt", nil, -15)]),
                ]
            ),
            (
                "Centre hospitalier spécialisé Les Saules (fictif)", "999000058", "chs",
                [Answer(ref: "p1", status: .partial), Answer(ref: "o1.b", status: .nonCompliant)]
            ),
            ("EHPAD public de Valmont (fictif)", "999000066", "ehpad", []),
        ]
        for (name, finess, kind, answers) in others {
            let created = try await boot.tenancy.createEstablishment(
                .init(name: name, finess: finess, kind: kind, groupID: nil, regionID: region.id.uuidString), by: actor)
            let scope = try await identity.scope(for: created.id, actor: actor)
            guard !answers.isEmpty else { continue }
            let assessment = try await compliance.createAssessment(
                framework: care.id, title: "CaRE domaine 2", in: scope)
            try await apply(answers, to: assessment.id, framework: tree, in: scope)
            fleet += 1
        }
        _ = try await compliance.dailyRecord()
        let detail = try await compliance.detail(careAssessment.id, in: hospital)
        return String(
            format:
                "CaRE domain 2 at %.0f %% (%.0f %% assessed), AD level %d, %d action(s), %d recurring audits, %d establishments in the fleet view",
            (detail.overall.score ?? 0) * 100, detail.overall.progress * 100,
            try await compliance.detail(adAssessment.id, in: hospital).overall.level ?? 0,
            try await compliance.actions(in: hospital).count, schedules.count, fleet)
    }
}
