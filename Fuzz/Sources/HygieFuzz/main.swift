import HygieCore

/// Feeds arbitrary bytes to every pure parser of HygieCore. A crash, a hang or a sanitizer report is a bug;
/// a thrown `ValidationError` is the expected answer to bad input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? CronSchedule(text)
    _ = try? FINESS(text)
    _ = try? PageCursor(token: text)
    if let schedule = try? CronSchedule(text), let first = bytes.first {
        _ = schedule.matches(
            minute: Int(first) % 60, hour: Int(first) % 24, day: Int(first) % 31 + 1, month: Int(first) % 12 + 1,
            weekday: Int(first) % 7)
    }
    return 0
}
