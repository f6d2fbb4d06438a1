import FluentKit

struct CreateMemberships: AsyncMigration {
    var name: String { "core.0006.create-memberships" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_memberships")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("user_id", .uuid, .required, .references("core_users", "id"))
            .field("role", .string, .required)
            .field("department_id", .uuid, .references("core_departments", "id"))
            .field("created_at", .datetime, .required)
            .unique(on: "establishment_id", "user_id")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_memberships").delete()
    }
}
