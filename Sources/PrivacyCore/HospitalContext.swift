import Foundation

/// Everything an access is explained against, indexed for the analyser: staff by id, patients by id, the
/// encounters and care events of each patient, and who among the staff is also a patient.
///
/// Departments are interned to integers and names and addresses normalised once, so evaluating an access is a
/// handful of array reads and integer comparisons.
public struct HospitalContext: Sendable {
    public private(set) var departments: [Department] = []
    public private(set) var staff: [StaffMember] = []
    public private(set) var patients: [Patient] = []

    var departmentIndex: [String: Int] = [:]
    var staffIndex: [String: Int] = [:]
    var patientIndex: [String: Int] = [:]
    var staffInfo: [StaffInfo] = []
    var patientInfo: [PatientInfo] = []
    var encounters: [[EncounterInfo]] = []
    var careEvents: [[CareInfo]] = []
    /// Applied to the normalised family-name parts, address and identity of staff, so that they compare with
    /// patients stored pseudonymised (`PseudonymousPatient`). Set before adding staff.
    public var keying: (@Sendable (String) -> String)?

    struct StaffInfo: Sendable {
        var department: Int
        var role: String
        var schedule: WorkSchedule
        var shift: ShiftHours?
        var hire: Int64?
        var end: Int64?
        var surname: [String]
        var address: String
        var identity: String
    }

    struct PatientInfo: Sendable {
        var known: Bool
        var restricted: Bool
        var deceased: Int64?
        var surname: [String]
        var address: String
        var identity: String
        /// Members of staff who are this patient.
        var staff: [Int]
    }

    struct EncounterInfo: Sendable {
        var department: Int
        var attending: [Int]
        var start: Int64
        var end: Int64?
        var emergency: Bool
        var kind: Kind

        enum Kind { case inpatient, emergency, other }
    }

    struct CareInfo: Sendable {
        var department: Int
        var staff: Int
        var time: Int64
    }

    public init() {}

    public init(
        departments: [Department] = [], staff: [StaffMember], patients: [Patient], encounters: [Encounter],
        careEvents: [CareEvent] = []
    ) {
        for department in departments { add(department) }
        for member in staff { add(member) }
        for patient in patients { add(patient) }
        linkStaffPatients()
        for encounter in encounters { add(encounter) }
        for event in careEvents { add(event) }
    }

    public var counts: (departments: Int, staff: Int, patients: Int, encounters: Int, careEvents: Int) {
        (
            departments.count, staff.count, patients.count, encounters.reduce(0) { $0 + $1.count },
            careEvents.reduce(0) { $0 + $1.count }
        )
    }

    public func staffMember(_ id: String) -> StaffMember? { staffIndex[id].map { staff[$0] } }
    public func patient(_ id: String) -> Patient? {
        patientIndex[id].flatMap { patientInfo[$0].known ? patients[$0] : nil }
    }
    public func department(_ code: String) -> Department? { departmentIndex[code].map { departments[$0] } }

    // MARK: Building

    @discardableResult
    mutating func intern(department code: String) -> Int {
        if let index = departmentIndex[code] { return index }
        departmentIndex[code] = departments.count
        departments.append(Department(code: code))
        return departments.count - 1
    }

    public mutating func add(_ department: Department) {
        if let index = departmentIndex[department.code] {
            departments[index] = department
        } else {
            departmentIndex[department.code] = departments.count
            departments.append(department)
        }
    }

    public mutating func add(_ member: StaffMember) {
        let person = PseudonymousPatient(
            patientView(of: member), key: keying ?? { $0 })
        let info = StaffInfo(
            department: intern(department: member.department), role: member.role.lowercased(),
            schedule: member.schedule, shift: ShiftHours(member.shift), hire: member.hireDate?.seconds,
            end: member.endDate.map { $0.seconds + 86_400 }, surname: person.surnameKeys, address: person.addressKey,
            identity: person.identityKey)
        if let index = staffIndex[member.id] {
            staff[index] = member
            staffInfo[index] = info
        } else {
            staffIndex[member.id] = staff.count
            staff.append(member)
            staffInfo.append(info)
        }
    }

    mutating func intern(patient id: String) -> Int {
        if let index = patientIndex[id] { return index }
        patientIndex[id] = patients.count
        patients.append(Patient(id: id))
        patientInfo.append(
            PatientInfo(known: false, restricted: false, surname: [], address: "", identity: "", staff: []))
        encounters.append([])
        careEvents.append([])
        return patients.count - 1
    }

    public mutating func add(_ patient: Patient) {
        add(PseudonymousPatient(patient, key: { $0 }))
        patients[patientIndex[patient.id]!] = patient
    }

    /// A patient known only by keyed hashes (the server's storage).
    public mutating func add(_ patient: PseudonymousPatient) {
        let index = intern(patient: patient.key)
        patients[index] = Patient(id: patient.key, deceased: patient.deceased, restricted: patient.restricted)
        patientInfo[index] = PatientInfo(
            known: true, restricted: patient.restricted, deceased: patient.deceased?.seconds,
            surname: patient.surnameKeys, address: patient.addressKey, identity: patient.identityKey,
            staff: patientInfo[index].staff)
    }

    /// Marks members of staff who are patients: same given name, family name and birth date, or an explicit pair
    /// from the hospital's identity server.
    public mutating func linkStaffPatients(explicit pairs: [(staff: String, patient: String)] = []) {
        var byIdentity: [String: [Int]] = [:]
        for (index, info) in staffInfo.enumerated() where !info.identity.isEmpty {
            byIdentity[info.identity, default: []].append(index)
        }
        for index in patientInfo.indices where patientInfo[index].known {
            let key = patientInfo[index].identity
            patientInfo[index].staff = key.isEmpty ? [] : byIdentity[key] ?? []
        }
        for pair in pairs {
            guard let member = staffIndex[pair.staff] else { continue }
            let patient = intern(patient: pair.patient)
            if !patientInfo[patient].staff.contains(member) { patientInfo[patient].staff.append(member) }
        }
    }

    public mutating func add(_ encounter: Encounter) {
        let patient = intern(patient: encounter.patient)
        let department = intern(department: encounter.department)
        let kind = encounter.kind.lowercased()
        let emergency =
            kind.hasPrefix("emer") || kind == "urg" || kind == "e"
            || departments[department].kind.lowercased().hasPrefix("emerg")
        let inpatient = ["inpatient", "i", "imp", "acute", "hospitalisation", "hospitalization", "icu"].contains(kind)
        encounters[patient].append(
            EncounterInfo(
                department: department, attending: encounter.attending.compactMap { staffIndex[$0] },
                start: encounter.start.seconds, end: encounter.end?.seconds, emergency: emergency,
                kind: emergency ? .emergency : inpatient ? .inpatient : .other))
    }

    public mutating func add(_ event: CareEvent) {
        let patient = intern(patient: event.patient)
        careEvents[patient].append(
            CareInfo(
                department: intern(department: event.department), staff: staffIndex[event.staff] ?? -1,
                time: event.time.seconds))
    }
}

/// What the analyser compares of a patient, each value normalised then passed through a key (a keyed hash on
/// the server, the identity function offline): the record's key, its family-name parts, address and identity.
public struct PseudonymousPatient: Sendable, Hashable, Codable {
    public var key: String
    public var surnameKeys: [String]
    public var addressKey: String
    public var identityKey: String
    public var restricted: Bool
    public var deceased: Instant?

    public init(
        key: String, surnameKeys: [String], addressKey: String, identityKey: String, restricted: Bool,
        deceased: Instant?
    ) {
        self.key = key
        self.surnameKeys = surnameKeys
        self.addressKey = addressKey
        self.identityKey = identityKey
        self.restricted = restricted
        self.deceased = deceased
    }

    public init(_ patient: Patient, key: (String) -> String) {
        let address = Names.addressKey(patient.address, patient.postalCode)
        let identity = Names.identityKey(patient.givenName, patient.familyName, patient.birthDate)
        self.init(
            key: key(patient.id), surnameKeys: Names.surnameTokens(patient.familyName).map { key("surname:" + $0) },
            addressKey: address.isEmpty ? "" : key("address:" + address),
            identityKey: identity.isEmpty ? "" : key("identity:" + identity), restricted: patient.restricted,
            deceased: patient.deceased)
    }
}

/// A member of staff seen as the patient they might be (same name, birth date and address).
func patientView(of member: StaffMember) -> Patient {
    Patient(
        id: member.id, givenName: member.givenName, familyName: member.familyName, birthDate: member.birthDate,
        address: member.address, postalCode: member.postalCode)
}

/// Normalised names and addresses: case and accents folded, particles dropped, common street words shortened.
public enum Names {
    static let particles: Set<String> = [
        "de", "du", "des", "la", "le", "les", "d", "l", "van", "von", "der", "den", "y", "e",
    ]
    static let streetWords: [String: String] = [
        "avenue": "av", "boulevard": "bd", "bld": "bd", "place": "pl", "chemin": "ch", "route": "rte", "impasse": "imp",
        "allee": "all", "street": "st", "road": "rd", "saint": "st", "sainte": "ste", "bis": "b", "ter": "t",
    ]

    static func fold(_ text: String) -> String {
        text.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil)
    }

    static func words(_ text: String) -> [String] {
        fold(text).split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map(String.init)
    }

    /// The parts of a family name that identify a family (`Martin-Dupont` → martin, dupont).
    public static func surnameTokens(_ name: String) -> [String] {
        words(name).filter { $0.count >= 2 && !particles.contains($0) }
    }

    public static func addressKey(_ address: String, _ postalCode: String) -> String {
        let street = words(address).map { streetWords[$0] ?? $0 }.filter { $0 != "rue" }
        guard !street.isEmpty else { return "" }
        return (street + [postalCode.filter { !$0.isWhitespace }]).joined(separator: " ")
    }

    public static func identityKey(_ given: String, _ family: String, _ birthDate: String) -> String {
        let given = words(given).joined(separator: " ")
        let family = words(family).joined(separator: " ")
        guard !given.isEmpty, !family.isEmpty, birthDate.count >= 8 else { return "" }
        return "\(given)|\(family)|\(birthDate.prefix(10))"
    }

    static func shareSurname(_ lhs: [String], _ rhs: [String]) -> Bool {
        for token in lhs where rhs.contains(token) { return true }
        return false
    }
}
