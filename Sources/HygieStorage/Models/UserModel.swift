import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7.
final class UserModel: Model, @unchecked Sendable {
    static let schema = "core_users"
    @ID(key: .id) var id: UUID?
    @Field(key: "email") var email: String
    @Field(key: "display_name") var displayName: String
    @Field(key: "password_hash") var passwordHash: String
    @Field(key: "locale") var locale: String
    @Field(key: "is_instance_admin") var isInstanceAdmin: Bool
    /// TOTP secret sealed with the instance key (AES-GCM), or nil before enrolment.
    @OptionalField(key: "totp_secret") var totpSecret: Data?
    @Field(key: "totp_enabled") var totpEnabled: Bool
    /// Last accepted TOTP time step: a code of that step or an earlier one is refused (replay guard).
    @Field(key: "totp_last_step") var totpLastStep: Int64
    @Field(key: "disabled") var disabled: Bool
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}
