public import AwarenessCore
public import Foundation
public import HygieCore

/// Errors of the awareness module.
public enum AwarenessError: ClassifiedError, Sendable, Equatable {
    case invalid(String)
    case notFound(String)
    /// A legal guard-rail: the programme is not declared, the approver is missing…
    case notAllowed(String)

    public var kind: ErrorKind {
        switch self {
        case .invalid: .validation
        case .notFound: .notFound
        case .notAllowed: .conflict
        }
    }

    public var publicMessage: String {
        switch self {
        case .invalid(let message), .notAllowed(let message): message
        case .notFound(let what): "\(what) not found"
        }
    }
}

/// Settings of the awareness module. Keys: `hygie.awareness.smtpConnections` (connections per sending profile,
/// default 4), `hygie.awareness.batchSize` (messages claimed at once by a node, default 400),
/// `hygie.awareness.scannerDelaySeconds` (a click this soon after delivery is a mail scanner's, default 10),
/// `hygie.awareness.maxAttempts` (tries before a message is given up, default 5).
public struct AwarenessConfiguration: Sendable, Hashable {
    public var smtpConnections: Int
    public var batchSize: Int
    public var scannerDelaySeconds: Double
    public var maxAttempts: Int
    /// Name announced in `EHLO` and used in Message-IDs.
    public var heloName: String

    public init(
        smtpConnections: Int = 4, batchSize: Int = 400, scannerDelaySeconds: Double = 10, maxAttempts: Int = 5,
        heloName: String = "hygie.localdomain"
    ) {
        self.smtpConnections = smtpConnections
        self.batchSize = batchSize
        self.scannerDelaySeconds = scannerDelaySeconds
        self.maxAttempts = maxAttempts
        self.heloName = heloName
    }
}

/// The establishment's awareness programme: the prerequisites French law sets before any simulation.
public struct Programme: Sendable, Hashable, Codable {
    /// Day (YYYY-MM-DD) staff were told that simulations take place (Code du travail L1222-4).
    public var informedOn: String?
    /// Day the staff representatives (CSE) were informed and consulted.
    public var representativesOn: String?
    /// Who approved the programme (name and function).
    public var approver: String?
    /// Months after which per-person results are deleted (1–36, default 12).
    public var retentionMonths: Int
    /// Training module assigned to whoever clicks in a campaign, or nil.
    public var trainingAfterClick: String?
    /// Training module assigned to whoever submits a landing page's form, or nil.
    public var trainingAfterSubmit: String?
    /// Days given to complete an automatic assignment (1–90, default 14).
    public var trainingDueDays: Int

    public init(
        informedOn: String? = nil, representativesOn: String? = nil, approver: String? = nil,
        retentionMonths: Int = 12, trainingAfterClick: String? = nil, trainingAfterSubmit: String? = nil,
        trainingDueDays: Int = 14
    ) {
        self.informedOn = informedOn
        self.representativesOn = representativesOn
        self.approver = approver
        self.retentionMonths = retentionMonths
        self.trainingAfterClick = trainingAfterClick
        self.trainingAfterSubmit = trainingAfterSubmit
        self.trainingDueDays = trainingDueDays
    }
}

/// A member of a target group (GoPhish's "target", plus department, role and language).
public struct TargetRecord: Sendable, Hashable, Codable {
    public var id: Int64?
    public var firstName: String
    public var lastName: String
    public var email: String
    public var position: String
    public var department: String
    public var role: String
    public var language: String

    public init(_ target: Target, id: Int64? = nil) {
        self.id = id
        firstName = target.firstName
        lastName = target.lastName
        email = target.email
        position = target.position
        department = target.department
        role = target.role
        language = target.language
    }

    public var target: Target {
        Target(
            firstName: firstName, lastName: lastName, email: email, position: position, department: department,
            role: role, language: language)
    }
}

public struct TargetGroup: Sendable, Hashable, Codable, Identifiable {
    public var id: Int64
    public var name: String
    public var modifiedDate: Date
    public var targets: [TargetRecord]
}

/// A group without its members, for lists.
public struct GroupSummary: Sendable, Hashable, Codable {
    public var id: Int64
    public var name: String
    public var modifiedDate: Date
    public var numTargets: Int

    public init(id: Int64, name: String, modifiedDate: Date, numTargets: Int) {
        self.id = id
        self.name = name
        self.modifiedDate = modifiedDate
        self.numTargets = numTargets
    }
}

/// An attachment of a template, content in base64 as GoPhish sends it.
public struct TemplateAttachment: Sendable, Hashable, Codable {
    public var name: String
    public var type: String
    public var content: String

    public init(name: String, type: String, content: String) {
        self.name = name
        self.type = type
        self.content = content
    }
}

public struct EmailTemplate: Sendable, Hashable, Codable, Identifiable {
    public var id: Int64
    public var name: String
    public var subject: String
    /// `From:` of the message when set (`Name <address>`); the profile's address otherwise.
    public var envelopeSender: String
    public var text: String
    public var html: String
    public var attachments: [TemplateAttachment]
    /// How hard the lure is to spot, 1 (obvious) to 5 (very convincing); 0 when not rated.
    public var difficulty: Int
    public var modifiedDate: Date
}

public struct TemplateInput: Sendable, Hashable {
    public var name: String
    public var subject: String
    public var envelopeSender: String
    public var text: String
    public var html: String
    public var attachments: [TemplateAttachment]
    public var difficulty: Int

    public init(
        name: String, subject: String, envelopeSender: String = "", text: String, html: String,
        attachments: [TemplateAttachment] = [], difficulty: Int = 0
    ) {
        self.name = name
        self.subject = subject
        self.envelopeSender = envelopeSender
        self.text = text
        self.html = html
        self.attachments = attachments
        self.difficulty = difficulty
    }
}

public struct LandingPage: Sendable, Hashable, Codable, Identifiable {
    public var id: Int64
    public var name: String
    public var html: String
    /// Keep the values typed in fields other than passwords (GoPhish's flag). Off: only field names are kept.
    public var captureCredentials: Bool
    /// Always false: Hygie never stores a password (the field is there for GoPhish clients).
    public var capturePasswords: Bool
    /// Where the person goes after submitting; empty: Hygie's "you were phished" page.
    public var redirectUrl: String
    public var modifiedDate: Date
}

public struct PageInput: Sendable, Hashable {
    public var name: String
    public var html: String
    public var captureCredentials: Bool
    public var redirectURL: String

    public init(name: String, html: String, captureCredentials: Bool = false, redirectURL: String = "") {
        self.name = name
        self.html = html
        self.captureCredentials = captureCredentials
        self.redirectURL = redirectURL
    }
}

public struct HeaderEntry: Sendable, Hashable, Codable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// A sending profile (GoPhish's "SMTP"). The password is write-only.
public struct SendingProfile: Sendable, Hashable, Codable, Identifiable {
    public var id: Int64
    public var name: String
    public var interfaceType: String
    /// `host:port`.
    public var host: String
    /// `none`, `starttls` or `tls`.
    public var security: String
    public var username: String
    public var password: String
    public var fromAddress: String
    public var ignoreCertErrors: Bool
    public var headers: [HeaderEntry]
    public var modifiedDate: Date
}

public struct ProfileInput: Sendable, Hashable {
    public var name: String
    public var host: String
    /// `none`, `starttls` or `tls`; nil: implicit TLS on port 465, STARTTLS when offered elsewhere… see
    /// ``AwarenessService/security(for:port:)``.
    public var security: String?
    public var username: String
    /// nil keeps the stored password.
    public var password: String?
    public var fromAddress: String
    public var ignoreCertErrors: Bool
    public var headers: [HeaderEntry]

    public init(
        name: String, host: String, security: String? = nil, username: String = "", password: String? = nil,
        fromAddress: String, ignoreCertErrors: Bool = false, headers: [HeaderEntry] = []
    ) {
        self.name = name
        self.host = host
        self.security = security
        self.username = username
        self.password = password
        self.fromAddress = fromAddress
        self.ignoreCertErrors = ignoreCertErrors
        self.headers = headers
    }
}

public struct Webhook: Sendable, Hashable, Codable, Identifiable {
    public var id: Int64
    public var name: String
    public var url: String
    /// Write-only: answered empty.
    public var secret: String
    public var isActive: Bool
}

/// A recipient's result, GoPhish-shaped: `id` is the rid.
public struct CampaignResult: Sendable, Hashable, Codable {
    public var id: String
    public var email: String
    public var firstName: String
    public var lastName: String
    public var position: String
    public var department: String
    public var status: String
    public var ip: String
    public var latitude: Double
    public var longitude: Double
    public var sendDate: Date
    public var reported: Bool
    public var modifiedDate: Date
}

/// One timeline event; `details` is a JSON string (`""` when empty), as GoPhish clients expect.
public struct TimelineEvent: Sendable, Hashable, Codable {
    public var campaignId: Int64
    public var email: String
    public var time: Date
    public var message: String
    public var details: String
    /// Made by a mail scanner, not by the person (kept out of Hygie's rates).
    public var scanner: Bool
}

public struct CampaignStats: Sendable, Hashable, Codable {
    public var total = 0
    public var sent = 0
    public var opened = 0
    public var clicked = 0
    public var submittedData = 0
    public var emailReported = 0
    public var error = 0
}

public struct CampaignSummary: Sendable, Hashable, Codable {
    public var id: Int64
    public var name: String
    public var status: String
    public var createdDate: Date
    public var launchDate: Date
    public var sendByDate: Date?
    public var completedDate: Date?
    public var stats: CampaignStats
}

/// What a campaign was launched with, frozen: later edits of the template, page or profile do not change it.
public struct CampaignSnapshot: Sendable, Hashable, Codable {
    public var template: EmailTemplate
    public var page: LandingPage
    public var profile: SendingProfile
    /// The profile's sealed password (base64), if any.
    public var sealedPassword: String?
}

public struct Campaign: Sendable, Hashable, Codable {
    public var id: Int64
    public var name: String
    public var status: String
    public var createdDate: Date
    public var launchDate: Date
    public var sendByDate: Date?
    public var completedDate: Date?
    public var ratePerMinute: Int?
    public var url: String
    public var informedOn: String
    public var approver: String
    public var groups: [String]
    public var template: EmailTemplate
    public var page: LandingPage
    public var smtp: SendingProfile
    public var results: [CampaignResult]
    public var timeline: [TimelineEvent]
}

public struct CampaignInput: Sendable, Hashable {
    public var name: String
    public var groups: [String]
    public var template: String
    public var page: String
    public var profile: String
    public var url: String
    public var launchDate: Date?
    public var sendByDate: Date?
    public var ratePerMinute: Int?
    /// Override the programme's values for this campaign.
    public var informedOn: String?
    public var approver: String?

    public init(
        name: String, groups: [String], template: String, page: String, profile: String, url: String,
        launchDate: Date? = nil, sendByDate: Date? = nil, ratePerMinute: Int? = nil, informedOn: String? = nil,
        approver: String? = nil
    ) {
        self.name = name
        self.groups = groups
        self.template = template
        self.page = page
        self.profile = profile
        self.url = url
        self.launchDate = launchDate
        self.sendByDate = sendByDate
        self.ratePerMinute = ratePerMinute
        self.informedOn = informedOn
        self.approver = approver
    }
}

/// GoPhish's status names.
extension RecipientStatus {
    public var gophishName: String {
        switch self {
        case .scheduled: "Scheduled"
        case .sent: "Email Sent"
        case .opened: "Email Opened"
        case .clicked: "Clicked Link"
        case .submitted: "Submitted Data"
        }
    }
}

/// Timeline messages, as GoPhish writes them.
public enum EventMessage {
    public static let created = "Campaign Created"
    public static let sent = "Email Sent"
    public static let sendingError = "Error Sending Email"
    public static let opened = "Email Opened"
    public static let clicked = "Clicked Link"
    public static let submitted = "Submitted Data"
    public static let reported = "Email Reported"
    public static let completed = "Campaign Completed"
}

/// A form field of a landing page submission: its name and, when the page keeps values, its value.
public struct SubmittedField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// What a phishing request did.
public enum TrackingAction: Sendable, Hashable {
    case open
    case click
    case submit([SubmittedField])
    case report
}

/// The request behind a tracking action.
public struct TrackingRequest: Sendable, Hashable {
    public var rid: String
    public var method: String
    public var userAgent: String?

    public init(rid: String, method: String, userAgent: String?) {
        self.rid = rid
        self.method = method
        self.userAgent = userAgent
    }
}

/// What the phishing server shows after a click: the landing page (rendered for the recipient) and where a
/// submission goes.
public struct LandingResponse: Sendable, Hashable {
    public var html: String
    public var redirectURL: String
}
