import Foundation

/// Where a recipient stands in a campaign. The status only rises; reporting is a separate flag.
public enum RecipientStatus: Int, Sendable, Hashable, Codable, Comparable, CaseIterable {
    case scheduled = 0
    case sent
    case opened
    case clicked
    case submitted

    public static func < (lhs: RecipientStatus, rhs: RecipientStatus) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The status after an event: never lower than before.
    public func raised(to other: RecipientStatus) -> RecipientStatus { max(self, other) }
}

/// Mail-security gateways follow every link of an incoming message within seconds, often with HEAD requests
/// or their own user agent. Such clicks are kept in the timeline but do not count as a person's click.
public struct ScannerFilter: Sendable, Hashable {
    /// A click this soon after delivery is a scanner's.
    public var minimumHumanDelay: Double
    /// Substrings of user agents of link scanners and scripts (lower case).
    public var agents: [String]

    public static let knownAgents = [
        "barracuda", "proofpoint", "mimecast", "urldefense", "safelinks", "bingpreview", "symantec", "trend micro",
        "trendmicro", "zscaler", "fireeye", "trellix", "sophos", "cisco", "ironport", "fortiguard", "forcepoint",
        "checkpoint", "vade", "avanan", "python-requests", "curl/", "wget/", "go-http-client", "okhttp",
        "java/", "libwww", "headlesschrome", "phantomjs", "scanner", "bot", "crawler", "spider",
    ]

    public init(minimumHumanDelay: Double = 10, agents: [String] = ScannerFilter.knownAgents) {
        self.minimumHumanDelay = minimumHumanDelay
        self.agents = agents
    }

    /// Why a request looks automated, or nil for a person's.
    public func scannerReason(method: String, userAgent: String?, secondsSinceDelivery: Double?) -> String? {
        if method.uppercased() == "HEAD" { return "HEAD request" }
        let agent = (userAgent ?? "").lowercased()
        if agent.trimmingCharacters(in: .whitespaces).isEmpty { return "no user agent" }
        if let match = agents.first(where: { agent.contains($0) }) { return "scanner user agent (\(match))" }
        if let seconds = secondsSinceDelivery, seconds >= 0, seconds < minimumHumanDelay {
            return String(format: "%.1f s after delivery", seconds)
        }
        return nil
    }
}

/// One recipient's outcome in a campaign, as the metrics need it (times in seconds since the epoch).
public struct RecipientOutcome: Sendable, Hashable {
    public var email: String
    public var department: String
    public var sentAt: Double?
    public var openedAt: Double?
    /// First click by a person (scanner clicks excluded).
    public var clickedAt: Double?
    public var submittedAt: Double?
    public var reportedAt: Double?

    public init(
        email: String, department: String = "", sentAt: Double? = nil, openedAt: Double? = nil,
        clickedAt: Double? = nil, submittedAt: Double? = nil, reportedAt: Double? = nil
    ) {
        self.email = email
        self.department = department
        self.sentAt = sentAt
        self.openedAt = openedAt
        self.clickedAt = clickedAt
        self.submittedAt = submittedAt
        self.reportedAt = reportedAt
    }
}

/// Figures of a campaign or a department, over the people the message reached.
public struct CampaignFigures: Sendable, Hashable {
    public var delivered = 0
    public var opened = 0
    public var clicked = 0
    public var submitted = 0
    public var reported = 0
    /// Reported without having clicked first: the behaviour training aims at.
    public var reportedBeforeClicking = 0
    /// Seconds from the first delivery to the first report.
    public var timeToFirstReport: Double?
    /// Median seconds from each reporter's delivery to their report.
    public var medianTimeToReport: Double?

    public init() {}

    public func rate(_ count: Int) -> Double? { delivered > 0 ? Double(count) / Double(delivered) : nil }
}

public enum CampaignMetrics {
    /// Departments smaller than this are grouped as "other": no statistics that point at a few people.
    public static let minimumGroupSize = 5

    public static func figures(_ outcomes: [RecipientOutcome]) -> CampaignFigures {
        var figures = CampaignFigures()
        let delivered = outcomes.filter { $0.sentAt != nil }
        figures.delivered = delivered.count
        figures.opened = delivered.count { $0.openedAt != nil || $0.clickedAt != nil || $0.submittedAt != nil }
        figures.clicked = delivered.count { $0.clickedAt != nil || $0.submittedAt != nil }
        figures.submitted = delivered.count { $0.submittedAt != nil }
        figures.reported = delivered.count { $0.reportedAt != nil }
        figures.reportedBeforeClicking = delivered.count { outcome in
            guard let reported = outcome.reportedAt else { return false }
            let acted = [outcome.clickedAt, outcome.submittedAt].compactMap { $0 }.min()
            return acted.map { reported < $0 } ?? true
        }
        if let firstDelivery = delivered.compactMap(\.sentAt).min(),
            let firstReport = delivered.compactMap(\.reportedAt).min()
        {
            figures.timeToFirstReport = max(0, firstReport - firstDelivery)
        }
        let delays = delivered.compactMap { outcome in
            outcome.reportedAt.flatMap { reported in outcome.sentAt.map { max(0, reported - $0) } }
        }.sorted()
        if !delays.isEmpty {
            figures.medianTimeToReport =
                delays.count % 2 == 1
                ? delays[delays.count / 2] : (delays[delays.count / 2 - 1] + delays[delays.count / 2]) / 2
        }
        return figures
    }

    /// Figures per department; departments with fewer than ``minimumGroupSize`` delivered people are merged
    /// into one group named `other` (itself left out when still too small).
    public static func byDepartment(_ outcomes: [RecipientOutcome], other: String = "other") -> [(
        String, CampaignFigures
    )] {
        let delivered = outcomes.filter { $0.sentAt != nil }
        var groups = Dictionary(grouping: delivered) { $0.department.isEmpty ? other : $0.department }
        var merged: [RecipientOutcome] = []
        for (name, members) in groups where members.count < minimumGroupSize && name != other {
            merged += members
            groups[name] = nil
        }
        groups[other, default: []] += merged
        if (groups[other]?.count ?? 0) < minimumGroupSize { groups[other] = nil }
        return groups.map { ($0.key, figures($0.value)) }.sorted { $0.0 < $1.0 }
    }

    /// People who clicked in at least two of the given campaigns (each a set of clickers' addresses).
    public static func repeatClickers(_ campaigns: [Set<String>]) -> Set<String> {
        var counts: [String: Int] = [:]
        for clickers in campaigns {
            for email in clickers { counts[email.lowercased(), default: 0] += 1 }
        }
        return Set(counts.filter { $0.value >= 2 }.keys)
    }
}
