import FluentKit
import SQLKit

/// Each establishment's assets (biomedical devices included) and their software components.
struct CreateInventory: AsyncMigration {
    var name: String { "vuln.0002.create-inventory" }

    func prepare(on database: any Database) async throws {
        try await database.schema("vuln_assets")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("hostname", .string)
            .field("addresses", .string, .required)
            .field("macs", .string, .required)
            .field("serial", .string)
            .field("manufacturer", .string)
            .field("model", .string)
            .field("firmware", .string)
            .field("os", .string)
            .field("department", .string)
            .field("location", .string)
            .field("zone", .string)
            .field("internet_exposed", .bool, .required)
            .field("criticality", .string, .required)
            .field("safety_impact", .string, .required)
            .field("end_of_support", .string)
            .field("protocols", .string, .required)
            .field("notes", .string, .required)
            .field("sources", .string, .required)
            .field("risk", .double, .required)
            .field("created_at", .int64, .required)
            .field("updated_at", .int64, .required)
            .field("last_seen_at", .int64, .required)
            .create()
        try await database.schema("vuln_components")
            .id()
            .field("establishment_id", .uuid, .required, .references("core_establishments", "id"))
            .field("asset_id", .uuid, .required, .references("vuln_assets", "id", onDelete: .cascade))
            .field("name", .string, .required)
            .field("vendor", .string, .required)
            .field("version", .string, .required)
            .field("cpe", .string)
            .field("purl", .string)
            .field("source", .string, .required)
            .field("support_level", .string)
            .field("end_of_support", .string)
            .field("created_at", .int64, .required)
            .create()
        let sql = database as! any SQLDatabase  // Both drivers are SQL databases.
        try await sql.raw("CREATE INDEX vuln_assets_establishment ON vuln_assets (establishment_id, name)").run()
        try await sql.raw("CREATE INDEX vuln_components_asset ON vuln_components (asset_id)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("vuln_components").delete()
        try await database.schema("vuln_assets").delete()
    }
}
