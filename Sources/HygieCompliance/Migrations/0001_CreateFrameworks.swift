import FluentKit
import SQLKit

/// The framework catalogue, shared by the instance (public reference data): imported libraries, their
/// frameworks stored as documents, reference controls and crosswalks. See
/// docs/decisions/0008-compliance-frameworks-as-documents.md.
struct CreateFrameworks: AsyncMigration {
    var name: String { "compliance.0001.create-frameworks" }

    func prepare(on database: any Database) async throws {
        try await database.schema("comp_libraries")
            .field("urn", .string, .identifier(auto: false))
            .field("ref_id", .string, .required)
            .field("name", .string, .required)
            .field("locale", .string, .required)
            .field("version", .int64, .required)
            .field("provider", .string)
            .field("packager", .string)
            .field("copyright", .string)
            .field("publication_date", .string)
            .field("builtin", .bool, .required)
            .field("sha256", .string, .required)
            .field("header", .string, .required)
            .field("warnings", .string, .required)
            .field("imported_by", .string, .required)
            .field("imported_at", .int64, .required)
            .create()
        try await database.schema("comp_frameworks")
            .field("id", .uuid, .identifier(auto: false))
            .field("urn", .string, .required)
            .field("library_urn", .string, .required)
            .field("ref_id", .string, .required)
            .field("name", .string, .required)
            .field("version", .int64, .required)
            .field("nodes", .int64, .required)
            .field("assessable", .int64, .required)
            .field("scoring", .string, .required)
            .field("content", .string, .required)
            .field("updated_at", .int64, .required)
            .unique(on: "urn")
            .create()
        try await database.schema("comp_reference_controls")
            .field("urn", .string, .identifier(auto: false))
            .field("library_urn", .string, .required)
            .field("ref_id", .string)
            .field("name", .string)
            .field("category", .string)
            .field("function", .string)
            .field("description", .string)
            .create()
        try await database.schema("comp_mappings")
            .field("set_urn", .string, .required)
            .field("library_urn", .string, .required)
            .field("source_framework", .string, .required)
            .field("target_framework", .string, .required)
            .field("source", .string, .required)
            .field("target", .string, .required)
            .field("relationship", .string, .required)
            .field("strength", .int64)
            .unique(on: "set_urn", "source", "target")
            .create()
        let sql = database as! any SQLDatabase  // Both drivers are SQL databases.
        try await sql.raw("CREATE INDEX comp_mappings_source ON comp_mappings (source)").run()
        try await sql.raw("CREATE INDEX comp_mappings_target ON comp_mappings (target)").run()
    }

    func revert(on database: any Database) async throws {
        for table in ["comp_mappings", "comp_reference_controls", "comp_frameworks", "comp_libraries"] {
            try await database.schema(table).delete()
        }
    }
}
