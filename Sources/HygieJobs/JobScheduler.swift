public import Foundation
public import HygieCore
public import Logging
public import ServiceLifecycle

/// A job to enqueue on a cron schedule.
public struct ScheduledJob: Sendable, Hashable {
    public let name: String
    public let schedule: CronSchedule
    public let kind: String
    public let payload: String

    public init(name: String, schedule: CronSchedule, kind: String, payload: String = "{}") {
        self.name = name
        self.schedule = schedule
        self.kind = kind
        self.payload = payload
    }
}

/// Enqueues scheduled jobs. Every node runs one; the idempotency key `schedule:<name>:<minute>` makes sure a
/// minute's job is queued once, whichever node gets there first.
public struct JobScheduler: Service {
    let queue: JobQueue
    let entries: [ScheduledJob]
    let clock: any HygieClock
    let logger: Logger
    let tick: Duration

    public init(
        queue: JobQueue, entries: [ScheduledJob], clock: any HygieClock, logger: Logger, tick: Duration = .seconds(15)
    ) {
        self.queue = queue
        self.entries = entries
        self.clock = clock
        self.logger = logger
        self.tick = tick
    }

    public func run() async throws {
        var lastMinute = Self.minuteStart(clock.now())
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let current = Self.minuteStart(clock.now())
            var minute = lastMinute.addingTimeInterval(60)
            while minute <= current {
                await enqueueDue(at: minute)
                minute = minute.addingTimeInterval(60)
            }
            lastMinute = current
            try? await Task.sleep(for: tick)  // cancellation (shutdown) ends the loop
        }
    }

    /// Enqueues the entries due at `minute`; returns how many were newly queued.
    @discardableResult
    public func enqueueDue(at minute: Date) async -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: minute)
        var queued = 0
        for entry in entries
        where entry.schedule.matches(
            minute: parts.minute!, hour: parts.hour!, day: parts.day!, month: parts.month!, weekday: parts.weekday! - 1)
        {
            let key = "schedule:\(entry.name):\(Int64(minute.timeIntervalSince1970) / 60)"
            do {
                if try await queue.enqueue(kind: entry.kind, payload: entry.payload, runAt: minute, idempotencyKey: key)
                {
                    queued += 1
                }
            } catch {
                logger.error(
                    "cannot enqueue scheduled job", metadata: ["schedule": "\(entry.name)", "error": "\(error)"])
            }
        }
        return queued
    }

    static func minuteStart(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60)
    }
}
