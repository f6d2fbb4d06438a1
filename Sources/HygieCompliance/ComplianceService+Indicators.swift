import ComplianceCore
import FluentKit
public import Foundation
public import HygieCore
public import HygieStorage
import SQLKit

extension ComplianceService {
    // MARK: Live indicators

    /// The compliance module's own indicator: the level of the establishment's latest Active Directory
    /// assessment (any level-scored framework).
    static let adLevel = IndicatorDefinition(
        key: "compliance.ad-level", unit: .level, higherIsBetter: true,
        titleFR: "Niveau de sécurité Active Directory (dernière évaluation)",
        titleEN: "Active Directory security level (latest assessment)")

    /// Every indicator offered by the modules of this instance.
    public var indicatorCatalog: [IndicatorDefinition] {
        ([Self.adLevel] + sources.flatMap(\.indicators)).sorted { $0.key < $1.key }
    }

    /// Measures `key` now, for one establishment; nil when no module offers it or it has no data yet.
    public func measure(_ key: String, for establishment: Establishment.ID) async throws -> IndicatorMeasurement? {
        if key == Self.adLevel.key { return try await adLevel(for: establishment) }
        for source in sources where source.indicators.contains(where: { $0.key == key }) {
            return try await source.measure(key, for: establishment)
        }
        return nil
    }

    func adLevel(for establishment: Establishment.ID) async throws -> IndicatorMeasurement? {
        guard
            let row = try await sql.raw(
                """
                SELECT a.* FROM comp_assessments a JOIN comp_frameworks f ON f.id = a.framework_id \
                WHERE a.establishment_id = \(bind: establishment.uuid) AND f.scoring = \(bind: ScoringMethod.levels.rawValue) \
                ORDER BY CASE WHEN a.status = \(bind: AssessmentStatus.closed.rawValue) THEN 0 ELSE 1 END, a.updated_at DESC
                """
            ).first()
        else { return nil }
        let assessment = try Self.assessment(row)
        let detail = try await compute(assessment, measure: false)
        guard let level = detail.overall.level, detail.overall.progress > 0 else { return nil }
        return IndicatorMeasurement(
            key: Self.adLevel.key, value: Double(level), measuredAt: assessment.closedAt ?? assessment.updatedAt,
            basis: detail.overall.applicable)
    }

    /// Every indicator for the scope's establishment, measured now; today's values are stored for trends and
    /// for scoring between measurements.
    public func readings(in scope: TenantScope) async throws -> [IndicatorReading] {
        try scope.require(Self.readers)
        return try await record(establishment: scope.establishmentID)
    }

    @discardableResult
    func record(establishment: Establishment.ID) async throws -> [IndicatorReading] {
        var readings: [IndicatorReading] = []
        let day = today().description
        for definition in indicatorCatalog {
            let measurement = try await measure(definition.key, for: establishment)
            readings.append(IndicatorReading(definition: definition, measurement: measurement))
            guard let measurement else { continue }
            try await sql.insert(into: "comp_indicator_values")
                .columns("establishment_id", "key", "day", "value", "basis", "measured_at")
                .values(
                    SQLBind(establishment.uuid), SQLBind(definition.key), SQLBind(day), SQLBind(measurement.value),
                    SQLBind(measurement.basis), SQLBind(measurement.measuredAt.milliseconds)
                )
                .onConflict(with: ["establishment_id", "key", "day"]) { conflict in
                    for column in ["value", "basis", "measured_at"] { conflict.set(excludedValueOf: column) }
                    return conflict
                }.run()
        }
        return readings
    }

    /// The latest stored value of each key (used when scoring without measuring live).
    func storedMeasurements(_ keys: Set<String>, for establishment: Establishment.ID) async throws
        -> [String: IndicatorMeasurement]
    {
        guard !keys.isEmpty else { return [:] }
        var result: [String: IndicatorMeasurement] = [:]
        for row in try await sql.raw(
            """
            SELECT key, value, basis, measured_at FROM comp_indicator_values \
            WHERE establishment_id = \(bind: establishment.uuid) AND key IN (\(SQLList(keys.sorted().map { SQLBind($0) }))) \
            ORDER BY day
            """
        ).all() {
            let key = try row.decode(column: "key", as: String.self)
            result[key] = IndicatorMeasurement(
                key: key, value: try row.decode(column: "value", as: Double.self),
                measuredAt: Date(milliseconds: try row.decode(column: "measured_at", as: Int64.self)),
                basis: try row.decode(column: "basis", as: Int?.self))
        }
        return result
    }

    /// Daily work for every establishment: measure and store indicators, then store the score of every open
    /// assessment (trends and fleet view).
    public func dailyRecord() async throws -> Int {
        var recorded = 0
        for row in try await sql.raw("SELECT id FROM core_establishments ORDER BY id").all() {
            let establishment = Establishment.ID(try row.decode(column: "id", as: UUID.self))
            try await record(establishment: establishment)
            for assessmentRow in try await sql.raw(
                """
                SELECT * FROM comp_assessments WHERE establishment_id = \(bind: establishment.uuid) \
                AND status <> \(bind: AssessmentStatus.closed.rawValue)
                """
            ).all() {
                try await recordScore(of: try Self.assessment(assessmentRow))
                recorded += 1
            }
        }
        return recorded
    }

    func recordScore(of assessment: Assessment) async throws {
        let detail = try await compute(assessment, measure: false)
        let day = today().description
        try await Self.recordScore(detail, day: day, on: sql)
    }

    // MARK: Fleet

    /// Scores per establishment and theme over the coordinator's region (every establishment for the instance
    /// administrator): the latest assessment of `framework` in each, with a weekly trend. Aggregates only.
    public func fleet(framework frameworkID: UUID, weeks: Int = 12, in scope: TenantScope) async throws -> FleetView {
        try scope.require([.coordinator, .admin])
        let summary = try await frameworkSummary(frameworkID)
        let framework = try await framework(frameworkID)
        let themes = framework.nodes.filter { $0.depth == 1 && !$0.assessable }
        var regionFilter: SQLQueryString = ""
        if scope.role == .coordinator {
            guard
                let region = try await sql.raw(
                    "SELECT region_id FROM core_establishments WHERE id = \(bind: scope.establishmentID.uuid)"
                ).first()?.decode(column: "region_id", as: UUID?.self) ?? nil
            else {
                return FleetView(framework: summary, themeNames: [], rows: [], weeks: [])
            }
            regionFilter = " AND region_id = \(bind: region)"
        }
        let today = today()
        let weekEnds = (0..<weeks).reversed().map { today.adding(days: -7 * $0) }
        var rows: [FleetRow] = []
        for establishment in try await sql.raw(
            "SELECT id, name FROM core_establishments WHERE kind <> \(bind: EstablishmentKind.authority.rawValue)"
                + regionFilter + " ORDER BY name"
        ).all() {
            let id = try establishment.decode(column: "id", as: UUID.self)
            var row = FleetRow(
                establishmentID: .init(id), establishment: try establishment.decode(column: "name", as: String.self),
                themes: themes.map { _ in nil }, trend: weekEnds.map { _ in nil })
            if let latest = try await sql.raw(
                """
                SELECT * FROM comp_assessments WHERE establishment_id = \(bind: id) AND framework_id = \(bind: frameworkID) \
                ORDER BY updated_at DESC
                """
            ).first() {
                let assessment = try Self.assessment(latest)
                row.assessmentID = assessment.id
                row.status = assessment.status
                row.updatedAt = assessment.updatedAt
                let history = try await sql.raw(
                    """
                    SELECT day, score, progress, level, themes FROM comp_score_history WHERE establishment_id = \(bind: id) \
                    AND assessment_id = \(bind: assessment.id) AND day >= \(bind: weekEnds.first!.adding(days: -7).description) \
                    ORDER BY day
                    """
                ).all()
                var points: [(DayStamp, Double?)] = []
                for point in history {
                    if let day = DayStamp(try point.decode(column: "day", as: String.self)) {
                        points.append((day, try point.decode(column: "score", as: Double?.self)))
                    }
                }
                row.trend = weekEnds.map { end in points.last { $0.0 <= end }?.1 }
                if let last = history.last {
                    row.score = try last.decode(column: "score", as: Double?.self)
                    row.progress = try last.decode(column: "progress", as: Double.self)
                    row.level = try last.decode(column: "level", as: Int?.self)
                    let values = try JSONDecoder().decode(
                        [String: Double].self, from: Data(try last.decode(column: "themes", as: String.self).utf8))
                    row.themes = themes.map { values[$0.urn] }
                }
            }
            rows.append(row)
        }
        return FleetView(
            framework: summary,
            themeNames: themes.map { "\($0.refID ?? "") \($0.name ?? "")".trimmingCharacters(in: .whitespaces) },
            rows: rows, weeks: weekEnds.map(\.description))
    }
}
