/// A unit of the hospital (`departments.csv`: code, label, kind).
public struct Department: Sendable, Hashable, Codable {
    public var code: String
    public var label: String
    /// `clinical`, `emergency`, `lab`, `radiology`, `pharmacy`, `administrative`… as the hospital names them.
    public var kind: String

    public init(code: String, label: String = "", kind: String = "") {
        self.code = code
        self.label = label
        self.kind = kind
    }
}

/// How a member of staff works, which decides what "off hours" means for them.
public enum WorkSchedule: String, Sendable, Hashable, Codable {
    /// Weekdays, office hours.
    case office
    /// Rotating shifts (`day`, `night`, `morning`, `afternoon`, `evening` or `HH:MM-HH:MM`).
    case shift
}

/// A member of staff (`staff.csv`).
public struct StaffMember: Sendable, Hashable, Codable {
    public var id: String
    public var givenName: String
    public var familyName: String
    public var gender: String
    public var birthDate: String
    public var address: String
    public var postalCode: String
    public var city: String
    public var department: String
    public var role: String
    public var roleLabel: String
    public var schedule: WorkSchedule
    public var shift: String
    public var hireDate: Instant?
    /// Last day of employment, when the HR export has one (`end_date`).
    public var endDate: Instant?
    public var workstation: String

    public init(
        id: String, givenName: String = "", familyName: String = "", gender: String = "", birthDate: String = "",
        address: String = "", postalCode: String = "", city: String = "", department: String = "", role: String = "",
        roleLabel: String = "", schedule: WorkSchedule = .office, shift: String = "", hireDate: Instant? = nil,
        endDate: Instant? = nil, workstation: String = ""
    ) {
        self.id = id
        self.givenName = givenName
        self.familyName = familyName
        self.gender = gender
        self.birthDate = birthDate
        self.address = address
        self.postalCode = postalCode
        self.city = city
        self.department = department
        self.role = role
        self.roleLabel = roleLabel
        self.schedule = schedule
        self.shift = shift
        self.hireDate = hireDate
        self.endDate = endDate
        self.workstation = workstation
    }
}

/// A patient (`patients.csv`).
public struct Patient: Sendable, Hashable, Codable {
    public var id: String
    public var givenName: String
    public var familyName: String
    public var gender: String
    public var birthDate: String
    public var address: String
    public var postalCode: String
    public var city: String
    public var deceased: Instant?
    /// A VIP or otherwise confidential record.
    public var restricted: Bool

    public init(
        id: String, givenName: String = "", familyName: String = "", gender: String = "", birthDate: String = "",
        address: String = "", postalCode: String = "", city: String = "", deceased: Instant? = nil,
        restricted: Bool = false
    ) {
        self.id = id
        self.givenName = givenName
        self.familyName = familyName
        self.gender = gender
        self.birthDate = birthDate
        self.address = address
        self.postalCode = postalCode
        self.city = city
        self.deceased = deceased
        self.restricted = restricted
    }
}

/// A stay or visit (`encounters.csv`, or built from HL7 v2 ADT messages): one row per unit the patient was in.
public struct Encounter: Sendable, Hashable, Codable {
    public var id: String
    public var patient: String
    /// `inpatient`, `emergency`, `outpatient`, `ambulatory`… (FHIR `Encounter.class` or HL7 PV1-2).
    public var kind: String
    public var department: String
    public var attending: [String]
    public var start: Instant
    /// Nil while the patient is still there.
    public var end: Instant?
    public var dischargeDisposition: String

    public init(
        id: String, patient: String, kind: String = "", department: String, attending: [String] = [],
        start: Instant, end: Instant? = nil, dischargeDisposition: String = ""
    ) {
        self.id = id
        self.patient = patient
        self.kind = kind
        self.department = department
        self.attending = attending
        self.start = start
        self.end = end
        self.dischargeDisposition = dischargeDisposition
    }
}

/// An order, consult, appointment or result that brings a unit into a patient's care (`care_events.csv`).
public struct CareEvent: Sendable, Hashable, Codable {
    public var encounter: String
    public var patient: String
    /// `consult`, `lab`, `radiology`, `pharmacy`, `appointment`…
    public var kind: String
    public var department: String
    /// The member of staff named on it, when known.
    public var staff: String
    public var time: Instant

    public init(
        encounter: String = "", patient: String, kind: String, department: String, staff: String = "", time: Instant
    ) {
        self.encounter = encounter
        self.patient = patient
        self.kind = kind
        self.department = department
        self.staff = staff
        self.time = time
    }
}

/// One access to a patient's record, from a FHIR AuditEvent, an ATNA message or an EHR export.
public struct AccessEvent: Sendable, Hashable, Codable {
    public var id: String
    public var time: Instant
    /// Staff id of the person who opened the record.
    public var user: String
    public var patient: String
    /// `R` read, `C` create, `U` update, `D` delete, `E` execute (FHIR/DICOM action codes).
    public var action: String
    /// Break-glass: purpose of use `ETREAT`.
    public var emergency: Bool
    /// Free text given by the user for an emergency access, if any.
    public var justification: String
    /// The application or device that recorded it.
    public var source: String

    public init(
        id: String, time: Instant, user: String, patient: String, action: String = "R", emergency: Bool = false,
        justification: String = "", source: String = ""
    ) {
        self.id = id
        self.time = time
        self.user = user
        self.patient = patient
        self.action = action
        self.emergency = emergency
        self.justification = justification
        self.source = source
    }
}
