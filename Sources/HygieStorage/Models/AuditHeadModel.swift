import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
/// The single row holding the end of the audit chain; locked while an event is appended.
final class AuditHeadModel: Model, @unchecked Sendable {
    static let schema = "core_audit_head"
    @ID(custom: "id", generatedBy: .user) var id: Int?
    @Field(key: "sequence") var sequence: Int64
    @Field(key: "hash") var hash: String
    init() {}
}
