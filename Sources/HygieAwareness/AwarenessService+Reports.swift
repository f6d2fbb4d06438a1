import AwarenessCore
import Foundation
public import HygieCore
public import HygieIncidents
import SQLKit

extension AwarenessService: SimulationRecognizer {
    /// A reported message carrying one of the establishment's simulation rids is an exercise: the report is
    /// recorded on the recipient's result (as GoPhish's report button would) while the campaign runs, and the
    /// reporter is told "well done" even after it ended.
    public func recognise(rids: [String], establishment: Establishment.ID) async throws -> String? {
        let candidates = rids.filter { RecipientID($0) != nil }.prefix(20)
        guard !candidates.isEmpty else { return nil }
        guard
            let row = try await sql.raw(
                """
                SELECT rid FROM aw_results WHERE establishment_id = \(bind: establishment.uuid) \
                AND rid IN (\(SQLList(candidates.map { SQLBind($0) }))) ORDER BY id LIMIT 1
                """
            ).first()
        else { return nil }
        let rid = try row.decode(column: "rid", as: String.self)
        do {
            _ = try await track(.report, TrackingRequest(rid: rid, method: "POST", userAgent: "Hygie report triage"))
            try await flushTracking()
        } catch AwarenessError.notFound {
            // The campaign is over: the exercise is still recognised, nothing more is recorded.
        }
        return rid
    }
}
