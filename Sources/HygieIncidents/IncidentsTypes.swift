public import Foundation
public import HygieCore
public import MailTriage

/// Errors of the incidents module.
public enum IncidentsError: ClassifiedError, Sendable, Equatable {
    case invalid(String)
    case notFound(String)
    case tooLarge(String)

    public var kind: ErrorKind {
        switch self {
        case .invalid, .tooLarge: .validation
        case .notFound: .notFound
        }
    }

    public var publicMessage: String {
        switch self {
        case .invalid(let message), .tooLarge(let message): message
        case .notFound(let what): "\(what) not found"
        }
    }
}

/// What a staff member reports.
public enum ReportKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// A suspicious e-mail (uploaded, forwarded to the report address, or its headers pasted).
    case email
    /// A suspicious phone call (someone posing as IT, a supplier, a doctor).
    case phone
    /// An unknown USB key or device found or plugged in.
    case usb
    /// A computer behaving oddly (pop-ups, files renamed, slowness, a ransom note).
    case behaviour
    /// A lost or stolen phone, laptop or badge.
    case lostDevice = "lost_device"
    case other
}

/// How a report arrived.
public enum ReportChannel: String, Sendable, Hashable, Codable {
    case web, smtp, api, cli
}

/// Where a report stands.
public enum ReportStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Waiting for an analyst (suspicious e-mails, every report that is not an e-mail).
    case open
    /// Decided (automatically or by an analyst).
    case closed
}

/// The person who reported.
public struct Reporter: Sendable, Hashable {
    public var email: String
    public var name: String
    public var userID: User.ID?
    /// `fr` or `en`: the language of the acknowledgement and the verdict.
    public var language: String

    public init(email: String, name: String, userID: User.ID? = nil, language: String = "fr") {
        self.email = email
        self.name = name
        self.userID = userID
        self.language = language == "en" ? "en" : "fr"
    }
}

/// A report as submitted through the page, the API, the CLI or the inbound SMTP listener.
public struct ReportSubmission: Sendable {
    public var kind: ReportKind
    public var channel: ReportChannel
    public var reporter: Reporter
    public var description: String
    /// The message (.eml or .msg), the forwarding envelope, or pasted headers (e-mail reports only).
    public var message: [UInt8]?

    public init(
        kind: ReportKind, channel: ReportChannel, reporter: Reporter, description: String = "", message: [UInt8]? = nil
    ) {
        self.kind = kind
        self.channel = channel
        self.reporter = reporter
        self.description = description
        self.message = message
    }
}

/// A stored report with its triage.
public struct Report: Sendable, Hashable, Identifiable {
    public var id: Int64
    public var establishmentID: Establishment.ID
    public var kind: ReportKind
    public var channel: ReportChannel
    public var reporterEmail: String
    public var reporterName: String
    public var reporterLanguage: String
    public var description: String
    public var subject: String
    public var sender: String
    /// Microsoft's report category (`phishing`, `junk`, `not_junk`) when the report button gave one.
    public var category: String
    public var verdict: Verdict?
    /// What triage said before any analyst decision.
    public var automaticVerdict: Verdict?
    public var score: Int
    public var reasons: [TriageReason]
    /// Threat-intelligence matches: observable (`domain evil.example`) → indicator name.
    public var intelHits: [String: String]
    /// The first report of the same campaign (nil when this one is the first).
    public var clusterID: Int64?
    public var clusterKey: String
    public var simulationRID: String
    public var status: ReportStatus
    public var note: String
    public var decidedBy: String
    public var decidedAt: Date?
    public var createdAt: Date
    public var acknowledgedAt: Date?
    public var notifiedAt: Date?
    /// Whether the original message is kept (for analysts to download).
    public var hasMessage: Bool
    /// The incident case the report was attached to.
    public var caseID: Int64?
}

/// A report with its full analysis, for the detail page and the API.
public struct ReportDetail: Sendable {
    public var report: Report
    public var analysis: MailAnalysis?
    /// Other reports of the same campaign, newest first.
    public var cluster: [Report]
}

/// An establishment's triage settings.
public struct ReportSettings: Sendable, Hashable {
    /// Domains phishers imitate besides the establishment's own (which come from the threat-intelligence
    /// settings): the GHT, the regional agency, the health insurance, suppliers.
    public var protectedDomains: [String]
    /// Addresses that deliver to Hygie through the inbound SMTP listener (`signalement@…`).
    public var reportAddresses: [String]
    /// Send reporters an acknowledgement and the verdict.
    public var notifyReporters: Bool

    public init(protectedDomains: [String] = [], reportAddresses: [String] = [], notifyReporters: Bool = true) {
        self.protectedDomains = protectedDomains
        self.reportAddresses = reportAddresses
        self.notifyReporters = notifyReporters
    }
}

/// Recognises the establishment's own phishing exercises in a reported message and credits the reporter
/// (implemented by the awareness module and handed over by `hygie`, since incidents must not import it).
public protocol SimulationRecognizer: Sendable {
    /// The first of `rids` that belongs to a simulation of `establishment`, after recording the report on it;
    /// nil when none does.
    func recognise(rids: [String], establishment: Establishment.ID) async throws -> String?
}
