import FluentKit
import SQLKit

struct CreateLoginAttempts: AsyncMigration {
    var name: String { "core.0010.create-login-attempts" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_login_attempts")
            .id()
            .field("subject", .string, .required)
            .field("succeeded", .bool, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await (database as! any SQLDatabase).create(index: "core_login_attempts_subject_time")
            .on("core_login_attempts").column("subject").column("created_at").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_login_attempts").delete()
    }
}
