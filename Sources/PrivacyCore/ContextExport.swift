import RecordInput

/// Writes context and accesses in the standard layouts (the generator's files, the demo, exports).
public enum ContextExport {
    static func csv(_ header: [String], _ rows: [[String]]) -> String {
        ([header] + rows).map { $0.map(CSV.field).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    static func date(_ instant: Instant?) -> String { instant?.iso ?? "" }

    public static func departments(_ departments: [Department]) -> String {
        csv(["code", "label", "kind"], departments.map { [$0.code, $0.label, $0.kind] })
    }

    public static func staff(_ staff: [StaffMember]) -> String {
        csv(
            [
                "staff_id", "given_name", "family_name", "gender", "birth_date", "address", "postal_code", "city",
                "department", "role", "role_label", "schedule", "shift", "hire_date", "workstation",
            ],
            staff.map {
                [
                    $0.id, $0.givenName, $0.familyName, $0.gender, $0.birthDate, $0.address, $0.postalCode, $0.city,
                    $0.department, $0.role, $0.roleLabel, $0.schedule.rawValue, $0.shift,
                    $0.hireDate?.isoDate ?? "", $0.workstation,
                ]
            })
    }

    public static func patients(_ patients: [Patient]) -> String {
        csv(
            [
                "patient_id", "given_name", "family_name", "gender", "birth_date", "address", "postal_code", "city",
                "deceased_datetime", "restricted",
            ],
            patients.map {
                [
                    $0.id, $0.givenName, $0.familyName, $0.gender, $0.birthDate, $0.address, $0.postalCode, $0.city,
                    date($0.deceased), $0.restricted ? "VIP" : "",
                ]
            })
    }

    public static func encounters(_ encounters: [Encounter]) -> String {
        csv(
            [
                "encounter_id", "patient_id", "class", "department", "attending_staff_id", "start", "end",
                "discharge_disposition",
            ],
            encounters.map {
                [
                    $0.id, $0.patient, $0.kind, $0.department, $0.attending.joined(separator: ";"), $0.start.iso,
                    date($0.end), $0.dischargeDisposition,
                ]
            })
    }

    public static func careEvents(_ events: [CareEvent]) -> String {
        csv(
            ["encounter_id", "patient_id", "kind", "department", "staff_id", "time"],
            events.map { [$0.encounter, $0.patient, $0.kind, $0.department, $0.staff, $0.time.iso] })
    }

    /// A FHIR R4 AuditEvent shaped as IHE BALP's PatientRead (one line of NDJSON).
    public static func auditEvent(_ event: AccessEvent) -> String {
        func quoted(_ text: String) -> String {
            var result = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": result += "\\\""
                case "\\": result += "\\\\"
                case "\n": result += "\\n"
                case "\r": result += "\\r"
                case "\t": result += "\\t"
                default:
                    if scalar.value < 0x20 {
                        let hex = String(scalar.value, radix: 16)
                        result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    } else {
                        result.unicodeScalars.append(scalar)
                    }
                }
            }
            return result + "\""
        }
        let purpose =
            event.emergency
            ? "{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActReason\",\"code\":\"ETREAT\"}]"
                + (event.justification.isEmpty ? "" : ",\"text\":\(quoted(event.justification))") + "}"
            : "{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActReason\",\"code\":\"TREAT\"}]}"
        let interaction = event.action == "R" ? "read" : event.action == "U" ? "update" : "create"
        return "{\"resourceType\":\"AuditEvent\",\"id\":\(quoted(event.id)),"
            + "\"type\":{\"system\":\"http://terminology.hl7.org/CodeSystem/audit-event-type\",\"code\":\"rest\"},"
            + "\"subtype\":[{\"system\":\"http://hl7.org/fhir/restful-interaction\",\"code\":\"\(interaction)\"}],"
            + "\"action\":\(quoted(event.action)),\"recorded\":\(quoted(event.time.iso)),\"outcome\":\"0\","
            + "\"agent\":[{\"type\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/extra-security-role-type\","
            + "\"code\":\"humanuser\"}]},\"who\":{\"identifier\":{\"value\":\(quoted(event.user))}},\"requestor\":true,"
            + "\"purposeOfUse\":[\(purpose)]}],"
            + "\"source\":{\"observer\":{\"display\":\(quoted(event.source.isEmpty ? "DPI" : event.source))}},"
            + "\"entity\":[{\"what\":{\"reference\":\(quoted("Patient/" + event.patient))},"
            + "\"type\":{\"system\":\"http://terminology.hl7.org/CodeSystem/audit-entity-type\",\"code\":\"1\"},"
            + "\"role\":{\"system\":\"http://terminology.hl7.org/CodeSystem/object-role\",\"code\":\"1\"}}]}"
    }
}
