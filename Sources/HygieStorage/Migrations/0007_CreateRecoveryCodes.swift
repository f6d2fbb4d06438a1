import FluentKit

struct CreateRecoveryCodes: AsyncMigration {
    var name: String { "core.0007.create-recovery-codes" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_recovery_codes")
            .id()
            .field("user_id", .uuid, .required, .references("core_users", "id"))
            .field("code_hash", .string, .required)
            .field("used_at", .datetime)
            .field("created_at", .datetime, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_recovery_codes").delete()
    }
}
