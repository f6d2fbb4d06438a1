import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class EstablishmentModel: Model, @unchecked Sendable {
    static let schema = "core_establishments"
    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @OptionalField(key: "finess") var finess: String?
    @Field(key: "kind") var kind: String
    @OptionalField(key: "group_id") var groupID: UUID?
    @OptionalField(key: "region_id") var regionID: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}
