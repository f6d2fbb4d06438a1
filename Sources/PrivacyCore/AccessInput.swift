import Crypto
import Foundation
import RecordInput
import STIX

/// Reading access events from files: FHIR AuditEvent NDJSON (plain or gzip, or a JSON array or Bundle), and EHR
/// CSV exports through a column mapping.
public enum AccessInput {
    /// A stable id for an event that came without one: the SHA-256 of its bytes.
    public static func fallbackID(_ bytes: some Sequence<UInt8>) -> String {
        "sha256-"
            + SHA256.hash(data: Array(bytes)).prefix(16).map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
    }

    public struct Stats: Sendable {
        public var records = 0
        public var accesses = 0
        /// Valid AuditEvents that record no patient access (logins, exports).
        public var ignored = 0
        public var invalid = 0
        public var bytes = 0
    }

    /// Reads every AuditEvent of `path` and calls `body` with each patient access. An invalid record stops the
    /// read with its number unless `skipInvalid` is set (then it is counted and reported in `onInvalid`).
    public static func auditEvents(
        path: String, defaultOffset: Int32, skipInvalid: Bool = false,
        onInvalid: (Int, String) -> Void = { _, _ in }, _ body: (AccessEvent) -> Void
    ) throws -> Stats {
        let reader = try RecordReader(path: path, input: 0, format: nil)
        var stats = Stats()
        while let block = try reader.next() {
            for record in 0..<block.count {
                stats.records += 1
                let number = block.firstRecord + record
                let range = Int(block.bounds[2 * record])..<Int(block.bounds[2 * record + 1])
                let bytes = block.data[range]
                do {
                    let value: JSONValue
                    do { value = try JSONParser.parse(bytes) } catch {
                        throw FHIRError("structure", "not JSON: \(error)", at: "AuditEvent")
                    }
                    if value["resourceType"]?.stringValue == "Bundle" {
                        for resource in try FHIRAuditEvent.bundleEntries(value).resources {
                            if let event = try FHIRAuditEvent.access(
                                resource, defaultOffset: defaultOffset, fallbackID: fallbackID(bytes))
                            {
                                stats.accesses += 1
                                body(event)
                            } else {
                                stats.ignored += 1
                            }
                        }
                    } else if let event = try FHIRAuditEvent.access(
                        value, defaultOffset: defaultOffset, fallbackID: fallbackID(bytes))
                    {
                        stats.accesses += 1
                        body(event)
                    } else {
                        stats.ignored += 1
                    }
                } catch {
                    stats.invalid += 1
                    guard skipInvalid else {
                        throw PrivacyInputError("\(path): record \(number): \(String(describing: error))")
                    }
                    onInvalid(number, String(describing: error))
                }
            }
        }
        stats.bytes = reader.consumed
        return stats
    }

    /// Which column of an EHR export holds each field. Defaults cover the usual English and French headers.
    public struct CSVMapping: Sendable, Hashable, Codable {
        public var id: String?
        public var time: String
        public var user: String
        public var patient: String
        public var action: String?
        public var emergency: String?
        public var justification: String?

        public init(
            id: String? = nil, time: String, user: String, patient: String, action: String? = nil,
            emergency: String? = nil, justification: String? = nil
        ) {
            self.id = id
            self.time = time
            self.user = user
            self.patient = patient
            self.action = action
            self.emergency = emergency
            self.justification = justification
        }

        /// The mapping read from `field=column,field=column` (fields: id, time, user, patient, action, emergency,
        /// justification), completed from the file's header for fields left out.
        public static func resolve(_ text: String?, header: [String]) throws(PrivacyInputError) -> CSVMapping {
            var given: [String: String] = [:]
            for pair in (text ?? "").split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2,
                    ["id", "time", "user", "patient", "action", "emergency", "justification"].contains(parts[0])
                else {
                    throw PrivacyInputError(
                        "mapping \"\(pair)\": expected field=column with field one of id, time, user, patient, "
                            + "action, emergency, justification")
                }
                given[parts[0]] = parts[1]
            }
            let lower = Set(header.map { $0.lowercased() })
            func pick(_ field: String, _ names: [String]) -> String? {
                if let column = given[field] { return column }
                return names.first { lower.contains($0) }
            }
            guard let time = pick("time", ["time", "timestamp", "recorded", "date", "date_acces", "horodatage"]),
                let user = pick("user", ["user", "staff_id", "user_id", "login", "matricule", "utilisateur"]),
                let patient = pick("patient", ["patient", "patient_id", "ipp", "id_patient"])
            else {
                throw PrivacyInputError(
                    "access export: cannot tell which columns hold time, user and patient; give --map "
                        + "time=…,user=…,patient=… (found: \(header.joined(separator: ", ")))")
            }
            var mapping = CSVMapping(time: time, user: user, patient: patient)
            mapping.id = pick("id", ["event_id", "id", "access_id", "id_acces"])
            mapping.action = pick("action", ["action", "operation"])
            mapping.emergency = pick("emergency", ["emergency", "break_glass", "bris_de_glace", "urgence"])
            mapping.justification = pick("justification", ["justification", "motif", "reason"])
            return mapping
        }
    }

    /// Accesses of an EHR CSV export. Every line is checked before any is returned.
    public static func csv(_ bytes: [UInt8], mapping: String?, defaultOffset: Int32) throws(PrivacyInputError)
        -> [AccessEvent]
    {
        let table = try CSVTable(bytes, what: "access export")
        let map = try CSVMapping.resolve(mapping, header: table.header)
        try table.require(
            [map.time, map.user, map.patient]
                + [map.id, map.action, map.emergency, map.justification].compactMap { $0 })
        var events: [AccessEvent] = []
        try table.forEach { row throws(PrivacyInputError) in
            let time = try row.time(map.time, offset: defaultOffset, required: true)!
            let user = try row.required(map.user)
            let patient = try row.required(map.patient)
            let emergencyText = map.emergency.map { row[$0].lowercased() } ?? ""
            let id = map.id.map { row[$0] } ?? ""
            events.append(
                AccessEvent(
                    id: id.isEmpty ? fallbackID(Array("\(time.seconds)|\(user)|\(patient)|\(row.line)".utf8)) : id,
                    time: time, user: user, patient: patient,
                    action: map.action.map { row[$0] }.flatMap { $0.isEmpty ? nil : String($0.prefix(1)).uppercased() }
                        ?? "R",
                    emergency: ["1", "true", "yes", "oui", "o", "y", "etreat", "x"].contains(emergencyText),
                    justification: map.justification.map { row[$0] } ?? ""))
        }
        return events
    }
}
