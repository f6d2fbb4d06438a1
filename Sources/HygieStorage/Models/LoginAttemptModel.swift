import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class LoginAttemptModel: Model, @unchecked Sendable {
    static let schema = "core_login_attempts"
    @ID(key: .id) var id: UUID?
    /// `account:<email>` or `address:<ip>`.
    @Field(key: "subject") var subject: String
    @Field(key: "succeeded") var succeeded: Bool
    @Field(key: "created_at") var createdAt: Date
    init() {}
}
