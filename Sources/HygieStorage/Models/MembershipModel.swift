import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class MembershipModel: Model, TenantOwnedModel, @unchecked Sendable {
    static let schema = "core_memberships"
    @ID(key: .id) var id: UUID?
    @Field(key: "establishment_id") var establishmentID: UUID
    @Field(key: "user_id") var userID: UUID
    @Field(key: "role") var role: String
    @OptionalField(key: "department_id") var departmentID: UUID?
    @Field(key: "created_at") var createdAt: Date
    init() {}
}
