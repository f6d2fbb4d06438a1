import Foundation
import HygieCore
import HygieIncidents
import HygieStorage
import MailTriage
import SQLKit
import STIX

/// The cases part of `hygie demo`: a ransomware attack on Valbrune's imaging servers, aware twenty hours ago,
/// with its declarations running (CERT Santé sent, CNIL and NIS2 pending, the early warning due in four hours);
/// the reported phishing campaign as a case; and a lost laptop closed last month with its lessons learned.
enum DemoCases {
    static func seed(boot: Bootstrap, scope: TenantScope, now: Date) async throws -> String {
        let cases = boot.cases
        let hour: TimeInterval = 3_600
        try await cases.updateRegimes(
            RegimeSettings(
                nis2Class: .essential,
                entity: [
                    "name": "Centre hospitalier de Valbrune", "finess_ej": "999000017", "finess_et": "999000025",
                    "siret": "26999000000017", "type": "Centre hospitalier", "ght": "GHT Val de Lune",
                    "region": "ARS Val de Lune", "director": "Anne Dumas", "rssi": "Claire Morel",
                    "dpo": "Marc Lefèvre",
                ]), in: scope)

        let aware = now - 20 * hour
        let ransomware = try await cases.open(
            CaseInput(
                title: "Rançongiciel sur les serveurs d'imagerie (PACS)",
                description: """
                    À 2 h 40 les manipulateurs de garde ne peuvent plus ouvrir les examens ; les fichiers du serveur \
                    PACS-02 portent l'extension .lockbit et une note de rançon est présente. Deux serveurs de fichiers \
                    touchés, les postes de radiologie isolés.
                    """, type: .ransomware, severity: .critical, tlp: .amber, pap: .amber,
                assignee: "analyste@valbrune.example", occurredAt: aware - 6 * hour, detectedAt: aware - 20 * 60,
                awareAt: aware), in: scope)
        let id = ransomware.incident.id
        for (kind, value) in [
            ("ipv4", "185.220.101.47"), ("domain", "update-pacs-support.example"),
            ("sha256", "9f2c4d8e1b7a6c5d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"),
            ("filename", "RESTORE-FILES.txt"),
            ("account", "svc_backup"),
        ] {
            _ = try await cases.addObservable(
                id, kind: kind, value: value, ioc: kind != "account", sighted: true, tlp: .amber,
                note: kind == "account" ? "compte de service utilisé pour le déplacement latéral" : "", in: scope)
        }
        _ = try await cases.update(
            id,
            CaseChange(
                status: .inProgress,
                fields: [
                    "sites": "Site principal (bâtiment B)", "units": "Imagerie, urgences",
                    "applications": "PACS, serveurs de fichiers FS-01 et FS-02",
                    "care_impact": "Examens d'imagerie consultés sur les modalités ; urgences en mode dégradé",
                    "degraded_from": ISO8601DateFormatter().string(from: aware),
                    "cancelled_care": "12 examens programmés reportés",
                    "transfers": "Aucun", "patient_harm": "Aucune connue",
                    "data_impact": "Disponibilité ; confidentialité à évaluer",
                    "vector": "Accès VPN avec le compte d'un prestataire (sans double authentification)",
                    "malicious": "Oui", "cross_border": "Non connu",
                ]), in: scope)
        let qualified = try await cases.qualify(
            id, Qualification(significant: true, personalData: true, nis2: true), in: scope)
        for task in qualified.tasks.prefix(3) { _ = try await cases.setTask(task.id, status: .done, in: scope) }
        if let certSante = qualified.declarations.first(where: { $0.regime == .certSante }) {
            let draft = try await cases.draft(certSante.id, in: scope)
            _ = try await cases.markSent(
                certSante.id, sentAt: aware + 3 * hour, reference: "SIG-2026-004817", content: draft.json(), in: scope)
        }

        var phishing: Int64?
        if let report = try await boot.reports().reports(in: scope, verdict: .malicious).last {
            phishing = try await cases.open(fromReport: report.id, type: .phishing, in: scope).incident.id
        }

        let lost = now - 40 * 86_400
        let laptop = try await cases.open(
            CaseInput(
                title: "Ordinateur portable volé dans un véhicule (cadre de santé)", type: .lostDevice,
                severity: .medium,
                tlp: .green, pap: .green, assignee: "rssi@valbrune.example", occurredAt: lost - 12 * hour,
                detectedAt: lost - hour, awareAt: lost), in: scope)
        _ = try await cases.update(
            laptop.incident.id,
            CaseChange(
                status: .resolved, containedAt: lost + 2 * hour, resolvedAt: lost + 3 * 86_400,
                fields: ["encrypted": "Oui (BitLocker, clé dans l'annuaire)", "persons_count": "0 (disque chiffré)"]),
            in: scope)
        _ = try await cases.update(
            laptop.incident.id,
            CaseChange(
                status: .closed,
                lessons: """
                    Disque chiffré et sessions révoquées en deux heures : pas de violation de données. Action : \
                    rappeler aux cadres de ne pas laisser de matériel dans les véhicules ; vérifier chaque mois que \
                    tous les portables sont chiffrés (contrôle ajouté à l'audit récurrent).
                    """), in: scope)

        // Opening dates as they were (the demo is seeded today); the team was just reminded of the deadlines.
        let sql = boot.database.sql
        try await sql.raw(
            """
            UPDATE inc_declarations SET reminded_at = \(bind: Int64(now.timeIntervalSince1970 * 1000)) \
            WHERE establishment_id = \(bind: scope.establishmentID.uuid) AND status = 'draft'
            """
        ).run()
        for (caseID, opened) in [(id, aware), (laptop.incident.id, lost)] {
            let ms = Int64(opened.timeIntervalSince1970 * 1000)
            try await sql.raw(
                """
                UPDATE inc_cases SET created_at = \(bind: ms), acknowledged_at = \(bind: ms + 1_800_000) \
                WHERE id = \(bind: caseID) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).run()
            try await sql.raw(
                "UPDATE inc_case_events SET at = \(bind: ms) WHERE case_id = \(bind: caseID) AND kind = 'created'"
            ).run()
        }
        return "a ransomware case with running declarations (CERT Santé sent, CNIL and NIS2 pending), "
            + (phishing == nil ? "" : "the phishing campaign as a case, ") + "a lost laptop closed with its lessons"
    }
}
