import Benchmark
import Foundation
import HygieCore
import HygieStorage
import Logging

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions, .throughput], maxDuration: .seconds(3))
    sigmaBenchmarks()
    stixBenchmarks()

    let totp = TOTP(secret: Data("12345678901234567890".utf8))
    let now = Date(timeIntervalSince1970: 1_790_000_015)
    let code = totp.code(at: now)
    Benchmark("TOTP verify (±1 step)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(totp.matchingStep(for: code, at: now, after: 0))
        }
    }

    let policy = PasswordPolicy()
    Benchmark("Password policy check") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? policy.check("Correct-Horse-Battery-Staple-42", context: ["claire.morel@chu.fr"]))
        }
    }

    Benchmark("Cron parse and match") { benchmark in
        for _ in benchmark.scaledIterations {
            let schedule = try CronSchedule("*/5 8-18 * * 1-5")
            blackHole(schedule.matches(minute: 35, hour: 10, day: 3, month: 4, weekday: 2))
        }
    }

    Benchmark(
        "Audit trail append on SQLite (100 events, one transaction each)",
        configuration: .init(maxDuration: .seconds(5))
    ) { benchmark in
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let database = try DatabaseService(
            settings: .init(engine: .sqliteMemory), migrations: CoreMigrations.all, logger: logger)
        try await database.migrate()
        let audit = AuditTrail(dialect: database.dialect, clock: SystemClock())
        let actor = Actor.system("bench")
        benchmark.startMeasurement()
        for index in 0..<100 {
            try await database.transaction { db in
                try await audit.record(
                    AuditEntry(action: "bench.event", objectType: "thing", objectID: "\(index)", summary: "event"),
                    by: actor, on: db)
            }
        }
        benchmark.stopMeasurement()
        await database.shutdown()
    }
}
