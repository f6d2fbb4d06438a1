import FluentKit
import Foundation
import SQLKit

/// Broadcast alerts (on a hub, the alerts and the members' answers; on an establishment's instance, the alerts
/// received and its answer), and what the coordinator dashboards read instead of decoding snapshots: each
/// member's latest value per key and daily sums per key for the trends.
struct CreateBroadcastsAndRollups: AsyncMigration {
    var name: String { "federation.0002.create-broadcasts-and-rollups" }

    func prepare(on database: any Database) async throws {
        try await database.schema("fed_broadcasts")
            .field("id", .uuid, .identifier(auto: false))
            .field("coordinator_establishment_id", .uuid, .required)
            .field("uid", .string, .required)
            .field("title", .string, .required)
            .field("severity", .string, .required)
            .field("body", .string, .required)
            .field("published_at", .int64, .required)
            .field("answer_by", .int64)
            .field("created_by", .string, .required)
            .unique(on: "uid")
            .create()
        try await database.schema("fed_answers")
            .field("broadcast_id", .uuid, .required)
            .field("member_id", .uuid, .required)
            .field("status", .string, .required)
            .field("automatic", .bool, .required)
            .field("body", .string, .required)
            .field("answered_at", .int64, .required)
            .field("received_at", .int64, .required)
            .unique(on: "broadcast_id", "member_id")
            .create()
        try await database.schema("fed_alerts")
            .field("establishment_id", .uuid, .required)
            .field("uid", .string, .required)
            .field("body", .string, .required)
            .field("received_at", .int64, .required)
            .field("answer", .string)
            .field("status", .string)
            .field("automatic", .bool, .required)
            .unique(on: "establishment_id", "uid")
            .create()
        try await database.schema("fed_member_values")
            .field("member_id", .uuid, .required)
            .field("coordinator_establishment_id", .uuid, .required)
            .field("key", .string, .required)
            .field("value", .double, .required)
            .unique(on: "member_id", "key")
            .create()
        try await database.schema("fed_rollups")
            .field("coordinator_establishment_id", .uuid, .required)
            .field("day", .int64, .required)
            .field("key", .string, .required)
            .field("total", .double, .required)
            .field("samples", .int64, .required)
            .unique(on: "coordinator_establishment_id", "day", "key")
            .create()
        let sql = database as! any SQLDatabase  // both drivers are SQL databases
        for statement in [
            "CREATE INDEX fed_broadcasts_coordinator ON fed_broadcasts (coordinator_establishment_id, published_at)",
            "CREATE INDEX fed_answers_status ON fed_answers (broadcast_id, status)",
            "CREATE INDEX fed_member_values_key ON fed_member_values (coordinator_establishment_id, key)",
        ] {
            try await sql.raw(SQLQueryString(statement)).run()
        }
        // Members that pushed before this migration: their latest snapshot fills the dashboards' tables.
        for row in try await sql.raw(
            """
            SELECT m.id, m.coordinator_establishment_id, (SELECT s.body FROM fed_snapshots s WHERE s.member_id = m.id \
            ORDER BY s.taken_at DESC, s.id DESC LIMIT 1) AS latest FROM fed_members m
            """
        ).all() {
            guard let body = try row.decode(column: "latest", as: String?.self) else { continue }
            try await HubService.recordValues(
                body, member: try row.decode(column: "id", as: UUID.self),
                coordinator: try row.decode(column: "coordinator_establishment_id", as: UUID.self), latest: true,
                on: sql)
        }
    }

    func revert(on database: any Database) async throws {
        for table in ["fed_rollups", "fed_member_values", "fed_alerts", "fed_answers", "fed_broadcasts"] {
            try await database.schema(table).delete()
        }
    }
}
