import ArgumentParser
import Foundation
import HygieCore
import HygieDetection
import HygieStorage

/// Options shared by the detection commands: which establishment (id, FINESS or exact name).
struct EstablishmentOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "Establishment: id, FINESS number or exact name.")
    var establishment: String

    /// The scope the CLI works in: the operator of the machine acts as instance administrator.
    func scope(_ boot: Bootstrap, role: Role = .admin) async throws -> TenantScope {
        try await Self.scope(establishment, boot, role: role)
    }

    /// `role` other than admin: the privacy officer's commands act as `dpo` (and are audited as the CLI's).
    static func scope(_ establishment: String, _ boot: Bootstrap, role: Role = .admin) async throws -> TenantScope {
        let all = try await boot.tenancy.establishments(visibleTo: User.ID(), isInstanceAdmin: true)
        guard
            let found = all.first(where: {
                $0.id.uuidString.lowercased() == establishment.lowercased() || $0.finess?.value == establishment
                    || $0.name == establishment
            })
        else { throw CLIError("no establishment matches '\(establishment)'") }
        let actor = Actor(
            userID: nil, displayName: role == .admin ? "hygie cli" : "hygie cli (\(role.rawValue))",
            establishmentID: found.id, role: role, isInstanceAdmin: true, channel: "cli", requestID: nil,
            sourceAddress: nil)
        return TenantScope(establishmentID: found.id, role: role, actor: actor)
    }
}

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "List, show and handle detection alerts.",
        subcommands: [List.self, Show.self, Update.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Alerts, most recent activity first.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Comma-separated statuses: new, acknowledged, false_positive, escalated, closed.")
        var status: String?
        @Option(help: "Minimum severity: informational, low, medium, high, critical.")
        var severity: String?
        @Option(help: "How many.") var limit = 50
        @Flag(help: "JSON lines instead of a table.") var json = false

        func run() async throws {
            let boot = try Bootstrap(configuration: try await common.load())
            try await boot.withDatabase {
                try await boot.prepareSchema()
                var filter = AlertFilter()
                if let status {
                    filter.statuses = try status.split(separator: ",").map {
                        guard let value = AlertStatus(rawValue: String($0)) else {
                            throw CLIError("unknown status \($0)")
                        }
                        return value
                    }
                }
                if let severity {
                    guard let value = Severity(rawValue: severity) else {
                        throw CLIError("unknown severity \(severity)")
                    }
                    filter.minimumSeverity = value
                }
                let page = try await boot.detection.alerts(
                    in: try await target.scope(boot), filter: filter, limit: limit)
                for alert in page.alerts {
                    if json {
                        print(Self.json(alert))
                    } else {
                        print(
                            [
                                alert.id.uuidString.lowercased(), alert.severity.rawValue, alert.status.rawValue,
                                String(alert.count), alert.host ?? "-", alert.user ?? "-",
                                "\(alert.ruleTitle) (\(alert.ruleAuthor ?? "?"))",
                            ].joined(separator: "\t"))
                    }
                }
            }
        }

        static func json(_ alert: Alert) -> String {
            let object: [String: Any] = [
                "id": alert.id.uuidString.lowercased(), "rule_id": alert.ruleID, "rule": alert.ruleTitle,
                "rule_author": alert.ruleAuthor ?? "", "severity": alert.severity.rawValue,
                "status": alert.status.rawValue, "count": alert.count, "host": alert.host ?? "",
                "user": alert.user ?? "",
                "kind": alert.kind, "techniques": alert.techniques,
                "first_seen": ISO8601DateFormatter().string(from: alert.firstSeen),
                "last_seen": ISO8601DateFormatter().string(from: alert.lastSeen),
            ]
            // try?: these values always serialise.
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One alert with its matched events.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Alert id.") var id: String

        func run() async throws {
            guard let uuid = UUID(uuidString: id) else { throw CLIError("not an alert id: \(id)") }
            let boot = try Bootstrap(configuration: try await common.load())
            try await boot.withDatabase {
                try await boot.prepareSchema()
                let scope = try await target.scope(boot)
                let alert = try await boot.detection.alert(uuid, in: scope)
                print(List.json(alert))
                for (matched, stored) in try await boot.detection.alertEvents(uuid, in: scope) {
                    print(
                        "  event \(matched.eventID): \(matched.matched.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
                    )
                    if let stored { print("    \(stored.raw.prefix(400))") }
                }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change the status of alerts, with a comment.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "New status.") var status: String
        @Option(help: "Comment added to each alert.") var comment: String?
        @Argument(help: "Alert ids.") var ids: [String]

        func run() async throws {
            guard let newStatus = AlertStatus(rawValue: status) else { throw CLIError("unknown status \(status)") }
            let uuids = try ids.map {
                guard let uuid = UUID(uuidString: $0) else { throw CLIError("not an alert id: \($0)") }
                return uuid
            }
            let boot = try Bootstrap(configuration: try await common.load())
            try await boot.withDatabase {
                try await boot.prepareSchema()
                try await boot.detection.updateAlerts(
                    uuids, status: newStatus, comment: comment, in: try await target.scope(boot))
                print("Updated \(uuids.count) alert(s).")
            }
        }
    }
}

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Import and list Sigma rules.", subcommands: [Import.self, List.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a folder, a .zip pack (e.g. a SigmaHQ release) or a rule file.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Folder, .zip or .yml file.") var path: String
        @Flag(help: "Into the shared catalog (all establishments) rather than this establishment's own rules.")
        var shared = false
        @Flag(help: "Enable the imported rules (by default a pack is imported disabled).") var enable = false

        func run() async throws {
            let files = try DetectionService.ruleFiles(at: path)
            let boot = try Bootstrap(configuration: try await common.load())
            try await boot.withDatabase {
                try await boot.prepareSchema()
                let report = try await boot.detection.importRules(
                    files: files, shared: shared, origin: (path as NSString).lastPathComponent, enable: enable,
                    in: try await target.scope(boot))
                print(
                    "\(files.count) file(s): \(report.added) added, \(report.updated) updated, \(report.unchanged) unchanged, \(report.refused.count) refused"
                )
                for line in report.refused.prefix(20) { print("  refused: \(line)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rules with their state and hits.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Flag(help: "Only enabled rules.") var enabled = false

        func run() async throws {
            let boot = try Bootstrap(configuration: try await common.load())
            try await boot.withDatabase {
                try await boot.prepareSchema()
                for rule in try await boot.detection.rules(in: try await target.scope(boot))
                where !enabled || rule.enabled {
                    print(
                        [
                            rule.enabled ? "on" : "off", rule.level.rawValue, String(rule.hits), rule.sigmaID,
                            rule.title,
                            rule.author ?? "",
                        ].joined(separator: "\t"))
                }
            }
        }
    }
}

struct SourcesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sources", abstract: "Log sources.", subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a log source; an HTTP source's ingest token is printed once.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Name.") var name: String
        @Option(help: "http or syslog.") var kind: String = "http"
        @Option(help: "Syslog sender: address, CIDR network or cn:CERTIFICATE-NAME.") var sender: String?
        @Option(help: "Alert when silent for longer (minutes).") var silentAfter: Int?

        func run() async throws {
            guard let sourceKind = LogSource.Kind(rawValue: kind) else { throw CLIError("kind is http or syslog") }
            let boot = try Bootstrap(configuration: try await common.load())
            try await boot.withDatabase {
                try await boot.prepareSchema()
                let (source, token) = try await boot.detection.createSource(
                    name: name, kind: sourceKind, sender: sender, expectedIntervalSeconds: silentAfter.map { $0 * 60 },
                    in: try await target.scope(boot))
                print("Created source \(source.id.uuidString.lowercased())")
                if let token { print("Ingest token (shown once): \(token)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sources with last-seen time and volume.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            let boot = try Bootstrap(configuration: try await common.load())
            try await boot.withDatabase {
                try await boot.prepareSchema()
                for source in try await boot.detection.sources(in: try await target.scope(boot)) {
                    let seen = source.lastSeenAt.map { ISO8601DateFormatter().string(from: $0) } ?? "never"
                    print(
                        [
                            source.name, source.kind.rawValue, source.sender ?? source.tokenPrefix ?? "", seen,
                            String(source.eventsTotal),
                        ]
                        .joined(separator: "\t"))
                }
            }
        }
    }
}

struct DetectionSettingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detection-settings",
        abstract: "Show or change an establishment's retention and alert notifications (webhook, e-mail).")
    @OptionGroup var common: CommonOptions
    @OptionGroup var target: EstablishmentOption
    @Option(help: "Webhook URL (empty string removes it); a new URL gets a new signing secret, printed once.")
    var webhookURL: String?
    @Option(help: "Comma-separated e-mail recipients (empty string removes them).") var email: String?
    @Option(help: "Notify at once from this severity; lower ones go into the hourly digest.") var notifyFrom: String?
    @Option(help: "Days raw events are kept.") var eventDays: Int?
    @Option(help: "Days alerts are kept.") var alertDays: Int?

    func run() async throws {
        let boot = try Bootstrap(configuration: try await common.load())
        try await boot.withDatabase {
            try await boot.prepareSchema()
            let scope = try await target.scope(boot)
            var settings = try await boot.detection.settings(in: scope)
            var secret: String?
            if webhookURL != nil || email != nil || notifyFrom != nil || eventDays != nil || alertDays != nil {
                if let webhookURL { settings.webhookURL = webhookURL.isEmpty ? nil : webhookURL }
                if let email { settings.emailRecipients = email.split(separator: ",").map(String.init) }
                if let notifyFrom {
                    guard let severity = Severity(rawValue: notifyFrom) else {
                        throw CLIError("unknown severity \(notifyFrom)")
                    }
                    settings.notifyMinimumSeverity = severity
                }
                if let eventDays { settings.eventRetentionDays = eventDays }
                if let alertDays { settings.alertRetentionDays = alertDays }
                secret = try await boot.detection.updateSettings(settings, in: scope)
                settings = try await boot.detection.settings(in: scope)
            }
            print(
                "event retention: \(settings.eventRetentionDays) days, alert retention: \(settings.alertRetentionDays) days"
            )
            print("webhook: \(settings.webhookURL ?? "none")")
            print(
                "e-mail: \(settings.emailRecipients.isEmpty ? "none" : settings.emailRecipients.joined(separator: ", "))"
            )
            print("notify at once from: \(settings.notifyMinimumSeverity.rawValue)")
            if let secret { print("Webhook signing secret (shown once): \(secret)") }
        }
    }
}
