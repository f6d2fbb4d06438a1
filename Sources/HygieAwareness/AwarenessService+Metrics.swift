public import AwarenessCore
import FluentKit
public import Foundation
public import HygieCore
public import HygieStorage
import RecordInput
import SQLKit

/// The figures of one campaign: counted over the people the message reached, clicks of mail scanners left out
/// (their count is given apart), departments only when at least five people were reached.
public struct CampaignReport: Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var status: String
    public var launchDate: Date
    public var difficulty: Int
    public var targets: Int
    public var errors: Int
    public var figures: CampaignFigures
    /// GoPhish's counts, scanner clicks included.
    public var raw: CampaignStats
    public var scannerHits: Int
    public var departments: [(name: String, figures: CampaignFigures)]
    public var purged: Bool

    public static func == (lhs: CampaignReport, rhs: CampaignReport) -> Bool {
        lhs.id == rhs.id && lhs.figures == rhs.figures
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// The establishment's programme at a glance.
public struct AwarenessOverview: Sendable {
    public var campaigns: [CampaignReport]
    /// People who clicked in at least two campaigns; nil for roles that may not see it (counts only, never names).
    public var repeatClickers: Int?
    public var training: TrainingSummary
}

extension AwarenessService {
    public func report(_ id: Int64, in scope: TenantScope) async throws -> CampaignReport {
        let row = try await campaignRow(id, in: scope)
        return try await report(row, scope: scope)
    }

    func outcomes(_ campaign: Int64, establishment: UUID) async throws -> (
        [RecipientOutcome], targets: Int, errors: Int, scanner: Int, raw: CampaignStats
    ) {
        let rows = try await sql.raw(
            """
            SELECT email, department, sent_at, opened_at, clicked_at, submitted_at, reported_at, failed, raw_status, \
            reported, scanner_hits FROM aw_results WHERE campaign_id = \(bind: campaign) AND establishment_id = \
            \(bind: establishment)
            """
        ).all()
        var outcomes: [RecipientOutcome] = []
        var errors = 0
        var scanner = 0
        var raw = CampaignStats()
        raw.total = rows.count
        func seconds(_ column: String, _ row: any SQLRow) throws -> Double? {
            try row.decode(column: column, as: Int64?.self).map { Double($0) / 1000 }
        }
        for row in rows {
            let rawStatus = try row.decode(column: "raw_status", as: Int.self)
            if rawStatus >= 1 { raw.sent += 1 }
            if rawStatus >= 2 { raw.opened += 1 }
            if rawStatus >= 3 { raw.clicked += 1 }
            if rawStatus >= 4 { raw.submittedData += 1 }
            if try row.decode(column: "reported", as: Bool.self) { raw.emailReported += 1 }
            if try row.decode(column: "failed", as: Bool.self) && rawStatus == 0 {
                errors += 1
                raw.error += 1
            }
            scanner += try row.decode(column: "scanner_hits", as: Int.self)
            outcomes.append(
                RecipientOutcome(
                    email: try row.decode(column: "email", as: String.self),
                    department: try row.decode(column: "department", as: String.self),
                    sentAt: try seconds("sent_at", row), openedAt: try seconds("opened_at", row),
                    clickedAt: try seconds("clicked_at", row), submittedAt: try seconds("submitted_at", row),
                    reportedAt: try seconds("reported_at", row)))
        }
        return (outcomes, rows.count, errors, scanner, raw)
    }

    func report(_ row: any SQLRow, scope: TenantScope) async throws -> CampaignReport {
        let id = try row.decode(column: "id", as: Int64.self)
        let data = try await outcomes(id, establishment: scope.establishmentID.uuid)
        let snapshot = try Self.decode(CampaignSnapshot.self, try row.decode(column: "snapshot", as: String.self))
        return CampaignReport(
            id: id, name: try row.decode(column: "name", as: String.self), status: try status(row),
            launchDate: Date(milliseconds: try row.decode(column: "launch_at", as: Int64.self)),
            difficulty: snapshot.template.difficulty, targets: data.targets, errors: data.errors,
            figures: CampaignMetrics.figures(data.0), raw: data.raw, scannerHits: data.scanner,
            departments: CampaignMetrics.byDepartment(data.0).map { (name: $0.0, figures: $0.1) },
            purged: try row.decode(column: "purged", as: Bool.self))
    }

    /// Every campaign's figures, oldest first (the trend), repeat clickers for the security team, training.
    public func overview(in scope: TenantScope) async throws -> AwarenessOverview {
        try scope.require(Self.readers)
        let est = scope.establishmentID.uuid
        let rows = try await sql.raw(
            "SELECT * FROM aw_campaigns WHERE establishment_id = \(bind: est) ORDER BY launch_at, id"
        ).all()
        var reports: [CampaignReport] = []
        for row in rows { reports.append(try await report(row, scope: scope)) }
        var repeatClickers: Int?
        if Self.managers.contains(scope.role) {
            let clicks = try await sql.raw(
                """
                SELECT campaign_id, email FROM aw_results WHERE establishment_id = \(bind: est) AND \
                clicked_at IS NOT NULL
                """
            ).all()
            var byCampaign: [Int64: Set<String>] = [:]
            for row in clicks {
                byCampaign[try row.decode(column: "campaign_id", as: Int64.self), default: []].insert(
                    try row.decode(column: "email", as: String.self))
            }
            repeatClickers = CampaignMetrics.repeatClickers(Array(byCampaign.values)).count
        }
        return AwarenessOverview(
            campaigns: reports, repeatClickers: repeatClickers,
            training: try await Self.trainingSummary(est, now: clock.now(), on: sql))
    }

    /// The campaigns' figures as CSV (one line per campaign; aggregates only, nothing about a person).
    public func campaignsCSV(in scope: TenantScope) async throws -> String {
        let overview = try await overview(in: scope)
        func rate(_ value: Double?) -> String { value.map { String(format: "%.1f", $0 * 100) } ?? "" }
        var lines = [
            "campaign,launch_date,difficulty,targets,delivered,opened,clicked,submitted,reported,"
                + "reported_before_clicking,click_rate_percent,submit_rate_percent,report_rate_percent,"
                + "minutes_to_first_report,median_minutes_to_report,scanner_clicks,errors"
        ]
        for report in overview.campaigns.reversed() {
            let figures = report.figures
            let fields: [String] = [
                CSV.field(report.name), report.launchDate.utcDay, String(report.difficulty), String(report.targets),
                String(figures.delivered), String(figures.opened), String(figures.clicked), String(figures.submitted),
                String(figures.reported), String(figures.reportedBeforeClicking), rate(figures.rate(figures.clicked)),
                rate(figures.rate(figures.submitted)), rate(figures.rate(figures.reported)),
                figures.timeToFirstReport.map { String(format: "%.0f", $0 / 60) } ?? "",
                figures.medianTimeToReport.map { String(format: "%.0f", $0 / 60) } ?? "", String(report.scannerHits),
                String(report.errors),
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    // MARK: Retention

    /// Deletes what points at a person once the programme's retention has passed: campaign results are made
    /// anonymous (department and times stay for the trends, since departments are only shown by groups of five),
    /// per-person events go, completed trainings go after the retention or 12 months, whichever is longer
    /// (the share of staff trained in 12 months needs them), expired personal links go.
    public func purge() async throws -> (campaigns: Int, results: Int, assignments: Int) {
        let now = now()
        var totals = (campaigns: 0, results: 0, assignments: 0)
        let establishments = try await sql.raw("SELECT DISTINCT establishment_id FROM aw_campaigns").all()
            .map { try $0.decode(column: "establishment_id", as: UUID.self) }
        let withAssignments = try await sql.raw("SELECT DISTINCT establishment_id FROM aw_assignments").all()
            .map { try $0.decode(column: "establishment_id", as: UUID.self) }
        for establishment in Set(establishments + withAssignments) {
            let programme = try await Self.programme(establishment, on: sql)
            let cutoff = now - Int64(programme.retentionMonths) * 30 * Self.day
            let trainingCutoff = now - Int64(max(programme.retentionMonths, 12)) * 30 * Self.day
            let done = try await database.transaction { db -> (Int, Int, Int) in
                let sql = db as! any SQLDatabase  // both drivers are SQL databases
                let campaigns = try await sql.raw(
                    """
                    SELECT id FROM aw_campaigns WHERE establishment_id = \(bind: establishment) AND purged = \
                    \(bind: false) AND COALESCE(completed_at, launch_at) < \(bind: cutoff)
                    """
                ).all().map { try $0.decode(column: "id", as: Int64.self) }
                var results = 0
                for campaign in campaigns {
                    results +=
                        try await sql.raw(
                            "SELECT COUNT(*) AS n FROM aw_results WHERE campaign_id = \(bind: campaign)"
                        ).first()?.decode(column: "n", as: Int.self) ?? 0
                    try await sql.raw(
                        """
                        UPDATE aw_results SET email = \(unsafeRaw: "'purged-' || CAST(id AS VARCHAR(20))"), \
                        first_name = '', last_name = '', position = '', role = '', last_error = NULL \
                        WHERE campaign_id = \(bind: campaign)
                        """
                    ).run()
                    try await sql.raw(
                        "DELETE FROM aw_events WHERE campaign_id = \(bind: campaign) AND result_id IS NOT NULL"
                    ).run()
                    try await sql.raw("UPDATE aw_campaigns SET purged = \(bind: true) WHERE id = \(bind: campaign)")
                        .run()
                }
                let assignments =
                    try await sql.raw(
                        """
                        SELECT COUNT(*) AS n FROM aw_assignments WHERE establishment_id = \(bind: establishment) AND \
                        completed_at IS NOT NULL AND completed_at < \(bind: trainingCutoff)
                        """
                    ).first()?.decode(column: "n", as: Int.self) ?? 0
                try await sql.raw(
                    """
                    DELETE FROM aw_assignments WHERE establishment_id = \(bind: establishment) AND \
                    completed_at IS NOT NULL AND completed_at < \(bind: trainingCutoff)
                    """
                ).run()
                return (campaigns.count, results, assignments)
            }
            totals.campaigns += done.0
            totals.results += done.1
            totals.assignments += done.2
            if done.0 > 0 || done.2 > 0 {
                try await audit.recording(
                    AuditEntry(
                        action: "awareness.purge", objectType: "aw_campaign", objectID: nil,
                        summary: "Retention (\(programme.retentionMonths) months): \(done.0) campaigns and \(done.1) "
                            + "results made anonymous, \(done.2) old trainings deleted",
                        establishmentID: Establishment.ID(establishment)),
                    by: Actor.system("awareness.retention"), in: database
                ) { _ in }
            }
        }
        try await sql.raw("DELETE FROM aw_learner_tokens WHERE expires_at < \(bind: now)").run()
        await tracking.forgetAll()
        return totals
    }
}

extension AwarenessService: IndicatorSource {
    public var indicators: [IndicatorDefinition] {
        [
            IndicatorDefinition(
                key: "awareness.trained-12m", unit: .percent, higherIsBetter: true,
                titleFR: "Personnel ayant suivi une formation de sensibilisation sur 12 mois",
                titleEN: "Staff who completed an awareness training in the last 12 months"),
            IndicatorDefinition(
                key: "awareness.report-rate", unit: .percent, higherIsBetter: true,
                titleFR: "Taux de signalement de la dernière simulation d'hameçonnage",
                titleEN: "Report rate of the latest phishing simulation"),
            IndicatorDefinition(
                key: "awareness.click-rate", unit: .percent, higherIsBetter: false,
                titleFR: "Taux de clic de la dernière simulation d'hameçonnage",
                titleEN: "Click rate of the latest phishing simulation"),
        ]
    }

    public func measure(_ key: String, for establishment: Establishment.ID) async throws -> IndicatorMeasurement? {
        let now = clock.now()
        switch key {
        case "awareness.trained-12m":
            let summary = try await Self.trainingSummary(establishment.uuid, now: now, on: sql)
            guard let share = summary.trainedShare else { return nil }
            return IndicatorMeasurement(key: key, value: share * 100, measuredAt: now, basis: summary.population)
        case "awareness.report-rate", "awareness.click-rate":
            guard
                let row = try await sql.raw(
                    """
                    SELECT id FROM aw_campaigns WHERE establishment_id = \(bind: establishment.uuid) AND launch_at < \
                    \(bind: now.milliseconds) ORDER BY launch_at DESC LIMIT 1
                    """
                ).first()
            else { return nil }
            let data = try await outcomes(
                try row.decode(column: "id", as: Int64.self), establishment: establishment.uuid)
            let figures = CampaignMetrics.figures(data.0)
            guard let rate = figures.rate(key == "awareness.report-rate" ? figures.reported : figures.clicked) else {
                return nil
            }
            return IndicatorMeasurement(key: key, value: rate * 100, measuredAt: now, basis: figures.delivered)
        default:
            return nil
        }
    }
}
