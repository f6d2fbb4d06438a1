import Foundation
import HygieCore
public import Logging
public import ServiceLifecycle
import Synchronization

/// Claims and runs jobs until graceful shutdown; then it stops claiming and lets running jobs finish.
public struct JobWorker: Service {
    let queue: JobQueue
    let handlers: [String: any JobHandler]
    let name: String
    let concurrency: Int
    let pollInterval: Duration
    let logger: Logger

    /// - Parameters:
    ///   - name: unique per process (host name and PID), stored as the lock owner.
    ///   - concurrency: jobs run at once by this worker.
    public init(
        queue: JobQueue, handlers: [any JobHandler], name: String, concurrency: Int = 2,
        pollInterval: Duration = .seconds(1), logger: Logger
    ) {
        self.queue = queue
        self.handlers = Dictionary(handlers.map { ($0.kind, $0) }, uniquingKeysWith: { first, _ in first })
        self.name = name
        self.concurrency = max(concurrency, 1)
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        let running = RunningCount()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                var lastMaintenance = ContinuousClock.now
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    if ContinuousClock.now - lastMaintenance > .seconds(30) {
                        lastMaintenance = ContinuousClock.now
                        await maintenance()
                    }
                    let free = concurrency - running.value
                    var claimed: [Job] = []
                    if free > 0 {
                        do {
                            claimed = try await queue.claim(kinds: Array(handlers.keys), worker: name, limit: free)
                        } catch {
                            logger.error("job claim failed", metadata: ["error": "\(error)"])
                        }
                    }
                    for job in claimed {
                        running.add(1)
                        group.addTask {
                            await execute(job)
                            running.add(-1)
                        }
                    }
                    if claimed.count < free || free == 0 {
                        try? await Task.sleep(for: pollInterval)  // cancellation (shutdown) ends the loop
                    }
                }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            logger.info("job worker stopping after running jobs finish", metadata: ["worker": "\(name)"])
        }
    }

    func maintenance() async {
        do {
            try await queue.heartbeat(worker: name)
            let requeued = try await queue.requeueStale()
            if requeued > 0 { logger.notice("requeued stale jobs", metadata: ["count": "\(requeued)"]) }
        } catch {
            logger.error("job maintenance failed", metadata: ["error": "\(error)"])
        }
    }

    func execute(_ job: Job) async {
        guard let handler = handlers[job.kind] else { return }
        var jobLogger = logger
        jobLogger[metadataKey: "job_id"] = "\(job.id)"
        jobLogger[metadataKey: "job_kind"] = "\(job.kind)"
        do {
            try await handler.run(job)
            try await queue.complete(job.id, worker: name)
            jobLogger.debug("job succeeded")
        } catch {
            jobLogger.warning("job failed", metadata: ["attempt": "\(job.attempts)", "error": "\(error)"])
            do { try await queue.fail(job, worker: name, error: "\(error)") } catch {
                jobLogger.error("cannot record job failure", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Jobs in flight, shared between the claim loop and the job tasks.
final class RunningCount: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add(_ delta: Int) { count.withLock { $0 += delta } }
}
