public import FluentKit
import Foundation
import HygieAwareness
import HygieCompliance
public import HygieCore
import HygieDetection
import HygieFederation
import HygieIncidents
import HygieIntel
public import HygieJobs
import HygiePrivacy
public import HygieStorage
import HygieVulnerabilities
import Logging
import SQLKit
public import Testing

/// The engines the integration suite runs on: SQLite always, PostgreSQL when `HYGIE_TEST_POSTGRES_URL` names a
/// loopback server (the script `scripts/test.sh` starts one).
public enum TestDatabase: String, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    public var testDescription: String { rawValue }

    public static var enabled: [TestDatabase] {
        ProcessInfo.processInfo.environment["HYGIE_TEST_POSTGRES_URL"] == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    public static var migrations: [any Migration] {
        CoreMigrations.all + JobsMigrations.all + IntelMigrations.all + DetectionMigrations.all + VulnMigrations.all
            + ComplianceMigrations.all + AwarenessMigrations.all + IncidentsMigrations.all + PrivacyMigrations.all
            + FederationMigrations.all
    }

    static let logger: Logger = {
        var logger = Logger(label: "hygie.test")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` on a fresh, migrated database that is dropped afterwards.
    public func withDatabase<T>(migrated: Bool = true, _ body: (DatabaseService) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let service = try DatabaseService(
                settings: .init(engine: .sqliteMemory), migrations: Self.migrations, logger: Self.logger)
            if migrated { try await service.migrate() }
            return try await Self.closing(service, body)
        case .postgres:
            let name = try await PostgresTemplate.shared.makeDatabase(migrated: migrated)
            let service = try DatabaseService(
                settings: .init(
                    engine: .postgres(url: try PostgresTemplate.url(database: name)), maxConnectionsPerEventLoop: 4,
                    // The whole suite runs at once on two cores: a test's query may queue far longer than in service.
                    poolWaitSeconds: 60),
                migrations: Self.migrations, logger: Self.logger)
            do {
                let result = try await Self.closing(service, body)
                try await PostgresTemplate.shared.drop(name)
                return result
            } catch {
                try? await PostgresTemplate.shared.drop(name)  // try?: the test's own error matters more
                throw error
            }
        }
    }

    static func closing<T>(_ service: DatabaseService, _ body: (DatabaseService) async throws -> T) async throws -> T {
        do {
            let result = try await body(service)
            await service.shutdown()
            return result
        } catch {
            await service.shutdown()
            throw error
        }
    }
}

/// Migrates `hygie_template` once per test process; each test gets a copy (`CREATE DATABASE … TEMPLATE`).
actor PostgresTemplate {
    static let shared = PostgresTemplate()
    /// Created once; an actor's awaits let other calls in, so later callers wait on the same task.
    private var template: Task<Void, any Error>?
    private var counter = 0

    static func url(database: String) throws -> String {
        guard let raw = ProcessInfo.processInfo.environment["HYGIE_TEST_POSTGRES_URL"],
            var components = URLComponents(string: raw)
        else { throw HygieStorageError.configuration("HYGIE_TEST_POSTGRES_URL is not set") }
        // SECURITY: the tests create and drop databases; never point them at another machine.
        guard ["127.0.0.1", "localhost", "::1", "[::1]"].contains(components.host ?? "") else {
            throw HygieStorageError.configuration("HYGIE_TEST_POSTGRES_URL must name a loopback host")
        }
        components.path = "/\(database)"
        return components.string!
    }

    static func admin(_ body: @Sendable (any SQLDatabase) async throws -> Void) async throws {
        let service = try DatabaseService(
            settings: .init(engine: .postgres(url: try Self.url(database: "postgres")), maxConnectionsPerEventLoop: 1),
            migrations: [], logger: TestDatabase.logger)
        try await TestDatabase.closing(service) { try await body($0.sql) }
    }

    func makeDatabase(migrated: Bool) async throws -> String {
        if template == nil {
            template = Task {
                try await Self.admin { sql in
                    try await sql.raw("DROP DATABASE IF EXISTS hygie_template WITH (FORCE)").run()
                    try await sql.raw("CREATE DATABASE hygie_template").run()
                }
                let service = try DatabaseService(
                    settings: .init(
                        engine: .postgres(url: try Self.url(database: "hygie_template")), maxConnectionsPerEventLoop: 1),
                    migrations: TestDatabase.migrations, logger: TestDatabase.logger)
                try await TestDatabase.closing(service) { try await $0.migrate() }
            }
        }
        try await template!.value
        counter += 1
        let name = "hygie_test_\(ProcessInfo.processInfo.processIdentifier)_\(counter)"
        try await Self.admin { sql in
            try await sql.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name)").run()
            if migrated {
                try await sql.raw("CREATE DATABASE \(unsafeRaw: name) TEMPLATE hygie_template").run()
            } else {
                try await sql.raw("CREATE DATABASE \(unsafeRaw: name)").run()
            }
        }
        return name
    }

    func drop(_ name: String) async throws {
        try await Self.admin { sql in try await sql.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run()
        }
    }
}

/// Services over a test database, with a manual clock and cheap bcrypt.
public struct TestServices: Sendable {
    public let database: DatabaseService
    public let clock: ManualClock
    public let audit: AuditTrail
    public let identity: IdentityService
    public let tenancy: TenancyService
    public let jobs: JobQueue

    public init(database: DatabaseService, clock: ManualClock = ManualClock()) throws {
        self.database = database
        self.clock = clock
        audit = AuditTrail(dialect: database.dialect, clock: clock)
        identity = IdentityService(
            database: database, audit: audit, clock: clock,
            secrets: try SecretBox(keyData: Data(repeating: 7, count: 32)),
            policy: PasswordPolicy(), settings: IdentitySettings(), bcryptCost: 4)
        tenancy = TenancyService(database: database, audit: audit, clock: clock)
        jobs = JobQueue(database: database, clock: clock)
    }

    public static let password = "Correct-Horse-Battery-Staple-42"
    public static let cli = Actor.system("test", channel: "cli")

    /// An establishment with an RSSI member; returns the establishment and the RSSI's scope.
    public func makeEstablishment(_ name: String, finess: String? = nil) async throws -> (Establishment, TenantScope) {
        let establishment = try await tenancy.createEstablishment(
            .init(name: name, finess: finess, kind: "ch", groupID: nil, regionID: nil), by: Self.cli)
        let adminScope = try await identity.scope(for: establishment.id, actor: Self.cli)
        let slug = name.lowercased().filter { $0.isLetter }
        let member = try await identity.addMember(
            NewUser(email: "rssi@\(slug).example", displayName: "RSSI \(name)", password: Self.password, role: "rssi"),
            in: adminScope)
        let actor = Actor(
            userID: member.user.id, displayName: member.user.email, establishmentID: nil, role: .staff,
            channel: "session",
            requestID: nil, sourceAddress: "127.0.0.1")
        return (establishment, try await identity.scope(for: establishment.id, actor: actor))
    }
}
