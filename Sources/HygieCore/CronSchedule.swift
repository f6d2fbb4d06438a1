import Foundation

/// A five-field cron expression (`minute hour day-of-month month day-of-week`), with `*`, lists, ranges,
/// steps and the aliases `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`. Times are UTC.
///
/// ```swift
/// let nightly = try CronSchedule("30 2 * * *")
/// ```
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let domRestricted: Bool
    let dowRestricted: Bool
    public let description: String

    /// - Throws: ``ValidationError`` naming the field at fault.
    public init(_ expression: String) throws {
        let aliases = [
            "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
            "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
        ]
        let trimmed = expression.trimmingCharacters(in: .whitespaces)
        let text = aliases[trimmed.lowercased()] ?? trimmed
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 5 else {
            throw ValidationError(field: "schedule", message: "expected 5 fields, found \(fields.count)")
        }
        minutes = try Self.parse(fields[0], name: "minute", range: 0...59)
        hours = try Self.parse(fields[1], name: "hour", range: 0...23)
        daysOfMonth = try Self.parse(fields[2], name: "day of month", range: 1...31)
        months = try Self.parse(fields[3], name: "month", range: 1...12)
        let dow = try Self.parse(fields[4], name: "day of week", range: 0...7)
        daysOfWeek = Set(dow.map { $0 == 7 ? 0 : $0 })
        domRestricted = fields[2] != "*"
        dowRestricted = fields[4] != "*"
        description = trimmed
    }

    /// Whether the schedule fires at this minute. `weekday` is 0 for Sunday.
    public func matches(minute: Int, hour: Int, day: Int, month: Int, weekday: Int) -> Bool {
        guard minutes.contains(minute), hours.contains(hour), months.contains(month) else { return false }
        // SPEC: POSIX crontab — when both day fields are restricted, either may match.
        switch (domRestricted, dowRestricted) {
        case (true, true): return daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
        case (true, false): return daysOfMonth.contains(day)
        case (false, true): return daysOfWeek.contains(weekday)
        case (false, false): return true
        }
    }

    static func parse(_ field: Substring, name: String, range: ClosedRange<Int>) throws -> Set<Int> {
        var result = Set<Int>()
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, let base = pieces.first, !base.isEmpty else {
                throw ValidationError(field: "schedule", message: "\(name): cannot read '\(part)'")
            }
            var step = 1
            if pieces.count == 2 {
                guard let value = Int(pieces[1]), value > 0, value <= range.upperBound + 1 else {
                    throw ValidationError(field: "schedule", message: "\(name): bad step in '\(part)'")
                }
                step = value
            }
            let lower: Int
            var upper: Int
            if base == "*" {
                lower = range.lowerBound
                upper = range.upperBound
            } else {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2, let first = Int(bounds[0]), range.contains(first) else {
                    throw ValidationError(
                        field: "schedule",
                        message:
                            "\(name): '\(part)' is outside \(range.lowerBound)-\(range.upperBound)")
                }
                lower = first
                upper = first
                if bounds.count == 2 {
                    guard let last = Int(bounds[1]), range.contains(last), last >= first else {
                        throw ValidationError(field: "schedule", message: "\(name): bad range '\(part)'")
                    }
                    upper = last
                } else if pieces.count == 2 {
                    upper = range.upperBound
                }
            }
            result.formUnion(stride(from: lower, through: upper, by: step))
        }
        return result
    }
}
