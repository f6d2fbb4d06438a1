import FluentKit
import SQLKit

struct CreateJobs: AsyncMigration {
    var name: String { "jobs.0001.create-jobs" }

    func prepare(on database: any Database) async throws {
        try await database.schema("jobs_queue")
            .id()
            .field("establishment_id", .uuid)
            .field("kind", .string, .required)
            .field("payload", .string, .required)
            .field("status", .string, .required)
            .field("attempts", .int64, .required)
            .field("max_attempts", .int64, .required)
            .field("run_at", .datetime, .required)
            .field("locked_by", .string)
            .field("locked_at", .datetime)
            .field("last_error", .string)
            .field("idempotency_key", .string)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .field("finished_at", .datetime)
            .unique(on: "idempotency_key")
            .create()
        try await (database as! any SQLDatabase).create(index: "jobs_queue_status_run_at")
            .on("jobs_queue").column("status").column("run_at").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("jobs_queue").delete()
    }
}
