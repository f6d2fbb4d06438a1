import ComplianceCore
import Foundation
import STIX

/// Feeds arbitrary bytes to the compliance library. The first byte picks the parser: framework libraries (YAML),
/// OSCAL documents (JSON), indicator bindings or dates. A crash, a hang or a sanitizer report is a bug; errors
/// answer bad input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let mode = start.load(as: UInt8.self) % 4
    let bytes = Array(UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self) + 1, count: count - 1))
    let text = String(decoding: bytes, as: UTF8.self)
    switch mode {
    case 0:
        guard let library = try? LibraryReader.read(Data(bytes)) else { return 0 }
        for framework in library.frameworks {
            // The stored form decodes to the same framework, and scoring never traps.
            let stored = try! JSONEncoder().encode(framework)
            precondition(try! JSONDecoder().decode(Framework.self, from: stored) == framework, "framework round trip")
            var outcomes: [String: RequirementOutcome] = [:]
            for (index, node) in framework.nodes.enumerated() {
                outcomes[node.urn] = RequirementOutcome(
                    status: ResultStatus.allCases[index % ResultStatus.allCases.count])
            }
            let summary = Scoring.summarize(framework, outcomes: outcomes).overall
            precondition(summary.score.map { $0 >= 0 && $0 <= 1 } ?? true, "score outside 0…1")
        }
    case 1:
        guard let document = try? OSCAL.read(bytes) else { return 0 }
        // What was read writes back as the same JSON.
        precondition(try! OSCAL.read(JSONWriter.bytes(document.json)) == document, "OSCAL round trip")
        if case .catalog(let catalog) = document { _ = catalog.framework().themes() }
    case 2:
        guard let binding = try? IndicatorBinding(expression: text) else { return 0 }
        precondition(try! IndicatorBinding(expression: binding.expression) == binding, "binding round trip")
    default:
        guard let day = DayStamp(text) else { return 0 }
        precondition(DayStamp(day.description) == day, "day round trip")
        _ = EvidenceCheck.evaluate(
            RequirementRules(evidenceAfter: day.description, evidenceMaxAgeDays: 365),
            evidence: [EvidenceFact(effective: day)], on: day.adding(days: 10))
    }
    return 0
}
