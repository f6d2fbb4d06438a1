public import HygieCore
import SQLKit

extension VulnService: IndicatorSource {
    public var indicators: [IndicatorDefinition] {
        [
            IndicatorDefinition(
                key: "vuln.kev-overdue-exposed", unit: .count, higherIsBetter: false,
                titleFR: "Vulnérabilités exploitées (KEV) en retard sur des actifs exposés",
                titleEN: "Known-exploited findings past due on exposed assets"),
            IndicatorDefinition(
                key: "vuln.overdue", unit: .count, higherIsBetter: false,
                titleFR: "Vulnérabilités ouvertes en retard", titleEN: "Open findings past due"),
        ]
    }

    /// Counts open findings past their due date; nil while the establishment has no asset in its inventory.
    public func measure(_ key: String, for establishment: Establishment.ID) async throws -> IndicatorMeasurement? {
        guard key == "vuln.kev-overdue-exposed" || key == "vuln.overdue" else { return nil }
        let id = establishment.uuid
        let assets =
            try await sql.raw("SELECT COUNT(*) AS n FROM vuln_assets WHERE establishment_id = \(bind: id)").first()?
            .decode(column: "n", as: Int.self) ?? 0
        guard assets > 0 else { return nil }
        let active: SQLQueryString =
            "f.status IN (\(bind: FindingStatus.open.rawValue), \(bind: FindingStatus.inProgress.rawValue))"
        let exposed: SQLQueryString =
            key == "vuln.kev-overdue-exposed"
            ? " AND r.kev AND a.internet_exposed" : ""
        let count =
            try await sql.raw(
                """
                SELECT COUNT(*) AS n FROM vuln_findings f JOIN vuln_assets a ON a.id = f.asset_id \
                JOIN vuln_records r ON r.id = f.record_id \
                WHERE f.establishment_id = \(bind: id) AND f.due_on < \(bind: today()) AND
                """ + " " + active + exposed
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        return IndicatorMeasurement(key: key, value: Double(count), measuredAt: clock.now(), basis: assets)
    }
}
