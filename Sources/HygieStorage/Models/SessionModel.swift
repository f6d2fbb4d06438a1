import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class SessionModel: Model, @unchecked Sendable {
    static let schema = "core_sessions"
    @ID(key: .id) var id: UUID?
    /// SHA-256 of the cookie value; the cookie value itself is never stored.
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "user_id") var userID: UUID
    @OptionalField(key: "establishment_id") var establishmentID: UUID?
    @Field(key: "csrf_token") var csrfToken: String
    @Field(key: "mfa_verified") var mfaVerified: Bool
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "last_seen_at") var lastSeenAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "source_address") var sourceAddress: String?
    @OptionalField(key: "user_agent") var userAgent: String?
    init() {}
}
