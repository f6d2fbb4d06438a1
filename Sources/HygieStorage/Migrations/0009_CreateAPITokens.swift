import FluentKit

struct CreateAPITokens: AsyncMigration {
    var name: String { "core.0009.create-api-tokens" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_api_tokens")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("user_id", .uuid, .required, .references("core_users", "id"))
            .field("name", .string, .required)
            .field("role", .string, .required)
            .field("token_hash", .string, .required)
            .field("prefix", .string, .required)
            .field("created_at", .datetime, .required)
            .field("last_used_at", .datetime)
            .field("expires_at", .datetime)
            .field("revoked_at", .datetime)
            .unique(on: "token_hash")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_api_tokens").delete()
    }
}
