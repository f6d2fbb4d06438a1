public import Foundation

/// What an establishment tells its hub about itself: aggregates only. The schema has no field that can hold a
/// person, a patient, an address, a host name or an indicator value; the hub refuses anything else
/// (`validate`).
public struct Snapshot: Sendable, Hashable, Codable {
    /// Chosen by the establishment; the hub keeps the first copy of an id (pushes are idempotent).
    public var snapshotID: String
    public var takenAt: Date
    public var establishment: EstablishmentCard
    /// Module figures (`awareness.training-coverage`, `vuln.kev-overdue-exposed`, `detection.silent-sources`…).
    public var indicators: [IndicatorValue]
    /// The latest assessment of each framework.
    public var compliance: [FrameworkScore]

    enum CodingKeys: String, CodingKey {
        case snapshotID = "snapshot_id", takenAt = "taken_at", establishment, indicators, compliance
    }

    public init(
        snapshotID: String, takenAt: Date, establishment: EstablishmentCard, indicators: [IndicatorValue],
        compliance: [FrameworkScore]
    ) {
        self.snapshotID = snapshotID
        self.takenAt = takenAt
        self.establishment = establishment
        self.indicators = indicators
        self.compliance = compliance
    }

    public struct EstablishmentCard: Sendable, Hashable, Codable {
        public var name: String
        public var finess: String?
        public var kind: String

        public init(name: String, finess: String?, kind: String) {
            self.name = name
            self.finess = finess
            self.kind = kind
        }
    }

    public struct IndicatorValue: Sendable, Hashable, Codable {
        public var key: String
        public var value: Double
        public var basis: Int?
        public var measuredAt: Date

        enum CodingKeys: String, CodingKey { case key, value, basis, measuredAt = "measured_at" }

        public init(key: String, value: Double, basis: Int?, measuredAt: Date) {
            self.key = key
            self.value = value
            self.basis = basis
            self.measuredAt = measuredAt
        }
    }

    public struct FrameworkScore: Sendable, Hashable, Codable {
        public var urn: String
        public var name: String
        /// 0–100, nil while nothing applicable is answered.
        public var score: Double?
        /// Share of requirements answered, 0–100.
        public var progress: Double
        public var level: Int?
        public var status: String
        public var themes: [ThemeScore]

        public init(
            urn: String, name: String, score: Double?, progress: Double, level: Int?, status: String,
            themes: [ThemeScore]
        ) {
            self.urn = urn
            self.name = name
            self.score = score
            self.progress = progress
            self.level = level
            self.status = status
            self.themes = themes
        }
    }

    public struct ThemeScore: Sendable, Hashable, Codable {
        public var ref: String
        public var name: String
        public var score: Double?

        public init(ref: String, name: String, score: Double?) {
            self.ref = ref
            self.name = name
            self.score = score
        }
    }

    static let keyCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789.-_:")

    /// Checks sizes and values: a hub stores only what fits this shape.
    public func validate() throws(FederationError) {
        func text(_ value: String, _ field: String, max: Int, required: Bool = false) throws(FederationError) {
            try FederationText.check(value, field, max: max, required: required)
        }
        try text(snapshotID, "snapshot_id", max: 64, required: true)
        try text(establishment.name, "establishment.name", max: 200, required: true)
        try text(establishment.kind, "establishment.kind", max: 40)
        if let finess = establishment.finess {
            guard finess.count == 9, finess.allSatisfy(\.isNumber) else {
                throw FederationError.invalid("establishment.finess is 9 digits")
            }
        }
        guard indicators.count <= 200, compliance.count <= 50 else {
            throw FederationError.invalid("at most 200 indicators and 50 frameworks")
        }
        for indicator in indicators {
            guard !indicator.key.isEmpty, indicator.key.count <= 80,
                indicator.key.allSatisfy(Self.keyCharacters.contains)
            else { throw FederationError.invalid("indicator key \"\(indicator.key.prefix(80))\" is not a module key") }
            guard indicator.value.isFinite, (indicator.basis ?? 0) >= 0 else {
                throw FederationError.invalid("indicator \(indicator.key) has no finite value")
            }
        }
        for framework in compliance {
            try text(framework.urn, "compliance.urn", max: 300, required: true)
            try text(framework.name, "compliance.name", max: 300)
            try text(framework.status, "compliance.status", max: 40)
            guard framework.themes.count <= 100 else { throw FederationError.invalid("at most 100 themes a framework") }
            for score in [framework.score, Optional(framework.progress)] + framework.themes.map(\.score) {
                guard let score else { continue }
                guard score.isFinite, (0...100).contains(score) else {
                    throw FederationError.invalid("scores are between 0 and 100")
                }
            }
            for theme in framework.themes {
                try text(theme.ref, "theme.ref", max: 100)
                try text(theme.name, "theme.name", max: 300)
            }
        }
    }
}

/// A copy of a regulatory declaration, for the coordinating authority: the clock and the qualification, the
/// case's title only when its TLP lets it leave the establishment.
public struct DeclarationCopy: Sendable, Hashable, Codable {
    /// Stable across pushes (the declaration's id at the establishment); a later push updates the copy.
    public var uid: String
    /// `cert_sante`, `cnil`, `nis2_warning`…
    public var regime: String
    public var status: String
    public var dueAt: Date?
    public var sentAt: Date?
    public var reference: String
    public var incidentType: String
    public var severity: String
    public var significant: Bool
    public var personalData: Bool
    public var nis2: Bool
    public var awareAt: Date?
    /// Nil when the case is TLP:RED.
    public var title: String?
    public var tlp: String

    enum CodingKeys: String, CodingKey {
        case uid, regime, status, reference, severity, significant, nis2, title, tlp
        case dueAt = "due_at", sentAt = "sent_at", incidentType = "incident_type", personalData = "personal_data"
        case awareAt = "aware_at"
    }

    public init(
        uid: String, regime: String, status: String, dueAt: Date?, sentAt: Date?, reference: String,
        incidentType: String, severity: String, significant: Bool, personalData: Bool, nis2: Bool, awareAt: Date?,
        title: String?, tlp: String
    ) {
        self.uid = uid
        self.regime = regime
        self.status = status
        self.dueAt = dueAt
        self.sentAt = sentAt
        self.reference = reference
        self.incidentType = incidentType
        self.severity = severity
        self.significant = significant
        self.personalData = personalData
        self.nis2 = nis2
        self.awareAt = awareAt
        self.title = title
        self.tlp = tlp
    }

    public func validate() throws(FederationError) {
        for (value, field, max) in [
            (uid, "uid", 100), (regime, "regime", 40), (status, "status", 40), (reference, "reference", 200),
            (incidentType, "incident_type", 40), (severity, "severity", 20), (title ?? "", "title", 300),
            (tlp, "tlp", 20),
        ] {
            try FederationText.check(value, field, max: max)
        }
        guard !uid.isEmpty, !regime.isEmpty else { throw FederationError.invalid("uid and regime are required") }
        guard title == nil || tlp.lowercased() != "red" else {
            throw FederationError.invalid("a TLP:RED case's title does not leave the establishment")
        }
    }
}

/// Why a federation request failed.
public enum FederationError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    case unauthorized(String)
    case revoked
    case unreachable(String)

    public var description: String {
        switch self {
        case .invalid(let message), .unauthorized(let message), .unreachable(let message): message
        case .revoked: "this establishment's membership was revoked by the hub"
        }
    }
}
