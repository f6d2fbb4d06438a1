public import STIX

/// One problem of a FHIR resource, as an OperationOutcome issue.
public struct FHIRIssue: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `invalid`, `required`, `value`, `structure`, `not-supported`, `too-costly`.
    public var code: String
    public var diagnostics: String
    /// FHIRPath of the element, e.g. `AuditEvent.recorded`.
    public var expression: String

    public init(code: String, diagnostics: String, expression: String) {
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
    }

    public var description: String { "\(expression): \(diagnostics)" }
}

/// Why a FHIR input was refused.
public struct FHIRError: Error, Sendable, CustomStringConvertible {
    public var issues: [FHIRIssue]
    public var description: String { issues.map(\.description).joined(separator: "; ") }
    public init(_ issues: [FHIRIssue]) { self.issues = issues }
    public init(_ code: String, _ diagnostics: String, at expression: String) {
        issues = [FHIRIssue(code: code, diagnostics: diagnostics, expression: expression)]
    }
}

/// FHIR R4 AuditEvent (and the R5 `patient`/`authorization` elements) read as record accesses, following the
/// IHE Basic Audit Log Patterns (BALP): the requesting agent's `who.identifier.value` is the staff id, the
/// entity `what` reference `Patient/<id>` the patient, `purposeOfUse` ETREAT an emergency (break-glass) access.
public enum FHIRAuditEvent {
    /// Checks a resource and reads the access it records. Returns nil for a valid AuditEvent that records no
    /// patient record access (a login, an export without a patient).
    public static func access(_ resource: JSONValue, defaultOffset: Int32, fallbackID: String) throws(FHIRError)
        -> AccessEvent?
    {
        guard case .object = resource else {
            throw FHIRError("structure", "a resource must be a JSON object", at: "AuditEvent")
        }
        guard resource["resourceType"]?.stringValue == "AuditEvent" else {
            let found = resource["resourceType"]?.stringValue ?? "nothing"
            throw FHIRError("invalid", "resourceType must be AuditEvent, found \(found)", at: "resourceType")
        }
        var issues: [FHIRIssue] = []
        func issue(_ code: String, _ text: String, _ path: String) {
            issues.append(FHIRIssue(code: code, diagnostics: text, expression: "AuditEvent.\(path)"))
        }
        if resource["type"] == nil, resource["code"] == nil { issue("required", "type is required", "type") }
        var time: Instant?
        if let recorded = resource["recorded"] {
            if let text = recorded.stringValue, let instant = Instant(iso: text, defaultOffset: defaultOffset),
                text.count > 10
            {
                time = instant
            } else {
                issue("value", "recorded must be a FHIR instant (date, time and offset)", "recorded")
            }
        } else {
            issue("required", "recorded is required", "recorded")
        }
        let agents = resource["agent"]?.arrayValue ?? []
        if agents.isEmpty { issue("required", "at least one agent is required", "agent") }
        if resource["source"] == nil { issue("required", "source is required", "source") }
        if let action = resource["action"], !["C", "R", "U", "D", "E"].contains(action.stringValue ?? "") {
            issue("value", "action must be one of C, R, U, D, E", "action")
        }
        var user: String?
        var emergency = false
        var justification = ""
        for (index, agent) in agents.enumerated() {
            guard case .object = agent else {
                issue("structure", "an agent must be an object", "agent[\(index)]")
                continue
            }
            if agent["requestor"] == nil {
                issue("required", "agent.requestor is required", "agent[\(index)].requestor")
            }
            let purposes = (agent["purposeOfUse"]?.arrayValue ?? []) + (agent["authorization"]?.arrayValue ?? [])
            for purpose in purposes {
                if codes(purpose).contains("ETREAT") { emergency = true }
                if let text = purpose["text"]?.stringValue, !text.isEmpty { justification = text }
            }
            guard agent["requestor"]?.boolValue == true || (user == nil && agents.count == 1) else { continue }
            let who = agent["who"]
            if let value = who?["identifier"]?["value"]?.stringValue, !value.isEmpty {
                user = value
            } else if let reference = who?["reference"]?.stringValue, let id = referenceID(reference) {
                user = id
            }
        }
        for purpose in resource["purposeOfEvent"]?.arrayValue ?? [] {
            if codes(purpose).contains("ETREAT") { emergency = true }
            if let text = purpose["text"]?.stringValue, !text.isEmpty { justification = text }
        }
        var patient: String?
        if let reference = resource["patient"]?["reference"]?.stringValue {
            patient = patientID(reference)
        }
        for (index, entity) in (resource["entity"]?.arrayValue ?? []).enumerated() {
            guard case .object = entity else {
                issue("structure", "an entity must be an object", "entity[\(index)]")
                continue
            }
            let what = entity["what"]
            var found: String?
            if let reference = what?["reference"]?.stringValue { found = patientID(reference) }
            if found == nil, let value = what?["identifier"]?["value"]?.stringValue,
                codes(entity["type"]).contains("1") && codes(entity["role"]).contains("1")
            {
                found = value
            }
            guard let found else { continue }
            patient = patient ?? found
            if let text = entity["description"]?.stringValue, !text.isEmpty, emergency { justification = text }
            for detail in entity["detail"]?.arrayValue ?? [] {
                let type = (detail["type"]?.stringValue ?? codes(detail["type"]).first ?? "").lowercased()
                if ["justification", "reason", "motif"].contains(type),
                    let text = detail["valueString"]?.stringValue, !text.isEmpty
                {
                    justification = text
                }
            }
        }
        guard issues.isEmpty, let time else { throw FHIRError(issues) }
        guard let patient else { return nil }
        guard let user else {
            throw FHIRError(
                "required", "no requesting agent identifies the user (who.identifier.value)", at: "AuditEvent.agent")
        }
        let id = resource["id"]?.stringValue ?? fallbackID
        let source =
            resource["source"]?["observer"]?["display"]?.stringValue
            ?? resource["source"]?["observer"]?["reference"]?.stringValue ?? resource["source"]?["site"]?.stringValue
            ?? ""
        return AccessEvent(
            id: id, time: time, user: user, patient: patient, action: resource["action"]?.stringValue ?? "R",
            emergency: emergency, justification: emergency ? justification : "", source: source)
    }

    /// `Patient/123`, `https://ehr.example/fhir/Patient/123/_history/2` → `123`.
    static func patientID(_ reference: String) -> String? {
        let parts = reference.split(separator: "/")
        guard let index = parts.lastIndex(of: "Patient"), index + 1 < parts.count else { return nil }
        let id = String(parts[index + 1])
        return id.isEmpty ? nil : id
    }

    static func referenceID(_ reference: String) -> String? {
        let parts = reference.split(separator: "/")
        if let history = parts.lastIndex(of: "_history"), history >= 1 { return String(parts[history - 1]) }
        return parts.last.map(String.init)
    }

    /// Every `code` of a CodeableConcept, a Coding or a list of Codings.
    static func codes(_ value: JSONValue?) -> [String] {
        guard let value else { return [] }
        if let list = value.arrayValue { return list.flatMap { codes($0) } }
        var result: [String] = []
        if let code = value["code"]?.stringValue { result.append(code) }
        for coding in value["coding"]?.arrayValue ?? [] {
            if let code = coding["code"]?.stringValue { result.append(code) }
        }
        return result
    }

    /// The AuditEvents of a Bundle (`transaction`, `batch` or `collection`), each with its entry's position.
    public static func bundleEntries(_ bundle: JSONValue) throws(FHIRError) -> (type: String, resources: [JSONValue]) {
        let type = bundle["type"]?.stringValue ?? ""
        guard ["transaction", "batch", "collection"].contains(type) else {
            throw FHIRError("not-supported", "Bundle.type must be transaction, batch or collection", at: "Bundle.type")
        }
        var resources: [JSONValue] = []
        for (index, entry) in (bundle["entry"]?.arrayValue ?? []).enumerated() {
            guard let resource = entry["resource"] else {
                throw FHIRError("required", "entry has no resource", at: "Bundle.entry[\(index)].resource")
            }
            if type != "collection", let method = entry["request"]?["method"]?.stringValue, method != "POST" {
                throw FHIRError(
                    "not-supported", "only POST of AuditEvent is accepted, not \(method)",
                    at: "Bundle.entry[\(index)].request.method")
            }
            resources.append(resource)
        }
        return (type, resources)
    }
}
