import ArgumentParser
import FederationCore
import Foundation
import HygieCore
import HygieFederation

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub", abstract: "Federation: this instance as a regional hub, or an establishment joining one.",
        discussion: """
            On the hub (-e is the coordinating establishment, e.g. the regional agency): token, members, revoke, \
            declarations. On an establishment's instance (-e is the establishment): join, status, snapshot, push.
            """,
        subcommands: [
            Token.self, Members.self, Revoke.self, Declarations.self, Join.self, Status.self, Snapshot.self, Push.self,
        ])

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A single-use enrolment token for one establishment (printed once).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Which establishment it is for (shown in the member list).") var label: String
        @Option(help: "Days before it expires (1–90).") var days = 7

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let enrolment = try await boot.hub.createEnrolment(
                    label: label, days: days, in: try await target.scope(boot, role: .coordinator))
                print(enrolment.token)
            }
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Member establishments and their latest figures.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Flag(help: "JSON, with each member's latest figures.") var json = false
        @Option(help: "Only members whose name or FINESS contains this.") var search = ""
        @Option(help: "stale (no snapshot for 48 h) or revoked.") var filter = ""

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let (_, members) = try await boot.hub.members(
                    in: try await target.scope(boot, role: .coordinator), search: search, filter: filter,
                    limit: 1000)
                if json {
                    print(try HubCommand.json(members))
                    return
                }
                for member in members {
                    let score = member.values["compliance.average"].map { String(format: "%.0f %%", $0) } ?? "—"
                    let seen = member.lastSnapshotAt.map { ISO8601DateFormatter().string(from: $0) } ?? "never"
                    print(
                        "\(member.id.uuidString)\t\(member.status)\t\(member.finess ?? "-")\t\(member.name)\t\(score)\t\(seen)"
                    )
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop accepting a member's pushes.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Member id.") var member: String

        func run() async throws {
            guard let id = UUID(uuidString: member) else { throw ValidationError("\(member) is not a member id") }
            try await VulnCommand.run(common) { boot in
                try await boot.hub.revoke(id, in: try await target.scope(boot, role: .coordinator))
                print("member \(member) revoked")
            }
        }
    }

    struct Declarations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Declaration copies received from the members.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                for entry in try await boot.hub.declarations(in: try await target.scope(boot, role: .coordinator)) {
                    let due = entry.copy.dueAt.map { ISO8601DateFormatter().string(from: $0) } ?? "-"
                    print(
                        "\(entry.member)\t\(entry.copy.regime)\t\(entry.copy.status)\t\(due)\t\(entry.copy.incidentType)\t"
                            + (entry.copy.title ?? "(TLP:\(entry.copy.tlp.uppercased()))"))
                }
            }
        }
    }

    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join a hub with an enrolment token; the first push follows at once.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "The hub's address (https://…; http only on this machine).") var hub: String
        @Option(help: "The enrolment token the coordinator gave.") var token: String

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let link = try await boot.member(identity: try boot.identity()).join(
                    hub: hub, token: token, in: try await target.scope(boot))
                print(
                    "joined \(link.hubURL) as member \(link.memberID.uuidString); \(link.pending) pushes pending"
                        + (link.lastError.isEmpty ? "" : " (\(link.lastError))"))
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "This establishment's link to its hub.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                guard
                    let link = try await boot.member(identity: try boot.identity()).link(
                        in: try await target.scope(boot))
                else { throw CLIError("this establishment has not joined a hub") }
                print(try HubCommand.json(link))
            }
        }
    }

    struct Snapshot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What this establishment would push now (JSON).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                print(
                    try HubCommand.json(
                        try await boot.member(identity: try boot.identity()).preview(in: try await target.scope(boot))))
            }
        }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Push now: a fresh snapshot, changed declarations, and whatever waited in the outbox.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let report = try await boot.member(identity: try boot.identity()).push(
                    in: try await target.scope(boot), force: true)
                print(
                    "\(report.delivered) delivered, \(report.pending) pending" + (report.error.map { " (\($0))" } ?? "")
                )
                if report.error != nil { throw ExitCode.failure }
            }
        }
    }
}
