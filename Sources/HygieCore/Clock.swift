public import Foundation
import Synchronization

/// The source of the current time, injected so that tests are deterministic.
public protocol HygieClock: Sendable {
    func now() -> Date
}

/// The system's wall clock.
public struct SystemClock: HygieClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that only moves when told to (tests and benchmarks).
public final class ManualClock: HygieClock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_790_000_000)) {
        current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

extension HygieClock {
    /// Milliseconds since 1970 (how Hygie stores instants in `BIGINT` columns).
    public var milliseconds: Int64 { now().milliseconds }
}

extension Date {
    public init(milliseconds: Int64) { self.init(timeIntervalSince1970: Double(milliseconds) / 1000) }
    /// Milliseconds since 1970.
    public var milliseconds: Int64 { Int64(timeIntervalSince1970 * 1000) }
    /// Whole UTC days since 1970-01-01.
    public var dayNumber: Int64 { Int64((timeIntervalSince1970 / 86_400).rounded(.down)) }

    /// The UTC calendar day, `YYYY-MM-DD` (arithmetic on the day number, no formatter: cheap in loops).
    public var utcDay: String {
        // Howard Hinnant's civil_from_days.
        let z = Int(dayNumber) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shifted + 2) / 5 + 1
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return String(format: "%04d-%02d-%02d", year, month, day)
    }
}

/// Creates identifiers; injected for deterministic tests.
public protocol IDGenerator: Sendable {
    func make() -> UUID
}

/// Random (version 4) UUIDs.
public struct RandomIDGenerator: IDGenerator {
    public init() {}
    public func make() -> UUID { UUID() }
}
