public import Foundation
public import STIX

/// An assessment as its reports show it: what every export (HTML, CSV, JSON, OSCAL) is made from.
public struct AssessmentReport: Sendable, Hashable, Codable {
    public struct Evidence: Sendable, Hashable, Codable {
        public var title: String
        public var link: String?
        public var sha256: String?
        public var effective: String
        public var validUntil: String?

        public init(
            title: String, link: String? = nil, sha256: String? = nil, effective: String, validUntil: String? = nil
        ) {
            self.title = title
            self.link = link
            self.sha256 = sha256
            self.effective = effective
            self.validUntil = validUntil
        }
    }

    public struct Requirement: Sendable, Hashable, Codable {
        public var urn: String
        public var refID: String
        public var name: String
        public var theme: String
        public var status: ResultStatus
        public var origin: RequirementOutcome.Origin
        public var maturity: Int?
        public var comment: String?
        public var justification: String?
        public var indicator: String?
        public var measured: MeasuredValue?
        public var coverage: Double?
        public var evidenceState: EvidenceCheck.State
        public var evidence: [Evidence]

        public init(urn: String, refID: String, name: String, theme: String, status: ResultStatus) {
            self.urn = urn
            self.refID = refID
            self.name = name
            self.theme = theme
            self.status = status
            origin = .manual
            evidenceState = .unconstrained
            evidence = []
        }
    }

    public var assessmentID: UUID
    public var title: String
    public var establishment: String
    public var frameworkURN: String
    public var frameworkName: String
    public var frameworkVersion: Int
    public var started: Date
    public var closed: Date?
    public var generated: Date
    public var requirements: [Requirement]

    public init(
        assessmentID: UUID, title: String, establishment: String, frameworkURN: String, frameworkName: String,
        frameworkVersion: Int, started: Date, closed: Date?, generated: Date, requirements: [Requirement]
    ) {
        self.assessmentID = assessmentID
        self.title = title
        self.establishment = establishment
        self.frameworkURN = frameworkURN
        self.frameworkName = frameworkName
        self.frameworkVersion = frameworkVersion
        self.started = started
        self.closed = closed
        self.generated = generated
        self.requirements = requirements
    }

    /// One row per requirement; `;`-separated, as French spreadsheets expect, with a header line.
    public func csv() -> String {
        var lines = [
            "ref_id;requirement;theme;status;origin;maturity;measured;coverage;evidence_state;evidence;comment"
        ]
        for item in requirements {
            let evidence = item.evidence.map { e in
                "\(e.title) (\(e.effective)\(e.sha256.map { ", sha256 \($0)" } ?? ""))"
            }.joined(separator: " | ")
            let fields = [
                item.refID, item.name, item.theme, item.status.rawValue, item.origin.rawValue,
                item.maturity.map(String.init) ?? "",
                item.measured.map { "\($0.value.formatted)" } ?? "",
                item.coverage.map { String(format: "%.1f %%", $0 * 100) } ?? "",
                item.evidenceState.rawValue, evidence, item.comment ?? item.justification ?? "",
            ]
            lines.append(fields.map(AssessmentReport.csvField).joined(separator: ";"))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func csvField(_ text: String) -> String {
        // A leading =, +, - or @ would make a spreadsheet run a formula (CSV injection).
        var value = text
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        guard value.contains(where: { ";\"\n\r".contains($0) }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// OSCAL 1.1.2 assessment results: one result, an observation per requirement with evidence or a measured
    /// value, a finding per assessed requirement (satisfied, or not-satisfied with reason `partial` or
    /// `non-compliant`).
    public func oscal(documentID: UUID = UUID()) -> JSONValue {
        let stamp = OSCALDate.string
        var resources: [JSONValue] = []
        let frameworkResource = UUID().uuidString.lowercased()
        resources.append(
            .object([
                .init("uuid", .string(frameworkResource)),
                .init("title", .string(frameworkName)),
                .init("description", .string("Framework \(frameworkURN), version \(frameworkVersion).")),
            ]))
        var observations: [JSONValue] = []
        var findings: [JSONValue] = []
        var controls: [JSONValue] = []
        for item in requirements {
            let target = OSCAL.token(item.refID.isEmpty ? item.urn : item.refID)
            guard item.status != .notAssessed else { continue }
            controls.append(.object([.init("control-id", .string(target))]))
            var related: [JSONValue] = []
            if item.measured != nil || !item.evidence.isEmpty {
                let observationID = UUID().uuidString.lowercased()
                var description = item.evidence.map { "\($0.title), effective \($0.effective)" }
                if let measured = item.measured, let indicator = item.indicator {
                    description.insert("Hygie indicator \(indicator) = \(measured.value.formatted)", at: 0)
                }
                var members: [JSONValue.Member] = [
                    .init("uuid", .string(observationID)),
                    .init("title", .string(item.refID)),
                    .init("description", .string(description.joined(separator: "; "))),
                    .init("methods", .array([.string(item.measured != nil ? "TEST" : "EXAMINE")])),
                    .init("collected", .string(stamp(item.measured?.measuredAt ?? generated))),
                ]
                let relevant: [JSONValue] = item.evidence.map { evidence in
                    var fields: [JSONValue.Member] = []
                    if let link = evidence.link, URL(string: link) != nil {
                        fields.append(.init("href", .string(link)))
                    }
                    fields.append(
                        .init(
                            "description",
                            .string(evidence.title + (evidence.sha256.map { " (SHA-256 \($0))" } ?? ""))))
                    return .object(fields)
                }
                if !relevant.isEmpty { members.append(.init("relevant-evidence", .array(relevant))) }
                observations.append(.object(members))
                related.append(.object([.init("observation-uuid", .string(observationID))]))
            }
            guard item.status != .notApplicable else { continue }
            var status: [JSONValue.Member] = [
                .init("state", .string(item.status == .compliant ? "satisfied" : "not-satisfied"))
            ]
            if item.status != .compliant {
                status.append(.init("reason", .string(item.status == .partial ? "partial" : "non-compliant")))
            }
            var finding: [JSONValue.Member] = [
                .init("uuid", .string(UUID().uuidString.lowercased())),
                .init("title", .string("\(item.refID) \(item.name)".trimmingCharacters(in: .whitespaces))),
                .init("description", .string(item.comment ?? item.name)),
                .init(
                    "target",
                    .object([
                        .init("type", .string("objective-id")),
                        .init("target-id", .string(target)),
                        .init("status", .object(status)),
                    ])),
            ]
            if !related.isEmpty { finding.append(.init("related-observations", .array(related))) }
            findings.append(.object(finding))
        }
        var result: [JSONValue.Member] = [
            .init("uuid", .string(assessmentID.uuidString.lowercased())),
            .init("title", .string(title)),
            .init("description", .string("\(frameworkName) — \(establishment)")),
            .init("start", .string(stamp(started))),
        ]
        if let closed { result.append(.init("end", .string(stamp(closed)))) }
        let selection: JSONValue =
            controls.isEmpty
            ? .object([.init("include-all", .object([]))]) : .object([.init("include-controls", .array(controls))])
        result.append(
            .init("reviewed-controls", .object([.init("control-selections", .array([selection]))])))
        if !observations.isEmpty { result.append(.init("observations", .array(observations))) }
        if !findings.isEmpty { result.append(.init("findings", .array(findings))) }
        let party = UUID().uuidString.lowercased()
        return .object([
            .init(
                "assessment-results",
                .object([
                    .init("uuid", .string(documentID.uuidString.lowercased())),
                    .init(
                        "metadata",
                        .object([
                            .init("title", .string(title)),
                            .init("last-modified", .string(stamp(generated))),
                            .init("version", .string(closed == nil ? "draft" : "final")),
                            .init("oscal-version", .string(OSCAL.version)),
                            .init(
                                "parties",
                                .array([
                                    .object([
                                        .init("uuid", .string(party)),
                                        .init("type", .string("organization")),
                                        .init("name", .string(establishment)),
                                    ])
                                ])),
                        ])),
                    .init("import-ap", .object([.init("href", .string("#\(frameworkResource)"))])),
                    .init("results", .array([.object(result)])),
                    .init("back-matter", .object([.init("resources", .array(resources))])),
                ]))
        ])
    }
}

/// OSCAL's `date-time-with-timezone` in UTC.
enum OSCALDate {
    static func string(_ date: Date) -> String {
        let seconds = Int64((date.timeIntervalSince1970).rounded(.down))
        let day = DayStamp(day: Int(floor(Double(seconds) / 86_400)))
        let rest = Int(seconds - Int64(day.day) * 86_400)
        return day.description + String(format: "T%02d:%02d:%02dZ", rest / 3600, rest % 3600 / 60, rest % 60)
    }
}
