public import Foundation
public import HygieCore
public import VulnCore

/// Errors of the vulnerability module.
public enum VulnError: ClassifiedError, Sendable, Equatable {
    /// A file that cannot be read as the format it claims (broken JSON or XML, wrong schema).
    case unreadable(String)
    case invalid(String)
    case tooLarge(limit: Int)

    public var kind: ErrorKind {
        switch self {
        case .unreadable: .badRequest
        case .invalid: .validation
        case .tooLarge: .payloadTooLarge
        }
    }

    public var publicMessage: String {
        switch self {
        case .unreadable(let message), .invalid(let message): message
        case .tooLarge(let limit): "the file is larger than \(limit / 1_048_576) MiB"
        }
    }
}

/// The vulnerability data formats Hygie imports.
public enum VulnDataKind: String, Sendable, CaseIterable, Codable {
    case nvd, cve5, osv, csaf, kev, epss

    /// Formats read as one document per file (the others: JSON lines, one document or an array).
    var isWholeFile: Bool { self == .nvd || self == .kev || self == .epss }
}

/// The inventory formats Hygie imports.
public enum InventoryKind: String, Sendable, CaseIterable, Codable {
    case csv, nmap, sbom
}

public enum Criticality: String, Sendable, CaseIterable, Codable {
    case low, medium, high, vital

    var mission: SSVC.MissionImpact {
        switch self {
        case .low: .degraded
        case .medium: .crippled
        case .high: .mefFailure
        case .vital: .missionFailure
        }
    }

    init?(loose text: String) {
        switch ProductKey.normalise(text) {
        case "low", "faible", "basse", "1": self = .low
        case "medium", "moyenne", "moyen", "normal", "2": self = .medium
        case "high", "haute", "elevee", "forte", "3": self = .high
        case "vital", "vitale", "critical", "critique", "4": self = .vital
        default: return nil
        }
    }
}

extension SSVC.SafetyImpact {
    init?(loose text: String) {
        switch ProductKey.normalise(text) {
        case "negligible", "none", "negligeable", "aucun", "low", "faible": self = .negligible
        case "marginal", "moderate", "modere", "medium", "moyen": self = .marginal
        case "critical", "critique", "high", "eleve", "serious", "grave": self = .critical
        case "catastrophic", "catastrophique", "life_support", "vital", "life_sustaining": self = .catastrophic
        default: return nil
        }
    }
}

public enum FindingStatus: String, Sendable, CaseIterable, Codable {
    case open
    case inProgress = "in_progress"
    case mitigated
    case riskAccepted = "risk_accepted"
    case falsePositive = "false_positive"
    case fixed

    /// Still needs work (counts in overdue views and risk).
    public var isActive: Bool { self == .open || self == .inProgress }
    /// A later import can close it as fixed when the vulnerable component is gone.
    var closesOnImport: Bool { self == .open || self == .inProgress || self == .mitigated || self == .riskAccepted }
}

public enum FindingOrigin: String, Sendable, Codable {
    case match
    case expert
}

public enum ExpertSeverity: String, Sendable, CaseIterable, Codable {
    case critical, high, medium, low, info

    /// The priority an expert's severity gives when no CVE decides.
    var priority: SSVC.Decision {
        switch self {
        case .critical: .immediate
        case .high: .outOfCycle
        case .medium: .scheduled
        case .low, .info: .defer
        }
    }
}

public struct Asset: Sendable, Hashable, Identifiable {
    public var id: UUID
    public var establishmentID: UUID
    public var name: String
    public var kind: AssetKind
    public var hostname: String?
    public var addresses: [String]
    public var macs: [String]
    public var serial: String?
    public var manufacturer: String?
    public var model: String?
    public var firmware: String?
    public var operatingSystem: String?
    public var department: String?
    public var location: String?
    public var zone: String?
    public var internetExposed: Bool
    public var criticality: Criticality
    public var safetyImpact: SSVC.SafetyImpact
    public var endOfSupport: String?
    public var protocols: [String]
    public var notes: String
    public var sources: [String]
    /// 0–100 from the active findings.
    public var risk: Double
    public var createdAt: Date
    public var lastSeenAt: Date
}

public struct Component: Sendable, Hashable, Identifiable {
    public var id: UUID
    public var assetID: UUID
    public var name: String
    public var vendor: String
    public var version: String
    public var cpe: String?
    public var purl: String?
    public var source: ComponentSource
    public var supportLevel: String?
    public var endOfSupport: String?
}

/// What a person types to create or edit an asset.
public struct AssetDraft: Sendable {
    public var name: String
    public var kind: AssetKind
    public var hostname: String?
    public var addresses: [String] = []
    public var macs: [String] = []
    public var serial: String?
    public var manufacturer: String?
    public var model: String?
    public var firmware: String?
    public var operatingSystem: String?
    public var department: String?
    public var location: String?
    public var zone: String?
    public var internetExposed = false
    public var criticality: Criticality = .medium
    public var safetyImpact: SSVC.SafetyImpact = .negligible
    public var endOfSupport: String?
    public var protocols: [String] = []
    public var notes = ""

    public init(name: String, kind: AssetKind) {
        self.name = name
        self.kind = kind
    }
}

public struct Finding: Sendable, Hashable, Identifiable {
    public var id: UUID
    public var assetID: UUID?
    public var assetName: String?
    public var componentID: UUID?
    public var componentLabel: String?
    public var recordID: String?
    public var origin: FindingOrigin
    public var assessmentID: UUID?
    public var title: String
    public var description: String
    public var recommendation: String
    public var severity: String
    public var cvssScore: Double?
    public var confidence: MatchConfidence
    public var reason: String
    public var priority: SSVC.Decision
    public var exploitation: SSVC.Exploitation
    public var exposure: SSVC.Exposure
    public var automatable: Bool
    public var humanImpact: SSVC.HumanImpact
    public var kev: Bool
    public var kevDue: String?
    public var epss: Double?
    public var status: FindingStatus
    public var statusNote: String
    public var assignee: String?
    public var dueOn: String
    public var acceptedBy: String?
    public var acceptedUntil: String?
    public var firstSeenAt: Date
    public var lastSeenAt: Date
    public var resolvedAt: Date?

    /// The sentence that explains the priority.
    public func explanation(french: Bool) -> String {
        SSVC.explain(
            priority, exploitation: exploitation, exposure: exposure, automatable: automatable,
            humanImpact: humanImpact, french: french)
    }

    public func isOverdue(today: String) -> Bool { status.isActive && dueOn < today }
}

public struct FindingEvent: Sendable, Hashable {
    public var at: Date
    public var actor: String
    public var kind: String
    public var oldValue: String?
    public var newValue: String?
    public var note: String
}

public struct Evidence: Sendable, Hashable, Identifiable {
    public var id: UUID
    public var findingID: UUID
    public var filename: String
    public var contentType: String
    public var sha256: String
    public var size: Int
    public var uploadedBy: String
    public var uploadedAt: Date
}

public struct Assessment: Sendable, Hashable, Identifiable {
    public var id: UUID
    public var title: String
    public var kind: String
    public var auditor: String
    public var scope: String
    public var startedOn: String
    public var endedOn: String?
    public var findingCount: Int
}

/// A change a person makes to a finding.
public struct FindingUpdate: Sendable {
    public var status: FindingStatus?
    public var note: String?
    public var assignee: String??
    public var dueOn: String?
    /// Required with `riskAccepted`: until when (YYYY-MM-DD).
    public var acceptedUntil: String?

    public init(
        status: FindingStatus? = nil, note: String? = nil, assignee: String?? = nil, dueOn: String? = nil,
        acceptedUntil: String? = nil
    ) {
        self.status = status
        self.note = note
        self.assignee = assignee
        self.dueOn = dueOn
        self.acceptedUntil = acceptedUntil
    }
}

/// What an expert records after a penetration test or an audit.
public struct ExpertFindingDraft: Sendable {
    public var title: String
    public var description: String
    public var recommendation: String
    public var severity: ExpertSeverity
    public var assetIDs: [UUID]
    public var assessmentID: UUID?
    public var cve: String?

    public init(
        title: String, description: String, recommendation: String, severity: ExpertSeverity, assetIDs: [UUID],
        assessmentID: UUID? = nil, cve: String? = nil
    ) {
        self.title = title
        self.description = description
        self.recommendation = recommendation
        self.severity = severity
        self.assetIDs = assetIDs
        self.assessmentID = assessmentID
        self.cve = cve
    }
}

public struct FindingFilter: Sendable {
    public var statuses: Set<FindingStatus> = [.open, .inProgress]
    public var priority: SSVC.Decision?
    public var assetID: UUID?
    public var kevOnly = false
    public var internetExposedOnly = false
    public var overdueOnly = false
    public var includeProductMatches = false
    public var medicalOnly = false
    public var search: String?
    public var limit = 200
    public var offset = 0

    public init() {}
}

/// Deadlines (days from first detection) per priority, and whether product-name-only matches count.
public struct VulnSettings: Sendable, Equatable {
    public var immediateDays = 3
    public var outOfCycleDays = 15
    public var scheduledDays = 90
    public var deferDays = 180
    public var includeProductMatches = false

    public init() {}

    public func days(_ priority: SSVC.Decision) -> Int {
        switch priority {
        case .immediate: immediateDays
        case .outOfCycle: outOfCycleDays
        case .scheduled: scheduledDays
        case .defer: deferDays
        }
    }
}

/// The outcome of an import.
public struct ImportReport: Sendable, Equatable {
    public var kind: String
    public var records = 0
    public var skipped = 0
    public var created = 0
    public var updated = 0
    public var warnings: [String] = []
    public var detail: String?

    public init(kind: String) { self.kind = kind }
}

/// The outcome of matching an establishment's inventory.
public struct MatchReport: Sendable, Equatable {
    public var assets = 0
    public var components = 0
    public var matches = 0
    public var opened = 0
    public var reopened = 0
    public var fixed = 0
    /// Whole run (index, matching, writing).
    public var seconds = 0.0
    /// Building (or reusing) the index and matching every asset, without the database writes.
    public var matchingSeconds = 0.0
}

/// Figures for the dashboard and reports.
public struct VulnSummary: Sendable {
    public var assets = 0
    public var medicalDevices = 0
    public var internetExposed = 0
    public var openByPriority: [SSVC.Decision: Int] = [:]
    public var kevOnExposed = 0
    public var overdue = 0
    public var meanDaysToRemediate: Double?
    public var establishmentRisk = 0.0
    public var unsupported = 0
    /// Open findings at the end of each of the last weeks (oldest first), for the trend chart.
    public var openTrend: [(week: String, open: Int)] = []
    public var byDeviceClass: [(kind: String, assets: Int, findings: Int)] = []
}

/// How many of an establishment's assets a record concerns (`VulnService.exposures(to:for:)`).
public struct ProductExposure: Sendable, Hashable {
    public var inventoryAssets = 0
    public var affectedAssets = 0
    public var exposedAssets = 0
    public var unknownVersionAssets = 0

    public init() {}
}
