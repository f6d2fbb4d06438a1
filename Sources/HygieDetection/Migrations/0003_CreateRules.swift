import FluentKit

/// Sigma rules (the shared catalog when `establishment_id` is null, else an establishment's own rule), their
/// per-establishment state, and exceptions written as Sigma filters.
struct CreateRules: AsyncMigration {
    var name: String { "detection.0003.create-rules" }

    func prepare(on database: any Database) async throws {
        try await database.schema("det_rules")
            .id()
            .field("establishment_id", .uuid, .references("core_establishments", "id"))
            .field("scope_key", .string, .required)
            .field("sigma_id", .string, .required)
            .field("title", .string, .required)
            .field("level", .string, .required)
            .field("status", .string)
            .field("author", .string)
            .field("tags", .string, .required)
            .field("description", .string)
            .field("kind", .string, .required)
            .field("yaml", .string, .required)
            .field("origin", .string, .required)
            .field("default_enabled", .bool, .required)
            .field("content_sha", .string, .required)
            .field("created_at", .int64, .required)
            .field("updated_at", .int64, .required)
            .unique(on: "scope_key", "sigma_id")
            .create()
        try await database.schema("det_rule_settings")
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("rule_id", .uuid, .required, .references("det_rules", "id", onDelete: .cascade))
            .field("enabled", .bool, .required)
            .field("updated_at", .int64, .required)
            .unique(on: "establishment_id", "rule_id")
            .create()
        try await database.schema("det_exceptions")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("rule_id", .uuid, .required, .references("det_rules", "id", onDelete: .cascade))
            .field("detection", .string, .required)
            .field("reason", .string, .required)
            .field("author", .string, .required)
            .field("expires_at", .int64)
            .field("created_at", .int64, .required)
            .create()
        try await database.schema("det_state")
            .field("key", .string, .identifier(auto: false))
            .field("value", .int64, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        for table in ["det_state", "det_exceptions", "det_rule_settings", "det_rules"] {
            try await database.schema(table).delete()
        }
    }
}
