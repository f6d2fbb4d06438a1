public import Foundation
public import HygieCore
import SQLKit

/// A declaration as an establishment shares it with its coordinating hub.
public struct DeclarationShare: Sendable, Hashable {
    public var id: Int64
    public var regime: Regime
    public var status: Declaration.Status
    public var dueAt: Date?
    public var sentAt: Date?
    public var reference: String
    public var incidentType: IncidentType
    public var severity: CaseSeverity
    public var qualification: Qualification
    public var awareAt: Date?
    public var title: String
    public var tlp: String
}

extension CaseService {
    /// Every declaration of an establishment with the case facts a coordinating authority needs (no note, no
    /// observable, no person). The caller leaves the title out of TLP:RED cases.
    public func declarationShares(for establishment: Establishment.ID) async throws -> [DeclarationShare] {
        try await sql.raw(
            """
            SELECT d.id, d.regime, d.status, d.due_at, d.sent_at, d.reference, c.incident_type, c.severity, \
            c.significant, c.personal_data, c.nis2, c.aware_at, c.title, c.tlp FROM inc_declarations d \
            JOIN inc_cases c ON c.id = d.case_id WHERE d.establishment_id = \(bind: establishment.uuid) \
            AND c.merged_into IS NULL ORDER BY d.id
            """
        ).all().compactMap { row in
            guard let regime = Regime(rawValue: try row.decode(column: "regime", as: String.self)) else { return nil }
            func date(_ column: String) throws -> Date? {
                try row.decode(column: column, as: Int64?.self).map { Date(timeIntervalSince1970: Double($0) / 1000) }
            }
            return DeclarationShare(
                id: try row.decode(column: "id", as: Int64.self), regime: regime,
                status: Declaration.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .draft,
                dueAt: try date("due_at"), sentAt: try date("sent_at"),
                reference: try row.decode(column: "reference", as: String.self),
                incidentType: IncidentType(rawValue: try row.decode(column: "incident_type", as: String.self))
                    ?? .other,
                severity: CaseSeverity(rawValue: try row.decode(column: "severity", as: String.self)) ?? .medium,
                qualification: Qualification(
                    significant: try row.decode(column: "significant", as: Bool.self),
                    personalData: try row.decode(column: "personal_data", as: Bool.self),
                    nis2: try row.decode(column: "nis2", as: Bool.self)),
                awareAt: try date("aware_at"), title: try row.decode(column: "title", as: String.self),
                tlp: try row.decode(column: "tlp", as: String.self))
        }
    }
}
