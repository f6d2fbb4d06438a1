public import Foundation

/// A figure a Hygie module measures for one establishment, which compliance requirements can bind to
/// ("share of staff trained in the last 12 months ≥ 80").
public struct IndicatorDefinition: Sendable, Hashable, Codable {
    public enum Unit: String, Sendable, Hashable, Codable {
        case percent
        case count
        case level
    }

    /// `<module>.<name>`, e.g. `vuln.kev-overdue-exposed`.
    public var key: String
    public var unit: Unit
    /// Whether a higher value is better (coverage) or worse (overdue findings).
    public var higherIsBetter: Bool
    public var titleFR: String
    public var titleEN: String

    public init(key: String, unit: Unit, higherIsBetter: Bool, titleFR: String, titleEN: String) {
        self.key = key
        self.unit = unit
        self.higherIsBetter = higherIsBetter
        self.titleFR = titleFR
        self.titleEN = titleEN
    }

    public func title(for language: String) -> String { language == "en" ? titleEN : titleFR }
}

/// One measurement: the value, when it was taken and, for ratios, on how many items.
public struct IndicatorMeasurement: Sendable, Hashable, Codable {
    public var key: String
    public var value: Double
    public var measuredAt: Date
    /// The denominator of a ratio or the population counted (nil when meaningless).
    public var basis: Int?

    public init(key: String, value: Double, measuredAt: Date, basis: Int? = nil) {
        self.key = key
        self.value = value
        self.measuredAt = measuredAt
        self.basis = basis
    }
}

/// What a module offers to compliance. Each feature module implements it on its service; `hygie` hands
/// every implementation to the compliance service, so compliance imports no feature and an indicator
/// appears as soon as its module is built.
public protocol IndicatorSource: Sendable {
    var indicators: [IndicatorDefinition] { get }
    /// The value for `establishment` now, or nil when the module has nothing to measure yet (no staff
    /// imported, no log source declared…). Values are aggregates: never names, never patient data.
    func measure(_ key: String, for establishment: Establishment.ID) async throws -> IndicatorMeasurement?
}
