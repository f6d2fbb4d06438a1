import FluentKit

/// Log sources: an HTTP source authenticates with an ingest token (stored hashed), a syslog source is recognised
/// by its sender address, network or TLS client-certificate name.
struct CreateSources: AsyncMigration {
    var name: String { "detection.0001.create-sources" }

    func prepare(on database: any Database) async throws {
        try await database.schema("det_sources")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("token_hash", .string)
            .field("token_prefix", .string)
            .field("sender", .string)
            .field("expected_interval_seconds", .int64)
            .field("last_seen_at", .int64)
            .field("events_total", .int64, .required)
            .field("rate_mark_total", .int64)
            .field("rate_marked_at", .int64)
            .field("events_per_minute", .double)
            .field("created_at", .int64, .required)
            .unique(on: "establishment_id", "name")
            .unique(on: "token_hash")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("det_sources").delete()
    }
}
