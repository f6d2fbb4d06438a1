import ArgumentParser
import AwarenessCore
import Foundation
import HygieAwareness
import HygieCore
import HygieStorage

/// `hygie token create`: an API token for a member, e.g. the key a GoPhish client uses.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create API tokens (the secret is printed once).", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token for a member of an establishment, with their role or a lower one.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "E-mail address of the member the token acts for.") var user: String
        @Option(help: "Name of the token (what uses it).") var name: String
        @Option(help: "Role of the token (default: the member's).") var role: String?
        @Option(help: "Days before the token expires (default: never).") var days: Int?

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let admin = try await target.scope(boot)
                let identity = try boot.identity()
                guard
                    let member = try await identity.members(in: admin).first(where: {
                        $0.user.email.lowercased() == user.lowercased()
                    })
                else { throw CLIError("\(user) is not a member of this establishment") }
                let actor = Actor(
                    userID: member.user.id, displayName: "\(member.user.email) (hygie cli)",
                    establishmentID: admin.establishmentID, role: member.role, channel: "cli", requestID: nil,
                    sourceAddress: nil)
                let scope = try await identity.scope(for: admin.establishmentID, actor: actor)
                let created = try await identity.createToken(
                    name: name, role: role ?? member.role.rawValue, expiresInDays: days, in: scope)
                print(created.secret)
            }
        }
    }
}

/// `hygie awareness …`: the programme declaration, target groups, campaigns and sending.
struct AwarenessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "awareness",
        abstract: "Phishing simulation: programme, groups, campaigns, sending (templates and pages: the /api/ API).",
        subcommands: [
            Programme.self, Groups.self, ImportGroup.self, Campaigns.self, Show.self, Complete.self, Send.self,
        ])

    struct Programme: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Show or record the programme: when staff and their representatives were informed, who approved, retention."
        )
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Day staff were informed (YYYY-MM-DD).") var informedOn: String?
        @Option(help: "Day staff representatives (CSE) were informed and consulted (YYYY-MM-DD).")
        var representativesOn: String?
        @Option(help: "Who approved the programme (name, function).") var approver: String?
        @Option(help: "Months per-person results are kept (1–36).") var retentionMonths: Int?

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                var programme = try await boot.awareness.programme(in: scope)
                if informedOn != nil || representativesOn != nil || approver != nil || retentionMonths != nil {
                    programme.informedOn = informedOn ?? programme.informedOn
                    programme.representativesOn = representativesOn ?? programme.representativesOn
                    programme.approver = approver ?? programme.approver
                    programme.retentionMonths = retentionMonths ?? programme.retentionMonths
                    programme = try await boot.awareness.setProgramme(programme, in: scope)
                }
                print("informed on:        \(programme.informedOn ?? "-")")
                print("representatives on: \(programme.representativesOn ?? "-")")
                print("approver:           \(programme.approver ?? "-")")
                print("retention:          \(programme.retentionMonths) months")
            }
        }
    }

    struct Groups: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Target groups and their sizes.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                for group in try await boot.awareness.groups(in: try await target.scope(boot)) {
                    print("\(group.id)\t\(group.name)\t\(group.targets.count) targets")
                }
            }
        }
    }

    struct ImportGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-group",
            abstract:
                "Create a group (or replace a group's members) from a CSV file: GoPhish columns or Prénom;Nom;Courriel;Fonction;Service;Rôle;Langue."
        )
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Group name.") var name: String
        @Argument(help: "CSV file.") var file: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                let existing = try await boot.awareness.groups(in: scope).first { $0.name == name }
                let group = try await boot.awareness.importGroup(
                    id: existing?.id, name: name, csv: Array(data), in: scope)
                print("\(group.name): \(group.targets.count) targets")
            }
        }
    }

    struct Campaigns: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Campaigns, newest first, with GoPhish's counts.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                for campaign in try await boot.awareness.campaignSummaries(in: try await target.scope(boot)) {
                    let stats = campaign.stats
                    print(
                        "\(campaign.id)\t\(campaign.name)\t\(campaign.status)\t\(stats.total) targets, \(stats.sent) sent, "
                            + "\(stats.opened) opened, \(stats.clicked) clicked, \(stats.submittedData) submitted, "
                            + "\(stats.emailReported) reported, \(stats.error) errors")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A campaign's results and timeline.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Campaign id.") var id: Int64

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let campaign = try await boot.awareness.campaign(id, in: try await target.scope(boot))
                print(
                    "\(campaign.name) — \(campaign.status), launched \(AwarenessService.timestamp(campaign.launchDate))"
                )
                print("informed on \(campaign.informedOn), approved by \(campaign.approver)")
                for result in campaign.results {
                    print("\(result.id)\t\(result.email)\t\(result.status)\(result.reported ? "\treported" : "")")
                }
                for event in campaign.timeline {
                    print(
                        "\(AwarenessService.timestamp(event.time))\t\(event.message)\t\(event.email)"
                            + (event.scanner ? "\t(scanner)" : ""))
                }
            }
        }
    }

    struct Complete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a campaign: nothing more is sent, links answer 404.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Campaign id.") var id: Int64

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let campaign = try await boot.awareness.complete(id, in: try await target.scope(boot))
                print("\(campaign.name): \(campaign.status)")
            }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send the messages that are due now, once (what `hygie serve` does every second).")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print how long it took and the rate.") var stats = false

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let start = ContinuousClock.now
                var total = SendRound()
                while true {
                    let round = try await boot.awareness.sendDue()
                    total.claimed += round.claimed
                    total.sent += round.sent
                    total.retried += round.retried
                    total.failed += round.failed
                    if round.claimed < boot.awareness.configuration.batchSize { break }
                }
                print("\(total.sent) sent, \(total.retried) to retry, \(total.failed) failed")
                if stats {
                    let elapsed = ContinuousClock.now - start
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    print(String(format: "%.2f s, %.0f messages/s", seconds, Double(total.sent) / max(seconds, 1e-9)))
                }
            }
        }
    }
}
