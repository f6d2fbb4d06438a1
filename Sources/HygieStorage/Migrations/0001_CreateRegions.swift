import FluentKit

struct CreateRegions: AsyncMigration {
    var name: String { "core.0001.create-regions" }

    func prepare(on database: any Database) async throws {
        try await database.schema("core_regions")
            .id()
            .field("name", .string, .required)
            .field("code", .string, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "code")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("core_regions").delete()
    }
}
