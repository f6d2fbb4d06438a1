public import HygieCore
import SQLKit

extension DetectionService: IndicatorSource {
    public var indicators: [IndicatorDefinition] {
        [
            IndicatorDefinition(
                key: "detection.silent-sources", unit: .count, higherIsBetter: false,
                titleFR: "Sources de journaux silencieuses", titleEN: "Silent log sources")
        ]
    }

    /// Sources silent for longer than their expected interval; nil while none has an expected interval.
    public func measure(_ key: String, for establishment: Establishment.ID) async throws -> IndicatorMeasurement? {
        guard key == "detection.silent-sources" else { return nil }
        let now = clock.now()
        let sources = try await sql.raw(
            "SELECT * FROM det_sources WHERE establishment_id = \(bind: establishment.uuid)"
        ).all().map(Self.source).filter { $0.expectedIntervalSeconds != nil }
        guard !sources.isEmpty else { return nil }
        let silent = sources.count { $0.isSilent(at: now) }
        return IndicatorMeasurement(key: key, value: Double(silent), measuredAt: now, basis: sources.count)
    }
}
