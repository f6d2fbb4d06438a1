import FluentKit

struct CreateUsers: AsyncMigration {
    var name: String { "core.0005.create-users" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_users")
            .id()
            .field("email", .string, .required)
            .field("display_name", .string, .required)
            .field("password_hash", .string, .required)
            .field("locale", .string, .required)
            .field("is_instance_admin", .bool, .required)
            .field("totp_secret", .data)
            .field("totp_enabled", .bool, .required)
            .field("totp_last_step", .int64, .required)
            .field("disabled", .bool, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "email")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_users").delete()
    }
}
