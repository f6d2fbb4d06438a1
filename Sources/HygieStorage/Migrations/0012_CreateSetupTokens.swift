import FluentKit

struct CreateSetupTokens: AsyncMigration {
    var name: String { "core.0012.create-setup-tokens" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_setup_tokens")
            .id()
            .field("token_hash", .string, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("used_at", .datetime)
            .unique(on: "token_hash")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_setup_tokens").delete()
    }
}
