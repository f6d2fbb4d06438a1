import ArgumentParser
import ComplianceCore
import Foundation
import HygieCompliance
import HygieCore
import HygieStorage
import HygieWeb
import STIX

/// `hygie audit …`: compliance audits (frameworks, assessments, evidence, reports, action plans, recurring
/// audits, fleet view) and the audit-trail check.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Compliance audits (frameworks, assessments, evidence, reports) and the audit-trail check.",
        subcommands: [
            Frameworks.self, Import.self, Assessments.self, Create.self, Show.self, Set.self, Evidence.self,
            Submit.self, SignOff.self, Report.self, Compare.self, Actions.self, Schedules.self, Schedule.self,
            Done.self, Indicators.self, Fleet.self, Daily.self, AuditVerifyCommand.self,
        ])

    static let actor = Actor.system("hygie cli", channel: "cli")

    /// Runs `body` with the database open, the schema ready and the built-in frameworks installed.
    static func run(_ common: CommonOptions, _ body: (Bootstrap, ComplianceService) async throws -> Void) async throws {
        let boot = try Bootstrap(configuration: try await common.load())
        try await boot.withDatabase {
            try await boot.prepareSchema()
            let compliance = boot.compliance(identity: try boot.identity())
            try await compliance.installBuiltins()
            try await body(boot, compliance)
        }
    }

    static func uuid(_ text: String, _ what: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw CLIError("\(what) must be an id: \(text)") }
        return id
    }

    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%5.1f %%", $0 * 100) } ?? "    —  "
    }

    /// The requirement of an assessment named by URN or reference (`o1.c`).
    static func requirement(_ text: String, of assessment: UUID, _ compliance: ComplianceService, _ scope: TenantScope)
        async throws -> String
    {
        let framework = try await compliance.framework(
            try await compliance.assessment(assessment, in: scope).frameworkID)
        let lowered = text.lowercased()
        guard
            let node = framework.nodes.first(where: {
                $0.assessable && ($0.urn.lowercased() == lowered || $0.refID?.lowercased() == lowered)
            })
        else { throw CLIError("no assessable requirement '\(text)' in \(framework.name)") }
        return node.urn
    }

    struct Frameworks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the framework catalogue.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await AuditCommand.run(common) { _, compliance in
                for item in try await compliance.frameworks() {
                    print(
                        "\(item.id.uuidString.lowercased())  \(item.refID.padding(toLength: 28, withPad: " ", startingAt: 0)) "
                            + "\(String(format: "%4d", item.assessable))/\(String(format: "%-4d", item.nodes)) v\(item.version)"
                            + "\(item.builtin ? " [hygie]" : "")  \(item.name)")
                }
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import framework libraries: CISO Assistant YAML or NIST OSCAL catalog JSON.",
            discussion: """
                Import reference controls before the frameworks that point to them, and frameworks before the \
                mappings between them; unresolved references are reported as warnings. A library whose version is \
                not newer than the stored one is left unchanged.
                """)
        @OptionGroup var common: CommonOptions
        @Argument(help: "Files (.yaml, .yml, .json).") var files: [String]
        @Flag(help: "Print the time taken and the peak memory.") var stats = false

        func run() async throws {
            try await AuditCommand.run(common) { _, compliance in
                for file in files {
                    guard let data = FileManager.default.contents(atPath: file) else {
                        throw CLIError("cannot read \(file)")
                    }
                    let started = Date()
                    let report = try await compliance.importLibrary(
                        data, origin: (file as NSString).lastPathComponent, by: AuditCommand.actor)
                    print(
                        "\((file as NSString).lastPathComponent): \(report.outcome) \(report.name) v\(report.version) — "
                            + "\(report.frameworks.count) framework(s), \(report.nodes) nodes, "
                            + "\(report.referenceControls) reference controls, \(report.mappings) mappings")
                    for warning in report.warnings.prefix(10) { print("  warning: \(warning)") }
                    if stats {
                        print(
                            String(
                                format: "  stats: %.3f s, %.1f MB read, peak RSS %.0f MB",
                                Date().timeIntervalSince(started), Double(data.count) / 1_048_576,
                                Double(peakResidentBytes()) / 1_048_576))
                    }
                }
            }
        }
    }

    struct Assessments: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an establishment's assessments with scores.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                for assessment in try await compliance.assessments(in: scope) {
                    let detail = try await compliance.detail(assessment.id, in: scope)
                    print(
                        "\(assessment.id.uuidString.lowercased())  \(AuditCommand.percent(detail.overall.score)) "
                            + "(\(AuditCommand.percent(detail.overall.progress)) assessed)  "
                            + "\(assessment.status.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) "
                            + "\(assessment.title) — \(detail.framework.refID)")
                }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open an assessment.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Framework id, URN or reference (CaRE-D2, ANSSI-HYGIENE…).") var framework: String
        @Option(help: "Title.") var title: String
        @Option(help: "Implementation groups, comma-separated (S,R / EI / level_1…).") var groups: String?
        @Option(help: "Entity or site: id;name;activity weight (repeat).") var unit: [String] = []
        @Option(help: "Due day (YYYY-MM-DD).") var due: String?

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                let found = try await compliance.findFramework(framework)
                let units = try unit.map { line -> ScopeUnit in
                    let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                    guard parts.count == 3, let weight = Double(parts[2]) else {
                        throw CLIError("--unit takes id;name;weight: \(line)")
                    }
                    return ScopeUnit(id: parts[0], name: parts[1], weight: weight)
                }
                let assessment = try await compliance.createAssessment(
                    framework: found.id, title: title,
                    groups: groups?.split(separator: ",").map(String.init) ?? [], units: units, dueOn: due, in: scope)
                print(assessment.id.uuidString.lowercased())
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Scores and every requirement's status.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Assessment id.") var assessment: String

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                let detail = try await compliance.detail(try AuditCommand.uuid(assessment, "assessment"), in: scope)
                print("\(detail.assessment.title) — \(detail.framework.name) [\(detail.assessment.status.rawValue)]")
                print(
                    "score \(AuditCommand.percent(detail.overall.score)), assessed \(AuditCommand.percent(detail.overall.progress))"
                        + (detail.overall.level.map { ", level \($0)" } ?? ""))
                for theme in detail.themes {
                    print("  \(AuditCommand.percent(theme.summary.score))  \(theme.refID) \(theme.name)")
                }
                for state in detail.requirements where state.applies {
                    var line =
                        "  \((state.node.refID ?? "").padding(toLength: 10, withPad: " ", startingAt: 0)) "
                        + "\(state.outcome.status.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) "
                        + "evidence \(state.evidence.count) (\(state.evidenceCheck.state.rawValue))"
                    if let measured = state.measurement { line += ", measured \(measured.value)" }
                    if let coverage = state.coverage { line += ", covers \(AuditCommand.percent(coverage))" }
                    print(line)
                }
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a requirement's status.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Assessment id.") var assessment: String
        @Option(help: "Requirement reference or URN.") var requirement: String
        @Option(help: "not_assessed, non_compliant, partial, compliant or not_applicable.") var status: String?
        @Option(help: "Comment.") var comment: String?
        @Option(help: "Why it does not apply (required with not_applicable).") var justification: String?
        @Option(help: "Maturity on the framework's scale.") var maturity: Int?
        @Option(help: "Scope units covered, comma-separated ids.") var covered: String?

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                let id = try AuditCommand.uuid(assessment, "assessment")
                var update = ResultUpdate()
                if let status {
                    guard let value = ResultStatus(rawValue: status) else { throw CLIError("unknown status \(status)") }
                    update.status = value
                }
                update.comment = comment
                update.justification = justification
                update.maturity = maturity
                update.coveredUnits = covered?.split(separator: ",").map(String.init)
                let urn = try await AuditCommand.requirement(requirement, of: id, compliance, scope)
                let result = try await compliance.updateResult(id, requirement: urn, update, in: scope)
                print("\(requirement): \(result.status.rawValue)")
            }
        }
    }

    struct Evidence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add evidence (a file kept with its SHA-256, a link, or both) to a requirement.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Assessment id.") var assessment: String
        @Option(help: "Requirement reference or URN.") var requirement: String
        @Option(help: "Title.") var title: String
        @Option(help: "Day the evidence takes effect (YYYY-MM-DD), not the upload day.") var effective: String
        @Option(help: "Last day it is valid.") var until: String?
        @Option(help: "File to store.") var file: String?
        @Option(help: "http(s) link.") var link: String?

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                let id = try AuditCommand.uuid(assessment, "assessment")
                var content: Data?
                if let file {
                    guard let data = FileManager.default.contents(atPath: file) else {
                        throw CLIError("cannot read \(file)")
                    }
                    content = data
                }
                let urn = try await AuditCommand.requirement(requirement, of: id, compliance, scope)
                let item = try await compliance.addEvidence(
                    NewEvidence(
                        title: title, link: link, filename: file.map { ($0 as NSString).lastPathComponent },
                        content: content, effectiveOn: effective, validUntil: until),
                    attachTo: id, requirement: urn, in: scope)
                print("\(item.id.uuidString.lowercased())\(item.sha256.map { "  sha256 \($0)" } ?? "")")
            }
        }
    }

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hand an assessment to its reviewer.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Assessment id.") var assessment: String

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                let done = try await compliance.submitForReview(
                    try AuditCommand.uuid(assessment, "assessment"), in: scope)
                print("\(done.title): \(done.status.rawValue)")
            }
        }
    }

    struct SignOff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign-off", abstract: "Sign off an assessment under review: close and freeze it.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Assessment id.") var assessment: String

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                let done = try await compliance.signOff(try AuditCommand.uuid(assessment, "assessment"), in: scope)
                print("\(done.title): \(done.status.rawValue)")
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an assessment's report: html or pdf (full or checklist), csv, json or oscal.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Assessment id.") var assessment: String
        @Option(help: "html, pdf, csv, json or oscal.") var format = "html"
        @Option(help: "full or checklist (html and pdf).") var kind = "full"
        @Option(help: "fr or en.") var lang = "fr"
        @Option(name: .shortAndLong, help: "Output file.") var output: String

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                let id = try AuditCommand.uuid(assessment, "assessment")
                let data: Data
                switch format {
                case "html", "pdf":
                    let identity = try boot.identity()
                    let services = try await HygieServices(
                        database: boot.database, identity: identity, tenancy: boot.tenancy, audit: boot.audit,
                        jobs: boot.jobs, clock: boot.clock, settings: WebSettings(publicURL: ""), logger: boot.logger,
                        compliance: compliance)
                    data = try await complianceReport(
                        services: services, assessment: id, kind: kind, format: format, scope: scope,
                        language: lang)
                default:
                    let establishment = try await boot.tenancy.establishment(in: scope)
                    let report = try await compliance.report(id, in: scope, establishmentName: establishment.name)
                    switch format {
                    case "csv": data = Data(("\u{FEFF}" + report.csv()).utf8)
                    case "oscal": data = Data(JSONWriter.bytes(report.oscal()))
                    case "json":
                        let encoder = JSONEncoder()
                        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                        encoder.dateEncodingStrategy = .iso8601
                        encoder.keyEncodingStrategy = .convertToSnakeCase
                        data = try encoder.encode(report)
                    default: throw CLIError("format must be html, pdf, csv, json or oscal")
                    }
                }
                do {
                    try data.write(to: URL(fileURLWithPath: output), options: .atomic)
                } catch {
                    throw CLIError("cannot write \(output): \(error.localizedDescription)")
                }
                print("\(output): \(data.count) bytes")
            }
        }
    }

    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What changed between two assessments.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Earlier assessment id.") var before: String
        @Argument(help: "Later assessment id.") var after: String

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                let comparison = try await compliance.compare(
                    try AuditCommand.uuid(before, "assessment"), try AuditCommand.uuid(after, "assessment"), in: scope)
                print(
                    "score \(AuditCommand.percent(comparison.beforeScore)) → \(AuditCommand.percent(comparison.afterScore))"
                )
                for row in comparison.rows where row.change != 0 {
                    print(
                        "  \(row.change > 0 ? "▲" : "▼") \(row.refID) \(row.before?.rawValue ?? "—") → \(row.after?.rawValue ?? "—")"
                    )
                }
            }
        }
    }

    struct Actions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The action plan; with --plan, first turn an assessment's gaps into actions.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Assessment whose gaps become planned actions.") var plan: String?

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                if let plan {
                    let created = try await compliance.planActions(
                        for: try AuditCommand.uuid(plan, "assessment"), in: scope)
                    print("\(created.count) action(s) planned")
                }
                for action in try await compliance.actions(in: scope) {
                    print(
                        "\(action.dueOn ?? "no date  ") \(action.status.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) "
                            + "\(action.overdue ? "LATE " : "")\(action.milestone.map { "[\($0)] " } ?? "")\(action.title)"
                    )
                }
            }
        }
    }

    struct Schedules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recurring audits, with what is overdue.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                for schedule in try await compliance.schedules(in: scope) {
                    print(
                        "\(schedule.id.uuidString.lowercased())  next \(schedule.nextDue)\(schedule.overdue ? " OVERDUE" : "")"
                            + "  every \(schedule.intervalMonths) months  \(schedule.title)")
                }
            }
        }
    }

    struct Schedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Schedule a recurring audit.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Title.") var title: String
        @Option(help: "crisis_exercise, account_review, restore_test, backup_review, policy_review, audit, other.")
        var kind = "other"
        @Option(help: "Interval in months.") var every: Int
        @Option(help: "Next due day (YYYY-MM-DD).") var next: String
        @Option(help: "E-mail reminded before the due day.") var owner: String?
        @Option(help: "Days before the due day for the reminder.") var remind = 30

        func run() async throws {
            guard let kind = ScheduleKind(rawValue: kind) else { throw CLIError("unknown kind \(self.kind)") }
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                let schedule = try await compliance.createSchedule(
                    ScheduleInput(
                        title: title, kind: kind, intervalMonths: every, nextDue: next, remindDays: remind,
                        ownerEmail: owner), in: scope)
                print(schedule.id.uuidString.lowercased())
            }
        }
    }

    struct Done: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record that a recurring audit was done.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Recurring audit id.") var schedule: String
        @Option(help: "Day it was done (YYYY-MM-DD).") var on: String
        @Option(help: "Note.") var note: String?

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let scope = try await target.scope(boot)
                let updated = try await compliance.recordRun(
                    try AuditCommand.uuid(schedule, "recurring audit"), doneOn: on, note: note, evidenceID: nil,
                    in: scope)
                print("\(updated.title): next due \(updated.nextDue)")
            }
        }
    }

    struct Indicators: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Measure every live indicator now.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                for reading in try await compliance.readings(in: try await target.scope(boot)) {
                    let value = reading.measurement.map { "\($0.value)" } ?? "—"
                    print("\(reading.definition.key.padding(toLength: 28, withPad: " ", startingAt: 0)) \(value)")
                }
            }
        }
    }

    struct Daily: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the daily compliance work now: measure indicators, store scores, send due reminders.",
            discussion: "`hygie serve` does it every morning at 06:10; reminders need hygie.smtp.*.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let done = try await ComplianceDailyJob.perform(service: compliance, smtp: boot.configuration.smtp)
                print(
                    "\(done.scored) open assessment(s) scored, \(done.reminded) reminder(s) sent"
                        + (boot.configuration.smtp == nil ? " (no SMTP relay configured)" : ""))
            }
        }
    }

    struct Fleet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scores per establishment and theme (instance administrator's view of every establishment).")
        @OptionGroup var common: CommonOptions
        @Option(help: "Framework id, URN or reference.") var framework = "CaRE-D2"

        func run() async throws {
            try await AuditCommand.run(common) { boot, compliance in
                let found = try await compliance.findFramework(framework)
                guard let any = try await boot.tenancy.establishments(visibleTo: User.ID(), isInstanceAdmin: true).first
                else { throw CLIError("no establishment yet") }
                let scope = try await EstablishmentOption.scope(any.id.uuidString, boot)
                let view = try await compliance.fleet(framework: found.id, in: scope)
                print(
                    "establishment                       score   "
                        + view.themeNames.map { String($0.prefix(6)) }.joined(separator: "   "))
                for row in view.rows {
                    print(
                        row.establishment.padding(toLength: 34, withPad: " ", startingAt: 0) + " "
                            + AuditCommand.percent(row.score) + " "
                            + row.themes.map(AuditCommand.percent).joined(separator: " "))
                }
            }
        }
    }
}

/// Peak resident memory of this process (bytes), for `--stats`.
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}
