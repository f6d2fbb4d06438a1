import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class AuditEventModel: Model, @unchecked Sendable {
    static let schema = "core_audit_events"
    @ID(key: .id) var id: UUID?
    @Field(key: "sequence") var sequence: Int64
    @OptionalField(key: "establishment_id") var establishmentID: UUID?
    @OptionalField(key: "actor_user_id") var actorUserID: UUID?
    @Field(key: "actor_name") var actorName: String
    @Field(key: "actor_role") var actorRole: String
    @Field(key: "channel") var channel: String
    @Field(key: "action") var action: String
    @Field(key: "object_type") var objectType: String
    @OptionalField(key: "object_id") var objectID: String?
    @Field(key: "summary") var summary: String
    @OptionalField(key: "request_id") var requestID: String?
    @OptionalField(key: "source_address") var sourceAddress: String?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "previous_hash") var previousHash: String
    @Field(key: "hash") var hash: String
    init() {}
}
