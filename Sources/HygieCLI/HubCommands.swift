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
            declarations, overview, broadcast, broadcasts, responses, simulate. On an establishment's instance (-e is \
            the establishment): join, status, snapshot, push, alerts, answer.
            """,
        subcommands: [
            Token.self, Members.self, Revoke.self, Declarations.self, Overview.self, Broadcast.self, Broadcasts.self,
            Responses.self, Simulate.self, Join.self, Status.self, Snapshot.self, Push.self, Alerts.self, Answer.self,
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
        @Option(help: "Skip this many members (1,000 are listed at a time).") var offset = 0

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let (total, members) = try await boot.hub.members(
                    in: try await target.scope(boot, role: .coordinator), search: search, filter: filter,
                    offset: offset, limit: 1000)
                if total > offset + members.count {
                    FileHandle.standardError.write(
                        Data("\(members.count) of \(total) members from \(offset); more with --offset\n".utf8))
                }
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

    struct Overview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The fleet: member counts, averages, theme bands, declarations, weekly trends (JSON).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                print(
                    try HubCommand.json(
                        try await boot.hub.overview(in: try await target.scope(boot, role: .coordinator))))
            }
        }
    }

    struct Broadcast: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Broadcast an alert to every member; prints its id.",
            discussion: """
                Products: "vendor product [>= start] [< end | <= end]" or a CPE 2.3 name with the same bounds. \
                Indicators: an address or network, domain, URL, e-mail, MD5/SHA-1/SHA-256, or a STIX pattern.
                """)
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Title.") var title: String
        @Option(help: "Summary and what to do.") var summary = ""
        @Option(help: "low, medium, high or critical.") var severity = "high"
        @Option(help: "clear, green, amber or amber+strict.") var tlp = "amber"
        @Option(name: .customLong("product"), help: "An affected product (repeat).") var products: [String] = []
        @Option(name: .customLong("indicator"), help: "An indicator (repeat).") var indicators: [String] = []
        @Option(name: .customLong("reference"), help: "A CVE or advisory (repeat).") var references: [String] = []
        @Option(help: "Answer expected by (ISO 8601: 2026-12-01T10:00:00Z or 2026-12-01).") var answerBy: String?

        func run() async throws {
            let deadline = try CasesCommand.date(answerBy)
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot, role: .coordinator)
                let broadcast = try await boot.hub.publish(
                    BroadcastDraft(
                        title: title, summary: summary, severity: severity, tlp: tlp, references: references,
                        productLines: products, indicatorLines: indicators, answerBy: deadline), in: scope)
                print(broadcast.uid)
            }
        }
    }

    struct Broadcasts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Broadcast alerts and their answer counts.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                print("id\tseverity\taffected\tunknown\tnot_affected\tno_answer\ttitle")
                for summary in try await boot.hub.broadcasts(in: try await target.scope(boot, role: .coordinator)) {
                    let counts = summary.counts
                    print(
                        "\(summary.id.uuidString)\t\(summary.broadcast.severity)\t\(counts["affected"] ?? 0)\t"
                            + "\(counts["unknown"] ?? 0)\t\(counts["not_affected"] ?? 0)\t"
                            + "\(max(0, summary.members - summary.answered))\t\(summary.broadcast.title)")
                }
            }
        }
    }

    struct Responses: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every member's answer to a broadcast.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Broadcast id (hygie hub broadcasts).") var broadcast: String
        @Option(help: "Only affected, unknown, not_affected or none.") var status: String?
        @Flag(help: "JSON.") var json = false

        func run() async throws {
            guard let id = UUID(uuidString: broadcast) else {
                throw ValidationError("\(broadcast) is not a broadcast id")
            }
            try await VulnCommand.run(common) { boot in
                let responses = try await boot.hub.responses(
                    to: id, status: status, in: try await target.scope(boot, role: .coordinator))
                if json {
                    print(try HubCommand.json(responses))
                    return
                }
                for response in responses.responses {
                    let answer = response.answer
                    print(
                        "\(response.statusKey)\t\(response.finess ?? "-")\t\(response.member)\t"
                            + (answer.map {
                                "\($0.automatic ? "auto" : "confirmed")\taffected=\($0.affectedAssets) "
                                    + "exposed=\($0.exposedAssets) unknown=\($0.unknownVersionAssets) "
                                    + "hits=\($0.indicatorHits)\t\($0.comment)"
                            } ?? ""))
                }
            }
        }
    }

    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fill this hub with fictional establishments: enrolment, a year of daily snapshots, today's "
                + "pushes and answers to a broadcast through the protocol; prints timings (JSON).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "How many establishments.") var establishments = 3000
        @Option(help: "Days of history.") var days = 365
        @Option(help: "Seed of the generator.") var seed: UInt64 = 1
        @Option(help: "Send the protocol requests to this running hub (http://127.0.0.1:PORT) instead of in process.")
        var hub: String?

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let simulation = HubSimulation(
                    hub: boot.hub, database: boot.database, clock: SystemClock(),
                    transport: hub == nil ? nil : HTTPTransport(), hubURL: hub ?? "http://127.0.0.1")
                let report = try await simulation.run(
                    establishments: establishments, days: days, seed: seed,
                    in: try await target.scope(boot, role: .coordinator))
                print(try HubCommand.json(report))
            }
        }
    }

    struct Alerts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Alerts received from the hub and this establishment's answers.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Flag(help: "JSON.") var json = false

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let alerts = try await boot.member(identity: try boot.identity()).alerts(
                    in: try await target.scope(boot))
                if json {
                    print(try HubCommand.json(alerts))
                    return
                }
                for alert in alerts {
                    let answer = alert.answer.map { "\($0.status.rawValue)\t\($0.automatic ? "auto" : "confirmed")" }
                    print("\(alert.broadcast.uid)\t\(answer ?? "unanswered\t-")\t\(alert.broadcast.title)")
                }
            }
        }
    }

    struct Answer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Confirm or correct this establishment's answer to an alert (sent with the next push).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "The alert's uid (hygie hub alerts).") var alert: String
        @Option(help: "affected, not_affected, unknown, or automatic to hand it back to Hygie.") var status: String
        @Option(help: "A comment for the coordinator.") var comment = ""

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let answer = try await boot.member(identity: try boot.identity()).answer(
                    alert: alert, status: status, comment: comment, in: try await target.scope(boot))
                print(
                    "\(answer.status.rawValue) (\(answer.automatic ? "automatic" : "confirmed")); sent with the next push"
                )
            }
        }
    }
}
