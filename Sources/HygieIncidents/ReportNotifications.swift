import FluentKit
import Foundation
import HygieCore
public import HygieJobs
public import HygieMail
import HygieStorage
import MailTriage
import SQLKit

/// Every minute: thanks reporters and tells them the verdict once there is one (automatically for simulations,
/// real phishing and safe messages; after an analyst's decision for the rest). Needs the instance's mail relay
/// (`hygie.smtp.*`); establishments can turn it off (`notify_reporters`).
public struct ReportNotificationJob: JobHandler {
    public static let kind = "incidents.report-notify"
    let service: ReportService
    let smtp: SMTPSettings?
    public var kind: String { Self.kind }

    public init(service: ReportService, smtp: SMTPSettings?) {
        self.service = service
        self.smtp = smtp
    }

    public func run(_ job: Job) async throws {
        guard let smtp else { return }
        _ = try await service.notifyReporters(client: SMTPClient(settings: smtp))
    }
}

extension ReportService {
    /// Sends pending acknowledgements and verdicts; returns how many messages went out. Rows are claimed with
    /// one `UPDATE … RETURNING`, so two nodes never write to the same reporter twice; a failed delivery is
    /// released for the next run.
    public func notifyReporters(client: SMTPClient) async throws -> Int {
        let now = clock.now().milliseconds
        let final = "'simulation', 'malicious', 'safe'"
        let claimed = try await sql.raw(
            """
            UPDATE inc_reports SET acknowledged_at = COALESCE(acknowledged_at, \(bind: now)), \
            notified_at = CASE WHEN verdict IN (\(unsafeRaw: final)) THEN \(bind: now) ELSE notified_at END \
            WHERE id IN (SELECT r.id FROM inc_reports r LEFT JOIN inc_settings s ON s.establishment_id = r.establishment_id \
            WHERE r.reporter_email <> '' AND COALESCE(s.notify_reporters, \(bind: true)) = \(bind: true) \
            AND (r.acknowledged_at IS NULL OR (r.notified_at IS NULL AND r.verdict IN (\(unsafeRaw: final)))) \
            AND r.created_at >= \(bind: now - 7 * 86_400_000) ORDER BY r.id LIMIT 200) \
            AND (acknowledged_at IS NULL OR (notified_at IS NULL AND verdict IN (\(unsafeRaw: final)))) \
            RETURNING id, reporter_email, reporter_name, reporter_language, kind, subject, verdict, note, \
            acknowledged_at
            """
        ).all()
        var sent = 0
        for row in claimed {
            let id = try row.decode(column: "id", as: Int64.self)
            let verdict = Verdict(rawValue: try row.decode(column: "verdict", as: String.self))
            let final = verdict.map { $0 != .suspicious } ?? false
            let message = Self.notification(
                to: try row.decode(column: "reporter_email", as: String.self),
                name: try row.decode(column: "reporter_name", as: String.self),
                english: try row.decode(column: "reporter_language", as: String.self) == "en",
                kind: ReportKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .other,
                subject: try row.decode(column: "subject", as: String.self), verdict: final ? verdict : nil,
                note: try row.decode(column: "note", as: String.self))
            do {
                try await client.send(message)
                sent += 1
            } catch {
                // Released: the next run tries again (only what this run claimed).
                try await sql.raw(
                    """
                    UPDATE inc_reports SET \
                    notified_at = CASE WHEN notified_at = \(bind: now) THEN NULL ELSE notified_at END, \
                    acknowledged_at = CASE WHEN acknowledged_at = \(bind: now) THEN NULL ELSE acknowledged_at END \
                    WHERE id = \(bind: id)
                    """
                ).run()
            }
        }
        return sent
    }

    /// The text a reporter receives: a thank-you, and the verdict in plain words when there is one.
    static func notification(
        to address: String, name: String, english: Bool, kind: ReportKind, subject: String, verdict: Verdict?,
        note: String
    ) -> HygieMail.MailMessage {
        let greeting = english ? "Hello\(name.isEmpty ? "" : " \(name)")," : "Bonjour\(name.isEmpty ? "" : " \(name)"),"
        let what =
            kind == .email && !subject.isEmpty
            ? (english ? "the message \"\(subject)\"" : "le message « \(subject) »")
            : (english ? "what you reported" : "votre signalement")
        var lines = [greeting, ""]
        switch verdict {
        case .simulation:
            lines.append(
                english
                    ? "Well done: \(what) was one of our phishing exercises. Reporting it was exactly the right thing to do."
                    : "Bravo : \(what) était un exercice de sensibilisation au hameçonnage. Le signaler était le bon réflexe."
            )
        case .malicious:
            lines.append(
                english
                    ? "Thank you: \(what) is a real attack. The security team is dealing with it. Delete it and do not "
                        + "open its links or attachments. If you already clicked or typed a password, call the IT help "
                        + "desk now."
                    : "Merci : \(what) est une véritable attaque. L'équipe sécurité s'en occupe. Supprimez-le sans "
                        + "ouvrir ses liens ni ses pièces jointes. Si vous avez déjà cliqué ou saisi un mot de passe, "
                        + "appelez tout de suite le support informatique.")
        case .safe:
            lines.append(
                english
                    ? "Thank you: \(what) is safe. Keep reporting whatever looks suspicious."
                    : "Merci : \(what) ne présente pas de danger. Continuez à signaler ce qui vous semble suspect.")
        case .suspicious, nil:
            lines.append(
                english
                    ? "Thank you for reporting \(what). The security team is looking at it and will tell you what it was."
                    : "Merci d'avoir signalé \(what). L'équipe sécurité l'examine et vous dira ce qu'il en est.")
        }
        if verdict != nil, !note.isEmpty {
            lines += ["", english ? "Note from the security team:" : "Mot de l'équipe sécurité :", note]
        }
        lines += ["", english ? "— The security team (Hygie)" : "— L'équipe sécurité (Hygie)"]
        let title =
            switch verdict {
            case .simulation: english ? "Well done: it was an exercise" : "Bravo : c'était un exercice"
            case .malicious: english ? "Thank you: it was a real attack" : "Merci : c'était une vraie attaque"
            case .safe: english ? "Thank you: the message is safe" : "Merci : le message est sans danger"
            case .suspicious, nil: english ? "Thank you for your report" : "Merci pour votre signalement"
            }
        return HygieMail.MailMessage(to: [address], subject: title, text: lines.joined(separator: "\n"))
    }
}
