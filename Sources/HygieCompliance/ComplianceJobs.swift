import Foundation
import HygieCore
public import HygieJobs
public import HygieMail

/// Every morning: measures every establishment's indicators, stores the day's score of each open assessment
/// (trends, fleet view) and, when the instance can send mail, reminds owners of recurring audits that enter
/// their reminder window or are overdue.
public struct ComplianceDailyJob: JobHandler {
    public static let kind = "compliance.daily"
    let service: ComplianceService
    let smtp: SMTPSettings?
    public var kind: String { Self.kind }

    public init(service: ComplianceService, smtp: SMTPSettings?) {
        self.service = service
        self.smtp = smtp
    }

    public func run(_ job: Job) async throws {
        _ = try await Self.perform(service: service, smtp: smtp)
    }

    /// The daily work, also run by `hygie audit daily`: returns the assessments scored and the reminders sent.
    /// Without SMTP no reminder is claimed, so none is lost.
    public static func perform(service: ComplianceService, smtp: SMTPSettings?) async throws -> (
        scored: Int, reminded: Int
    ) {
        let scored = try await service.dailyRecord()
        guard let smtp else { return (scored, 0) }
        let client = SMTPClient(settings: smtp)
        var reminded = 0
        for (_, schedule) in try await service.dueReminders() {
            guard let email = schedule.ownerEmail else { continue }
            try await client.send(ComplianceService.reminder(for: schedule, to: email))
            reminded += 1
        }
        return (scored, reminded)
    }
}

extension ComplianceService {
    /// The reminder e-mail of a recurring audit, in French then English.
    public static func reminder(for schedule: AuditSchedule, to email: String) -> MailMessage {
        let state =
            schedule.overdue
            ? "est en retard depuis le \(schedule.nextDue) / is overdue since \(schedule.nextDue)"
            : "est prévu pour le \(schedule.nextDue) / is due on \(schedule.nextDue)"
        let lines = [
            "Bonjour,", "",
            "L'audit récurrent « \(schedule.title) » \(state).",
            "Enregistrez sa réalisation et sa preuve dans Hygie (Conformité → Audits récurrents).", "",
            "The recurring audit \"\(schedule.title)\" \(schedule.overdue ? "is overdue" : "is due soon").",
            "Record it with its evidence in Hygie (Compliance → Recurring audits).", "",
            "Fréquence / every \(schedule.intervalMonths) mois / months.",
        ]
        return MailMessage(
            to: [email], subject: "[Hygie] \(schedule.overdue ? "En retard" : "À faire") : \(schedule.title)",
            text: lines.joined(separator: "\n"))
    }
}
