import FluentKit
import SQLKit

/// Federation: on a hub, enrolment tokens, member establishments (their signing secret sealed), the snapshots
/// and declaration copies they push; on an establishment's instance, its link to a hub and the outbox of pushes
/// not yet acknowledged.
struct CreateFederationTables: AsyncMigration {
    var name: String { "federation.0001.create-federation-tables" }

    func prepare(on database: any Database) async throws {
        try await database.schema("fed_enrolments")
            .field("id", .uuid, .identifier(auto: false))
            .field("coordinator_establishment_id", .uuid, .required)
            .field("region_id", .uuid)
            .field("label", .string, .required)
            .field("token_hash", .string, .required)
            .field("expires_at", .int64, .required)
            .field("used_at", .int64)
            .field("member_id", .uuid)
            .field("created_by", .string, .required)
            .field("created_at", .int64, .required)
            .unique(on: "token_hash")
            .create()
        try await database.schema("fed_members")
            .field("id", .uuid, .identifier(auto: false))
            .field("coordinator_establishment_id", .uuid, .required)
            .field("region_id", .uuid)
            .field("name", .string, .required)
            .field("finess", .string)
            .field("kind", .string, .required)
            .field("label", .string, .required)
            .field("sealed_secret", .string, .required)
            .field("status", .string, .required)
            .field("enrolled_at", .int64, .required)
            .field("last_seen_at", .int64)
            .field("last_snapshot_at", .int64)
            .field("revoked_at", .int64)
            .create()
        try await database.schema("fed_snapshots")
            .field("id", .int64, .identifier(auto: true))
            .field("member_id", .uuid, .required)
            .field("snapshot_uid", .string, .required)
            .field("taken_at", .int64, .required)
            .field("received_at", .int64, .required)
            .field("body", .string, .required)
            .unique(on: "member_id", "snapshot_uid")
            .create()
        try await database.schema("fed_declarations")
            .field("id", .int64, .identifier(auto: true))
            .field("member_id", .uuid, .required)
            .field("uid", .string, .required)
            .field("regime", .string, .required)
            .field("status", .string, .required)
            .field("due_at", .int64)
            .field("sent_at", .int64)
            .field("body", .string, .required)
            .field("received_at", .int64, .required)
            .field("updated_at", .int64, .required)
            .unique(on: "member_id", "uid")
            .create()
        try await database.schema("fed_links")
            .field("establishment_id", .uuid, .identifier(auto: false))
            .field("hub_url", .string, .required)
            .field("member_id", .uuid, .required)
            .field("sealed_secret", .string, .required)
            .field("status", .string, .required)
            .field("joined_at", .int64, .required)
            .field("last_push_at", .int64)
            .field("last_snapshot_at", .int64)
            .field("last_error", .string, .required)
            .create()
        try await database.schema("fed_outbox")
            .field("id", .int64, .identifier(auto: true))
            .field("establishment_id", .uuid, .required)
            .field("kind", .string, .required)
            .field("ref", .string, .required)
            .field("body", .string, .required)
            .field("attempts", .int64, .required)
            .field("next_at", .int64, .required)
            .field("created_at", .int64, .required)
            .field("sent_at", .int64)
            .field("last_error", .string, .required)
            .unique(on: "establishment_id", "kind", "ref")
            .create()
        let sql = database as! any SQLDatabase  // both drivers are SQL databases
        for statement in [
            "CREATE INDEX fed_members_coordinator ON fed_members (coordinator_establishment_id, status)",
            "CREATE INDEX fed_snapshots_member ON fed_snapshots (member_id, taken_at)",
            "CREATE INDEX fed_declarations_member ON fed_declarations (member_id, due_at)",
            "CREATE INDEX fed_outbox_pending ON fed_outbox (establishment_id, sent_at, next_at)",
        ] {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }

    func revert(on database: any Database) async throws {
        for table in ["fed_outbox", "fed_links", "fed_declarations", "fed_snapshots", "fed_members", "fed_enrolments"] {
            try await database.schema(table).delete()
        }
    }
}
