import FluentKit
import SQLKit

/// Reports from staff (suspicious e-mails with their triage, calls, devices, odd behaviour), the addresses that
/// receive forwarded reports, and each establishment's triage settings. Every row carries its establishment.
struct CreateReports: AsyncMigration {
    var name: String { "incidents.0001.create-reports" }

    func prepare(on database: any Database) async throws {
        try await database.schema("inc_settings")
            .field("establishment_id", .uuid, .identifier(auto: false))
            .field("protected_domains", .string, .required)
            .field("notify_reporters", .bool, .required)
            .field("updated_at", .int64, .required)
            .create()
        try await database.schema("inc_report_addresses")
            .field("address", .string, .identifier(auto: false))
            .field("establishment_id", .uuid, .required)
            .create()
        try await database.schema("inc_reports")
            .field("id", .int64, .identifier(auto: true))
            .field("establishment_id", .uuid, .required)
            .field("kind", .string, .required)
            .field("channel", .string, .required)
            .field("reporter_email", .string, .required)
            .field("reporter_name", .string, .required)
            .field("reporter_user_id", .uuid)
            .field("reporter_language", .string, .required)
            .field("description", .string, .required)
            .field("subject", .string, .required)
            .field("sender", .string, .required)
            .field("category", .string, .required)
            .field("verdict", .string, .required)
            .field("automatic_verdict", .string, .required)
            .field("score", .int64, .required)
            .field("reasons", .string, .required)
            .field("analysis", .string, .required)
            .field("intel_hits", .string, .required)
            .field("cluster_id", .int64)
            .field("cluster_key", .string, .required)
            .field("fingerprint", .string, .required)
            .field("simulation_rid", .string, .required)
            .field("status", .string, .required)
            .field("note", .string, .required)
            .field("decided_by", .string, .required)
            .field("decided_at", .int64)
            .field("message", .data)
            .field("created_at", .int64, .required)
            .field("acknowledged_at", .int64)
            .field("notified_at", .int64)
            .create()
        let sql = database as! any SQLDatabase  // both drivers are SQL databases
        try await sql.raw("CREATE INDEX inc_reports_recent ON inc_reports (establishment_id, created_at)").run()
        try await sql.raw("CREATE INDEX inc_reports_cluster ON inc_reports (establishment_id, cluster_key, created_at)")
            .run()
    }

    func revert(on database: any Database) async throws {
        for table in ["inc_reports", "inc_report_addresses", "inc_settings"] {
            try await database.schema(table).delete()
        }
    }
}
