import Crypto
import FluentKit
import Foundation
public import HygieCore
public import HygieIncidents
public import HygieStorage
import PrivacyCore
import SQLKit

/// EHR access monitoring of one instance: the care context each establishment imports (staff, pseudonymised
/// patients, stays, care events), every record access (pseudonymised), the analysis that explains accesses
/// before flagging the rest, and the privacy officer's review.
///
/// Patient identifiers never reach the tables in clear: each establishment has its own key (sealed with the
/// instance key) and patients are stored as keyed hashes (HMAC-SHA-256) of their id, family-name parts, address
/// and identity. Their names are kept sealed, and only the `dpo` role unseals them; each time is audited.
public struct PrivacyService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock
    let secrets: SecretBox?
    let cases: CaseService
    let cache: ContextCache

    /// Review flags, decide, re-identify patients.
    static let officers: Set<Role> = [.dpo]
    /// Import context and accesses, change settings.
    static let managers: Set<Role> = [.admin, .rssi, .dpo]
    /// Read the statistics (no patient, no flag).
    static let statisticsReaders: Set<Role> = [.admin, .rssi, .dpo, .auditor]

    public init(
        database: DatabaseService, audit: AuditTrail, clock: any HygieClock, secrets: SecretBox?, cases: CaseService
    ) {
        self.database = database
        self.audit = audit
        self.clock = clock
        self.secrets = secrets
        self.cases = cases
        cache = ContextCache()
    }

    var sql: any SQLDatabase { database.sql }

    // MARK: Keys

    /// Keyed hashes of one establishment.
    struct Pseudonymizer: Sendable {
        let key: [UInt8]

        func callAsFunction(_ value: String) -> String {
            let mac = HMAC<SHA256>.authenticationCode(for: Data(value.utf8), using: SymmetricKey(data: key))
            return "pk-"
                + mac.prefix(16).map { byte in
                    let hex = String(byte, radix: 16)
                    return byte < 16 ? "0" + hex : hex
                }.joined()
        }
    }

    func box() throws -> SecretBox {
        guard let secrets else {
            throw PrivacyError.unavailable(
                "EHR monitoring needs the instance key (hygie.secretKey or the data directory)")
        }
        return secrets
    }

    /// The establishment's pseudonymisation key, created on first use (one row per establishment: a second node
    /// creating it at the same time keeps the first).
    func pseudonymizer(_ establishment: UUID) async throws -> Pseudonymizer {
        let box = try box()
        if let row = try await sql.raw(
            "SELECT sealed_key FROM priv_settings WHERE establishment_id = \(bind: establishment)"
        ).first() {
            return try open(row.decode(column: "sealed_key", as: String.self), box)
        }
        let sealed = try box.seal(SecureRandom.bytes(32)).base64EncodedString()
        let settings = String(decoding: try JSONEncoder().encode(PrivacySettings()), as: UTF8.self)
        try await sql.raw(
            """
            INSERT INTO priv_settings (establishment_id, sealed_key, settings, updated_at) VALUES \
            (\(bind: establishment), \(bind: sealed), \(bind: settings), \(bind: clock.now().milliseconds)) \
            ON CONFLICT (establishment_id) DO NOTHING
            """
        ).run()
        guard
            let row = try await sql.raw(
                "SELECT sealed_key FROM priv_settings WHERE establishment_id = \(bind: establishment)"
            ).first()
        else { throw PrivacyError.invalid("the pseudonymisation key could not be stored") }
        return try open(row.decode(column: "sealed_key", as: String.self), box)
    }

    func open(_ sealed: String, _ box: SecretBox) throws -> Pseudonymizer {
        guard let data = Data(base64Encoded: sealed) else { throw PrivacyError.invalid("damaged pseudonymisation key") }
        return Pseudonymizer(key: Array(try box.open(data)))
    }

    // MARK: Settings

    public func settings(in scope: TenantScope) async throws -> PrivacySettings {
        try scope.require(Self.statisticsReaders)
        return try await settings(scope.establishmentID.uuid)
    }

    func settings(_ establishment: UUID) async throws -> PrivacySettings {
        guard
            let row = try await sql.raw(
                "SELECT settings FROM priv_settings WHERE establishment_id = \(bind: establishment)"
            ).first()
        else { return PrivacySettings() }
        let text = try row.decode(column: "settings", as: String.self)
        return (try? JSONDecoder().decode(PrivacySettings.self, from: Data(text.utf8))) ?? PrivacySettings()
    }

    public func updateSettings(_ settings: PrivacySettings, in scope: TenantScope) async throws -> PrivacySettings {
        try scope.require(Self.managers)
        let analysis = settings.analysis
        guard (30...3650).contains(settings.retentionDays) else {
            throw PrivacyError.invalid("retention is 30 to 3650 days")
        }
        guard analysis.officeStart < analysis.officeEnd, (0...86_400).contains(analysis.officeStart),
            (0...86_400).contains(analysis.officeEnd), analysis.volumeFactor >= 1,
            analysis.volumeMinimumUnexplained >= 1,
            analysis.afterEncounter >= 0, analysis.afterEncounterAttending >= 0, analysis.beforeEncounter >= 0
        else { throw PrivacyError.invalid("office hours, windows and volume thresholds must be positive and ordered") }
        let establishment = scope.establishmentID.uuid
        _ = try await pseudonymizer(establishment)
        let text = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        let now = clock.now().milliseconds
        try await audit.recording(
            AuditEntry(
                action: "privacy.settings", objectType: "privacy", objectID: nil,
                summary: "EHR monitoring settings changed", establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            try await db.raw(
                """
                UPDATE priv_settings SET settings = \(bind: text), updated_at = \(bind: now) \
                WHERE establishment_id = \(bind: establishment)
                """
            ).run()
        }
        await cache.invalidate(establishment)
        return settings
    }
}

/// The analysis context of each establishment, kept between runs while its version (the time of the last
/// import, shared by every node through the database) stays the same.
actor ContextCache {
    var contexts: [UUID: (version: Int64, context: HospitalContext)] = [:]

    func get(_ establishment: UUID, version: Int64, load: () async throws -> HospitalContext) async throws
        -> HospitalContext
    {
        if let cached = contexts[establishment], cached.version == version { return cached.context }
        let context = try await load()
        contexts[establishment] = (version, context)
        return context
    }

    func invalidate(_ establishment: UUID) { contexts[establishment] = nil }
}
