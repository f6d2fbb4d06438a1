import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class APITokenModel: Model, TenantOwnedModel, @unchecked Sendable {
    static let schema = "core_api_tokens"
    @ID(key: .id) var id: UUID?
    @Field(key: "establishment_id") var establishmentID: UUID
    @Field(key: "user_id") var userID: UUID
    @Field(key: "name") var name: String
    @Field(key: "role") var role: String
    /// SHA-256 of the secret part; tokens carry 256 bits of randomness.
    @Field(key: "token_hash") var tokenHash: String
    /// First characters, shown in lists so people can tell tokens apart.
    @Field(key: "prefix") var prefix: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?
    @OptionalField(key: "expires_at") var expiresAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    init() {}
}
