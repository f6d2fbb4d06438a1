import FluentKit
import SQLKit

/// Raw events kept for investigation. On PostgreSQL the table is partitioned by day of reception, so retention
/// drops whole partitions (`DetectionService.maintainPartitions`); SQLite deletes rows. One index only, in arrival
/// order: inserts append to it, and an event is found by (establishment, reception time, id).
struct CreateEvents: AsyncMigration {
    var name: String { "detection.0002.create-events" }

    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase  // Both drivers are SQL databases.
        let columns = """
            id VARCHAR(36) NOT NULL, establishment_id UUID NOT NULL, source_id UUID NOT NULL, \
            received_at BIGINT NOT NULL, event_time BIGINT, host TEXT, user_name TEXT, address TEXT, \
            format TEXT NOT NULL, raw TEXT NOT NULL, fields TEXT
            """
        if sql.dialect.name == "postgresql" {
            try await sql.raw("CREATE TABLE det_events (\(unsafeRaw: columns)) PARTITION BY RANGE (received_at)").run()
            try await sql.raw("CREATE TABLE det_events_default PARTITION OF det_events DEFAULT").run()
            // Field search reads JSON from text that may not be JSON (syslog that failed to parse): NULL, not an error.
            try await sql.raw(
                """
                CREATE OR REPLACE FUNCTION det_try_jsonb(value text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$ \
                BEGIN RETURN value::jsonb; EXCEPTION WHEN others THEN RETURN NULL; END; $$
                """
            ).run()
        } else {
            try await sql.raw("CREATE TABLE det_events (\(unsafeRaw: columns))").run()
        }
        try await sql.raw("CREATE INDEX det_events_time ON det_events (establishment_id, received_at)").run()
    }

    func revert(on database: any Database) async throws {
        let sql = database as! any SQLDatabase  // Both drivers are SQL databases.
        try await sql.raw("DROP TABLE det_events").run()
        if sql.dialect.name == "postgresql" { try await sql.raw("DROP FUNCTION IF EXISTS det_try_jsonb(text)").run() }
    }
}
