import Crypto
import Foundation
import HygieIntel
import Sigma

/// The rules of one establishment compiled for evaluation, with the reusable matcher and event buffer of the
/// detection worker (one thread). Establishments with the same enabled rules and exceptions share a profile.
final class DetectionProfile: @unchecked Sendable {
    let ruleSet: RuleSet
    let matcher: Matcher
    let event: Event
    let userFields: [FieldID]
    let addressFields: [FieldID]
    /// Longest correlation timespan, in seconds (0 without correlations).
    let correlationSpan: Double
    /// Log fields looked up among shared indicators, with the kind of value they hold.
    let iocFields: [(id: FieldID, name: String, kind: IOCFieldKind)]

    static let userNames = [
        "TargetUserName", "SubjectUserName", "User", "user.name", "UserName", "AccountName", "suser", "duser", "user",
    ]
    static let addressNames = [
        "IpAddress", "SourceIp", "SourceAddress", "ClientAddress", "src", "source.ip", "client.ip", "DestinationIp",
    ]
    /// Field names (Sysmon, Windows, ECS, CEF, web and mail logs) whose values are compared with indicators.
    static let iocNames: [(String, IOCFieldKind)] =
        [
            "DestinationIp", "SourceIp", "IpAddress", "src", "dst", "src_ip", "dst_ip", "dest_ip", "source.ip",
            "destination.ip", "client.ip", "server.ip", "DestinationAddress", "SourceAddress", "ClientAddress",
            "RemoteAddress", "c-ip",
        ].map { ($0, .ip) }
        + [
            "QueryName", "DestinationHostname", "dns.question.name", "destination.domain", "url.domain", "dhost",
            "query",
            "server.domain",
        ].map { ($0, .domain) }
        + ["url", "url.full", "url.original", "request", "TargetUrl", "RequestUrl", "uri", "c-uri"].map { ($0, .url) }
        + [
            "Hashes", "Hash", "hash.md5", "hash.sha1", "hash.sha256", "file.hash.md5", "file.hash.sha1",
            "file.hash.sha256",
            "process.hash.sha256", "md5", "sha1", "sha256", "FileHash",
        ].map { ($0, .hash) }
        + [
            "sender", "from", "recipient", "to", "email.from.address", "email.to.address", "email.sender.address",
            "SenderAddress", "RecipientAddress",
        ].map { ($0, .email) }

    init(rules: [SigmaRule], diagnostics: [RuleDiagnostic], mapping: LogsourceMapping) {
        var options = RuleSetOptions()
        options.extraFields = Self.userNames + Self.addressNames + Self.iocNames.map(\.0)
        let set = RuleSet(rules: rules, diagnostics: diagnostics, mapping: mapping, options: options)
        // Entity fields are registered with the set, so events have room for them.
        userFields = Self.userNames.compactMap { set.registry.id(of: $0) }
        addressFields = Self.addressNames.compactMap { set.registry.id(of: $0) }
        iocFields = Self.iocNames.compactMap { name, kind in set.registry.id(of: name).map { ($0, name, kind) } }
        ruleSet = set
        matcher = Matcher(ruleSet: set)
        event = matcher.makeEvent()
        correlationSpan = set.correlations.map(\.correlation.timespan).max() ?? 0
    }

    func firstValue(_ fields: [FieldID]) -> String? {
        for field in fields {
            if let value = event.string(field), !value.isEmpty { return value }
        }
        return nil
    }
}

/// One enabled rule (or exception filter) of an establishment, as read from the database.
struct RuleSource: Sendable, Hashable {
    var key: String  // content hash (rules) or exception id + text
    var yaml: String
    var file: String
}

/// Compiles and caches profiles; parsed rules are cached by content so a change recompiles without re-reading
/// every YAML document.
final class DetectionEngine: @unchecked Sendable {
    let mapping: LogsourceMapping
    private var parsed: [String: (rules: [SigmaRule], diagnostics: [RuleDiagnostic])] = [:]
    private var profiles: [String: DetectionProfile] = [:]

    init(mapping: LogsourceMapping) { self.mapping = mapping }

    /// The profile for these rule sources, compiled once per distinct set.
    func profile(for sources: [RuleSource]) -> (profile: DetectionProfile, signature: String, compiled: Bool) {
        let signature = Self.signature(sources)
        if let cached = profiles[signature] { return (cached, signature, false) }
        var rules: [SigmaRule] = []
        var diagnostics: [RuleDiagnostic] = []
        for source in sources {
            let result: (rules: [SigmaRule], diagnostics: [RuleDiagnostic])
            if let cached = parsed[source.key] {
                result = cached
            } else {
                result = RuleLoader.parse(source.yaml, file: source.file)
                parsed[source.key] = result
            }
            rules += result.rules
            diagnostics += result.diagnostics
        }
        let profile = DetectionProfile(rules: rules, diagnostics: diagnostics, mapping: mapping)
        profiles[signature] = profile
        return (profile, signature, true)
    }

    /// Forgets profiles not in use (after a refresh).
    func retain(_ signatures: Set<String>) {
        profiles = profiles.filter { signatures.contains($0.key) }
    }

    static func signature(_ sources: [RuleSource]) -> String {
        var hasher = SHA256()
        for key in sources.map(\.key).sorted() { hasher.update(data: Data(key.utf8)) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The Sigma filter document for an exception to `rule`.
    static func exceptionFilter(_ exception: RuleException, rule: SigmaRule) -> String {
        var lines = [
            "title: 'Exception \(exception.id.uuidString.lowercased())'", "id: \(exception.id.uuidString.lowercased())",
        ]
        if let logsource = rule.logsource {
            lines.append("logsource:")
            if let product = logsource.product { lines.append("    product: '\(product)'") }
            if let category = logsource.category { lines.append("    category: '\(category)'") }
            if let service = logsource.service { lines.append("    service: '\(service)'") }
        }
        lines.append("filter:")
        lines.append("    rules: ['\(rule.metadata.id ?? rule.metadata.name ?? rule.metadata.title)']")
        for line in exception.detection.split(separator: "\n", omittingEmptySubsequences: false) {
            lines.append("    " + line)
        }
        return lines.joined(separator: "\n")
    }
}
