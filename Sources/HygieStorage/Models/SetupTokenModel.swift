import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class SetupTokenModel: Model, @unchecked Sendable {
    static let schema = "core_setup_tokens"
    @ID(key: .id) var id: UUID?
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "used_at") var usedAt: Date?
    init() {}
}
