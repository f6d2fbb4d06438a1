import FluentKit
import SQLKit

struct CreateAuditEvents: AsyncMigration {
    var name: String { "core.0011.create-audit-events" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_audit_events")
            .id()
            .field("sequence", .int64, .required)
            .field("establishment_id", .uuid)
            .field("actor_user_id", .uuid)
            .field("actor_name", .string, .required)
            .field("actor_role", .string, .required)
            .field("channel", .string, .required)
            .field("action", .string, .required)
            .field("object_type", .string, .required)
            .field("object_id", .string)
            .field("summary", .string, .required)
            .field("request_id", .string)
            .field("source_address", .string)
            .field("created_at", .datetime, .required)
            .field("previous_hash", .string, .required)
            .field("hash", .string, .required)
            .unique(on: "sequence")
            .create()
        try await (database as! any SQLDatabase).create(index: "core_audit_events_establishment_sequence")
            .on("core_audit_events").column("establishment_id").column("sequence").run()
        try await database.schema("core_audit_head")
            .field("id", .int64, .identifier(auto: false))
            .field("sequence", .int64, .required)
            .field("hash", .string, .required)
            .create()
        try await (database as! any SQLDatabase).raw(
            "INSERT INTO core_audit_head (id, sequence, hash) VALUES (1, 0, \(bind: AuditChain.genesisHash))"
        ).run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_audit_head").delete()
        try await database.schema("core_audit_events").delete()
    }
}
