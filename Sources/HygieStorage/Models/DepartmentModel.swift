import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class DepartmentModel: Model, TenantOwnedModel, @unchecked Sendable {
    static let schema = "core_departments"
    @ID(key: .id) var id: UUID?
    @Field(key: "establishment_id") var establishmentID: UUID
    @Field(key: "name") var name: String
    @Field(key: "code") var code: String
    @Field(key: "kind") var kind: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}
