/// A calendar date and time read from an event value (ISO 8601 / RFC 3339 and the `YYYY-MM-DD hh:mm:ss.fff` form
/// Sysmon uses), without allocating.
public struct DateParts: Sendable, Hashable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    public var fraction: Double
    /// Offset from UTC in seconds (0 when the text has none).
    public var offset: Int

    public init(
        year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, fraction: Double = 0,
        offset: Int = 0
    ) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.fraction = fraction
        self.offset = offset
    }

    public init?(_ text: String) {
        var copy = text
        guard let parsed = copy.withUTF8({ DateParts(bytes: $0) }) else { return nil }
        self = parsed
    }

    init?(bytes: UnsafeBufferPointer<UInt8>) {
        var index = 0
        let count = bytes.count
        func number(_ digits: Int) -> Int? {
            guard count - index >= digits else { return nil }
            var value = 0
            for _ in 0..<digits {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
                index += 1
            }
            return value
        }
        func skip(_ byte: UInt8) -> Bool {
            guard index < count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = number(4), skip(UInt8(ascii: "-")), let month = number(2), skip(UInt8(ascii: "-")),
            let day = number(2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        self.init(year: year, month: month, day: day)
        if index == count { return }
        guard
            bytes[index] == UInt8(ascii: "T") || bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "t")
        else { return nil }
        index += 1
        guard let hour = number(2), skip(UInt8(ascii: ":")), let minute = number(2), hour < 24, minute < 60 else {
            return nil
        }
        self.hour = hour
        self.minute = minute
        if skip(UInt8(ascii: ":")) {
            guard let second = number(2), second <= 60 else { return nil }
            self.second = second
            if index < count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
                index += 1
                var scale = 0.1
                var digits = 0
                while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                    fraction += Double(bytes[index] - 0x30) * scale
                    scale /= 10
                    index += 1
                    digits += 1
                }
                guard digits > 0 else { return nil }
            }
        }
        while index < count, bytes[index] == 0x20 { index += 1 }
        if index == count { return }
        if bytes[index] == UInt8(ascii: "Z") || bytes[index] == UInt8(ascii: "z") {
            index += 1
        } else if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2) else { return nil }
            _ = skip(UInt8(ascii: ":"))
            let minutes = number(2) ?? 0
            offset = sign * (hours * 3600 + minutes * 60)
        }
        guard index == count else { return nil }
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    public var epochSeconds: Double {
        Double(DateParts.daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset)
            + fraction
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public static func fromEpoch(_ seconds: Double) -> DateParts {
        let whole = Int(seconds.rounded(.down))
        let days = whole >= 0 ? whole / 86400 : (whole - 86399) / 86400
        let rest = whole - days * 86400
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return DateParts(
            year: year, month: month, day: day, hour: rest / 3600, minute: rest % 3600 / 60, second: rest % 60,
            fraction: seconds - Double(whole))
    }

    /// ISO 8601 in UTC with milliseconds.
    public static func iso8601(_ seconds: Double) -> String {
        let parts = fromEpoch(seconds)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let millis = min(999, Int((parts.fraction * 1000).rounded()))
        return "\(pad(parts.year, 4))-\(pad(parts.month, 2))-\(pad(parts.day, 2))T\(pad(parts.hour, 2)):"
            + "\(pad(parts.minute, 2)):\(pad(parts.second, 2)).\(pad(millis, 3))Z"
    }

    /// The ISO week number (1–53).
    var isoWeek: Int {
        let days = DateParts.daysFromCivil(year, month, day)
        let weekday = ((days % 7) + 7 + 3) % 7  // Monday = 0
        let thursday = days - weekday + 3
        let thursdayYear = DateParts.fromEpoch(Double(thursday) * 86400).year
        let firstDay = DateParts.daysFromCivil(thursdayYear, 1, 1)
        return (thursday - firstDay) / 7 + 1
    }

    func value(of part: TimePart) -> Int {
        switch part {
        case .minute: minute
        case .hour: hour
        case .day: day
        case .week: isoWeek
        case .month: month
        case .year: year
        }
    }
}
