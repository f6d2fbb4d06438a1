public import Foundation
public import HygieCore
public import STIX

/// How bad a case is.
public enum CaseSeverity: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case low, medium, high, critical

    public static func < (lhs: CaseSeverity, rhs: CaseSeverity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Where a case stands. Each step records its time the first time it is reached.
public enum CaseStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Opened, nobody on it yet.
    case new
    /// Somebody took it (acknowledged).
    case inProgress = "in_progress"
    /// The damage no longer spreads.
    case contained
    /// Systems restored, cause removed.
    case resolved
    /// Lessons learned written.
    case closed
}

/// The Permissible Actions Protocol (FIRST): what may be done with the case's information outside the team.
public enum PAP: String, Sendable, Hashable, Codable, CaseIterable {
    case clear, green, amber, red
}

/// The kinds of incident with a task template each.
public enum IncidentType: String, Sendable, Hashable, Codable, CaseIterable {
    case ransomware
    /// An account taken over after phishing.
    case compromisedAccount = "compromised_account"
    /// A phishing campaign (no known compromise).
    case phishing
    /// Personal or medical data disclosed, stolen or lost.
    case dataLeak = "data_leak"
    case lostDevice = "lost_device"
    /// Inappropriate access to a patient record (EHR).
    case ehrAccess = "ehr_access"
    case other
}

/// A case's answers to the regulators' questions (DOMAIN.md §3): free fields keyed by name (`sites`,
/// `applications`, `degraded_from`, `persons_count`, `vector`, `cve`…), kept as the team fills them.
public typealias CaseFields = [String: String]

/// An incident case, TheHive-style, with the times every regulator and every metric needs.
public struct IncidentCase: Sendable, Hashable, Identifiable {
    public var id: Int64
    public var establishmentID: Establishment.ID
    public var title: String
    public var description: String
    public var type: IncidentType
    public var severity: CaseSeverity
    public var tlp: TLP
    public var pap: PAP
    public var status: CaseStatus
    public var resolution: String
    public var assignee: String
    /// `manual`, `report:<id>`, `alert:<id>`, `finding:<id>`.
    public var source: String
    public var createdBy: String
    public var occurredAt: Date?
    public var detectedAt: Date?
    /// When the establishment became aware: every regulatory clock starts here.
    public var awareAt: Date?
    public var acknowledgedAt: Date?
    public var containedAt: Date?
    public var resolvedAt: Date?
    public var closedAt: Date?
    public var qualification: Qualification
    public var fields: CaseFields
    public var lessons: String
    public var mergedInto: Int64?
    public var createdAt: Date
    public var updatedAt: Date

    /// Time to detect, acknowledge, contain and resolve, when the times are known (seconds).
    public var metrics: CaseMetrics {
        func span(_ from: Date?, _ to: Date?) -> TimeInterval? {
            guard let from, let to, to >= from else { return nil }
            return to.timeIntervalSince(from)
        }
        let start = awareAt ?? detectedAt ?? createdAt
        return CaseMetrics(
            timeToDetect: span(occurredAt, detectedAt ?? awareAt), timeToAcknowledge: span(createdAt, acknowledgedAt),
            timeToContain: span(start, containedAt), timeToResolve: span(start, resolvedAt))
    }
}

/// What makes declarations mandatory.
public struct Qualification: Sendable, Hashable, Codable {
    /// A significant or serious incident for the health sector (CERT Santé, "sans délai").
    public var significant: Bool
    /// A personal-data breach (CNIL, 72 h).
    public var personalData: Bool
    /// A significant incident of an NIS2 entity (24 h warning, 72 h notification, final report).
    public var nis2: Bool

    public init(significant: Bool = false, personalData: Bool = false, nis2: Bool = false) {
        self.significant = significant
        self.personalData = personalData
        self.nis2 = nis2
    }
}

public struct CaseMetrics: Sendable, Hashable, Codable {
    public var timeToDetect: TimeInterval?
    public var timeToAcknowledge: TimeInterval?
    public var timeToContain: TimeInterval?
    public var timeToResolve: TimeInterval?
}

/// One step of a case's plan.
public struct CaseTask: Sendable, Hashable, Identifiable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable { case todo, done, skipped }

    public var id: Int64
    public var position: Int
    /// `contain`, `declare`, `eradicate`, `recover`, `learn`…
    public var phase: String
    public var title: String
    public var status: Status
    public var assignee: String
    public var doneAt: Date?
    public var doneBy: String
}

/// A typed observable of a case (deduplicated per case).
public struct CaseObservable: Sendable, Hashable, Identifiable {
    public var id: Int64
    public var kind: String
    public var value: String
    /// An indicator of compromise (worth sharing and looking for).
    public var ioc: Bool
    /// Seen in the establishment (logs, mailboxes).
    public var sighted: Bool
    public var tlp: TLP
    public var note: String
    public var sharedAt: Date?
}

/// Something linked to a case: a report, an alert, a vulnerability finding.
public struct CaseLink: Sendable, Hashable {
    public var kind: String
    public var ref: String
    public var title: String

    public init(kind: String, ref: String, title: String) {
        self.kind = kind
        self.ref = ref
        self.title = title
    }
}

/// One entry of a case's immutable timeline.
public struct CaseEvent: Sendable, Hashable, Identifiable {
    public var id: Int64
    public var at: Date
    public var actor: String
    /// `created`, `status`, `severity`, `assignee`, `times`, `task`, `observable`, `link`, `note`, `qualified`,
    /// `declaration`, `merged`, `split`, `closed`…
    public var kind: String
    public var detail: String
}

/// A case with everything around it.
public struct CaseDetail: Sendable {
    public var incident: IncidentCase
    public var tasks: [CaseTask]
    public var observables: [CaseObservable]
    public var links: [CaseLink]
    public var events: [CaseEvent]
    public var declarations: [Declaration]
}
