import FluentKit

/// Feeds: remote TAXII collections pulled into a local collection, or local collections pushed to a remote one.
struct CreateFeeds: AsyncMigration {
    var name: String { "intel.0003.create-feeds" }

    func prepare(on database: any Database) async throws {
        try await database.schema("intel_feeds")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("name", .string, .required)
            .field("direction", .string, .required)
            .field("url", .string, .required)
            .field("username", .string)
            .field("secret_sealed", .data)
            .field("collection_id", .uuid, .required, .references("intel_collections", "id", onDelete: .cascade))
            .field("interval_minutes", .int64, .required)
            .field("max_tlp", .string, .required)
            .field("enabled", .bool, .required)
            .field("cursor", .string)
            .field("next_run_at", .int64, .required)
            .field("last_run_at", .int64)
            .field("last_success_at", .int64)
            .field("last_error", .string)
            .field("failures", .int64, .required)
            .field("objects_total", .int64, .required)
            .field("last_objects", .int64, .required)
            .field("created_at", .int64, .required)
            .unique(on: "establishment_id", "name")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("intel_feeds").delete()
    }
}
