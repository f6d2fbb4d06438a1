public import ComplianceCore
public import Foundation
public import HygieCore

/// Errors of the compliance module.
public enum ComplianceError: ClassifiedError, Sendable, Equatable {
    /// A library or OSCAL document that cannot be read.
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

/// Settings of the compliance module. Keys: `hygie.compliance.maxUploadBytes` (largest evidence file or
/// library, default 32 MiB), `hygie.compliance.chromium` (path of a Chromium or Chrome binary for PDF
/// reports; empty: looked up in PATH, PDF refused when none is found).
public struct ComplianceConfiguration: Sendable, Hashable {
    public var maxUploadBytes: Int
    public var chromium: String?

    public init(maxUploadBytes: Int = 32 * 1_048_576, chromium: String? = nil) {
        self.maxUploadBytes = maxUploadBytes
        self.chromium = chromium
    }
}

/// A framework of the catalogue, without its requirement tree.
public struct FrameworkSummary: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    public var urn: String
    public var refID: String
    public var name: String
    public var libraryURN: String
    public var version: Int
    public var nodes: Int
    public var assessable: Int
    public var scoring: ScoringMethod
    public var provider: String?
    public var copyright: String?
    public var packager: String?
    public var builtin: Bool
    public var locale: String
}

/// What an import did.
public struct LibraryImportReport: Sendable, Hashable, Codable {
    public var urn: String
    public var name: String
    public var version: Int
    public var frameworks: [String]
    public var nodes: Int
    public var referenceControls: Int
    public var mappings: Int
    /// `imported`, `updated` (newer version replaced the stored one) or `unchanged` (same or older version).
    public var outcome: String
    public var warnings: [String]
}

public enum AssessmentStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case inProgress = "in_progress"
    case inReview = "in_review"
    case closed
}

/// An assessment campaign: one establishment against one framework.
public struct Assessment: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    public var establishmentID: Establishment.ID
    public var frameworkID: UUID
    public var frameworkURN: String
    public var frameworkVersion: Int
    public var title: String
    public var status: AssessmentStatus
    /// Implementation groups selected (empty: every requirement).
    public var groups: [String]
    /// Entities and sites with their activity weights.
    public var scope: [ScopeUnit]
    public var dueOn: String?
    public var reviewerID: UUID?
    public var signedOffBy: String?
    public var signedOffAt: Date?
    public var closedAt: Date?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
}

/// What the assessor recorded for a requirement.
public struct RequirementResult: Sendable, Hashable, Codable {
    public var status: ResultStatus
    public var maturity: Int?
    public var comment: String?
    /// Why the requirement does not apply (required for `not_applicable`).
    public var justification: String?
    public var assigneeID: UUID?
    /// Scope units (ids) the requirement's plans cover, for coverage rules.
    public var coveredUnits: [String]
    /// Answers to the requirement's questions, by question URN.
    public var answers: [String: String]
    public var updatedBy: String
    public var updatedAt: Date

    public init(
        status: ResultStatus = .notAssessed, updatedBy: String = "", updatedAt: Date = Date(timeIntervalSince1970: 0)
    ) {
        self.status = status
        coveredUnits = []
        answers = [:]
        self.updatedBy = updatedBy
        self.updatedAt = updatedAt
    }
}

/// Changes to a result; nil fields stay as they are.
public struct ResultUpdate: Sendable, Hashable, Codable {
    public var status: ResultStatus?
    public var maturity: Int?
    public var clearMaturity = false
    public var comment: String?
    public var justification: String?
    public var assigneeID: UUID?
    public var clearAssignee = false
    public var coveredUnits: [String]?
    public var answers: [String: String]?

    public init() {}
}

/// A piece of evidence: a file (kept with its SHA-256), a link, or both, with the day it takes effect.
public struct EvidenceItem: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    public var title: String
    public var link: String?
    public var filename: String?
    public var contentType: String?
    public var size: Int?
    public var sha256: String?
    public var effectiveOn: String
    public var validUntil: String?
    public var owner: String?
    public var createdBy: String
    public var createdAt: Date

    public var fact: EvidenceFact? {
        DayStamp(effectiveOn).map { EvidenceFact(effective: $0, validUntil: validUntil.flatMap(DayStamp.init)) }
    }
}

/// Input for new evidence.
public struct NewEvidence: Sendable {
    public var title: String
    public var link: String?
    public var filename: String?
    public var contentType: String?
    public var content: Data?
    public var effectiveOn: String
    public var validUntil: String?
    public var owner: String?

    public init(
        title: String, link: String? = nil, filename: String? = nil, contentType: String? = nil, content: Data? = nil,
        effectiveOn: String, validUntil: String? = nil, owner: String? = nil
    ) {
        self.title = title
        self.link = link
        self.filename = filename
        self.contentType = contentType
        self.content = content
        self.effectiveOn = effectiveOn
        self.validUntil = validUntil
        self.owner = owner
    }
}

public struct AssessmentComment: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    public var requirementURN: String
    public var author: String
    public var body: String
    public var createdAt: Date
}

/// One requirement of an assessment with everything known about it.
public struct RequirementState: Sendable, Hashable, Codable {
    public var node: RequirementNode
    public var theme: String
    public var applies: Bool
    public var result: RequirementResult
    public var outcome: RequirementOutcome
    public var evidence: [EvidenceItem]
    public var evidenceCheck: EvidenceCheck
    public var measurement: IndicatorMeasurement?
    public var coverage: Double?
    public var comments: Int
}

/// An assessment with its scores.
public struct AssessmentDetail: Sendable, Hashable, Codable {
    public var assessment: Assessment
    public var framework: FrameworkSummary
    public var overall: ScoreSummary
    /// Theme URN → figures, in framework order.
    public var themes: [ThemeScore]
    public var requirements: [RequirementState]
    /// True when read from the snapshot frozen at closing.
    public var frozen: Bool
}

public struct ThemeScore: Sendable, Hashable, Codable {
    public var urn: String
    public var refID: String
    public var name: String
    public var summary: ScoreSummary
}

public enum ActionStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case planned
    case inProgress = "in_progress"
    case done
    case cancelled

    public var isOpen: Bool { self == .planned || self == .inProgress }
}

public enum ActionPriority: String, Sendable, Hashable, Codable, CaseIterable {
    case high, medium, low
}

/// A remediation action of the action plan.
public struct ComplianceAction: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    public var assessmentID: UUID?
    public var requirementURN: String?
    public var title: String
    public var description: String?
    public var owner: String?
    /// Roadmap milestone the action belongs to ("3-2-1 : copie immuable").
    public var milestone: String?
    public var priority: ActionPriority
    public var status: ActionStatus
    public var startOn: String?
    public var dueOn: String?
    public var doneOn: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// Open and past its due day.
    public var overdue: Bool
}

public struct ActionInput: Sendable, Hashable, Codable {
    public var assessmentID: UUID?
    public var requirementURN: String?
    public var title: String
    public var description: String?
    public var owner: String?
    public var milestone: String?
    public var priority: ActionPriority
    public var status: ActionStatus
    public var startOn: String?
    public var dueOn: String?

    public init(
        title: String, assessmentID: UUID? = nil, requirementURN: String? = nil, description: String? = nil,
        owner: String? = nil, milestone: String? = nil, priority: ActionPriority = .medium,
        status: ActionStatus = .planned, startOn: String? = nil, dueOn: String? = nil
    ) {
        self.assessmentID = assessmentID
        self.requirementURN = requirementURN
        self.title = title
        self.description = description
        self.owner = owner
        self.milestone = milestone
        self.priority = priority
        self.status = status
        self.startOn = startOn
        self.dueOn = dueOn
    }
}

public enum ScheduleKind: String, Sendable, Hashable, Codable, CaseIterable {
    case crisisExercise = "crisis_exercise"
    case accountReview = "account_review"
    case restoreTest = "restore_test"
    case backupReview = "backup_review"
    case policyReview = "policy_review"
    case audit
    case other
}

/// A recurring audit task: "yearly crisis exercise", "quarterly restore test".
public struct AuditSchedule: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    public var title: String
    public var kind: ScheduleKind
    public var intervalMonths: Int
    public var nextDue: String
    public var lastDone: String?
    /// Days before `nextDue` when the reminder goes out.
    public var remindDays: Int
    public var ownerEmail: String?
    public var frameworkURN: String?
    public var requirementURN: String?
    public var createdAt: Date
    public var overdue: Bool
    /// Days until due (negative when overdue).
    public var daysLeft: Int
}

public struct ScheduleInput: Sendable, Hashable, Codable {
    public var title: String
    public var kind: ScheduleKind
    public var intervalMonths: Int
    public var nextDue: String
    public var remindDays: Int
    public var ownerEmail: String?
    public var frameworkURN: String?
    public var requirementURN: String?

    public init(
        title: String, kind: ScheduleKind, intervalMonths: Int, nextDue: String, remindDays: Int = 30,
        ownerEmail: String? = nil, frameworkURN: String? = nil, requirementURN: String? = nil
    ) {
        self.title = title
        self.kind = kind
        self.intervalMonths = intervalMonths
        self.nextDue = nextDue
        self.remindDays = remindDays
        self.ownerEmail = ownerEmail
        self.frameworkURN = frameworkURN
        self.requirementURN = requirementURN
    }
}

public struct ScheduleRun: Sendable, Hashable, Codable, Identifiable {
    public var id: UUID
    public var doneOn: String
    public var note: String?
    public var evidenceID: UUID?
    public var recordedBy: String
}

/// Two assessments of the same framework side by side.
public struct AssessmentComparison: Sendable, Hashable, Codable {
    public struct Row: Sendable, Hashable, Codable {
        public var refID: String
        public var name: String
        public var before: ResultStatus?
        public var after: ResultStatus?
        /// +1 better, -1 worse, 0 same.
        public var change: Int
    }

    public var before: Assessment
    public var after: Assessment
    public var beforeScore: Double?
    public var afterScore: Double?
    public var themeNames: [String]
    public var themesBefore: [Double?]
    public var themesAfter: [Double?]
    public var rows: [Row]
}

/// A value of an indicator as compliance shows it.
public struct IndicatorReading: Sendable, Hashable, Codable {
    public var definition: IndicatorDefinition
    public var measurement: IndicatorMeasurement?
}

/// One establishment's line in a coordinator's fleet view (aggregates only).
public struct FleetRow: Sendable, Hashable, Codable {
    public var establishmentID: Establishment.ID
    public var establishment: String
    public var assessmentID: UUID?
    public var status: AssessmentStatus?
    public var score: Double?
    public var progress: Double?
    public var level: Int?
    /// Theme reference → score, in framework order.
    public var themes: [Double?]
    /// Score at each of the last weeks (oldest first), for the trend line.
    public var trend: [Double?]
    public var updatedAt: Date?
}

public struct FleetView: Sendable, Hashable, Codable {
    public var framework: FrameworkSummary
    public var themeNames: [String]
    public var rows: [FleetRow]
    public var weeks: [String]
}
