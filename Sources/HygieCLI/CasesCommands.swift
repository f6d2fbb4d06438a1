import ArgumentParser
import Foundation
import HygieCore
import HygieIncidents
import HygieMail
import HygieStorage
import MailTriage
import STIX

/// `hygie cases …`: reported e-mails and incident cases.
struct CasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cases", abstract: "Reported e-mails and incident cases.",
        subcommands: [
            List.self, Open.self, Show.self, Update.self, Qualify.self, Declarations.self, Sent.self, Regimes.self,
            Triage.self, Submit.self, Reports.self, Decide.self, ReportSettingsCommand.self, Notify.self,
        ])

    static func date(_ text: String?) throws -> Date? {
        guard let text, !text.isEmpty else { return nil }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withFullDate]
        if let date = formatter.date(from: text) { return date }
        throw ValidationError("\(text) is not an ISO 8601 date (2026-11-29T08:30:00Z)")
    }

    static func iso(_ date: Date?) -> String { date.map { ISO8601DateFormatter().string(from: $0) } ?? "-" }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Incident cases, newest first.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "new, in_progress, contained, resolved or closed.") var status: String?

        func run() async throws {
            let status = try status.map {
                guard let value = CaseStatus(rawValue: $0) else { throw ValidationError("unknown status \($0)") }
                return value
            }
            try await VulnCommand.run(common) { boot in
                for incident in try await boot.cases.cases(in: try await target.scope(boot), status: status) {
                    print(
                        "\(incident.id)\t\(incident.severity.rawValue)\t\(incident.status.rawValue)\t"
                            + "\(incident.type.rawValue)\t\(CasesCommand.iso(incident.awareAt))\t\(incident.title)")
                }
            }
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a case (with its template's tasks), by hand or from a report (--report ID).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Title.") var title = ""
        @Option(help: "ransomware, compromised_account, phishing, data_leak, lost_device, ehr_access or other.")
        var type = "other"
        @Option(help: "low, medium, high or critical.") var severity = "medium"
        @Option(help: "When the establishment became aware (ISO 8601; default now).") var awareAt: String?
        @Option(help: "Open from this report (and its campaign).") var report: Int64?
        @Option(help: "Description.") var description = ""

        func run() async throws {
            guard let type = IncidentType(rawValue: type) else { throw ValidationError("unknown type \(type)") }
            guard let severity = CaseSeverity(rawValue: severity) else {
                throw ValidationError("severity is low, medium, high or critical")
            }
            let aware = try CasesCommand.date(awareAt)
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                let detail =
                    if let report {
                        try await boot.cases.open(fromReport: report, type: type, in: scope)
                    } else {
                        try await boot.cases.open(
                            CaseInput(
                                title: title, description: description, type: type, severity: severity, awareAt: aware),
                            in: scope)
                    }
                print(
                    "case \(detail.incident.id): \(detail.tasks.count) tasks, \(detail.observables.count) observables")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A case: times, declarations, tasks, observables, timeline.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Case id.") var id: Int64

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let detail = try await boot.cases.detail(id, in: try await target.scope(boot))
                let incident = detail.incident
                let now = Date()
                print("#\(incident.id) \(incident.title) [\(incident.severity.rawValue), \(incident.status.rawValue)]")
                print(
                    "aware \(CasesCommand.iso(incident.awareAt)), contained \(CasesCommand.iso(incident.containedAt)), "
                        + "resolved \(CasesCommand.iso(incident.resolvedAt))")
                for declaration in detail.declarations {
                    let state =
                        declaration.status == .sent
                        ? "sent \(CasesCommand.iso(declaration.sentAt)) (\(declaration.reference))"
                        : "due \(CasesCommand.iso(declaration.dueAt))\(declaration.isLate(at: now) ? " LATE" : "")"
                    print("declaration \(declaration.id) \(declaration.regime.rawValue): \(state)")
                }
                for task in detail.tasks { print("task \(task.id) [\(task.status.rawValue)] \(task.title)") }
                for observable in detail.observables {
                    print("observable \(observable.kind) \(observable.value)\(observable.ioc ? " IOC" : "")")
                }
                for event in detail.events {
                    print("\(CasesCommand.iso(event.at)) \(event.actor) \(event.kind): \(event.detail)")
                }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a case's status, severity, TLP, owner, times or lessons learned.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Case id.") var id: Int64
        @Option(help: "new, in_progress, contained, resolved or closed.") var status: String?
        @Option(help: "low, medium, high or critical.") var severity: String?
        @Option(help: "Owner.") var assignee: String?
        @Option(help: "Time of awareness (ISO 8601): unsent deadlines move.") var awareAt: String?
        @Option(help: "Lessons learned (needed to close).") var lessons: String?
        @Option(help: "clear, green, amber, amber+strict or red (what may leave the establishment).") var tlp: String?

        func run() async throws {
            let tlp = try tlp.map {
                guard let value = TLP(rawValue: $0) else { throw ValidationError("unknown TLP \($0)") }
                return value
            }
            let status = try status.map {
                guard let value = CaseStatus(rawValue: $0) else { throw ValidationError("unknown status \($0)") }
                return value
            }
            let severity = try severity.map {
                guard let value = CaseSeverity(rawValue: $0) else { throw ValidationError("unknown severity \($0)") }
                return value
            }
            let aware = try CasesCommand.date(awareAt)
            try await VulnCommand.run(common) { boot in
                let detail = try await boot.cases.update(
                    id,
                    CaseChange(
                        severity: severity, tlp: tlp, status: status, assignee: assignee, awareAt: aware,
                        lessons: lessons),
                    in: try await target.scope(boot))
                print("case \(id): \(detail.incident.status.rawValue), \(detail.incident.severity.rawValue)")
            }
        }
    }

    struct Qualify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Qualify a case: the declarations it needs start with their deadlines.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Case id.") var id: Int64
        @Flag(help: "Significant or serious incident (CERT Santé).") var significant = false
        @Flag(help: "Personal-data breach (CNIL).") var personalData = false
        @Flag(help: "Significant incident of an NIS2 entity (ANSSI).") var nis2 = false

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let detail = try await boot.cases.qualify(
                    id, Qualification(significant: significant, personalData: personalData, nis2: nis2),
                    in: try await target.scope(boot))
                for declaration in detail.declarations {
                    print(
                        "declaration \(declaration.id) \(declaration.regime.rawValue): due \(CasesCommand.iso(declaration.dueAt))"
                    )
                }
            }
        }
    }

    struct Declarations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every declaration with its deadline; --draft ID prints one pre-filled (JSON).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Print this declaration's draft as JSON.") var draft: Int64?

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                if let draft {
                    print(String(decoding: try await boot.cases.draft(draft, in: scope).json(), as: UTF8.self))
                    return
                }
                let now = Date()
                for entry in try await boot.cases.declarations(in: scope) {
                    let declaration = entry.declaration
                    print(
                        "\(declaration.id)\tcase \(declaration.caseID)\t\(declaration.regime.rawValue)\t"
                            + "\(declaration.status.rawValue)\tdue \(CasesCommand.iso(declaration.dueAt))"
                            + "\(declaration.isLate(at: now) ? "\tLATE" : "")\t\(entry.caseTitle)")
                }
            }
        }
    }

    struct Sent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark a declaration sent (its pre-filled content is hashed and the hash kept).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Declaration id.") var id: Int64
        @Option(help: "When it was sent (ISO 8601; default now).") var sentAt: String?
        @Option(help: "The regulator's reference.") var reference = ""
        @Option(help: "Why it is late (needed after the deadline).") var delayReason = ""

        func run() async throws {
            let sent = try CasesCommand.date(sentAt) ?? Date()
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                let draft = try await boot.cases.draft(id, in: scope)
                let declaration = try await boot.cases.markSent(
                    id, sentAt: sent, reference: reference, delayReason: delayReason, content: draft.json(), in: scope)
                print("declaration \(id): sent, SHA-256 \(declaration.snapshotSHA256)")
            }
        }
    }

    struct Regimes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or change the establishment's regimes: NIS2 class and deadlines (hours).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "none, essential or important.") var nis2: String?
        @Option(help: "Target for CERT Santé's \"sans délai\", in hours.") var certSanteHours: Int?
        @Option(help: "CNIL deadline in hours.") var cnilHours: Int?
        @Option(help: "Entity field key=value (name, finess_ej, finess_et, siret, ght, region, director, rssi, dpo).")
        var entity: [String] = []

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                var settings = try await boot.cases.regimes(in: scope)
                if nis2 != nil || certSanteHours != nil || cnilHours != nil || !entity.isEmpty {
                    if let nis2 {
                        guard let value = RegimeSettings.NIS2Class(rawValue: nis2 == "none" ? "" : nis2) else {
                            throw ValidationError("--nis2 is none, essential or important")
                        }
                        settings.nis2Class = value
                    }
                    settings.certSanteHours = certSanteHours ?? settings.certSanteHours
                    settings.cnilHours = cnilHours ?? settings.cnilHours
                    for pair in entity {
                        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                        guard parts.count == 2 else { throw ValidationError("--entity is key=value") }
                        settings.entity[parts[0]] = parts[1]
                    }
                    try await boot.cases.updateRegimes(settings, in: scope)
                }
                print(
                    "NIS2: \(settings.nis2Class.rawValue.isEmpty ? "not an NIS2 entity" : settings.nis2Class.rawValue)")
                print(
                    "deadlines: CERT Santé \(settings.certSanteHours) h, CNIL \(settings.cnilHours) h, NIS2 "
                        + "\(settings.nis2WarningHours) h / \(settings.nis2NotificationHours) h / \(settings.nis2FinalDays) days"
                )
                for (key, value) in settings.entity.sorted(by: { $0.key < $1.key }) { print("\(key): \(value)") }
            }
        }
    }

    struct Notify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send pending acknowledgements and verdicts to reporters now (hygie serve does it every minute).")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                guard let smtp = boot.configuration.smtp else {
                    throw CLIError("no mail relay: set hygie.smtp.host (HYGIE_SMTP_HOST)")
                }
                let sent = try await boot.reports().notifyReporters(client: SMTPClient(settings: smtp))
                print("\(sent) message(s) sent")
            }
        }
    }

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract:
                "Record a report: a message file (.eml, .msg) is triaged and stored; other kinds need a description.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "email, phone, usb, behaviour, lost_device or other.") var kind = "email"
        @Option(help: "The reporter's e-mail address.") var reporter = ""
        @Option(help: "What happened.") var description = ""
        @Argument(help: "The reported message (e-mail reports).") var file: String?

        func run() async throws {
            guard let kind = ReportKind(rawValue: kind) else {
                throw ValidationError("--kind is one of \(ReportKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var message: [UInt8]?
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw CLIError("cannot read \(file)")
                }
                message = Array(data)
            }
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                let service = boot.reports()
                let person = try await service.reporter(reporter, name: "", establishment: scope.establishmentID)
                for report in try await service.submit(
                    ReportSubmission(
                        kind: kind, channel: .cli, reporter: person, description: description, message: message),
                    in: scope)
                {
                    print(
                        "report \(report.id): \(report.verdict?.rawValue ?? "to handle") (score \(report.score))"
                            + (report.clusterID.map { ", same campaign as report \($0)" } ?? ""))
                }
            }
        }
    }

    struct Reports: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reports", abstract: "List reports, newest first.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "open or closed.") var status: String?
        @Option(help: "simulation, malicious, suspicious or safe.") var verdict: String?

        func run() async throws {
            let status = try status.map {
                guard let value = ReportStatus(rawValue: $0) else {
                    throw ValidationError("--status is open or closed")
                }
                return value
            }
            let verdict = try verdict.map {
                guard let value = Verdict(rawValue: $0) else {
                    throw ValidationError("--verdict is simulation, malicious, suspicious or safe")
                }
                return value
            }
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                for report in try await boot.reports().reports(in: scope, status: status, verdict: verdict) {
                    let what = report.subject.isEmpty ? String(report.description.prefix(60)) : report.subject
                    print(
                        "\(report.id)\t\(ISO8601DateFormatter().string(from: report.createdAt))\t\(report.kind.rawValue)\t"
                            + "\(report.verdict?.rawValue ?? "-")\t\(report.score)\t\(report.status.rawValue)\t"
                            + "\(report.reporterEmail)\t\(what)")
                }
            }
        }
    }

    struct Decide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decide a report's verdict (and its campaign's); reporters are told by the next notification run."
        )
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Report id.") var id: Int64
        @Option(help: "malicious, safe or simulation.") var verdict: String
        @Option(help: "A note for the reporters.") var note = ""
        @Flag(help: "This report only, not its whole campaign.") var only = false

        func run() async throws {
            guard let verdict = Verdict(rawValue: verdict) else {
                throw ValidationError("--verdict is malicious, safe or simulation")
            }
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                let report = try await boot.reports().decide(
                    id, verdict: verdict, note: note, cluster: !only, in: scope)
                print("report \(report.id): \(report.verdict?.rawValue ?? "-"), \(report.status.rawValue)")
            }
        }
    }

    struct ReportSettingsCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "settings",
            abstract: "Show or change the triage settings: protected domains, report addresses, reporter notices.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Comma-separated protected domains (empty string clears them).") var protectedDomains: String?
        @Option(help: "Comma-separated report addresses (empty string clears them).") var reportAddresses: String?
        @Option(help: "Thank reporters and send verdicts: true or false.") var notifyReporters: Bool?

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                let service = boot.reports()
                var settings = try await service.settings(in: scope)
                if protectedDomains != nil || reportAddresses != nil || notifyReporters != nil {
                    func list(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }
                    if let protectedDomains { settings.protectedDomains = list(protectedDomains) }
                    if let reportAddresses { settings.reportAddresses = list(reportAddresses) }
                    if let notifyReporters { settings.notifyReporters = notifyReporters }
                    try await service.updateSettings(settings, in: scope)
                    settings = try await service.settings(in: scope)
                }
                print("protected domains: \(settings.protectedDomains.joined(separator: ", "))")
                print("report addresses:  \(settings.reportAddresses.joined(separator: ", "))")
                print("notify reporters:  \(settings.notifyReporters)")
            }
        }
    }

    struct Triage: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Triage reported e-mails (.eml or .msg files) offline and print the verdicts.",
            discussion: """
                Each file is read as a report: a message forwarded as attachment (or in Microsoft's report format) \
                is split and its original triaged; any other message is triaged itself. Nothing is stored and no \
                threat intelligence is asked (the server does both). Links are shown defanged.
                """)
        @Argument(help: "Files (.eml, .msg, or pasted headers).") var files: [String]
        @Option(name: .customLong("own-domain"), help: "The establishment's mail domain (repeatable).")
        var ownDomains: [String] = []
        @Option(name: .customLong("protected-domain"), help: "Another domain phishers imitate (repeatable).")
        var protectedDomains: [String] = []
        @Option(help: "Output: text or json (one object per original message).") var format = "text"
        @Option(help: "Triage every file this many times (for measurements).") var `repeat` = 1
        @Flag(help: "Print messages per second, bytes per second, CPU time and peak memory.") var stats = false

        func validate() throws {
            guard ["text", "json"].contains(format) else { throw ValidationError("--format is text or json") }
            guard (1...100_000).contains(`repeat`) else { throw ValidationError("--repeat is 1 to 100000") }
        }

        func run() throws {
            let settings = TriageSettings(ownDomains: ownDomains, protectedDomains: protectedDomains)
            var inputs: [(String, [UInt8])] = []
            var failed = false
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    printError("\(file): cannot read the file")
                    failed = true
                    continue
                }
                inputs.append((file, Array(data)))
            }
            let started = Date()
            let cpuStarted = cpuSeconds()
            var messages = 0
            var bytes = 0
            for round in 0..<`repeat` {
                for (file, data) in inputs {
                    let envelope: MailTriage.MailMessage
                    do {
                        envelope = try ReportedMail.read(data)
                    } catch {
                        if round == 0 {
                            printError("\(file): \(error.description)")
                            failed = true
                        }
                        continue
                    }
                    let report = ReportedMail(envelope)
                    for original in report.originals {
                        let analysis = MailAnalysis(original, settings: settings)
                        let verdict = analysis.verdict()
                        messages += 1
                        bytes += data.count
                        if round == 0 { show(file, report, analysis, verdict) }
                    }
                }
            }
            if stats {
                let elapsed = Date().timeIntervalSince(started)
                let cpu = cpuSeconds() - cpuStarted
                printError(
                    String(
                        format: "stats: %d messages (%.1f MB) in %.3f s — %.0f messages/s, %.1f MB/s, CPU %.3f s, "
                            + "peak RSS %.0f MB", messages, Double(bytes) / 1_048_576, elapsed,
                        Double(messages) / max(elapsed, 1e-9), Double(bytes) / 1_048_576 / max(elapsed, 1e-9), cpu,
                        Double(peakResidentBytes()) / 1_048_576))
            }
            if failed { throw ExitCode.failure }
        }

        func show(
            _ file: String, _ report: ReportedMail, _ analysis: MailAnalysis,
            _ verdict: (verdict: Verdict, score: Int, reasons: [TriageReason])
        ) {
            if format == "json" {
                let object = TriageOutput(
                    file: file, reportCategory: report.category?.rawValue, inlineForward: report.inline,
                    verdict: verdict.verdict.rawValue, score: verdict.score, reasons: verdict.reasons,
                    analysis: analysis)
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                if let data = try? encoder.encode(object) { print(String(decoding: data, as: UTF8.self)) }
                return
            }
            print("\(file): \(verdict.verdict.rawValue) (score \(verdict.score))")
            print("  subject: \(analysis.subject)")
            print("  from: \(analysis.from.map { "\($0.name) <\($0.address)>" } ?? "-")")
            if let category = report.category { print("  reported as: \(category.rawValue)") }
            if report.inline { print("  no attached message: triaged as is (an inline forward has lost its headers)") }
            let auth = analysis.authentication
            print(
                "  authentication: spf=\(auth.spf ?? "-") dkim=\(auth.dkim ?? "-") dmarc=\(auth.dmarc ?? "-")"
                    + (auth.compauth.map { " compauth=\($0)" } ?? "") + " origin=\(analysis.originIP ?? "-")")
            for reason in verdict.reasons { print("  +\(reason.points) \(reason.code): \(reason.detail)") }
            for url in analysis.urls.prefix(20) {
                let flags = url.flags.map(\.rawValue).sorted().joined(separator: ",")
                print("  link: \(URLExtractor.defang(url.target))\(flags.isEmpty ? "" : " [\(flags)]")")
            }
            for attachment in analysis.attachments {
                let flags = attachment.flags.map(\.rawValue).sorted().joined(separator: ",")
                print(
                    "  attachment: \(attachment.filename) \(attachment.detectedType) \(attachment.size) B "
                        + "sha256=\(attachment.sha256)\(flags.isEmpty ? "" : " [\(flags)]")")
            }
            for defect in analysis.defects.prefix(10) { print("  defect: \(defect)") }
        }
    }
}

/// The JSON line `hygie cases triage --format json` prints for each original message.
struct TriageOutput: Encodable {
    var file: String
    var reportCategory: String?
    var inlineForward: Bool
    var verdict: String
    var score: Int
    var reasons: [TriageReason]
    var analysis: MailAnalysis
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// User plus system CPU time of this process, in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
}
