import FluentKit
import SQLKit

/// STIX objects, one row per version per collection, stored as the exact JSON text received; and the status
/// resources of TAXII "add objects" requests.
///
/// `date_added` (microseconds) is unique within a collection and is the key of every listing: pages are read in
/// its order from the `(establishment_id, collection_id, is_latest, date_added)` index, so a page costs the same
/// with ten objects or ten million.
struct CreateObjects: AsyncMigration {
    var name: String { "intel.0002.create-objects" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase  // Both drivers are SQL databases.
        try await sql.raw(
            """
            CREATE TABLE intel_objects (establishment_id UUID NOT NULL, collection_id UUID NOT NULL \
            REFERENCES intel_collections (id) ON DELETE CASCADE, date_added BIGINT NOT NULL, \
            stix_id VARCHAR(300) NOT NULL, type VARCHAR(250) NOT NULL, spec_version VARCHAR(10) NOT NULL, \
            version BIGINT NOT NULL, version_text VARCHAR(40) NOT NULL, tlp_rank INTEGER NOT NULL, \
            revoked BOOLEAN NOT NULL, is_latest BOOLEAN NOT NULL, content_hash VARCHAR(64) NOT NULL, \
            name TEXT, body TEXT NOT NULL, \
            PRIMARY KEY (establishment_id, collection_id, date_added))
            """
        ).run()
        try await sql.raw(
            "CREATE INDEX intel_objects_latest ON intel_objects (establishment_id, collection_id, is_latest, date_added)"
        ).run()
        try await sql.raw(
            "CREATE INDEX intel_objects_id ON intel_objects (establishment_id, collection_id, stix_id, version)"
        ).run()
        try await sql.raw(
            "CREATE INDEX intel_objects_type ON intel_objects (establishment_id, type, is_latest)"
        ).run()
        try await sql.raw(
            """
            CREATE TABLE intel_sightings (establishment_id UUID NOT NULL, collection_id UUID NOT NULL \
            REFERENCES intel_collections (id) ON DELETE CASCADE, indicator_id VARCHAR(300) NOT NULL, \
            first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, count BIGINT NOT NULL, \
            PRIMARY KEY (establishment_id, collection_id, indicator_id))
            """
        ).run()
        try await sql.raw(
            """
            CREATE TABLE intel_sighting_days (establishment_id UUID NOT NULL, day BIGINT NOT NULL, count BIGINT NOT NULL, \
            PRIMARY KEY (establishment_id, day))
            """
        ).run()
        try await database.schema("intel_status")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("collection_id", .uuid, .required, .references("intel_collections", "id", onDelete: .cascade))
            .field("principal", .string, .required)
            .field("status", .string, .required)
            .field("request_timestamp", .int64, .required)
            .field("total_count", .int64, .required)
            .field("success_count", .int64, .required)
            .field("failure_count", .int64, .required)
            .field("pending_count", .int64, .required)
            .field("details", .string, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("intel_status").delete()
        let sql = database as! any SQLDatabase  // Both drivers are SQL databases.
        try await sql.raw("DROP TABLE intel_sighting_days").run()
        try await sql.raw("DROP TABLE intel_sightings").run()
        try await sql.raw("DROP TABLE intel_objects").run()
    }
}
