import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class GroupModel: Model, @unchecked Sendable {
    static let schema = "core_groups"
    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @OptionalField(key: "region_id") var regionID: UUID?
    @Field(key: "created_at") var createdAt: Date
    init() {}
}
