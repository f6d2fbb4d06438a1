/// A moment read from ISO 8601 text, with the wall-clock offset it was written in.
///
/// EHR exports write local times (`2026-11-23T14:05:00`), FHIR instants carry an offset (`…+01:00`) or `Z`.
/// Off-hours rules need the hospital's wall clock, so the offset is kept: a local time has the default offset
/// of the analysis, a `Z` time is moved into it, an explicit offset is the wall clock it names.
public struct Instant: Sendable, Hashable, Comparable, Codable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// Offset of the wall clock from UTC, in seconds.
    public var offset: Int32

    public init(seconds: Int64, offset: Int32 = 0) {
        self.seconds = seconds
        self.offset = offset
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.seconds < rhs.seconds }
    public static func == (lhs: Instant, rhs: Instant) -> Bool { lhs.seconds == rhs.seconds }
    public func hash(into hasher: inout Hasher) { hasher.combine(seconds) }

    /// Seconds since midnight on the wall clock.
    public var secondOfDay: Int { Int((seconds + Int64(offset)).mod(86_400)) }
    /// Days since 1970-01-01 on the wall clock.
    public var localDay: Int { Int((seconds + Int64(offset)).floorDiv(86_400)) }
    /// 1 = Monday … 7 = Sunday, on the wall clock.
    public var weekday: Int { Int((Int64(localDay) + 3).mod(7)) + 1 }

    public func adding(seconds delta: Int64) -> Instant { Instant(seconds: seconds + delta, offset: offset) }

    /// `YYYY-MM-DD[Thh:mm[:ss[.fff]]][Z|±hh:mm]`; a date alone is its midnight. Times without an offset take
    /// `defaultOffset`; `Z` times are shown in `defaultOffset` too.
    public init?(iso text: some StringProtocol, defaultOffset: Int32 = 0) {
        var utf8 = Array(text.utf8)
        while let last = utf8.last, last == 0x20 { utf8.removeLast() }
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= utf8.count else { return nil }
            var value = 0
            for byte in utf8[index..<index + count] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += count
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard index < utf8.count, utf8[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        if index < utf8.count, utf8[index] == UInt8(ascii: "T") || utf8[index] == 0x20 {
            index += 1
            guard let h = digits(2), expect(0x3A), let m = digits(2), h < 24, m < 60 else { return nil }
            hour = h
            minute = m
            if expect(0x3A) {
                guard let s = digits(2), s <= 60 else { return nil }
                second = min(s, 59)
                if expect(0x2E) || expect(0x2C) {
                    let start = index
                    while index < utf8.count, utf8[index] >= 0x30, utf8[index] <= 0x39 { index += 1 }
                    guard index > start else { return nil }
                }
            }
        }
        var offset = defaultOffset
        var local = true
        if index < utf8.count {
            if expect(UInt8(ascii: "Z")) || expect(UInt8(ascii: "z")) {
                local = false
            } else if utf8[index] == UInt8(ascii: "+") || utf8[index] == UInt8(ascii: "-") {
                let sign: Int32 = utf8[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                guard let h = digits(2), h < 24 else { return nil }
                _ = expect(0x3A)
                guard let m = digits(2), m < 60 else { return nil }
                offset = sign * Int32(h * 3600 + m * 60)
                local = false
                guard index == utf8.count else { return nil }
                let wall = Self.daysFromCivil(year, month, day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
                self.init(seconds: wall - Int64(offset), offset: offset)
                return
            }
        }
        guard index == utf8.count else { return nil }
        let wall = Self.daysFromCivil(year, month, day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        self.init(seconds: local ? wall - Int64(offset) : wall, offset: offset)
    }

    /// `YYYY-MM-DDThh:mm:ss±hh:mm` on the instant's own wall clock.
    public var iso: String {
        let wall = seconds + Int64(offset)
        let (year, month, day) = Self.civil(fromDays: wall.floorDiv(86_400))
        let second = Int(wall.mod(86_400))
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let sign = offset < 0 ? "-" : "+"
        let magnitude = Int(abs(offset))
        let zone = offset == 0 ? "Z" : "\(sign)\(two(magnitude / 3600)):\(two(magnitude % 3600 / 60))"
        return
            "\(year)-\(two(month))-\(two(day))T\(two(second / 3600)):\(two(second % 3600 / 60)):\(two(second % 60))\(zone)"
    }

    /// The wall-clock date, `YYYY-MM-DD`.
    public var isoDate: String { String(iso.prefix(10)) }

    /// Howard Hinnant's days-from-civil.
    public static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

extension Int64 {
    func mod(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }

    func floorDiv(_ divisor: Int64) -> Int64 {
        (self - mod(divisor)) / divisor
    }
}
