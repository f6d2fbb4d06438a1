extension SyntheticHospital {
    static let recordWide: Set<String> = ["coder", "admissions"]

    // MARK: Planting

    mutating func plant() {
        for (index, event) in careEvents.enumerated() { careOf[event.patient, default: []].append(index) }
        let snoopers = staff.indices.filter { !Self.recordWide.contains(staff[$0].role) }
        let count = max(1, settings.plants)
        for pattern in [
            AccessPattern.vip, .sameSurname, .sameAddress, .coworker, .selfLookup, .deceased, .noCareRelationship,
            .offHours, .breakGlassUnjustified,
        ] {
            for _ in 0..<count { plantOne(pattern, snoopers: snoopers) }
        }
        // Two users each browse `max(count, 30)` unrelated records in a day.
        let nurses = snoopers.filter { staff[$0].role == "nurse" && staff[$0].shift == "day" }
        for _ in 0..<2 {
            let user = random.pick(nurses)
            let day = workDay(user)
            for _ in 0..<max(count, 30) {
                let time = day + Int64(random.int(8 * 3600..<18 * 3600))
                let patient = unrelatedPatient(to: user)
                addPlant(user: user, patient: patient, time: time, emergency: false, pattern: .volumeSpike)
            }
        }
    }

    mutating func plantOne(_ pattern: AccessPattern, snoopers: [Int]) {
        var user = random.pick(snoopers)
        var emergency = false
        var patient: Int
        switch pattern {
        case .vip:
            let restricted = patients.indices.filter { patients[$0].restricted && related(user, $0) == false }
            if restricted.isEmpty || random.chance(0.3) {
                patient = newPatient()
                patients[patient].restricted = true
                giveStay(patient, avoiding: staff[user].department)
            } else {
                patient = random.pick(restricted)
            }
        case .sameSurname:
            var person = makePerson(family: staff[user].familyName)
            while person.address == staff[user].address { person = makePerson(family: staff[user].familyName) }
            patient = appendPerson(person)
            giveStay(patient, avoiding: staff[user].department)
        case .sameAddress:
            let family = random.chance(0.5) ? staff[user].familyName : random.pick(SyntheticNames.families)
            patient = appendPerson(
                makePerson(family: family, address: (staff[user].address, staff[user].postalCode, staff[user].city)))
            giveStay(patient, avoiding: staff[user].department)
        case .coworker:
            let unit = random.pick(clinicalUnits)
            let team = members(unit)
            user = random.pick(team)
            let colleague = random.pick(team.filter { $0 != user })
            patient = staffPatient[colleague] ?? addPatient(from: staff[colleague])
            staffPatient[colleague] = patient
            if related(user, patient) { return plantOne(pattern, snoopers: snoopers) }
            if encountersOf[patient] == nil { giveStay(patient, avoiding: unit) }
        case .selfLookup:
            patient = staffPatient[user] ?? addPatient(from: staff[user])
            staffPatient[user] = patient
            if related(user, patient) { return plantOne(pattern, snoopers: snoopers) }
        case .deceased:
            let dead = patients.indices.filter {
                (patients[$0].deceased?.seconds ?? .max) < periodEnd - 86_400 && !related(user, $0)
            }
            if dead.isEmpty || random.chance(0.5) {
                patient = newPatient()
                let death = periodStart - Int64(random.int(1..<20)) * 86_400
                addEncounter(
                    patient: patient, kind: "inpatient",
                    unit: random.pick(clinicalUnits.filter { $0 != staff[user].department }),
                    attending: [], start: death - 5 * 86_400, end: death, disposition: "deceased")
                patients[patient].deceased = instant(death)
            } else {
                patient = random.pick(dead)
            }
        case .offHours:
            let office = snoopers.filter { staff[$0].schedule == .office && staff[$0].role != "physician" }
            user = random.pick(office)
            patient = unrelatedPatient(to: user)
            let day = periodStart + Int64(random.int(0..<settings.days)) * 86_400
            let weekend = instant(day + 43_200).weekday >= 6
            let time = day + Int64(weekend ? random.int(9 * 3600..<18 * 3600) : random.int(21 * 3600..<29 * 3600))
            addPlant(user: user, patient: patient, time: min(time, periodEnd - 60), emergency: false, pattern: pattern)
            return
        case .breakGlassUnjustified:
            user = random.pick(clinicalUnits.flatMap { members($0, role: "physician") })
            patient = unrelatedPatient(to: user)
            emergency = true
        default:
            patient = unrelatedPatient(to: user)
        }
        var time = workDay(user) + workSecond(user)
        if let death = patients[patient].deceased?.seconds, pattern == .deceased, time <= death {
            time = max(time, death + 86_400)
            if time >= periodEnd { time = periodEnd - 3600 }
        }
        addPlant(user: user, patient: patient, time: time, emergency: emergency, pattern: pattern)
    }

    mutating func appendPerson(_ person: Person) -> Int {
        appendPatient(
            Patient(
                id: "", givenName: person.given, familyName: person.family, gender: person.gender,
                birthDate: person.birth, address: person.address, postalCode: person.postalCode, city: person.city))
    }

    /// An outpatient visit in another unit during the period, so that the record is in use.
    mutating func giveStay(_ patient: Int, avoiding unit: String) {
        let other = random.pick(clinicalUnits.filter { $0 != unit })
        let start = periodStart + Int64(random.int(0..<settings.days)) * 86_400 + 10 * 3600
        addEncounter(
            patient: patient, kind: "outpatient", unit: other,
            attending: [random.pick(members(other, role: "physician"))],
            start: start, end: start + 1800)
    }

    /// Whether the generator ever put the patient in the care of the user's unit or of the user.
    func related(_ user: Int, _ patient: Int) -> Bool {
        let unit = staff[user].department
        let id = staff[user].id
        for index in encountersOf[patient] ?? [] {
            if encounters[index].department == unit || encounters[index].attending.contains(id) { return true }
        }
        for index in careOf[patients[patient].id] ?? [] {
            if careEvents[index].department == unit || careEvents[index].staff == id { return true }
        }
        return false
    }

    mutating func unrelatedPatient(to user: Int) -> Int {
        for _ in 0..<50 {
            let patient = random.int(0..<patients.count)
            if !related(user, patient), staffPatient[user] != patient, patients[patient].deceased == nil,
                !patients[patient].restricted, !staffPatient.values.contains(patient)
            {
                return patient
            }
        }
        let patient = newPatient()
        patients[patient].restricted = false
        return patient
    }

    /// Midnight of a day of the period the user works (weekdays for office staff).
    mutating func workDay(_ user: Int) -> Int64 {
        while true {
            let day = periodStart + Int64(random.int(0..<settings.days)) * 86_400
            if staff[user].schedule == .shift || instant(day + 43_200).weekday < 6 { return day }
        }
    }

    mutating func workSecond(_ user: Int) -> Int64 {
        if staff[user].schedule == .office { return Int64(random.int(9 * 3600..<17 * 3600)) }
        return staff[user].shift == "night"
            ? Int64(random.int(20 * 3600..<29 * 3600)) : Int64(random.int(8 * 3600..<18 * 3600))
    }

    mutating func addPlant(user: Int, patient: Int, time: Int64, emergency: Bool, pattern: AccessPattern) {
        let member = staff[user]
        let record = patients[patient]
        var labels: Set<AccessPattern> = [pattern, .noCareRelationship]
        let selfRecord = staffPatient[user] == patient
        if selfRecord { labels.insert(.selfLookup) }
        if !selfRecord {
            if Names.shareSurname(Names.surnameTokens(member.familyName), Names.surnameTokens(record.familyName)) {
                labels.insert(.sameSurname)
            }
            if Names.addressKey(member.address, member.postalCode)
                == Names.addressKey(record.address, record.postalCode)
            {
                labels.insert(.sameAddress)
            }
            if staffPatient.contains(where: { $0.key != user && $0.value == patient }) { labels.insert(.coworker) }
            if record.restricted { labels.insert(.vip) }
            if let death = record.deceased, time >= death.seconds { labels.insert(.deceased) }
            if emergency { labels.insert(.breakGlassUnjustified) }
            let moment = instant(time)
            let second = moment.secondOfDay
            let off: Bool
            if member.schedule == .office {
                off = moment.weekday >= 6 || second < 7 * 3600 || second >= 20 * 3600
            } else {
                off = !(ShiftHours(member.shift)?.contains(second, margin: 3600) ?? true)
            }
            if off { labels.insert(.offHours) }
        }
        let event = AccessEvent(
            id: eventID(), time: instant(time), user: member.id, patient: record.id, emergency: emergency,
            source: "DPI")
        planted.append((event, labels))
    }

    mutating func eventID() -> String {
        "ae-" + hex16(random.next())
    }

    // MARK: Legitimate accesses

    /// Every access of the period: the legitimate ones, then the planted ones, in a fixed order for a seed.
    public func accesses(_ body: (AccessEvent) -> Void) {
        var careByEncounter: [String: [Int]] = [:]
        for (index, event) in careEvents.enumerated() { careByEncounter[event.encounter, default: []].append(index) }
        withoutActuallyEscaping(body) { body in
            var emitter = Emitter(hospital: self, random: SplitMix64(seed: settings.seed ^ 0x5EED), body: body)
            for (index, encounter) in encounters.enumerated() {
                emitter.stay(index, care: careByEncounter[encounter.id] ?? [])
            }
        }
        for plant in planted { body(plant.event) }
    }

    struct Emitter {
        let hospital: SyntheticHospital
        var random: SplitMix64
        let body: (AccessEvent) -> Void
        let day: Int64 = 86_400

        mutating func emit(
            _ user: Int, _ patient: String, _ time: Int64, emergency: Bool = false, justification: String = ""
        ) {
            guard time >= hospital.periodStart, time < hospital.periodEnd else { return }
            for view in 0..<max(1, hospital.settings.intensity) {
                let at = view == 0 ? time : min(time + Int64(random.int(0..<600)), hospital.periodEnd - 1)
                body(
                    AccessEvent(
                        id: "ae-" + hex16(random.next()), time: hospital.instant(at),
                        user: hospital.staff[user].id, patient: patient, emergency: emergency,
                        justification: justification, source: "DPI"))
            }
            if random.chance(hospital.settings.unrecordedRate) {
                let unit = hospital.staff[user].department
                let others = hospital.clinicalUnits.filter { $0 != unit }
                guard let other = others.isEmpty ? nil : random.pick(others) else { return }
                let colleague = random.pick(hospital.members(other, role: "nurse", shift: "day"))
                let midnight = time - (time + Int64(hospital.settings.offset)).mod(day)
                emit(colleague, patient, midnight + Int64(random.int(9 * 3600..<17 * 3600)))
            }
        }

        mutating func pick(_ unit: String, role: String, shift: String? = nil) -> Int? {
            let people = hospital.members(unit, role: role, shift: shift)
            return people.isEmpty ? nil : random.pick(people)
        }

        /// A member of `unit` with `role` whose shift covers `time`.
        mutating func onDuty(_ unit: String, role: String, at time: Int64) -> Int? {
            let second = hospital.instant(time).secondOfDay
            let people = hospital.members(unit, role: role).filter {
                hospital.staff[$0].schedule == .office
                    || ShiftHours(hospital.staff[$0].shift)?.contains(second, margin: 0) ?? true
            }
            return people.isEmpty ? nil : random.pick(people)
        }

        mutating func stay(_ index: Int, care: [Int]) {
            let encounter = hospital.encounters[index]
            let unit = encounter.department
            let patient = encounter.patient
            let start = encounter.start.seconds
            let end = encounter.end?.seconds ?? hospital.periodEnd
            let attending = encounter.attending.compactMap { id in hospital.staff.firstIndex { $0.id == id } }
            switch encounter.kind {
            case "emergency":
                for _ in 0..<4 {
                    let time = start + Int64(random.int(0..<Int(max(60, end - start))))
                    if let nurse = onDuty(unit, role: "nurse", at: time) {
                        emit(nurse, patient, time, emergency: random.chance(0.05))
                    }
                }
                for user in attending { emit(user, patient, start + Int64(random.int(600..<7200))) }
                if random.chance(0.03), let specialist = pick(random.pick(hospital.clinicalUnits), role: "physician") {
                    emit(
                        specialist, patient, start + Int64(random.int(0..<3600)), emergency: true,
                        justification: "Avis en urgence demandé par l'urgentiste")
                }
            case "outpatient":
                for user in attending {
                    emit(user, patient, start + Int64(random.int(0..<1800)))
                    emit(user, patient, start + Int64(random.int(0..<1800)))
                }
                if let secretary = pick(unit, role: "secretary") {
                    emit(secretary, patient, start - Int64(random.int(3600..<20 * 3600)))
                }
            default:
                inpatient(unit: unit, patient: patient, start: start, end: end, attending: attending)
                if let closed = encounter.end?.seconds, let coder = pick("DIM", role: "coder") {
                    let midnight = closed - (closed + Int64(hospital.settings.offset)).mod(day)
                    emit(coder, patient, hospital.officeTime(near: midnight + Int64(random.int(1..<10)) * day))
                }
                if random.chance(0.5), let clerk = pick("ADM", role: "admissions") {
                    emit(clerk, patient, start + Int64(random.int(0..<3600)))
                }
            }
            for event in care.map({ hospital.careEvents[$0] }) {
                let time = event.time.seconds
                switch event.kind {
                case "lab", "radiology":
                    let role = event.kind == "lab" ? "lab_tech" : "radiographer"
                    let at = time + Int64(random.int(0..<4 * 3600))
                    if let tech = onDuty(event.department, role: role, at: at) { emit(tech, patient, at) }
                case "pharmacy":
                    if let pharmacist = pick("PHAR", role: "pharmacist") {
                        emit(pharmacist, patient, hospital.officeTime(near: time))
                    }
                case "consult":
                    if let consultant = hospital.staff.firstIndex(where: { $0.id == event.staff }) {
                        emit(consultant, patient, time + Int64(random.int(-1800..<1800)))
                    }
                default: break
                }
            }
        }

        mutating func inpatient(unit: String, patient: String, start: Int64, end: Int64, attending: [Int]) {
            let offset = Int64(hospital.settings.offset)
            var midnight = max(start, hospital.periodStart) - (max(start, hospital.periodStart) + offset).mod(day)
            while midnight < min(end, hospital.periodEnd) {
                func inStay(_ from: Int64, _ to: Int64) -> Int64? {
                    let low = max(from, start)
                    let high = min(to, end)
                    return low < high ? low + Int64(random.int(0..<Int(high - low))) : nil
                }
                for (shift, from, to) in [("day", 7, 19), ("night", 19, 31)] {
                    for _ in 0..<2 {
                        guard let nurse = pick(unit, role: "nurse", shift: shift) else { continue }
                        for _ in 0..<(1 + random.int(0..<3)) {
                            if let time = inStay(midnight + Int64(from) * 3600, midnight + Int64(to) * 3600) {
                                emit(nurse, patient, time)
                            }
                        }
                    }
                    if random.chance(0.5), let aide = pick(unit, role: "aide", shift: shift),
                        let time = inStay(midnight + Int64(from) * 3600, midnight + Int64(to) * 3600)
                    {
                        emit(aide, patient, time)
                    }
                }
                for user in attending {
                    for _ in 0..<(1 + random.int(0..<2)) {
                        if let time = inStay(midnight + 8 * 3600, midnight + 19 * 3600) { emit(user, patient, time) }
                    }
                }
                if random.chance(0.3), let physician = pick(unit, role: "physician"),
                    let time = inStay(midnight + 8 * 3600, midnight + 19 * 3600)
                {
                    emit(physician, patient, time)
                }
                if random.chance(0.2), let secretary = pick(unit, role: "secretary"),
                    let time = inStay(midnight + 9 * 3600, midnight + 17 * 3600)
                {
                    emit(secretary, patient, time)
                }
                // On-call cover by a physician of another unit at night.
                if random.chance(0.08),
                    let other = hospital.clinicalUnits.filter({ $0 != unit }).randomElement(using: &random),
                    let physician = pick(other, role: "physician"),
                    let time = inStay(midnight + 22 * 3600, midnight + 30 * 3600)
                {
                    emit(physician, patient, time)
                }
                midnight += day
            }
        }
    }
}

extension SplitMix64: RandomNumberGenerator {}
