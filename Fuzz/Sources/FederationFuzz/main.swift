import FederationCore
import Foundation

/// Feeds arbitrary bytes to what a hub and its members read from each other and from coordinators. The first byte
/// chooses: 0 a snapshot, 1 a declaration copy, 2 a broadcast alert, 3 a broadcast answer (JSON, then validation),
/// 4 product lines, 5 indicator lines. A crash, a hang or a sanitizer report is a bug; errors answer bad input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let mode = start.load(as: UInt8.self) % 6
    let bytes = Data(UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self) + 1, count: count - 1))
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .millisecondsSince1970
    switch mode {
    case 0: _ = try? decoder.decode(Snapshot.self, from: bytes).validate()
    case 1: _ = try? decoder.decode(DeclarationCopy.self, from: bytes).validate()
    case 2:
        guard let broadcast = try? decoder.decode(Broadcast.self, from: bytes), (try? broadcast.validate()) != nil
        else { return 0 }
        for pattern in broadcast.indicators {
            precondition(
                BroadcastIndicators.observables(pattern)?.isEmpty == false, "a valid alert without observables")
        }
    case 3: _ = try? decoder.decode(BroadcastAnswer.self, from: bytes).validate()
    case 4:
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            if let range = try? ProductRange.parse(line: String(line)) {
                precondition((try? range.validate()) != nil, "a parsed product that does not validate")
            }
        }
    default:
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            if let pattern = try? BroadcastIndicators.pattern(line: String(line)) {
                precondition(BroadcastIndicators.observables(pattern) != nil, "an indicator line that does not re-read")
            }
        }
    }
    return 0
}
