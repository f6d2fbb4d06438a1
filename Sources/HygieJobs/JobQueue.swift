public import FluentKit
public import Foundation
public import HygieCore
public import HygieStorage
import SQLKit

/// The database-backed job queue shared by every node.
///
/// Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL so that nodes never take the same job and never wait on
/// each other; on SQLite the single connection makes every claim exclusive.
public struct JobQueue: Sendable {
    let database: DatabaseService
    let clock: any HygieClock
    /// A running job whose lock is older than this is taken to belong to a dead node and is queued again.
    public let leaseTimeout: TimeInterval

    public init(database: DatabaseService, clock: any HygieClock, leaseTimeout: TimeInterval = 600) {
        self.database = database
        self.clock = clock
        self.leaseTimeout = leaseTimeout
    }

    /// Adds a job. With an `idempotencyKey`, a second enqueue of the same key is ignored (returns false).
    @discardableResult
    public func enqueue(
        kind: String, payload: String = "{}", establishmentID: Establishment.ID? = nil, runAt: Date? = nil,
        maxAttempts: Int = 5, idempotencyKey: String? = nil
    ) async throws -> Bool {
        let now = clock.now()
        let id = UUID()
        let sql = database.sql
        let inserted = try await sql.raw(
            """
            INSERT INTO jobs_queue (id, establishment_id, kind, payload, status, attempts, max_attempts, run_at, \
            idempotency_key, created_at, updated_at) VALUES (\(bind: id), \(bind: establishmentID?.uuid), \
            \(bind: kind), \(bind: payload), 'queued', 0, \(bind: Int64(maxAttempts)), \(bind: runAt ?? now), \
            \(bind: idempotencyKey), \(bind: now), \(bind: now)) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
            """
        ).all()
        return !inserted.isEmpty
    }

    /// Claims up to `limit` due jobs of the given kinds for `worker`.
    public func claim(kinds: [String], worker: String, limit: Int) async throws -> [Job] {
        guard !kinds.isEmpty, limit > 0 else { return [] }
        let now = clock.now()
        let dialect = database.dialect
        let rows = try await database.sql.raw(
            """
            UPDATE jobs_queue SET status = 'running', locked_by = \(bind: worker), locked_at = \(bind: now), \
            attempts = attempts + 1, updated_at = \(bind: now) WHERE id IN (SELECT id FROM jobs_queue \
            WHERE status = 'queued' AND run_at <= \(bind: now) AND kind IN (\(binds: kinds)) \
            ORDER BY run_at LIMIT \(literal: limit)\(unsafeRaw: dialect.forUpdateSkipLocked)) RETURNING id
            """
        ).all()
        let ids = try rows.map { try $0.decode(column: "id", as: UUID.self) }
        if ids.isEmpty { return [] }
        return try await JobModel.query(on: database.db).filter(\.$id ~~ ids).sort(\.$runAt).all().map(Self.job)
    }

    /// Marks a claimed job as done.
    public func complete(_ id: UUID, worker: String) async throws {
        let now = clock.now()
        try await database.sql.raw(
            """
            UPDATE jobs_queue SET status = 'succeeded', finished_at = \(bind: now), updated_at = \(bind: now), \
            locked_by = NULL, locked_at = NULL WHERE id = \(bind: id) AND locked_by = \(bind: worker)
            """
        ).run()
    }

    /// Records a failure: the job runs again after an exponential backoff, or is marked dead.
    public func fail(_ job: Job, worker: String, error: String) async throws {
        let now = clock.now()
        let dead = job.attempts >= job.maxAttempts
        let retryAt = now.addingTimeInterval(Self.backoff(attempt: job.attempts))
        try await database.sql.raw(
            """
            UPDATE jobs_queue SET status = \(bind: dead ? "dead" : "queued"), run_at = \(bind: dead ? job.runAt : retryAt), \
            last_error = \(bind: String(error.prefix(2000))), updated_at = \(bind: now), \
            finished_at = \(bind: dead ? now : nil), locked_by = NULL, locked_at = NULL \
            WHERE id = \(bind: job.id) AND locked_by = \(bind: worker)
            """
        ).run()
    }

    /// Gives back a claimed job without counting an attempt (graceful shutdown before it started).
    public func release(_ id: UUID, worker: String) async throws {
        try await database.sql.raw(
            """
            UPDATE jobs_queue SET status = 'queued', attempts = attempts - 1, locked_by = NULL, locked_at = NULL \
            WHERE id = \(bind: id) AND locked_by = \(bind: worker) AND status = 'running'
            """
        ).run()
    }

    /// Renews the lease of every job `worker` is running.
    public func heartbeat(worker: String) async throws {
        try await database.sql.raw(
            "UPDATE jobs_queue SET locked_at = \(bind: clock.now()) WHERE locked_by = \(bind: worker) AND status = 'running'"
        ).run()
    }

    /// Queues again the running jobs whose node stopped renewing them (crash, kill -9).
    @discardableResult
    public func requeueStale() async throws -> Int {
        let cutoff = clock.now().addingTimeInterval(-leaseTimeout)
        let rows = try await database.sql.raw(
            """
            UPDATE jobs_queue SET status = 'queued', locked_by = NULL, locked_at = NULL \
            WHERE status = 'running' AND locked_at < \(bind: cutoff) RETURNING id
            """
        ).all()
        return rows.count
    }

    /// Seconds before attempt `attempt + 1`: 10 s doubling, capped at one hour.
    public static func backoff(attempt: Int) -> TimeInterval {
        min(10 * pow(2, Double(max(attempt - 1, 0))), 3600)
    }

    /// Jobs for the admin page, newest first, optionally of one status.
    public func recent(status: Job.Status?, limit: Int = 100) async throws -> [Job] {
        let query = JobModel.query(on: database.db).sort(\.$createdAt, .descending).limit(limit)
        if let status { query.filter(\.$status == status.rawValue) }
        return try await query.all().map(Self.job)
    }

    /// Number of jobs in each status (metrics and admin page).
    public func counts() async throws -> [Job.Status: Int] {
        let rows = try await database.sql.raw("SELECT status, COUNT(*) AS n FROM jobs_queue GROUP BY status").all()
        var result: [Job.Status: Int] = [:]
        for row in rows {
            if let status = Job.Status(rawValue: try row.decode(column: "status", as: String.self)) {
                result[status] = try row.decode(column: "n", as: Int.self)
            }
        }
        return result
    }

    /// Queues a dead job again with a fresh attempt budget (admin action).
    public func retry(_ id: UUID) async throws {
        let now = clock.now()
        let rows = try await database.sql.raw(
            """
            UPDATE jobs_queue SET status = 'queued', attempts = 0, run_at = \(bind: now), updated_at = \(bind: now), \
            finished_at = NULL WHERE id = \(bind: id) AND status = 'dead' RETURNING id
            """
        ).all()
        if rows.isEmpty { throw HygieCoreError.notFound("failed job") }
    }

    static func job(_ model: JobModel) -> Job {
        Job(
            id: model.id!, establishmentID: model.establishmentID.map(Establishment.ID.init), kind: model.kind,
            payload: model.payload, status: Job.Status(rawValue: model.status) ?? .queued,
            attempts: Int(model.attempts),
            maxAttempts: Int(model.maxAttempts), runAt: model.runAt, lockedBy: model.lockedBy,
            lastError: model.lastError,
            createdAt: model.createdAt, finishedAt: model.finishedAt)
    }
}

/// The migrations of the job tables.
public enum JobsMigrations {
    public static var all: [any Migration] { [CreateJobs()] }
}
