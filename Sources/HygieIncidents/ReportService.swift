import FluentKit
import Foundation
public import HygieCore
public import HygieIntel
public import HygieStorage
import MailTriage
import SQLKit
import STIX

/// Staff reports and the triage of reported e-mails, for one instance. Every member may report; the security
/// team reads, decides and answers. Reports of one campaign share a cluster, and an analyst's decision on a
/// cluster applies to the reports that arrive later.
public struct ReportService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock
    let indicators: IndicatorFeed?
    let recognizer: (any SimulationRecognizer)?
    /// Largest message accepted (upload, API, SMTP), in bytes.
    public let maximumMessageBytes: Int

    /// Read reports, decide verdicts, change settings.
    static let analysts: Set<Role> = [.admin, .rssi, .analyst]
    /// Reports of one campaign arriving within this window join its cluster.
    static let clusterWindow: Int64 = 14 * 86_400_000

    public init(
        database: DatabaseService, audit: AuditTrail, clock: any HygieClock, indicators: IndicatorFeed? = nil,
        recognizer: (any SimulationRecognizer)? = nil, maximumMessageBytes: Int = 30 << 20
    ) {
        self.database = database
        self.audit = audit
        self.clock = clock
        self.indicators = indicators
        self.recognizer = recognizer
        self.maximumMessageBytes = maximumMessageBytes
    }

    var sql: any SQLDatabase { database.sql }

    // MARK: Settings

    public func settings(in scope: TenantScope) async throws -> ReportSettings {
        try scope.require(Self.analysts)
        return try await storedSettings(scope.establishmentID)
    }

    func storedSettings(_ establishment: Establishment.ID) async throws -> ReportSettings {
        var settings = ReportSettings()
        if let row = try await sql.raw(
            "SELECT * FROM inc_settings WHERE establishment_id = \(bind: establishment.uuid)"
        ).first() {
            settings.protectedDomains = try row.decode(column: "protected_domains", as: String.self)
                .split(separator: "\n").map(String.init)
            settings.notifyReporters = try row.decode(column: "notify_reporters", as: Bool.self)
        }
        settings.reportAddresses = try await sql.raw(
            """
            SELECT address FROM inc_report_addresses WHERE establishment_id = \(bind: establishment.uuid) \
            ORDER BY address
            """
        ).all().map { try $0.decode(column: "address", as: String.self) }
        return settings
    }

    public func updateSettings(_ settings: ReportSettings, in scope: TenantScope) async throws {
        try scope.require([.admin, .rssi])
        let domains = try settings.protectedDomains.map { try Self.domain($0) }.filter { !$0.isEmpty }
        let addresses = try settings.reportAddresses.map { try Self.address($0) }.filter { !$0.isEmpty }
        guard domains.count <= 200, addresses.count <= 20 else {
            throw IncidentsError.invalid("at most 200 protected domains and 20 report addresses")
        }
        let establishment = scope.establishmentID.uuid
        try await audit.recording(
            AuditEntry(
                action: "reports.settings", objectType: "report_settings", objectID: nil,
                summary: "triage settings: \(domains.count) protected domains, \(addresses.count) report addresses",
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            for address in addresses {
                if let owner = try await db.raw(
                    "SELECT establishment_id FROM inc_report_addresses WHERE address = \(bind: address)"
                ).first(), try owner.decode(column: "establishment_id", as: UUID.self) != establishment {
                    throw IncidentsError.invalid("\(address) already receives another establishment's reports")
                }
            }
            try await db.raw("DELETE FROM inc_settings WHERE establishment_id = \(bind: establishment)").run()
            try await db.raw(
                """
                INSERT INTO inc_settings (establishment_id, protected_domains, notify_reporters, updated_at) VALUES \
                (\(bind: establishment), \(bind: domains.joined(separator: "\n")), \(bind: settings.notifyReporters), \
                \(bind: clock.now().milliseconds))
                """
            ).run()
            try await db.raw("DELETE FROM inc_report_addresses WHERE establishment_id = \(bind: establishment)").run()
            for address in addresses {
                try await db.raw(
                    "INSERT INTO inc_report_addresses (address, establishment_id) VALUES (\(bind: address), \(bind: establishment))"
                ).run()
            }
        }
    }

    /// The establishment a report address belongs to (the inbound SMTP listener's routing).
    public func establishment(forReportAddress address: String) async throws -> Establishment.ID? {
        try await sql.raw(
            "SELECT establishment_id FROM inc_report_addresses WHERE address = \(bind: address.lowercased())"
        ).first().map { Establishment.ID(try $0.decode(column: "establishment_id", as: UUID.self)) }
    }

    static func domain(_ text: String) throws -> String {
        let domain = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard
            domain.isEmpty
                || (domain.count <= 253 && domain.contains(".")
                    && domain.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }))
        else { throw IncidentsError.invalid("\"\(text)\" is not a domain name") }
        return domain
    }

    static func address(_ text: String) throws -> String {
        let address = text.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = address.split(separator: "@")
        guard address.isEmpty || (parts.count == 2 && parts[1].contains(".") && !address.contains(" ")) else {
            throw IncidentsError.invalid("\"\(text)\" is not an e-mail address")
        }
        return address
    }

    // MARK: Submitting

    /// Stores a report. An e-mail report is read (.eml, .msg, a forward with the original attached, Microsoft's
    /// report format, or pasted headers), each original triaged (threat intelligence and the establishment's
    /// simulations included) and stored as one report; other reports are stored for the security team.
    public func submit(_ submission: ReportSubmission, in scope: TenantScope) async throws -> [Report] {
        let description = submission.description.trimmingCharacters(in: .whitespacesAndNewlines)
        guard description.count <= 4_000 else {
            throw IncidentsError.invalid("the description is longer than 4000 characters")
        }
        let reporterEmail = String(submission.reporter.email.trimmingCharacters(in: .whitespaces).prefix(254))
        let reporterName = String(submission.reporter.name.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200))
        let now = clock.now().milliseconds
        var rows: [ReportRow] = []
        if submission.kind == .email {
            guard let bytes = submission.message, !bytes.isEmpty else {
                throw IncidentsError.invalid("attach the message (.eml or .msg) or paste its headers")
            }
            guard bytes.count <= maximumMessageBytes else {
                throw IncidentsError.tooLarge(
                    "the message is \(bytes.count >> 20) MiB; at most \(maximumMessageBytes >> 20) MiB are accepted")
            }
            let envelope: MailTriage.MailMessage
            do {
                envelope = try ReportedMail.read(bytes, limits: MailLimits(maximumSize: maximumMessageBytes))
            } catch {
                throw IncidentsError.invalid(error.description)
            }
            let report = ReportedMail(envelope)
            let triage = try await triageSettings(scope.establishmentID)
            for original in report.originals.prefix(10) {
                let analysis = MailAnalysis(original, settings: triage)
                let hits = await intelligence(analysis.observables, establishment: scope.establishmentID)
                let rid =
                    analysis.simulationIDs.isEmpty
                    ? nil
                    : try await recognizer?.recognise(
                        rids: analysis.simulationIDs, establishment: scope.establishmentID)
                let outcome = analysis.verdict(intelligence: hits, simulation: rid != nil)
                rows.append(
                    ReportRow(
                        subject: String(analysis.subject.prefix(500)),
                        sender: String((analysis.from?.address ?? "").prefix(254)),
                        category: report.category?.rawValue ?? "", verdict: outcome.verdict, score: outcome.score,
                        reasons: outcome.reasons, analysis: analysis,
                        hits: Dictionary(
                            hits.map { ("\($0.key.kind.rawValue) \($0.key.value)", $0.value) },
                            uniquingKeysWith: { a, _ in a }),
                        rid: rid ?? "", message: bytes))
            }
        } else {
            rows.append(
                ReportRow(
                    subject: "", sender: "", category: "", verdict: nil, score: 0, reasons: [], analysis: nil,
                    hits: [:],
                    rid: "", message: nil))
        }
        let establishment = scope.establishmentID.uuid
        let prepared = rows
        return try await audit.recording(
            AuditEntry(
                action: "report.submit", objectType: "report", objectID: nil,
                summary:
                    "\(submission.kind.rawValue) report by \(reporterEmail.isEmpty ? "an anonymous member" : reporterEmail)"
                    + (rows.first?.verdict.map { ": \($0.rawValue)" } ?? ""),
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            var stored: [Report] = []
            for row in prepared {
                var verdict = row.verdict
                var clusterID: Int64?
                var decidedBy = ""
                var note = ""
                let clusterKey = row.analysis?.clusterKey ?? ""
                if !clusterKey.isEmpty, verdict != .simulation,
                    let first = try await db.raw(
                        """
                        SELECT id, cluster_id, verdict, decided_by, note FROM inc_reports WHERE \
                        establishment_id = \(bind: establishment) AND cluster_key = \(bind: clusterKey) \
                        AND created_at >= \(bind: now - Self.clusterWindow) ORDER BY id LIMIT 1
                        """
                    ).first()
                {
                    let firstID = try first.decode(column: "id", as: Int64.self)
                    clusterID = try first.decode(column: "cluster_id", as: Int64?.self) ?? firstID
                    // The campaign's decision, when an analyst made one, answers the newcomers too.
                    let decider = try first.decode(column: "decided_by", as: String.self)
                    if !decider.isEmpty,
                        let decided = Verdict(rawValue: try first.decode(column: "verdict", as: String.self))
                    {
                        verdict = decided
                        decidedBy = decider
                        note = try first.decode(column: "note", as: String.self)
                    }
                }
                let status: ReportStatus = verdict == .simulation || verdict == .safe ? .closed : .open
                let inserted = try await db.raw(
                    """
                    INSERT INTO inc_reports (establishment_id, kind, channel, reporter_email, reporter_name, \
                    reporter_user_id, reporter_language, description, subject, sender, category, verdict, \
                    automatic_verdict, score, reasons, analysis, intel_hits, cluster_id, cluster_key, fingerprint, \
                    simulation_rid, status, note, decided_by, decided_at, message, created_at) VALUES \
                    (\(bind: establishment), \(bind: submission.kind.rawValue), \(bind: submission.channel.rawValue), \
                    \(bind: reporterEmail), \(bind: reporterName), \(bind: submission.reporter.userID?.uuid), \
                    \(bind: submission.reporter.language), \(bind: description), \(bind: row.subject), \
                    \(bind: row.sender), \(bind: row.category), \(bind: verdict?.rawValue ?? ""), \
                    \(bind: row.verdict?.rawValue ?? ""), \(bind: Int64(row.score)), \(bind: Self.json(row.reasons)), \
                    \(bind: row.analysis.map(Self.json) ?? ""), \(bind: Self.json(row.hits)), \(bind: clusterID), \
                    \(bind: clusterKey), \(bind: row.analysis?.fingerprint ?? ""), \(bind: row.rid), \
                    \(bind: status.rawValue), \(bind: note), \(bind: decidedBy), \(bind: decidedBy.isEmpty ? nil : now), \
                    \(bind: row.message.map { Data($0) }), \(bind: now)) RETURNING id
                    """
                ).first()
                let id = try inserted?.decode(column: "id", as: Int64.self) ?? 0
                guard let report = try await Self.reports(db, "id = \(bind: id)", establishment: establishment).first
                else {
                    throw IncidentsError.notFound("report")
                }
                stored.append(report)
            }
            return stored
        }
    }

    struct ReportRow: Sendable {
        var subject: String
        var sender: String
        var category: String
        var verdict: Verdict?
        var score: Int
        var reasons: [TriageReason]
        var analysis: MailAnalysis?
        var hits: [String: String]
        var rid: String
        var message: [UInt8]?
    }

    /// The establishment's own domains (from the threat-intelligence settings) and its protected ones.
    func triageSettings(_ establishment: Establishment.ID) async throws -> TriageSettings {
        let own =
            try await sql.raw(
                "SELECT own_domains FROM intel_settings WHERE establishment_id = \(bind: establishment.uuid)"
            ).first().map {
                try $0.decode(column: "own_domains", as: String.self).split(separator: ",").map(String.init)
            } ?? []
        return TriageSettings(
            ownDomains: own, protectedDomains: try await storedSettings(establishment).protectedDomains)
    }

    /// Indicators shared with the establishment that name an observable (valid now, within its TLP reach).
    func intelligence(_ observables: [Observable], establishment: Establishment.ID) async -> [Observable: String] {
        guard let indicators else { return [:] }
        if indicators.current.revision < 0 { _ = try? await indicators.refresh() }
        let snapshot = indicators.current
        guard !snapshot.isEmpty else { return [:] }
        let now = clock.now().milliseconds
        var hits: [Observable: String] = [:]
        for observable in observables {
            let kind: IOCFieldKind? =
                switch observable.kind {
                case .url: .url
                case .domain: .domain
                case .ipv4, .ipv6: .ip
                case .email: .email
                case .md5, .sha1, .sha256: .hash
                case .filename: nil
                }
            guard let kind,
                let entry = snapshot.match(kind, observable.value, establishment: establishment.uuid, now: now).first
            else { continue }
            hits[observable] = "\(entry.name) (TLP:\(entry.tlp.rawValue.uppercased()))"
        }
        return hits
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }
}

extension ReportService {
    /// The member behind a user id (an API token's owner); an anonymous reporter without one.
    public func reporter(user: User.ID?, establishment: Establishment.ID) async throws -> Reporter {
        guard let user,
            let row = try await sql.raw("SELECT email FROM core_users WHERE id = \(bind: user.uuid)").first()
        else { return Reporter(email: "", name: "") }
        return try await reporter(
            try row.decode(column: "email", as: String.self), name: "", establishment: establishment)
    }

    /// The reporter behind an address: the member with that e-mail in the establishment (name, language), or
    /// the address alone.
    public func reporter(_ email: String, name: String, establishment: Establishment.ID) async throws -> Reporter {
        let address = email.trimmingCharacters(in: .whitespaces).lowercased()
        guard
            let row = try await sql.raw(
                """
                SELECT u.id, u.display_name, u.locale FROM core_users u JOIN core_memberships m ON m.user_id = u.id \
                WHERE lower(u.email) = \(bind: address) AND m.establishment_id = \(bind: establishment.uuid) \
                AND u.disabled = \(bind: false)
                """
            ).first()
        else { return Reporter(email: address, name: name) }
        return Reporter(
            email: address, name: try row.decode(column: "display_name", as: String.self),
            userID: User.ID(try row.decode(column: "id", as: UUID.self)),
            language: try row.decode(column: "locale", as: String.self))
    }
}
