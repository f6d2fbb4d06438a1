public import Foundation
public import HygieCore

/// Errors of the detection module.
public enum DetectionError: Error, Sendable, CustomStringConvertible {
    case invalidToken
    case badInput(String)

    public var description: String {
        switch self {
        case .invalidToken: "missing, unknown or revoked ingest token"
        case .badInput(let message): message
        }
    }
}

/// Alert and rule severity, ordered (Sigma levels).
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case informational, low, medium, high, critical

    var rank: Int { Severity.allCases.firstIndex(of: self) ?? 0 }
    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// Where an alert is in its handling.
public enum AlertStatus: String, Sendable, Codable, CaseIterable {
    case new, acknowledged
    case falsePositive = "false_positive"
    case escalated, closed
}

/// A log source of an establishment.
public struct LogSource: Sendable, Hashable, Identifiable {
    public enum Kind: String, Sendable, Codable { case http, syslog }
    public let id: UUID
    public let establishmentID: Establishment.ID
    public var name: String
    public var kind: Kind
    /// Syslog: an address, a network in CIDR notation or a TLS client-certificate name.
    public var sender: String?
    /// First characters of the ingest token, to recognise it in lists.
    public var tokenPrefix: String?
    /// A source silent for longer raises an alert.
    public var expectedIntervalSeconds: Int?
    public var lastSeenAt: Date?
    public var eventsTotal: Int64
    /// Events per minute over the last health check (about one minute).
    public var eventsPerMinute: Double?
    public var createdAt: Date

    /// Silent for longer than expected (never seen counts from its creation).
    public func isSilent(at now: Date) -> Bool {
        guard let interval = expectedIntervalSeconds else { return false }
        return now.timeIntervalSince(lastSeenAt ?? createdAt) > Double(interval)
    }
}

/// A rule of the catalog or of an establishment, with its state for one establishment.
public struct DetectionRule: Sendable, Hashable, Identifiable {
    public let id: UUID
    public var sigmaID: String
    public var title: String
    public var level: Severity
    public var status: String?
    public var author: String?
    public var tags: [String]
    public var description: String?
    /// `rule` or `correlation`.
    public var kind: String
    public var origin: String
    public var yaml: String
    /// True when the rule belongs to the establishment (not to the shared catalog).
    public var isOwn: Bool
    public var enabled: Bool
    public var hits: Int64 = 0
    public var lastMatch: Date?

    /// ATT&CK technique ids from `attack.tNNNN[.NNN]` tags.
    public var techniques: [String] { Self.techniques(tags) }

    static func techniques(_ tags: [String]) -> [String] {
        tags.compactMap { tag in
            let lowered = tag.lowercased()
            guard lowered.hasPrefix("attack.t"), lowered.dropFirst(8).first?.isNumber == true else { return nil }
            return String(tag.dropFirst(7)).uppercased()
        }
    }
}

/// An exception to a rule, compiled as a Sigma filter for one establishment.
public struct RuleException: Sendable, Hashable, Identifiable {
    public let id: UUID
    public let ruleID: UUID
    /// The filter's detection (YAML map of selections and a `condition`).
    public var detection: String
    public var reason: String
    public var author: String
    public var expiresAt: Date?
    public var createdAt: Date
}

/// A handled unit of detection: one rule, one entity, one deduplication window.
public struct Alert: Sendable, Hashable, Identifiable {
    public let id: UUID
    public let establishmentID: Establishment.ID
    /// `rule`, `correlation` or `source-health`.
    public var kind: String
    public var ruleID: String
    public var ruleTitle: String
    public var ruleAuthor: String?
    public var severity: Severity
    public var techniques: [String]
    public var host: String?
    public var user: String?
    public var address: String?
    public var sourceID: UUID?
    public var firstSeen: Date
    public var lastSeen: Date
    public var count: Int64
    public var status: AlertStatus
    public var assigneeID: User.ID?
    public var createdAt: Date
    public var updatedAt: Date
}

/// An event linked to an alert, with the fields the rule looked at.
public struct AlertEvent: Sendable, Hashable {
    public var eventID: String
    public var receivedAt: Date
    public var matched: [String: String]
}

public struct AlertComment: Sendable, Hashable {
    public var author: String
    public var body: String
    public var createdAt: Date
}

/// Alert list filters.
public struct AlertFilter: Sendable, Hashable {
    public var statuses: [AlertStatus] = []
    public var minimumSeverity: Severity?
    public var ruleID: String?
    public var text: String?
    public var since: Date?

    public init(
        statuses: [AlertStatus] = [], minimumSeverity: Severity? = nil, ruleID: String? = nil, text: String? = nil,
        since: Date? = nil
    ) {
        self.statuses = statuses
        self.minimumSeverity = minimumSeverity
        self.ruleID = ruleID
        self.text = text
        self.since = since
    }
}

/// A stored raw event.
public struct StoredEvent: Sendable, Hashable, Identifiable {
    public let id: String
    public var sourceID: UUID
    public var receivedAt: Date
    public var eventTime: Date?
    public var host: String?
    public var user: String?
    public var address: String?
    public var format: String
    public var raw: String
}

/// An event search: time range, `field=value` filters and words that must all appear.
public struct EventQuery: Sendable, Hashable {
    public var from: Date
    public var to: Date
    public var fields: [String: String]
    public var text: String?
    public var sourceID: UUID?
    public var limit: Int

    public init(
        from: Date, to: Date, fields: [String: String] = [:], text: String? = nil, sourceID: UUID? = nil,
        limit: Int = 100
    ) {
        self.from = from
        self.to = to
        self.fields = fields
        self.text = text
        self.sourceID = sourceID
        self.limit = limit
    }
}

/// Retention and notification settings of an establishment.
public struct DetectionSettings: Sendable, Hashable {
    public var eventRetentionDays: Int
    public var alertRetentionDays: Int
    public var webhookURL: String?
    /// Addresses that receive alert e-mails (when the instance has a mail relay, `hygie.smtp.*`).
    public var emailRecipients: [String]
    /// Alerts at or above this severity are notified at once; lower ones go into the hourly digest.
    public var notifyMinimumSeverity: Severity

    public init(
        eventRetentionDays: Int = 30, alertRetentionDays: Int = 730, webhookURL: String? = nil,
        emailRecipients: [String] = [], notifyMinimumSeverity: Severity = .high
    ) {
        self.eventRetentionDays = eventRetentionDays
        self.alertRetentionDays = alertRetentionDays
        self.webhookURL = webhookURL
        self.emailRecipients = emailRecipients
        self.notifyMinimumSeverity = notifyMinimumSeverity
    }
}

/// Tuning of the detection pipeline (config keys `hygie.detection.*`).
public struct DetectionConfiguration: Sendable, Hashable {
    /// Same rule and entity within this many seconds → one alert with a count.
    public var dedupWindowSeconds: Int
    /// Records read from the spool per database transaction.
    public var batchSize: Int
    /// Matched events kept per alert.
    public var eventsPerAlert: Int
    /// Whether raw events are kept for search (disable to spare the database on small machines).
    public var storeEvents: Bool

    public init(
        dedupWindowSeconds: Int = 600, batchSize: Int = 4000, eventsPerAlert: Int = 20, storeEvents: Bool = true
    ) {
        self.dedupWindowSeconds = dedupWindowSeconds
        self.batchSize = batchSize
        self.eventsPerAlert = eventsPerAlert
        self.storeEvents = storeEvents
    }
}
