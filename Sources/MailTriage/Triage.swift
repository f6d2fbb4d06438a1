import Crypto
public import Foundation

/// What the establishment protects and trusts, for one triage.
public struct TriageSettings: Sendable, Hashable {
    /// The establishment's own mail domains (`chu-valbrune.fr`).
    public var ownDomains: [String]
    /// Other domains phishers imitate: the GHT, the regional agency, the health insurance, suppliers.
    public var protectedDomains: [String]

    public init(ownDomains: [String] = [], protectedDomains: [String] = []) {
        self.ownDomains = ownDomains.map { $0.lowercased() }
        self.protectedDomains = protectedDomains.map { $0.lowercased() }
    }

    var allProtected: [String] { ownDomains + protectedDomains }
}

/// Something to look up in threat intelligence or to share as an indicator.
public struct Observable: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case url, domain, ipv4, ipv6, email, md5, sha1, sha256, filename
    }

    public var kind: Kind
    public var value: String

    public init(_ kind: Kind, _ value: String) {
        self.kind = kind
        self.value = value
    }
}

/// One reason behind a score: a stable code (for translation and statistics), its weight and the detail.
public struct TriageReason: Sendable, Hashable, Codable {
    public var code: String
    public var points: Int
    public var detail: String

    public init(_ code: String, _ points: Int, _ detail: String) {
        self.code = code
        self.points = points
        self.detail = detail
    }
}

/// The outcome of triage, as the reporter hears it.
public enum Verdict: String, Sendable, Hashable, Codable, CaseIterable {
    /// One of the establishment's own phishing exercises.
    case simulation
    /// Phishing or malware.
    case malicious
    /// Needs an analyst.
    case suspicious
    /// Nothing wrong found.
    case safe
}

/// Everything triage reads from one reported message. Pure: threat-intelligence answers and the recognition
/// of simulation identifiers are passed to ``verdict(intelligence:simulation:)`` by the caller.
public struct MailAnalysis: Sendable, Codable {
    public struct Authentication: Sendable, Hashable, Codable {
        public var spf: String?
        public var dkim: String?
        public var dmarc: String?
        /// Microsoft's composite authentication.
        public var compauth: String?
        /// Where the results came from (`mx.chu-valbrune.fr`, or nil for Microsoft's form).
        public var authservID: String?
    }

    public var subject: String
    public var from: MailAddress?
    public var replyTo: [MailAddress]
    public var returnPath: MailAddress?
    public var messageID: String?
    public var date: Date?
    public var hops: [ReceivedHop]
    /// The first public IP address the message came from (the lowest Received hop with one).
    public var originIP: String?
    public var authentication: Authentication
    public var urls: [FoundURL]
    public var attachments: [AttachmentReport]
    public var lookalikes: [Lookalike]
    /// `rid` values in the links: Hygie's (and GoPhish's) simulation identifiers, to be confirmed by the caller.
    public var simulationIDs: [String]
    public var defects: [String]
    /// Reasons found in the message itself.
    public var reasons: [TriageReason]
    public var observables: [Observable]
    /// Equal for the reports of one campaign: same sender domain and subject shape (numbers and `RE:`/`TR:`
    /// prefixes aside); without a subject, same link hosts and attachments.
    public var clusterKey: String
    /// Equal for copies of the same message.
    public var fingerprint: String

    public init(_ message: MailMessage, settings: TriageSettings) {
        subject = message.subject
        from = message.from
        replyTo = message.replyTo
        returnPath = message.returnPath
        messageID = message.messageID
        date = message.headers["Date"].flatMap(MailDate.parse)
        hops = message.headers.all("Received").map { ReceivedHop($0.raw) }
        originIP = hops.reversed().lazy.flatMap(\.ips).first { !IPAddress.isPrivate($0) }
        authentication = Self.authentication(message.headers)
        urls = URLExtractor.links(text: message.textBodies, html: message.htmlBodies)
        attachments = message.attachments.map {
            AttachmentReport(filename: $0.filename ?? "(no name)", declaredType: $0.mediaType, bytes: $0.bytes)
        }
        for (part, _) in message.attachedMessages {
            attachments.append(
                AttachmentReport(
                    filename: part.filename ?? "message.eml", declaredType: "message/rfc822", bytes: []))
        }
        defects = message.defects
        var domains: [String] = []
        for address in [from] + replyTo.map(Optional.some) + [returnPath] {
            if let domain = address?.domain, !domain.isEmpty, !domains.contains(domain) { domains.append(domain) }
        }
        for url in urls where !domains.contains(url.host) && !IPAddress.isIPv4(url.host) { domains.append(url.host) }
        lookalikes = domains.compactMap { Lookalike.check($0, protected: settings.allProtected) }
        simulationIDs = Self.simulationIDs(urls)
        var observables: [Observable] = []
        func add(_ kind: Observable.Kind, _ value: String) {
            let item = Observable(kind, value)
            if !value.isEmpty, !observables.contains(item) { observables.append(item) }
        }
        for address in [from, returnPath].compactMap({ $0 }) + replyTo { add(.email, address.address.lowercased()) }
        for domain in domains { add(.domain, domain) }
        for url in urls {
            add(.url, url.target)
            if url.target != url.url, !url.flags.contains(.wrapped) { add(.url, url.url) }
        }
        for hop in hops {
            for ip in hop.ips where !IPAddress.isPrivate(ip) { add(IPAddress.isIPv4(ip) ? .ipv4 : .ipv6, ip) }
        }
        for attachment in attachments where attachment.size > 0 {
            add(.sha256, attachment.sha256)
            add(.sha1, attachment.sha1)
            add(.md5, attachment.md5)
            add(.filename, attachment.filename)
        }
        self.observables = observables
        reasons = []
        clusterKey = ""
        fingerprint = ""
        reasons = scoreMessage(message, settings: settings)
        let shape = Self.subjectShape(subject)
        var clusterParts: [String] = [from.map { DomainName.registrable($0.domain) } ?? "", shape]
        if shape.isEmpty {
            clusterParts.append(Set(urls.map { DomainName.registrable($0.host) }).sorted().joined(separator: ","))
            clusterParts.append(Set(attachments.map(\.sha256)).sorted().joined(separator: ","))
        }
        clusterKey = Self.hash(clusterParts.joined(separator: "\n"))
        fingerprint = Self.hash(
            messageID ?? (message.textBodies + message.htmlBodies).joined() + subject)
    }

    /// The verdict once threat intelligence has answered (`hits`: observable → what matched) and the caller
    /// knows whether a simulation identifier is one of its own.
    public func verdict(intelligence hits: [Observable: String] = [:], simulation: Bool = false) -> (
        verdict: Verdict, score: Int, reasons: [TriageReason]
    ) {
        if simulation {
            return (.simulation, 0, [TriageReason("simulation", 0, "one of the establishment's phishing exercises")])
        }
        var all = reasons
        for (observable, match) in hits.sorted(by: { $0.key.value < $1.key.value }) {
            all.append(
                TriageReason("intel_match", 50, "\(observable.kind.rawValue) \(observable.value) is known: \(match)"))
        }
        let score = min(100, max(0, all.reduce(0) { $0 + $1.points }))
        let verdict: Verdict = !hits.isEmpty || score >= 70 ? .malicious : score >= 30 ? .suspicious : .safe
        return (verdict, score, all.sorted { $0.points > $1.points })
    }

    static func authentication(_ headers: HeaderList) -> Authentication {
        var summary = Authentication()
        // The topmost field was added by the receiving side; later ones may be forged by the sender.
        let fields = headers.all("Authentication-Results") + headers.all("ARC-Authentication-Results")
        for field in fields {
            let parsed = AuthenticationResults(field.raw)
            if summary.authservID == nil { summary.authservID = parsed.authservID }
            summary.spf = summary.spf ?? parsed.result("spf")?.result
            summary.dkim = summary.dkim ?? parsed.result("dkim")?.result
            summary.dmarc = summary.dmarc ?? parsed.result("dmarc")?.result
            summary.compauth = summary.compauth ?? parsed.result("compauth")?.result
        }
        if summary.spf == nil, let received = headers["Received-SPF"] {
            summary.spf = received.split(separator: " ").first?.lowercased()
        }
        return summary
    }

    static func simulationIDs(_ urls: [FoundURL]) -> [String] {
        var out: [String] = []
        for url in urls {
            for text in [url.url, url.target] {
                guard let parts = URLParts(text) else { continue }
                for (name, value) in parts.parameters where name.lowercased() == "rid" {
                    if value.count == 7, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
                        !out.contains(value)
                    {
                        out.append(value)
                    }
                }
            }
        }
        return out
    }

    /// `RE: Facture n°4471 impayée` → `facture n°# impayée`.
    static func subjectShape(_ subject: String) -> String {
        var text = subject.lowercased()
        while let match = text.range(
            of: #"^\s*(re|fw|fwd|tr|aw|wg|rv)\s*(\[\d+\])?\s*:\s*"#, options: .regularExpression)
        {
            text.removeSubrange(match)
        }
        text = text.replacingOccurrences(of: #"[0-9]+"#, with: "#", options: .regularExpression)
        return text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func hash(_ text: String) -> String {
        String(AttachmentReport.hex(SHA256.hash(data: Array(text.utf8))).prefix(32))
    }
}
