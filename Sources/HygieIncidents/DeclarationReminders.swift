import FluentKit
import Foundation
import HygieCore
public import HygieJobs
public import HygieMail
import HygieStorage
import SQLKit

/// Every fifteen minutes: reminds the security team of declarations due within six hours, and escalates the late
/// ones, by e-mail through the instance's mail relay; at most every six hours per declaration.
public struct DeclarationReminderJob: JobHandler {
    public static let kind = "incidents.declaration-reminders"
    let service: CaseService
    let smtp: SMTPSettings?
    public var kind: String { Self.kind }

    public init(service: CaseService, smtp: SMTPSettings?) {
        self.service = service
        self.smtp = smtp
    }

    public func run(_ job: Job) async throws {
        guard let smtp else { return }
        _ = try await service.remindDeclarations(client: SMTPClient(settings: smtp))
    }
}

extension CaseService {
    static let reminderWindow: Int64 = 6 * 3_600_000

    /// Sends reminders and escalations; returns how many messages went out. Declarations are claimed with one
    /// `UPDATE … RETURNING` (one node writes), and released when the relay refuses.
    public func remindDeclarations(client: SMTPClient) async throws -> Int {
        let now = clock.now().milliseconds
        let claimed = try await sql.raw(
            """
            UPDATE inc_declarations SET reminded_at = \(bind: now) WHERE id IN (SELECT id FROM inc_declarations \
            WHERE status = 'draft' AND due_at IS NOT NULL AND due_at <= \(bind: now + Self.reminderWindow) \
            AND (reminded_at IS NULL OR reminded_at <= \(bind: now - Self.reminderWindow)) ORDER BY due_at LIMIT 100) \
            RETURNING id, establishment_id, case_id, regime, due_at
            """
        ).all()
        var sent = 0
        for row in claimed {
            let id = try row.decode(column: "id", as: Int64.self)
            let establishment = try row.decode(column: "establishment_id", as: UUID.self)
            let caseID = try row.decode(column: "case_id", as: Int64.self)
            let regime = Regime(rawValue: try row.decode(column: "regime", as: String.self)) ?? .certSante
            let due = try row.decode(column: "due_at", as: Int64.self)
            let late = due < now
            let roles = late ? ["admin", "rssi", "analyst"] : ["rssi", "analyst"]
            let recipients = try await sql.raw(
                """
                SELECT u.email FROM core_users u JOIN core_memberships m ON m.user_id = u.id \
                WHERE m.establishment_id = \(bind: establishment) AND m.role IN (\(SQLList(roles.map { SQLBind($0) }))) \
                AND u.disabled = \(bind: false) ORDER BY u.email
                """
            ).all().map { try $0.decode(column: "email", as: String.self) }
            guard !recipients.isEmpty else { continue }
            let title =
                try await sql.raw(
                    "SELECT title FROM inc_cases WHERE id = \(bind: caseID) AND establishment_id = \(bind: establishment)"
                ).first()?.decode(column: "title", as: String.self) ?? ""
            let hours = Double(abs(due - now)) / 3_600_000
            let when = String(format: "%.1f h", hours)
            let dueText = ISO8601DateFormatter().string(from: Date(milliseconds: due))
            let label =
                switch regime {
                case .certSante: "signalement CERT Santé / ARS"
                case .cnil: "notification à la CNIL"
                case .nis2Warning: "alerte précoce NIS2"
                case .nis2Notification: "notification NIS2"
                case .nis2Final: "rapport final NIS2"
                }
            let message = HygieMail.MailMessage(
                to: recipients,
                subject: late
                    ? "EN RETARD : \(label) du dossier #\(caseID)"
                    : "Échéance dans \(when) : \(label) du dossier #\(caseID)",
                text: """
                    \(late ? "La déclaration suivante est en retard de \(when)." : "La déclaration suivante est due dans \(when).")

                    Dossier #\(caseID) : \(title)
                    Déclaration : \(label) — destinataire : \(regime.recipient)
                    Échéance : \(dueText) (UTC)

                    Le brouillon pré-rempli est dans Hygie, onglet Dossiers ; une fois envoyée, marquez-la envoyée avec \
                    la référence reçue\(late ? " et la raison du retard" : "").
                    """)
            do {
                try await client.send(message)
                sent += 1
            } catch {
                try await sql.raw(
                    """
                    UPDATE inc_declarations SET reminded_at = NULL WHERE id = \(bind: id) AND reminded_at = \(bind: now)
                    """
                ).run()
            }
        }
        return sent
    }
}
