import FluentKit

struct CreateGroups: AsyncMigration {
    var name: String { "core.0002.create-groups" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_groups")
            .id()
            .field("name", .string, .required)
            .field("region_id", .uuid, .references("core_regions", "id"))
            .field("created_at", .datetime, .required)
            .unique(on: "name")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_groups").delete()
    }
}
