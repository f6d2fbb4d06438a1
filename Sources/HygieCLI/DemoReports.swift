import Foundation
import HygieCore
import HygieIncidents
import HygieStorage
import MailTriage
import SQLKit

/// The reports part of `hygie demo`: staff of Valbrune reported a phishing campaign three times (decided
/// malicious by the analyst), a spoofed health-insurance message, one of the awareness exercises, a genuine GHT
/// message, an unknown USB key and an odd phone call.
enum DemoReports {
    static func message(
        from: String, subject: String, html: String, ip: String, auth: String, replyTo: String? = nil, id: String
    ) -> [UInt8] {
        let text = """
            Received: from smtp.\(from.split(separator: "@").last ?? "") ([\(ip)])
            \tby mx1.valbrune.example (Postfix) with ESMTPS id \(id.prefix(6)); Mon, 23 Nov 2026 08:41:12 +0100
            Authentication-Results: mx1.valbrune.example; \(auth)
            From: \(from)
            \(replyTo.map { "Reply-To: \($0)\n" } ?? "")To: personnel@valbrune.example
            Subject: \(subject)
            Date: Mon, 23 Nov 2026 08:41:00 +0100
            Message-ID: <\(id)>
            MIME-Version: 1.0
            Content-Type: text/html; charset=utf-8
            Content-Transfer-Encoding: 8bit

            \(html)
            """
        return Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    static func seed(boot: Bootstrap, scope: TenantScope) async throws -> String {
        let reports = boot.reports()
        try await reports.updateSettings(
            ReportSettings(
                protectedDomains: ["ght-valdelune.example", "ars-valdelune.example", "ameli.fr"],
                reportAddresses: ["signalement@valbrune.example"]), in: scope)
        func submit(_ email: String, _ kind: ReportKind, _ description: String = "", _ bytes: [UInt8]? = nil)
            async throws -> [Report]
        {
            let reporter = try await reports.reporter(email, name: "", establishment: scope.establishmentID)
            return try await reports.submit(
                ReportSubmission(
                    kind: kind, channel: bytes == nil ? .web : .smtp, reporter: reporter, description: description,
                    message: bytes), in: scope)
        }
        let mailbox = message(
            from: "\"Service informatique CH Valbrune\" <support@va1brune.example>",
            subject: "=?utf-8?Q?Votre_bo=C3=AEte_aux_lettres_est_pleine?=",
            html: """
                <p>Votre boîte aux lettres a atteint son quota. Vérifiez votre mot de passe immédiatement sinon votre \
                compte sera suspendu.</p><p><a href="https://webmail.va1brune.example/login">webmail.valbrune.example</a></p>
                """, ip: "203.0.113.45",
            auth: "spf=fail smtp.mailfrom=va1brune.example; dkim=none; dmarc=fail header.from=va1brune.example",
            replyTo: "helpdesk-valbrune@freemail.example", id: "quota-1@va1brune.example")
        var first: Report?
        for person in [
            "infirmiere.urgences@valbrune.example", "cardiologue@valbrune.example", "pharmacien@valbrune.example",
        ] {
            let stored = try await submit(person, .email, "", mailbox)
            first = first ?? stored.first
        }
        if let first {
            _ = try await reports.decide(
                first.id, verdict: .malicious,
                note:
                    "Campagne bloquée sur la passerelle de messagerie ; les mots de passe saisis ont été réinitialisés.",
                in: scope)
        }
        _ = try await submit(
            "infirmiere.urgences@valbrune.example", .email, "",
            message(
                from: "\"Assurance Maladie\" <remboursement@ameli.fr>",
                subject: "Remboursement en attente : vérifiez vos coordonnées",
                html: """
                    <p>Un remboursement de 142,50 € vous attend.</p>\
                    <p><a href="https://bit.ly/3amEli">Mon compte ameli</a></p>
                    """, ip: "192.0.2.77",
                auth: "spf=fail smtp.mailfrom=ameli.fr; dkim=none; dmarc=fail header.from=ameli.fr",
                id: "ameli-77@mailer.example"))
        _ = try await submit(
            "cardiologue@valbrune.example", .email, "Je ne suis pas sûr, le GHT nous écrit souvent.",
            message(
                from: "\"DSI du GHT\" <dsi@ght-valdelune.example>",
                subject: "Maintenance programmée du DPI samedi",
                html: """
                    <p>Le dossier patient informatisé sera indisponible samedi de 22 h à 23 h.</p>\
                    <p><a href="https://intranet.valbrune.example/procedures/dpi-degrade">Procédure dégradée</a></p>
                    """, ip: "192.0.2.10",
                auth: "spf=pass smtp.mailfrom=ght-valdelune.example; dkim=pass header.d=ght-valdelune.example; "
                    + "dmarc=pass header.from=ght-valdelune.example", id: "maint-11@ght-valdelune.example"))
        if let row = try await boot.database.sql.raw(
            """
            SELECT r.rid, c.url FROM aw_results r JOIN aw_campaigns c ON c.id = r.campaign_id \
            WHERE r.establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY r.id LIMIT 1
            """
        ).first() {
            let rid = try row.decode(column: "rid", as: String.self)
            let url = try row.decode(column: "url", as: String.self)
            _ = try await submit(
                "pharmacien@valbrune.example", .email, "",
                message(
                    from: "\"Ressources humaines\" <rh@portail-rh-valbrune.example>",
                    subject: "Votre prime de fin d'année",
                    html: "<p>Consultez le montant de votre prime : <a href=\"\(url)?rid=\(rid)\">portail RH</a></p>",
                    ip: "10.20.0.5", auth: "spf=none; dkim=none; dmarc=none", id: "prime-\(rid)@hygie.example"))
        }
        _ = try await submit(
            "biomed@valbrune.example", .usb, "Clé USB trouvée sur le chariot de l'échographe au bloc B, non branchée.")
        _ = try await submit(
            "infirmiere.urgences@valbrune.example", .phone,
            "Appel à 14 h 10 d'une personne se présentant comme le support Microsoft, qui voulait mon identifiant "
                + "pour « vérifier la messagerie ». J'ai raccroché.")
        // These reporters were answered at the time: no mail to fictional staff when a relay is configured.
        try await boot.database.sql.raw(
            """
            UPDATE inc_reports SET acknowledged_at = created_at, notified_at = COALESCE(decided_at, created_at) \
            WHERE establishment_id = \(bind: scope.establishmentID.uuid)
            """
        ).run()
        // Spread over the last ten days, so that the queue and its chart look like a real fortnight.
        let all = try await reports.reports(in: scope)
        for (index, report) in all.reversed().enumerated() {
            let back = Int64((all.count - index) * 86_400_000 * 10 / max(all.count, 1))
            try await boot.database.sql.raw(
                """
                UPDATE inc_reports SET created_at = created_at - \(bind: back), \
                decided_at = CASE WHEN decided_at IS NULL THEN NULL ELSE decided_at - \(bind: back) + 3600000 END \
                WHERE id = \(bind: report.id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).run()
        }
        return "\(all.count) staff reports (a phishing campaign reported three times, an exercise, a USB key, a call)"
    }
}
