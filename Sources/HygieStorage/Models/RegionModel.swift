import FluentKit
import Foundation

// Fluent models are row buffers, not Sendable values (vapor/fluent-kit#601): see HOUSE-STYLE.md section 7.
final class RegionModel: Model, @unchecked Sendable {
    static let schema = "core_regions"
    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "code") var code: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}
