/// A labelled synthetic hospital: units, staff, patients, stays, orders and a period of record accesses, with
/// inappropriate accesses of every pattern planted among legitimate look-alikes (night shifts, on-call cover,
/// consults from other units, staff treated as patients, colleagues sharing a family name, justified
/// break-glass) and a small share of legitimate accesses the context cannot explain (unrecorded consults).
///
/// Labels are facts of the generator's own making: a planted access carries its pattern, `no_care_relationship`
/// (it is planted where no stay, order or appointment links the user's unit to the patient) and every other
/// pattern that holds by construction (same family name, same address, co-worker, restricted record, after
/// death, outside the user's working hours, break-glass without justification). Legitimate accesses carry none.
public struct SyntheticHospital: Sendable {
    public struct Settings: Sendable, Hashable {
        public var seed: UInt64 = 1
        /// Clinical units (inpatient wards); intensive care, emergency and support units come on top.
        public var units = 12
        public var days = 7
        /// First day of the period (a Monday is best), wall clock of `offset`.
        public var start = "2026-11-16"
        public var offset: Int32 = 3600
        /// Planted accesses per pattern (volume spikes: this many accesses by each of two users).
        public var plants = 25
        /// Record views per legitimate access (EHRs log every screen): raises the volume, not the relationships.
        public var intensity = 1
        /// Share of legitimate accesses made again by staff of another unit whose consult was never recorded.
        public var unrecordedRate = 0.000_5

        public init() {}
    }

    public let settings: Settings
    public internal(set) var departments: [Department] = []
    public internal(set) var staff: [StaffMember] = []
    public internal(set) var patients: [Patient] = []
    public internal(set) var encounters: [Encounter] = []
    public internal(set) var careEvents: [CareEvent] = []
    /// Planted accesses (with their labels); `accesses` emits them among the legitimate ones.
    public internal(set) var planted: [(event: AccessEvent, labels: Set<AccessPattern>)] = []

    var random: SplitMix64
    let periodStart: Int64
    var periodEnd: Int64 { periodStart + Int64(settings.days) * 86_400 }
    var unitStaff: [String: [Int]] = [:]
    var staffPatient: [Int: Int] = [:]
    var clinicalUnits: [String] = []
    var encountersOf: [Int: [Int]] = [:]
    var patientIndex: [String: Int] = [:]
    /// Care events of each patient id, for planting where no relationship exists.
    var careOf: [String: [Int]] = [:]

    public var context: HospitalContext {
        HospitalContext(
            departments: departments, staff: staff, patients: patients, encounters: encounters, careEvents: careEvents)
    }

    public var labels: [String: Set<AccessPattern>] {
        Dictionary(planted.map { ($0.event.id, $0.labels) }, uniquingKeysWith: { first, _ in first })
    }

    public init(_ settings: Settings = Settings()) {
        self.settings = settings
        random = SplitMix64(seed: settings.seed)
        periodStart = (Instant(iso: settings.start, defaultOffset: settings.offset) ?? Instant(seconds: 0)).seconds
        buildUnits()
        buildStays()
        plant()
    }

    // MARK: Units and staff

    static let wards: [(String, String)] = [
        ("CARD", "Cardiologie"), ("PNEU", "Pneumologie"), ("GAST", "Gastro-entérologie"), ("NEUR", "Neurologie"),
        ("ORTH", "Orthopédie"), ("PEDI", "Pédiatrie"), ("MATE", "Maternité"), ("ONCO", "Oncologie"),
        ("GERI", "Gériatrie"), ("CHIR", "Chirurgie viscérale"), ("NEPH", "Néphrologie"), ("MINT", "Médecine interne"),
    ]

    mutating func buildUnits() {
        for index in 0..<max(1, settings.units) {
            let (code, label) = Self.wards[index % Self.wards.count]
            let round = index / Self.wards.count
            let unit = round == 0 ? code : "\(code)\(round + 1)"
            clinicalUnits.append(unit)
            departments.append(
                Department(code: unit, label: round == 0 ? label : "\(label) \(round + 1)", kind: "clinical"))
            hire(unit, "physician", "Médecin", .office, "", 4)
            hire(unit, "nurse", "Infirmier·e", .shift, "day", 8)
            hire(unit, "nurse", "Infirmier·e", .shift, "night", 4)
            hire(unit, "aide", "Aide-soignant·e", .shift, "day", 4)
            hire(unit, "aide", "Aide-soignant·e", .shift, "night", 2)
            hire(unit, "secretary", "Secrétaire médicale", .office, "", 1)
        }
        let scale = max(1, settings.units / 12)
        let support: [(String, String, String, [(String, String, WorkSchedule, String, Int)])] = [
            (
                "REA", "Réanimation", "intensive",
                [
                    ("physician", "Médecin réanimateur", .shift, "day", 3),
                    ("physician", "Médecin réanimateur", .shift, "night", 2),
                    ("nurse", "Infirmier·e", .shift, "day", 10), ("nurse", "Infirmier·e", .shift, "night", 6),
                ]
            ),
            (
                "URG", "Urgences", "emergency",
                [
                    ("physician", "Urgentiste", .shift, "day", 5), ("physician", "Urgentiste", .shift, "night", 3),
                    ("nurse", "Infirmier·e", .shift, "day", 10), ("nurse", "Infirmier·e", .shift, "night", 6),
                ]
            ),
            (
                "LAB", "Laboratoire", "lab",
                [
                    ("lab_tech", "Technicien·ne de laboratoire", .shift, "day", 6),
                    ("lab_tech", "Technicien·ne de laboratoire", .shift, "night", 3),
                ]
            ),
            (
                "RAD", "Imagerie", "radiology",
                [
                    ("radiographer", "Manipulateur·rice radio", .shift, "day", 6),
                    ("radiographer", "Manipulateur·rice radio", .shift, "night", 2),
                ]
            ),
            ("PHAR", "Pharmacie", "pharmacy", [("pharmacist", "Pharmacien·ne", .office, "", 5)]),
            (
                "DIM", "Information médicale", "administrative",
                [("coder", "Technicien·ne d'information médicale", .office, "", 4)]
            ),
            ("ADM", "Bureau des entrées", "administrative", [("admissions", "Agent d'accueil", .office, "", 5)]),
            ("DRH", "Ressources humaines", "administrative", [("hr", "Gestionnaire RH", .office, "", 4)]),
            ("DSI", "Informatique", "administrative", [("it", "Technicien·ne informatique", .office, "", 4)]),
        ]
        for (code, label, kind, roles) in support {
            departments.append(Department(code: code, label: label, kind: kind))
            for (role, roleLabel, schedule, shift, count) in roles {
                hire(code, role, roleLabel, schedule, shift, count * scale)
            }
        }
    }

    mutating func hire(
        _ unit: String, _ role: String, _ label: String, _ schedule: WorkSchedule, _ shift: String, _ count: Int
    ) {
        for _ in 0..<count {
            let person = makePerson()
            let index = staff.count
            let hireDay = Instant.daysFromCivil(
                1995 + random.int(0..<31), 1 + random.int(0..<12), 1 + random.int(0..<28))
            staff.append(
                StaffMember(
                    id: padded("S", index + 1), givenName: person.given, familyName: person.family,
                    gender: person.gender, birthDate: person.birth, address: person.address,
                    postalCode: person.postalCode, city: person.city, department: unit, role: role, roleLabel: label,
                    schedule: schedule, shift: shift,
                    hireDate: Instant(
                        seconds: min(hireDay * 86_400, periodStart - 30 * 86_400), offset: settings.offset),
                    workstation: "PC-\(unit)-\(random.int(1..<40))"))
            unitStaff[unit, default: []].append(index)
            // One in twenty-five is also a patient of the hospital.
            if random.chance(0.04) { staffPatient[index] = addPatient(from: staff[index]) }
        }
    }

    // MARK: Patients and stays

    struct Person {
        var given, family, gender, birth, address, postalCode, city: String
    }

    mutating func makePerson(family: String? = nil, address: (String, String, String)? = nil) -> Person {
        let female = random.chance(0.55)
        let given = random.pick(female ? SyntheticNames.femaleGiven : SyntheticNames.maleGiven)
        let (street, postalCode, city) = address ?? makeAddress()
        let birth = "\(1935 + random.int(0..<85))-\(two(1 + random.int(0..<12)))-\(two(1 + random.int(0..<28)))"
        return Person(
            given: given, family: family ?? random.pick(SyntheticNames.families), gender: female ? "female" : "male",
            birth: birth, address: street, postalCode: postalCode, city: city)
    }

    mutating func makeAddress() -> (String, String, String) {
        let (city, postalCode) = random.pick(SyntheticNames.cities)
        return ("\(1 + random.int(0..<120)) \(random.pick(SyntheticNames.streets))", postalCode, city)
    }

    func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    mutating func addPatient(from member: StaffMember) -> Int {
        appendPatient(
            Patient(
                id: "", givenName: member.givenName, familyName: member.familyName, gender: member.gender,
                birthDate: member.birthDate, address: member.address, postalCode: member.postalCode, city: member.city))
    }

    mutating func appendPatient(_ patient: Patient) -> Int {
        var patient = patient
        patient.id = padded("P", patients.count + 1)
        patientIndex[patient.id] = patients.count
        patients.append(patient)
        return patients.count - 1
    }

    /// A new patient; three in ten share a household (address, often the name) with an earlier one.
    mutating func newPatient() -> Int {
        var person = makePerson()
        if !patients.isEmpty, random.chance(0.3) {
            let relative = patients[random.int(0..<patients.count)]
            person.address = relative.address
            person.postalCode = relative.postalCode
            person.city = relative.city
            if random.chance(0.6) { person.family = relative.familyName }
        }
        return appendPatient(
            Patient(
                id: "", givenName: person.given, familyName: person.family, gender: person.gender,
                birthDate: person.birth, address: person.address, postalCode: person.postalCode, city: person.city,
                restricted: random.chance(0.004)))
    }

    /// A patient for a new stay: mostly new, sometimes returning, sometimes a member of staff.
    mutating func patientForStay() -> Int {
        if !staffPatient.isEmpty, random.chance(0.01) {
            return staffPatient.values.sorted()[random.int(0..<staffPatient.count)]
        }
        if patients.count > 50, random.chance(0.1) { return random.int(0..<patients.count) }
        return newPatient()
    }

    mutating func addEncounter(
        patient: Int, kind: String, unit: String, attending: [Int], start: Int64, end: Int64?, disposition: String = ""
    ) {
        let index = encounters.count
        encounters.append(
            Encounter(
                id: padded("E", index + 1), patient: patients[patient].id, kind: kind, department: unit,
                attending: attending.map { staff[$0].id }, start: instant(start), end: end.map(instant),
                dischargeDisposition: disposition))
        encountersOf[patient, default: []].append(index)
    }

    mutating func addCare(_ encounter: Int, kind: String, unit: String, staff member: Int? = nil, at time: Int64) {
        careEvents.append(
            CareEvent(
                encounter: encounters[encounter].id, patient: encounters[encounter].patient, kind: kind,
                department: unit, staff: member.map { staff[$0].id } ?? "", time: instant(time)))
    }

    func instant(_ seconds: Int64) -> Instant { Instant(seconds: seconds, offset: settings.offset) }

    func members(_ unit: String, role: String? = nil, shift: String? = nil) -> [Int] {
        (unitStaff[unit] ?? []).filter {
            (role == nil || staff[$0].role == role) && (shift == nil || staff[$0].shift == shift)
        }
    }

    mutating func buildStays() {
        let day: Int64 = 86_400
        let hour: Int64 = 3600
        for unit in clinicalUnits + ["REA"] {
            let beds = unit == "REA" ? 10 : 20
            let physicians = members(unit, role: "physician")
            for _ in 0..<beds {
                var start = periodStart - Int64(random.int(0..<8)) * day - Int64(random.int(8..<18)) * hour
                while start < periodEnd {
                    let length =
                        Int64(unit == "REA" ? random.int(2..<7) : random.int(2..<10)) * day
                        + Int64(random.int(0..<8)) * hour
                    let end = start + length
                    let patient = patientForStay()
                    let died = random.chance(0.02)
                    addStay(
                        patient: patient, unit: unit, attending: [random.pick(physicians)], start: start,
                        end: end < periodEnd ? end : nil, died: died)
                    start = end + Int64(random.int(1..<12)) * hour
                }
            }
            // Appointments on weekdays.
            guard unit != "REA" else { continue }
            for dayIndex in 0..<settings.days {
                let dayStart = periodStart + Int64(dayIndex) * day
                guard instant(dayStart).weekday < 6 else { continue }
                for _ in 0..<6 {
                    let start = dayStart + Int64(random.int(8..<17)) * hour + Int64(random.int(0..<4)) * 900
                    let patient = patientForStay()
                    addEncounter(
                        patient: patient, kind: "outpatient", unit: unit, attending: [random.pick(physicians)],
                        start: start, end: start + 1800)
                    addCare(encounters.count - 1, kind: "appointment", unit: unit, at: start)
                }
            }
        }
        // Emergency visits, a quarter admitted to a ward.
        let perDay = 40 * max(1, settings.units / 12)
        let emergencyPhysicians = members("URG", role: "physician")
        for dayIndex in 0..<settings.days {
            for _ in 0..<perDay {
                let start = periodStart + Int64(dayIndex) * day + Int64(random.int(0..<86_400))
                let end = start + Int64(random.int(3..<11)) * hour
                let patient = patientForStay()
                addEncounter(
                    patient: patient, kind: "emergency", unit: "URG", attending: [random.pick(emergencyPhysicians)],
                    start: start, end: end < periodEnd ? end : nil)
                addCare(encounters.count - 1, kind: "lab", unit: "LAB", at: start + hour)
                if random.chance(0.25), end < periodEnd {
                    let ward = random.pick(clinicalUnits)
                    let stay = end + Int64(random.int(2..<8)) * day
                    addStay(
                        patient: patient, unit: ward, attending: [random.pick(members(ward, role: "physician"))],
                        start: end, end: stay < periodEnd ? stay : nil, died: false)
                }
            }
        }
    }

    mutating func addStay(patient: Int, unit: String, attending: [Int], start: Int64, end: Int64?, died: Bool) {
        let day: Int64 = 86_400
        addEncounter(
            patient: patient, kind: "inpatient", unit: unit, attending: attending, start: start, end: end,
            disposition: died && end != nil ? "deceased" : end == nil ? "" : "home")
        let encounter = encounters.count - 1
        if died, let end { patients[patient].deceased = instant(end) }
        addCare(encounter, kind: "pharmacy", unit: "PHAR", at: start + 3600)
        var time = start + day
        let last = min(end ?? periodEnd, periodEnd)
        while time < last {
            let morning = (time - (time + Int64(settings.offset)).mod(day)) + 7 * 3600
            if random.chance(0.7) { addCare(encounter, kind: "lab", unit: "LAB", at: morning) }
            time += day
        }
        if random.chance(0.2) {
            addCare(encounter, kind: "radiology", unit: "RAD", at: start + Int64(random.int(2..<30)) * 3600)
        }
        if random.chance(0.15) {
            let other = random.pick(clinicalUnits.filter { $0 != unit })
            let consultant = random.pick(members(other, role: "physician"))
            let at = min(start + Int64(random.int(1..<4)) * day, last - 3600)
            if at > start {
                addCare(encounter, kind: "consult", unit: other, staff: consultant, at: officeTime(near: at))
            }
        }
    }

    /// The same day at a weekday office hour (10:00–16:00), moved to Monday when it falls on a weekend.
    func officeTime(near seconds: Int64) -> Int64 {
        var midnight = seconds - (seconds + Int64(settings.offset)).mod(86_400)
        while instant(midnight + 43_200).weekday >= 6 { midnight += 86_400 }
        return midnight + 10 * 3600 + (seconds.mod(6 * 3600))
    }
}

/// A small, fast, seeded generator (SplitMix64): the same seed gives the same hospital on every machine.
struct SplitMix64: Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(_ range: Range<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(max(1, range.count)))
    }

    mutating func chance(_ probability: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < probability }

    mutating func pick<T>(_ values: [T]) -> T { values[int(0..<values.count)] }
}

/// `prefix` and `number` on at least `width` digits (`S000042`).
func padded(_ prefix: String, _ number: Int, width: Int = 6) -> String {
    let digits = "\(number)"
    return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// 16 hexadecimal digits.
func hex16(_ value: UInt64) -> String {
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
