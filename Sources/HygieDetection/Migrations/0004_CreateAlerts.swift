import FluentKit
import SQLKit

/// Alerts (one row per rule and entity within the deduplication window), their matched events and comments,
/// the per-node spool checkpoints committed with them, correlation inputs and per-establishment settings.
struct CreateAlerts: AsyncMigration {
    var name: String { "detection.0004.create-alerts" }

    func prepare(on database: any Database) async throws {
        try await database.schema("det_alerts")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("dedup_key", .string, .required)
            .field("kind", .string, .required)
            .field("rule_id", .string, .required)
            .field("rule_title", .string, .required)
            .field("rule_author", .string)
            .field("severity", .string, .required)
            .field("techniques", .string, .required)
            .field("host", .string)
            .field("user_name", .string)
            .field("address", .string)
            .field("source_id", .uuid)
            .field("first_seen", .int64, .required)
            .field("last_seen", .int64, .required)
            .field("event_count", .int64, .required)
            .field("status", .string, .required)
            .field("assignee_id", .uuid)
            .field("notified", .bool, .required)
            .field("created_at", .int64, .required)
            .field("updated_at", .int64, .required)
            .unique(on: "establishment_id", "dedup_key")
            .create()
        let sql = database as! any SQLDatabase  // Both drivers are SQL databases.
        try await sql.raw("CREATE INDEX det_alerts_queue ON det_alerts (establishment_id, last_seen)").run()
        try await database.schema("det_alert_events")
            .field("alert_id", .uuid, .required, .references("det_alerts", "id", onDelete: .cascade))
            .field("establishment_id", .uuid, .required)
            .field("event_id", .string, .required)
            .field("received_at", .int64, .required)
            .field("matched", .string, .required)
            .unique(on: "alert_id", "event_id")
            .create()
        try await database.schema("det_alert_comments")
            .id()
            .field("alert_id", .uuid, .required, .references("det_alerts", "id", onDelete: .cascade))
            .field("establishment_id", .uuid, .required)
            .field("author", .string, .required)
            .field("body", .string, .required)
            .field("created_at", .int64, .required)
            .create()
        try await database.schema("det_checkpoints")
            .field("node_id", .string, .identifier(auto: false))
            .field("segment", .int64, .required)
            .field("offset", .int64, .required)
            .field("updated_at", .int64, .required)
            .create()
        try await database.schema("det_correlation_inputs")
            .field("establishment_id", .uuid, .required)
            .field("rule_id", .string, .required)
            .field("time", .int64, .required)
            .field("fields", .string, .required)
            .create()
        try await sql.raw(
            "CREATE INDEX det_correlation_inputs_time ON det_correlation_inputs (establishment_id, time)"
        ).run()
        try await database.schema("det_settings")
            .field("establishment_id", .uuid, .identifier(auto: false), .references("core_establishments", "id"))
            .field("event_retention_days", .int64, .required)
            .field("alert_retention_days", .int64, .required)
            .field("webhook_url", .string)
            .field("webhook_secret", .string)
            .field("email_recipients", .string)
            .field("notify_min_severity", .string, .required)
            .field("digest_sent_at", .int64)
            .field("updated_at", .int64, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        for table in [
            "det_settings", "det_correlation_inputs", "det_checkpoints", "det_alert_comments", "det_alert_events",
            "det_alerts",
        ] {
            try await database.schema(table).delete()
        }
    }
}
