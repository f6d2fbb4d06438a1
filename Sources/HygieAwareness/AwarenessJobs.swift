import AwarenessCore
import FluentKit
import Foundation
import HygieCore
public import HygieJobs
public import HygieMail
import HygieStorage
import SQLKit

/// Every night: the programme's retention (see ``AwarenessService/purge()``).
public struct AwarenessRetentionJob: JobHandler {
    public static let kind = "awareness.retention"
    let service: AwarenessService
    public var kind: String { Self.kind }

    public init(service: AwarenessService) { self.service = service }

    public func run(_ job: Job) async throws { _ = try await service.purge() }
}

/// Every few minutes: e-mails new assignments their personal link, and reminds people whose module is due within
/// three days or overdue (at most every three days). Needs the instance's mail relay (`hygie.smtp.*`) and public
/// URL; without them, links are given by the security team (`hygie awareness training-link`).
public struct AwarenessTrainingMailJob: JobHandler {
    public static let kind = "awareness.training-mail"
    let service: AwarenessService
    let smtp: SMTPSettings?
    let publicURL: String
    public var kind: String { Self.kind }

    public init(service: AwarenessService, smtp: SMTPSettings?, publicURL: String) {
        self.service = service
        self.smtp = smtp
        self.publicURL = publicURL
    }

    public func run(_ job: Job) async throws {
        guard let smtp, !publicURL.isEmpty else { return }
        _ = try await service.sendTrainingMail(client: SMTPClient(settings: smtp), publicURL: publicURL)
    }
}

extension AwarenessService {
    /// Sends invitations and reminders; returns how many messages went out.
    public func sendTrainingMail(client: SMTPClient, publicURL: String) async throws -> Int {
        let now = now()
        let today = clock.now().utcDay
        let soon = Date(milliseconds: now + 3 * Self.day).utcDay
        let rows = try await sql.raw(
            """
            SELECT * FROM aw_assignments WHERE completed_at IS NULL AND (invited_at IS NULL OR \
            (due_on <= \(bind: soon) AND COALESCE(reminded_at, invited_at) < \(bind: now - 3 * Self.day))) \
            ORDER BY establishment_id, email LIMIT 500
            """
        ).all()
        var byPerson: [String: [any SQLRow]] = [:]
        for row in rows {
            let key =
                "\(try row.decode(column: "establishment_id", as: UUID.self))|\(try row.decode(column: "email", as: String.self))"
            byPerson[key, default: []].append(row)
        }
        var sent = 0
        for (_, rows) in byPerson {
            let first = rows[0]
            let establishment = Establishment.ID(try first.decode(column: "establishment_id", as: UUID.self))
            let email = try first.decode(column: "email", as: String.self)
            let english = try first.decode(column: "language", as: String.self) == "en"
            let assignments = try rows.map { try Self.assignment($0, today: today) }
            let reminder = try rows.allSatisfy { try $0.decode(column: "invited_at", as: Int64?.self) != nil }
            let token = try await learnerLink(for: email, establishment: establishment)
            let link = publicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/training/t/" + token
            let list = assignments.map {
                "- \($0.moduleTitle) (\(english ? "due" : "à terminer avant le") \($0.dueOn))"
            }
            .joined(separator: "\n")
            let subject =
                english
                ? (reminder ? "Reminder: your security training" : "Your security training")
                : (reminder ? "Rappel : votre formation à la sécurité" : "Votre formation à la sécurité")
            let text =
                english
                ? "Hello,\n\nThe security team has assigned you a short training:\n\(list)\n\nYour personal link "
                    + "(valid 60 days, do not forward it):\n\(link)\n\nIt takes about ten minutes and ends with a quiz. "
                    + "Your results stay within the security team.\n"
                : "Bonjour,\n\nL'équipe de sécurité vous propose une courte formation :\n\(list)\n\nVotre lien "
                    + "personnel (valable 60 jours, ne le transférez pas) :\n\(link)\n\nComptez une dizaine de minutes, "
                    + "quiz compris. Vos résultats restent au sein de l'équipe de sécurité.\n"
            do {
                try await client.send(MailMessage(to: [email], subject: subject, text: text))
            } catch {
                continue  // the next run tries again
            }
            sent += 1
            let ids = assignments.map(\.id)
            try await sql.raw(
                """
                UPDATE aw_assignments SET \(unsafeRaw: reminder ? "reminded_at" : "invited_at") = \(bind: now) \
                WHERE id IN (\(SQLList(ids.map { SQLBind($0) })))
                """
            ).run()
        }
        return sent
    }
}
