import Foundation
import HygieCore
import HygieJobs
import HygieTestSupport
import Logging
import SQLKit
import Synchronization
import Testing

@Suite struct CronScheduleTests {
    func matches(_ expression: String, _ minute: Int, _ hour: Int, _ day: Int, _ month: Int, _ weekday: Int) throws
        -> Bool
    {
        try CronSchedule(expression).matches(minute: minute, hour: hour, day: day, month: month, weekday: weekday)
    }

    @Test func readsStandardForms() throws {
        #expect(try matches("*/15 * * * *", 45, 3, 1, 1, 0))
        #expect(try !matches("*/15 * * * *", 44, 3, 1, 1, 0))
        #expect(try matches("30 2 * * 1-5", 30, 2, 10, 6, 3))
        #expect(try !matches("30 2 * * 1-5", 30, 2, 10, 6, 6))
        #expect(try matches("0 0 1,15 * *", 0, 0, 15, 2, 2))
        #expect(try matches("@daily", 0, 0, 9, 9, 4))
        #expect(try matches("0 0 * * 7", 0, 0, 3, 3, 0))
        #expect(try matches("0 0 13 * 5", 0, 0, 13, 1, 1))
        #expect(try matches("0 0 13 * 5", 0, 0, 2, 1, 5))
    }

    @Test(arguments: [
        "", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "*/0 * * * *", "5-1 * * * *", "a b c d e",
        "1,,2 * * * *", "* * * * * *", "-1 * * * *", "*/ * * * *",
    ])
    func rejectsMalformedExpressions(_ expression: String) {
        #expect(throws: ValidationError.self) { try CronSchedule(expression) }
    }
}

final class RecordingHandler: JobHandler {
    let kind: String
    let runs: Mutex<[String]>
    let failuresBeforeSuccess: Int

    init(kind: String, failuresBeforeSuccess: Int = 0) {
        self.kind = kind
        runs = Mutex([])
        self.failuresBeforeSuccess = failuresBeforeSuccess
    }

    func run(_ job: Job) async throws {
        runs.withLock { $0.append(job.payload) }
        if job.attempts <= failuresBeforeSuccess {
            throw HygieJobsError.unknownKind("simulated failure \(job.attempts)")
        }
    }
}

@Suite struct JobQueueTests {
    @Test(arguments: TestDatabase.enabled)
    func claimsOnceCompletesAndHonoursIdempotencyKeys(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let queue = services.jobs
            #expect(try await queue.enqueue(kind: "test.a", payload: "{\"n\":1}", idempotencyKey: "k1"))
            #expect(try await !queue.enqueue(kind: "test.a", payload: "{\"n\":1}", idempotencyKey: "k1"))
            try await queue.enqueue(
                kind: "test.a", payload: "{\"n\":2}", runAt: services.clock.now().addingTimeInterval(60))

            let first = try await queue.claim(kinds: ["test.a"], worker: "w1", limit: 10)
            let second = try await queue.claim(kinds: ["test.a"], worker: "w2", limit: 10)

            #expect(first.map(\.payload) == ["{\"n\":1}"])
            #expect(second.isEmpty)
            try await queue.complete(first[0].id, worker: "w1")
            #expect(try await queue.counts()[.succeeded] == 1)
            services.clock.advance(by: 61)
            #expect(try await queue.claim(kinds: ["test.a"], worker: "w2", limit: 10).count == 1)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func retriesWithBackoffThenMarksDead(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let queue = services.jobs
            try await queue.enqueue(kind: "test.fail", maxAttempts: 2)

            let job = try #require(try await queue.claim(kinds: ["test.fail"], worker: "w", limit: 1).first)
            try await queue.fail(job, worker: "w", error: "boom")
            #expect(try await queue.claim(kinds: ["test.fail"], worker: "w", limit: 1).isEmpty)
            services.clock.advance(by: JobQueue.backoff(attempt: 1) + 1)
            let again = try #require(try await queue.claim(kinds: ["test.fail"], worker: "w", limit: 1).first)
            #expect(again.attempts == 2)
            try await queue.fail(again, worker: "w", error: "boom again")

            let dead = try await queue.recent(status: .dead)
            #expect(dead.map(\.lastError) == ["boom again"])
            try await queue.retry(dead[0].id)
            #expect(try await queue.counts()[.queued] == 1)
        }
    }

    @Test func backoffDoublesAndIsCapped() {
        #expect(JobQueue.backoff(attempt: 1) == 10)
        #expect(JobQueue.backoff(attempt: 3) == 40)
        #expect(JobQueue.backoff(attempt: 30) == 3600)
    }

    @Test(arguments: TestDatabase.enabled)
    func requeuesJobsOfADeadNode(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let queue = services.jobs
            try await queue.enqueue(kind: "test.stale")
            _ = try await queue.claim(kinds: ["test.stale"], worker: "dead-node", limit: 1)
            services.clock.advance(by: queue.leaseTimeout + 1)

            #expect(try await queue.requeueStale() == 1)

            #expect(try await queue.claim(kinds: ["test.stale"], worker: "live-node", limit: 1).count == 1)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func concurrentClaimersNeverShareAJob(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            for index in 0..<40 { try await services.jobs.enqueue(kind: "test.many", payload: "\(index)") }
            let claimed = try await withThrowingTaskGroup(of: [Job].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var mine: [Job] = []
                        while true {
                            let batch = try await services.jobs.claim(
                                kinds: ["test.many"], worker: "w\(worker)", limit: 3)
                            if batch.isEmpty { return mine }
                            mine += batch
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(claimed.count == 40)
            #expect(Set(claimed.map(\.id)).count == 40)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func schedulerEnqueuesAMinuteOnceAcrossNodes(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let entries = [
                ScheduledJob(name: "nightly", schedule: try CronSchedule("30 2 * * *"), kind: "test.nightly")
            ]
            let nodeA = JobScheduler(
                queue: services.jobs, entries: entries, clock: services.clock, logger: Logger(label: "a"))
            let nodeB = JobScheduler(
                queue: services.jobs, entries: entries, clock: services.clock, logger: Logger(label: "b"))
            let due = Date(timeIntervalSince1970: 1_790_044_200)  // 2026-09-22 02:30 UTC

            #expect(await nodeA.enqueueDue(at: due) == 1)
            #expect(await nodeB.enqueueDue(at: due) == 0)
            #expect(await nodeA.enqueueDue(at: due.addingTimeInterval(60)) == 0)
            #expect(try await services.jobs.counts()[.queued] == 1)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func workerRunsRetriesAndStopsOnShutdown(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let handler = RecordingHandler(kind: "test.work")
            for index in 0..<3 { try await services.jobs.enqueue(kind: "test.work", payload: "\(index)") }
            let worker = JobWorker(
                queue: services.jobs, handlers: [handler], name: "w", concurrency: 2, pollInterval: .milliseconds(20),
                logger: Logger(label: "w"))

            let task = Task { try await worker.run() }
            for _ in 0..<500 where try await services.jobs.counts()[.succeeded] != 3 {
                try await Task.sleep(for: .milliseconds(10))
            }
            task.cancel()
            _ = await task.result

            #expect(try await services.jobs.counts()[.succeeded] == 3)
            #expect(handler.runs.withLock { Set($0) } == ["0", "1", "2"])
        }
    }
}
