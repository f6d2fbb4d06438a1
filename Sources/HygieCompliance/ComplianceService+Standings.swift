import Foundation
public import HygieCore
import SQLKit

extension ComplianceService {
    /// The latest assessment of each framework of an establishment, scored (without the requirement list), and
    /// every indicator measured now: the aggregates an establishment shares with its coordinating hub.
    public func standings(for establishment: Establishment.ID) async throws
        -> (frameworks: [AssessmentDetail], indicators: [IndicatorReading])
    {
        var details: [AssessmentDetail] = []
        var seen: Set<UUID> = []
        for row in try await sql.raw(
            """
            SELECT * FROM comp_assessments WHERE establishment_id = \(bind: establishment.uuid) ORDER BY updated_at DESC
            """
        ).all() {
            let assessment = try Self.assessment(row)
            guard seen.insert(assessment.frameworkID).inserted else { continue }
            var detail = try await compute(assessment, measure: false)
            detail.requirements = []
            details.append(detail)
        }
        return (details, try await record(establishment: establishment))
    }
}
