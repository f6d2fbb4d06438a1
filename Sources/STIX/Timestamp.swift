public import Foundation

/// A STIX/TAXII timestamp: RFC 3339 in UTC (`2026-11-29T08:00:00.123Z`), kept as microseconds since
/// 1970 plus the text it was read from (STIX compares versions as instants, but writes them back as sent).
public struct STIXTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z. Fractions finer than a microsecond are truncated.
    public var microseconds: Int64
    /// How many fraction digits the text carried (STIX `modified`/`created` need at least millisecond precision).
    public var fractionDigits: Int

    public init(microseconds: Int64, fractionDigits: Int = 6) {
        self.microseconds = microseconds
        self.fractionDigits = fractionDigits
    }

    /// The instant of `date`, to the millisecond (STIX timestamps Hygie writes carry milliseconds).
    public init(_ date: Date) {
        self.init(microseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) * 1000, fractionDigits: 3)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z`. STIX requires the `Z`; lowercase `t`/`z` are refused too.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        var micros = 0
        var digits = 0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count > 21 else { return nil }
            for index in 20..<(bytes.count - 1) {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                if digits < 6 { micros = micros * 10 + Int(byte - 0x30) }
                digits += 1
            }
            for _ in min(digits, 6)..<6 { micros *= 10 }
        } else if bytes.count != 20 {
            return nil
        }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        // A leap second is read as the last microsecond of the minute's 59th second.
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59))
        microseconds = seconds * 1_000_000 + Int64(second == 60 ? 999_999 : micros)
        fractionDigits = digits
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The TAXII form: always six fraction digits (`2026-11-29T08:00:00.123000Z`).
    public var taxiiString: String { format(fractionDigits: 6) }

    /// The STIX form with millisecond precision (`2026-11-29T08:00:00.123Z`).
    public var stixString: String { format(fractionDigits: 3) }

    public var description: String { taxiiString }

    public func format(fractionDigits: Int) -> String {
        var seconds = microseconds / 1_000_000
        var micros = microseconds % 1_000_000
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        var days = Int(seconds / 86_400)
        var rest = Int(seconds % 86_400)
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let (year, month, day) = Self.civil(fromDays: days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text =
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(rest / 3600, 2)):\(pad(rest / 60 % 60, 2)):\(pad(rest % 60, 2))"
        if fractionDigits > 0 {
            let fraction = pad(Int(micros), 6)
            text += "." + String(fraction.prefix(min(fractionDigits, 6)))
        }
        return text + "Z"
    }

    public static func < (lhs: STIXTimestamp, rhs: STIXTimestamp) -> Bool { lhs.microseconds < rhs.microseconds }
    public static func == (lhs: STIXTimestamp, rhs: STIXTimestamp) -> Bool { lhs.microseconds == rhs.microseconds }
    public func hash(into hasher: inout Hasher) { hasher.combine(microseconds) }
}
