import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class RecoveryCodeModel: Model, @unchecked Sendable {
    static let schema = "core_recovery_codes"
    @ID(key: .id) var id: UUID?
    @Field(key: "user_id") var userID: UUID
    /// SHA-256 of the code (codes are 50 bits of randomness, so a fast hash is enough).
    @Field(key: "code_hash") var codeHash: String
    @OptionalField(key: "used_at") var usedAt: Date?
    @Field(key: "created_at") var createdAt: Date
    init() {}
}
