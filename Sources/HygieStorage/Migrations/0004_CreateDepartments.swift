import FluentKit

struct CreateDepartments: AsyncMigration {
    var name: String { "core.0004.create-departments" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_departments")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("name", .string, .required)
            .field("code", .string, .required)
            .field("kind", .string, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "establishment_id", "code")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_departments").delete()
    }
}
