import FluentKit
import SQLKit

/// EHR access monitoring: each establishment's settings and pseudonymisation key, the care context (units,
/// staff, pseudonymised patients, stays, care events), every access (pseudonymised), flags and the incidents
/// a privacy officer reviews.
struct CreatePrivacyTables: AsyncMigration {
    var name: String { "privacy.0001.create-privacy-tables" }

    func prepare(on database: any Database) async throws {
        try await database.schema("priv_settings")
            .field("establishment_id", .uuid, .identifier(auto: false))
            .field("sealed_key", .string, .required)
            .field("settings", .string, .required)
            .field("updated_at", .int64, .required)
            .create()
        try await database.schema("priv_departments")
            .field("establishment_id", .uuid, .required)
            .field("code", .string, .required)
            .field("label", .string, .required)
            .field("kind", .string, .required)
            .unique(on: "establishment_id", "code")
            .create()
        try await database.schema("priv_staff")
            .field("establishment_id", .uuid, .required)
            .field("staff_id", .string, .required)
            .field("record", .string, .required)
            .field("department", .string, .required)
            .field("role", .string, .required)
            .field("display_name", .string, .required)
            .unique(on: "establishment_id", "staff_id")
            .create()
        try await database.schema("priv_patients")
            .field("establishment_id", .uuid, .required)
            .field("patient_key", .string, .required)
            .field("surname_keys", .string, .required)
            .field("address_key", .string, .required)
            .field("identity_key", .string, .required)
            .field("restricted", .bool, .required)
            .field("deceased_at", .int64)
            .field("sealed_identity", .string, .required)
            .field("updated_at", .int64, .required)
            .unique(on: "establishment_id", "patient_key")
            .create()
        try await database.schema("priv_staff_patients")
            .field("establishment_id", .uuid, .required)
            .field("staff_id", .string, .required)
            .field("patient_key", .string, .required)
            .unique(on: "establishment_id", "staff_id", "patient_key")
            .create()
        try await database.schema("priv_encounters")
            .field("id", .int64, .identifier(auto: true))
            .field("establishment_id", .uuid, .required)
            .field("encounter_id", .string, .required)
            .field("visit", .string, .required)
            .field("patient_key", .string, .required)
            .field("class", .string, .required)
            .field("department", .string, .required)
            .field("attending", .string, .required)
            .field("start_at", .int64, .required)
            .field("end_at", .int64)
            .field("disposition", .string, .required)
            .field("source", .string, .required)
            .create()
        try await database.schema("priv_care_events")
            .field("id", .int64, .identifier(auto: true))
            .field("establishment_id", .uuid, .required)
            .field("encounter_id", .string, .required)
            .field("patient_key", .string, .required)
            .field("kind", .string, .required)
            .field("department", .string, .required)
            .field("staff_id", .string, .required)
            .field("at", .int64, .required)
            .create()
        try await database.schema("priv_accesses")
            .field("id", .int64, .identifier(auto: true))
            .field("establishment_id", .uuid, .required)
            .field("event_id", .string, .required)
            .field("at", .int64, .required)
            .field("utc_offset", .int64, .required)
            .field("local_day", .int64, .required)
            .field("user_id", .string, .required)
            .field("patient_key", .string, .required)
            .field("action", .string, .required)
            .field("emergency", .bool, .required)
            .field("justification", .string, .required)
            .field("source", .string, .required)
            .field("status", .string, .required)
            .field("explanation", .string, .required)
            .field("received_at", .int64, .required)
            .unique(on: "establishment_id", "event_id")
            .create()
        try await database.schema("priv_incidents")
            .field("id", .int64, .identifier(auto: true))
            .field("establishment_id", .uuid, .required)
            .field("user_id", .string, .required)
            .field("status", .string, .required)
            .field("score", .int64, .required)
            .field("flags", .int64, .required)
            .field("patterns", .string, .required)
            .field("first_at", .int64, .required)
            .field("last_at", .int64, .required)
            .field("decision_notes", .string, .required)
            .field("decided_by", .string, .required)
            .field("decided_at", .int64)
            .field("case_id", .int64)
            .field("created_at", .int64, .required)
            .field("updated_at", .int64, .required)
            .create()
        try await database.schema("priv_flags")
            .field("id", .int64, .identifier(auto: true))
            .field("establishment_id", .uuid, .required)
            .field("access_id", .int64, .required)
            .field("incident_id", .int64, .required)
            .field("user_id", .string, .required)
            .field("patient_key", .string, .required)
            .field("at", .int64, .required)
            .field("patterns", .string, .required)
            .field("reasons", .string, .required)
            .field("score", .int64, .required)
            .unique(on: "establishment_id", "access_id")
            .create()
        let sql = database as! any SQLDatabase  // both drivers are SQL databases
        for statement in [
            "CREATE INDEX priv_encounters_patient ON priv_encounters (establishment_id, patient_key)",
            "CREATE INDEX priv_encounters_visit ON priv_encounters (establishment_id, visit, start_at)",
            "CREATE INDEX priv_care_patient ON priv_care_events (establishment_id, patient_key)",
            "CREATE INDEX priv_accesses_status ON priv_accesses (establishment_id, status, local_day)",
            "CREATE INDEX priv_accesses_day ON priv_accesses (establishment_id, local_day)",
            "CREATE INDEX priv_accesses_patient ON priv_accesses (establishment_id, patient_key, at)",
            "CREATE INDEX priv_incidents_queue ON priv_incidents (establishment_id, status, score)",
            "CREATE INDEX priv_flags_incident ON priv_flags (establishment_id, incident_id, at)",
        ] {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }

    func revert(on database: any Database) async throws {
        for table in [
            "priv_flags", "priv_incidents", "priv_accesses", "priv_care_events", "priv_encounters", "priv_patients",
            "priv_staff_patients", "priv_staff", "priv_departments", "priv_settings",
        ] {
            try await database.schema(table).delete()
        }
    }
}
