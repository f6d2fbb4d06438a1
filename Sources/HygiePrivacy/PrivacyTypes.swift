public import Foundation
public import HygieCore
public import PrivacyCore

/// Errors of the privacy module.
public enum PrivacyError: ClassifiedError, Sendable, Equatable {
    case invalid(String)
    case notFound(String)
    case unavailable(String)

    public var kind: ErrorKind {
        switch self {
        case .invalid, .unavailable: .validation
        case .notFound: .notFound
        }
    }

    public var publicMessage: String {
        switch self {
        case .invalid(let message), .unavailable(let message): message
        case .notFound(let what): "\(what) not found"
        }
    }
}

/// Where a privacy incident stands in the officer's review.
public enum PrivacyIncidentStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case open
    /// A legitimate access the context could not explain (teaching, an unrecorded consult…).
    case legitimate
    case inappropriate
    /// The officer wants to hear the user before deciding.
    case interview
}

/// The context files an establishment imports.
public enum ContextKind: String, Sendable, Hashable, Codable, CaseIterable {
    case departments, staff, patients, encounters
    case careEvents = "care_events"
    /// A VIP list: patient_id (and any other column): those records become restricted.
    case vip
    /// Staff who are also patients, as the identity server knows them: staff_id, patient_id.
    case staffPatients = "staff_patients"
}

/// Flagged accesses of one user, grouped for review.
public struct PrivacyIncident: Sendable, Hashable, Codable {
    public var id: Int64
    public var userID: String
    public var userName: String
    public var userDepartment: String
    public var userRole: String
    public var status: PrivacyIncidentStatus
    public var score: Int
    public var flags: Int
    public var patterns: [AccessPattern]
    public var firstAt: Date
    public var lastAt: Date
    public var decisionNotes: String
    public var decidedBy: String
    public var decidedAt: Date?
    public var caseID: Int64?
}

/// One flagged access. `patientKey` is the pseudonym; only the DPO sees the patient behind it.
public struct PrivacyFlag: Sendable, Hashable, Codable {
    public var id: Int64
    public var eventID: String
    public var at: Date
    public var wallClock: String
    public var patientKey: String
    public var patterns: [AccessPattern]
    public var reasons: [String]
    public var score: Int
    public var emergency: Bool
    public var justification: String
    public var action: String
}

public struct PrivacyIncidentDetail: Sendable, Hashable, Codable {
    public var incident: PrivacyIncident
    public var flags: [PrivacyFlag]
    /// Accesses of the same user that day and explained, for context.
    public var explainedSameDays: Int
}

/// One line of a patient's "who accessed my record" report.
public struct AccessLine: Sendable, Hashable, Codable {
    public var eventID: String
    public var at: Date
    public var wallClock: String
    public var userID: String
    public var userName: String
    public var role: String
    public var department: String
    public var action: String
    public var emergency: Bool
    public var status: String
    public var explanation: String
}

/// Counts for a period: what reviewers and the CNIL ask for.
public struct PrivacyStatistics: Sendable, Hashable, Codable {
    /// A month (`2026-11`) or a day (`2026-11-23`).
    public struct Period: Sendable, Hashable, Codable {
        public var period: String
        public var accesses: Int
        public var explained: Int
        public var flagged: Int
        public var emergency: Int
    }

    public var months: [Period]
    /// The last 30 days.
    public var days: [Period]
    public var accesses: Int
    public var explained: Int
    public var flagged: Int
    public var pending: Int
    public var emergency: Int
    public var byExplanation: [String: Int]
    public var byPattern: [String: Int]
    public var incidentsByStatus: [String: Int]
    public var casesOpened: Int
    public var context: [String: Int]
}

/// What an import did.
public struct ImportResult: Sendable, Hashable, Codable {
    public var kind: String
    public var rows: Int
    public var requeued: Int
}

/// What an ingestion did.
public struct IngestResult: Sendable, Hashable, Codable {
    public var accepted: Int
    public var duplicates: Int
    /// Valid events that record no patient access (logins, exports).
    public var ignored: Int
}

/// Settings of one establishment's monitoring.
public struct PrivacySettings: Sendable, Hashable, Codable {
    public var analysis: AnalysisSettings
    /// Accesses are kept this many days (the EHR keeps its own trail; CNIL guidance: 6 months to a few years).
    public var retentionDays: Int

    public init(analysis: AnalysisSettings = AnalysisSettings(), retentionDays: Int = 400) {
        self.analysis = analysis
        self.retentionDays = retentionDays
    }
}
