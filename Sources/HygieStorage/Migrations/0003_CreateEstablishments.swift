import FluentKit

struct CreateEstablishments: AsyncMigration {
    var name: String { "core.0003.create-establishments" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_establishments")
            .id()
            .field("name", .string, .required)
            .field("finess", .string)
            .field("kind", .string, .required)
            .field("group_id", .uuid, .references("core_groups", "id"))
            .field("region_id", .uuid, .references("core_regions", "id"))
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "finess")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_establishments").delete()
    }
}
