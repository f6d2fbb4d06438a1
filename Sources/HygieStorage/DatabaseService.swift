public import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
public import Logging
import NIOCore
import NIOPosix
public import SQLKit
public import ServiceLifecycle

/// Where Hygie keeps its data.
///
/// Keys (see `HygieConfiguration`): `hygie.database.url` (a `postgres://` URL switches to PostgreSQL; empty means
/// SQLite at `<data-dir>/hygie.sqlite`), `hygie.database.autoMigrate` (PostgreSQL only; SQLite always migrates).
public struct DatabaseSettings: Sendable, Hashable {
    public enum Engine: Sendable, Hashable {
        /// A SQLite file, opened in WAL mode.
        case sqliteFile(path: String)
        /// A private in-memory SQLite database (tests).
        case sqliteMemory
        /// A PostgreSQL server.
        case postgres(url: String)
    }

    public var engine: Engine
    public var autoMigrate: Bool
    public var maxConnectionsPerEventLoop: Int
    /// How long a PostgreSQL query waits for a free pooled connection before failing.
    public var poolWaitSeconds: Int64

    public init(
        engine: Engine, autoMigrate: Bool = true, maxConnectionsPerEventLoop: Int = 8, poolWaitSeconds: Int64 = 10
    ) {
        self.engine = engine
        self.autoMigrate = autoMigrate
        self.maxConnectionsPerEventLoop = maxConnectionsPerEventLoop
        self.poolWaitSeconds = poolWaitSeconds
    }

    /// True when migrations should run at start-up: always on SQLite, on request on PostgreSQL.
    public var migratesOnStart: Bool {
        if case .postgres = engine { return autoMigrate }
        return true
    }
}

/// The SQL dialect in use, for the few queries that differ (see `Dialect/`).
public enum SQLDialectKind: String, Sendable {
    case sqlite
    case postgres
}

/// Owns the connection pools and the migration history. A ServiceLifecycle service: on graceful shutdown it
/// closes the pools after every service started after it has stopped.
public final class DatabaseService: Service, Sendable {
    public let dialect: SQLDialectKind
    public let logger: Logger
    let databases: Databases
    let eventLoopGroup: any EventLoopGroup
    /// SQLite runs on one connection pinned to one event loop: a single writer, no lock contention.
    let pinnedEventLoop: (any EventLoop)?
    let migrations: [any Migration]

    /// Opens (but does not migrate) the database.
    /// - Parameters:
    ///   - settings: which engine and where.
    ///   - migrations: every module's migrations, in order.
    ///   - logger: logger for SQL errors.
    /// - Throws: `HygieStorageError.configuration` for an unusable URL or path.
    public init(settings: DatabaseSettings, migrations: [any Migration], logger: Logger) throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let databases = Databases(threadPool: NIOThreadPool.singleton, on: group)
        switch settings.engine {
        case .sqliteFile(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw HygieStorageError.configuration("cannot create data directory \(directory)")
            }
            // One connection serialises every statement (decision 0001): a request may wait behind a long import,
            // so it waits up to a minute rather than the pool's default ten seconds.
            databases.use(
                .sqlite(
                    .file(path), maxConnectionsPerEventLoop: 1, connectionPoolTimeout: .seconds(60), sqlLogLevel: .trace
                ),
                as: .sqlite)
            dialect = .sqlite
            pinnedEventLoop = group.next()
        case .sqliteMemory:
            databases.use(
                .sqlite(
                    .memory, maxConnectionsPerEventLoop: 1, connectionPoolTimeout: .seconds(60), sqlLogLevel: .trace),
                as: .sqlite)
            dialect = .sqlite
            pinnedEventLoop = group.next()
        case .postgres(let url):
            let configuration: SQLPostgresConfiguration
            do {
                configuration = try SQLPostgresConfiguration(url: url)
            } catch {
                throw HygieStorageError.configuration("hygie.database.url is not a valid postgres:// URL")
            }
            databases.use(
                .postgres(
                    configuration: configuration, maxConnectionsPerEventLoop: settings.maxConnectionsPerEventLoop,
                    connectionPoolTimeout: .seconds(settings.poolWaitSeconds), sqlLogLevel: .trace), as: .psql)
            dialect = .postgres
            pinnedEventLoop = nil
        }
        self.databases = databases
        self.eventLoopGroup = group
        self.migrations = migrations
        self.logger = logger
    }

    /// A database handle for one unit of work.
    public var db: any Database {
        // `database(logger:on:)` returns nil only for an unregistered id; the default id is always registered.
        databases.database(logger: logger, on: pinnedEventLoop ?? eventLoopGroup.any())!
    }

    /// The SQLKit view of ``db`` for hand-written queries.
    public var sql: any SQLDatabase {
        // Both drivers implement SQLDatabase.
        db as! any SQLDatabase
    }

    /// Checks that the database answers (readiness).
    public func ping() async throws {
        _ = try await sql.raw("SELECT 1 AS ok").all()
    }

    /// Sets up engine options, then applies every pending migration.
    public func migrate() async throws {
        try await prepareEngine()
        try await makeMigrator().setupIfNeeded().flatMap { [self] in makeMigrator().prepareBatch() }.get()
    }

    /// Engine options that must hold before any other query: WAL and foreign keys on SQLite.
    public func prepareEngine() async throws {
        guard dialect == .sqlite else { return }
        _ = try await sql.raw("PRAGMA journal_mode=WAL").all()
        _ = try await sql.raw("PRAGMA synchronous=NORMAL").all()
        // 64 MiB of page cache: event batches otherwise spill pages to disk in the middle of a transaction.
        _ = try await sql.raw("PRAGMA cache_size=-65536").all()
    }

    /// Reverts every migration (tests and `hygie migrate --revert-all`).
    public func revertAll() async throws {
        try await makeMigrator().setupIfNeeded().flatMap { [self] in makeMigrator().revertAllBatches() }.get()
    }

    /// Names of the migrations not yet applied.
    public func pendingMigrations() async throws -> [String] {
        try await makeMigrator().setupIfNeeded().get()
        return try await makeMigrator().previewPrepareBatch().get().map { $0.0.name }
    }

    private func makeMigrator() -> Migrator {
        let registry = Migrations()
        registry.add(migrations)
        return Migrator(
            databases: databases, migrations: registry, logger: logger,
            on: pinnedEventLoop ?? eventLoopGroup.any())
    }

    /// Runs `body` in one database transaction.
    public func transaction<T: Sendable>(_ body: @Sendable @escaping (any Database) async throws -> T) async throws -> T
    {
        try await db.transaction { try await body($0) }
    }

    /// Closes every connection pool.
    public func shutdown() async {
        await databases.shutdownAsync()
    }

    public func run() async throws {
        try await databases.run()
    }
}
