import Foundation
import HygieCore
import HygieMail
import HygieTestSupport
import Logging
import MailTriage
import NIOConcurrencyHelpers
import Testing

@testable import HygieIncidents

@Suite struct ReportMailListenerTests {
    /// Runs the receiver on a free loopback port for the duration of `body`.
    func withListener(_ world: ReportWorld, _ body: (Int) async throws -> Void) async throws {
        let bound = NIOLockedValueBox<Int?>(nil)
        let listener = ReportMailListener(
            settings: ReportListenerSettings(host: "127.0.0.1", port: 0, hostname: "hygie.test"),
            service: world.reports, logger: Logger(label: "test"),
            onBound: { port in bound.withLockedValue { $0 = port } })
        let task = Task { try await listener.run() }
        defer { task.cancel() }
        let deadline = Date().addingTimeInterval(10)
        while bound.withLockedValue({ $0 }) == nil, Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let port = try #require(bound.withLockedValue { $0 })
        try await body(port)
    }

    func deliver(_ port: Int, _ envelopes: [Envelope]) async throws -> [DeliveryOutcome] {
        let client = SMTPClient(
            settings: SMTPSettings(host: "127.0.0.1", port: port, security: .none, from: "relay@chu-valbrune.fr"))
        let outcomes = NIOLockedValueBox<[DeliveryOutcome]>([])
        try await client.deliver(envelopes) { _, outcome in outcomes.withLockedValue { $0.append(outcome) } }
        return outcomes.withLockedValue { $0 }
    }

    @Test(arguments: TestDatabase.enabled)
    func reportsArriveThroughTheReportAddressOnly(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ReportWorld.make(db, maximumMessageBytes: 256 << 10)
            _ = try await world.staff()
            let forward = String(decoding: try corpus("forwarded-as-attachment.eml"), as: UTF8.self)
            let big =
                "From: a@chu-valbrune.fr\r\nSubject: big\r\n\r\n" + String(repeating: "0123456789\r\n", count: 30_000)
            try await withListener(world) { port in
                let outcomes = try await deliver(
                    port,
                    [
                        Envelope(
                            from: "infirmiere@chu-valbrune.fr", recipients: ["signalement@chu-valbrune.fr"],
                            data: forward),
                        Envelope(from: "x@chu-valbrune.fr", recipients: ["direction@chu-valbrune.fr"], data: forward),
                        Envelope(from: "x@chu-valbrune.fr", recipients: ["signalement@chu-valbrune.fr"], data: big),
                        Envelope(
                            from: "x@chu-valbrune.fr", recipients: ["signalement@chu-valbrune.fr"],
                            data: "just text\r\nwithout headers"),
                    ])

                #expect(outcomes.count == 4)
                #expect(outcomes[0] == .accepted)
                guard case .permanent(let notReport) = outcomes[1] else {
                    Issue.record("unknown recipient accepted")
                    return
                }
                #expect(notReport.contains("not a report address"))
                guard case .permanent(let tooBig) = outcomes[2], case .permanent(let notMail) = outcomes[3] else {
                    Issue.record("oversized or non-mail accepted: \(outcomes)")
                    return
                }
                #expect(tooBig.contains("larger than"))
                #expect(notMail.contains("not an e-mail message"))
            }

            let stored = try await world.reports.reports(in: world.scope)
            #expect(stored.count == 1)
            #expect(stored[0].channel == .smtp)
            #expect(stored[0].verdict == .malicious)
            // The forwarder is a member: the report is theirs, in their language.
            #expect(stored[0].reporterEmail == "infirmiere@chu-valbrune.fr")
            #expect(stored[0].reporterName == "Claire Martin")
        }
    }
}
