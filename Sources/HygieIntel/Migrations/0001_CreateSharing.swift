import FluentKit
import SQLKit

/// Collections (TAXII), the machine accounts of partners and peers, sharing groups and who may read or write
/// which collection.
struct CreateSharing: AsyncMigration {
    var name: String { "intel.0001.create-sharing" }

    func prepare(on database: any Database) async throws {
        try await database.schema("intel_sharing_groups")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("name", .string, .required)
            .field("description", .string)
            .field("created_at", .int64, .required)
            .unique(on: "establishment_id", "name")
            .create()
        try await database.schema("intel_accounts")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("username", .string, .required)
            .field("organisation", .string, .required)
            .field("secret_hash", .string, .required)
            .field("secret_prefix", .string, .required)
            .field("max_tlp", .string, .required)
            .field("disabled", .bool, .required)
            .field("last_used_at", .int64)
            .field("created_at", .int64, .required)
            .unique(on: "username")
            .unique(on: "secret_hash")
            .create()
        try await database.schema("intel_sharing_group_members")
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("group_id", .uuid, .required, .references("intel_sharing_groups", "id", onDelete: .cascade))
            .field("member_establishment_id", .uuid, .references("core_establishments", "id", onDelete: .cascade))
            .field("member_account_id", .uuid, .references("intel_accounts", "id", onDelete: .cascade))
            .unique(on: "group_id", "member_establishment_id", "member_account_id")
            .create()
        try await database.schema("intel_collections")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("title", .string, .required)
            .field("description", .string)
            .field("alias", .string)
            .field("default_tlp", .string, .required)
            .field("distribution", .string, .required)
            .field("sharing_group_id", .uuid, .references("intel_sharing_groups", "id"))
            .field("added_clock", .int64, .required)
            .field("object_count", .int64, .required)
            .field("created_at", .int64, .required)
            .unique(on: "establishment_id", "title")
            .create()
        try await database.schema("intel_settings")
            .field("establishment_id", .uuid, .identifier(auto: false), .references("core_establishments", "id"))
            .field("own_domains", .string, .required)
            .field("anonymise_upward", .bool, .required)
            .create()
        // One row: bumped by every change that can alter the indicators detection matches.
        try await database.schema("intel_state")
            .field("id", .int64, .identifier(auto: false))
            .field("revision", .int64, .required)
            .create()
        let sql = database as! any SQLDatabase  // Both drivers are SQL databases.
        try await sql.raw("INSERT INTO intel_state (id, revision) VALUES (1, 0)").run()
        try await database.schema("intel_grants")
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("collection_id", .uuid, .required, .references("intel_collections", "id", onDelete: .cascade))
            .field("account_id", .uuid, .references("intel_accounts", "id", onDelete: .cascade))
            .field("group_id", .uuid, .references("intel_sharing_groups", "id", onDelete: .cascade))
            .field("can_read", .bool, .required)
            .field("can_write", .bool, .required)
            .unique(on: "collection_id", "account_id", "group_id")
            .create()
    }

    func revert(on database: any Database) async throws {
        for table in [
            "intel_state", "intel_settings", "intel_grants", "intel_collections", "intel_sharing_group_members",
            "intel_accounts",
            "intel_sharing_groups",
        ] {
            try await database.schema(table).delete()
        }
    }
}
