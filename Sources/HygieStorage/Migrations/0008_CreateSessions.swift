import FluentKit

struct CreateSessions: AsyncMigration {
    var name: String { "core.0008.create-sessions" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_sessions")
            .id()
            .field("token_hash", .string, .required)
            .field("user_id", .uuid, .required, .references("core_users", "id"))
            .field("establishment_id", .uuid, .references("core_establishments", "id"))
            .field("csrf_token", .string, .required)
            .field("mfa_verified", .bool, .required)
            .field("created_at", .datetime, .required)
            .field("last_seen_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("source_address", .string)
            .field("user_agent", .string)
            .unique(on: "token_hash")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_sessions").delete()
    }
}
