import FluentKit
import SQLKit

/// Files attached to a case (a ransom note, a screenshot, a log extract), kept in the database with their SHA-256.
struct CreateCaseFiles: AsyncMigration {
    var name: String { "incidents.0003.create-case-files" }

    func prepare(on database: any Database) async throws {
        try await database.schema("inc_case_files")
            .field("id", .int64, .identifier(auto: true))
            .field("establishment_id", .uuid, .required)
            .field("case_id", .int64, .required)
            .field("name", .string, .required)
            .field("content_type", .string, .required)
            .field("size", .int64, .required)
            .field("sha256", .string, .required)
            .field("data", .data, .required)
            .field("uploaded_by", .string, .required)
            .field("created_at", .int64, .required)
            .create()
        let sql = database as! any SQLDatabase  // both drivers are SQL databases
        try await sql.raw("CREATE INDEX inc_case_files_case ON inc_case_files (case_id, id)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("inc_case_files").delete()
    }
}
