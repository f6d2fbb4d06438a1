import Testing

@testable import PrivacyCore

/// A small hospital: a cardiology ward, the emergency department, a coder and a lab.
struct Ward {
    static func at(_ text: String) -> Instant { Instant(iso: text, defaultOffset: 3600)! }

    var staff: [StaffMember] = [
        StaffMember(
            id: "N1", givenName: "Claire", familyName: "Martin", birthDate: "1980-02-03", address: "12 rue Pasteur",
            postalCode: "69003", department: "CARD", role: "nurse", schedule: .shift, shift: "day",
            hireDate: at("2015-01-01")),
        StaffMember(
            id: "N2", givenName: "Luc", familyName: "Petit", birthDate: "1985-01-01", address: "3 avenue Foch",
            postalCode: "69006", department: "CARD", role: "nurse", schedule: .shift, shift: "night",
            hireDate: at("2015-01-01")),
        StaffMember(
            id: "D1", givenName: "Paul", familyName: "Durand", department: "CARD", role: "physician", schedule: .office,
            hireDate: at("2010-01-01")),
        StaffMember(
            id: "D2", givenName: "Anne", familyName: "Roy", department: "NEUR", role: "physician", schedule: .office,
            hireDate: at("2010-01-01")),
        StaffMember(
            id: "C1", givenName: "Marc", familyName: "Blanc", department: "DIM", role: "coder", schedule: .office,
            hireDate: at("2010-01-01")),
        StaffMember(
            id: "L1", givenName: "Inès", familyName: "Roux", department: "LAB", role: "lab_tech", schedule: .shift,
            shift: "day", hireDate: at("2010-01-01")),
        StaffMember(
            id: "S1", givenName: "Julie", familyName: "Garnier", department: "SEC", role: "secretary",
            schedule: .office,
            hireDate: at("2026-11-25")),
    ]
    var patients: [Patient] = [
        Patient(id: "P1", givenName: "Jean", familyName: "Moreau", address: "8 rue Victor Hugo", postalCode: "69001"),
        Patient(id: "P2", givenName: "Lucie", familyName: "Martin", address: "5 place Bellecour", postalCode: "69002"),
        Patient(id: "P3", givenName: "Marc", familyName: "Leroy", address: "12, Rue Pasteur", postalCode: "69003"),
        // Claire Martin herself, and Luc Petit, her colleague.
        Patient(
            id: "P4", givenName: "Claire", familyName: "Martin", birthDate: "1980-02-03", address: "12 rue Pasteur",
            postalCode: "69003"),
        Patient(id: "P5", givenName: "Luc", familyName: "Petit", birthDate: "1985-01-01"),
        Patient(id: "P6", givenName: "Star", familyName: "Célèbre", restricted: true),
        Patient(id: "P7", givenName: "Henri", familyName: "Vidal", deceased: at("2026-11-20T04:00")),
    ]
    var encounters: [Encounter] = [
        Encounter(
            id: "E1", patient: "P1", kind: "inpatient", department: "CARD", attending: ["D1"],
            start: at("2026-11-20T10:00"), end: at("2026-11-25T12:00")),
        Encounter(
            id: "E2", patient: "P2", kind: "inpatient", department: "NEUR", attending: ["D2"],
            start: at("2026-11-21T10:00")),
        Encounter(id: "E3", patient: "P6", kind: "inpatient", department: "NEUR", start: at("2026-11-21T10:00")),
        Encounter(
            id: "E4", patient: "P7", kind: "inpatient", department: "NEUR", start: at("2026-11-10T10:00"),
            end: at("2026-11-20T04:00")),
        Encounter(
            id: "E5", patient: "P5", kind: "outpatient", department: "NEUR", start: at("2026-11-23T10:00"),
            end: at("2026-11-23T10:30")),
    ]
    var care: [CareEvent] = [
        CareEvent(encounter: "E2", patient: "P2", kind: "lab", department: "LAB", time: at("2026-11-23T07:00")),
        CareEvent(
            encounter: "E2", patient: "P2", kind: "consult", department: "CARD", staff: "D1",
            time: at("2026-11-23T11:00")),
    ]

    var context: HospitalContext {
        HospitalContext(staff: staff, patients: patients, encounters: encounters, careEvents: care)
    }

    static func access(
        _ user: String, _ patient: String, _ time: String, emergency: Bool = false, justification: String = ""
    )
        -> AccessEvent
    {
        AccessEvent(
            id: "\(user)-\(patient)-\(time)-\(emergency)", time: at(time), user: user, patient: patient,
            emergency: emergency, justification: justification)
    }

    /// The patterns of one access analysed alone (nil when explained).
    func patterns(_ event: AccessEvent, settings: AnalysisSettings = AnalysisSettings()) -> Set<AccessPattern>? {
        var analyzer = AccessAnalyzer(context: context, settings: settings)
        analyzer.evaluate(event)
        return analyzer.finish().first.map { Set($0.patterns) }
    }
}

@Suite struct AnalyzerTests {
    let ward = Ward()

    @Test func careRelationshipsExplainAccesses() {
        var analyzer = AccessAnalyzer(context: ward.context)
        analyzer.keepExplanations = true
        let explained = [
            Ward.access("N1", "P1", "2026-11-23T09:00"),  // patient in the unit
            Ward.access("N1", "P1", "2026-11-19T15:00"),  // the day before admission
            Ward.access("N1", "P1", "2026-11-27T09:00"),  // two days after discharge
            Ward.access("D1", "P1", "2026-12-10T09:00"),  // attending, weeks later
            Ward.access("D1", "P2", "2026-11-23T11:30"),  // consult in another unit
            Ward.access("L1", "P2", "2026-11-23T09:00"),  // lab order
            Ward.access("C1", "P7", "2026-11-28T10:00"),  // coding after the stay
            Ward.access("D1", "P6", "2026-11-23T23:30"),  // on call at night, inpatient
        ]
        for event in explained { analyzer.evaluate(event) }
        #expect(analyzer.finish().isEmpty)
        #expect(analyzer.summary.explained == explained.count)
        #expect(
            analyzer.explained.map(\.explanation) == [
                .unit, .unit, .unit, .attending, .careEvent, .careEvent, .rolePolicy, .onCall,
            ])
    }

    @Test func theUnitWindowEnds() {
        #expect(ward.patterns(Ward.access("N1", "P1", "2026-11-29T09:00")) == [.noCareRelationship])
        #expect(ward.patterns(Ward.access("D1", "P6", "2026-11-23T14:00")) == [.vip, .noCareRelationship])
    }

    @Test func everyPatternHasItsCase() {
        let cases: [(AccessEvent, Set<AccessPattern>?)] = [
            (Ward.access("N1", "P4", "2026-11-23T10:00"), [.selfLookup, .noCareRelationship]),
            (Ward.access("N1", "P2", "2026-11-28T10:00"), [.sameSurname, .noCareRelationship]),
            (Ward.access("N1", "P3", "2026-11-23T10:00"), [.sameAddress, .noCareRelationship]),
            (Ward.access("N1", "P5", "2026-11-23T10:00"), [.coworker, .noCareRelationship]),
            (Ward.access("N1", "P6", "2026-11-23T10:00"), [.vip, .noCareRelationship]),
            (Ward.access("N1", "P7", "2026-11-23T10:00"), [.deceased, .noCareRelationship]),
            (
                Ward.access("D2", "P1", "2026-11-23T10:00", emergency: true),
                [.breakGlassUnjustified, .noCareRelationship]
            ),
            (Ward.access("S1", "P1", "2026-11-23T10:00"), [.outsideEmployment, .noCareRelationship]),
            (Ward.access("D2", "P3", "2026-11-23T22:30"), [.offHours, .noCareRelationship]),
            (Ward.access("N1", "P1", "2026-11-23T23:30"), nil),
        ]
        for (event, expected) in cases {
            #expect(ward.patterns(event) == expected, "\(event.id)")
        }
    }

    @Test func lookAlikesAreNotFlagged() {
        // The night nurse at 3 a.m. with no relationship: flagged, but not "off hours".
        #expect(ward.patterns(Ward.access("N2", "P3", "2026-11-24T03:00")) == [.noCareRelationship])
        // A colleague treated in the user's unit is a patient like any other.
        var ward = self.ward
        ward.encounters.append(
            Encounter(
                id: "E9", patient: "P5", kind: "inpatient", department: "CARD", start: Ward.at("2026-11-22T08:00")))
        #expect(ward.patterns(Ward.access("N1", "P5", "2026-11-23T10:00")) == nil)
        // A same-surname patient in the user's unit is cared for, not snooped on.
        ward.encounters.append(
            Encounter(
                id: "E10", patient: "P2", kind: "inpatient", department: "CARD", start: Ward.at("2026-11-22T08:00")))
        #expect(ward.patterns(Ward.access("N1", "P2", "2026-11-28T10:00")) == nil)
        // A justified emergency access is explained; one without a word is not.
        #expect(
            ward.patterns(Ward.access("D2", "P1", "2026-11-23T10:00", emergency: true, justification: "arrêt")) == nil)
        // Self-lookup stays flagged even when the user's unit treats them.
        ward.encounters.append(
            Encounter(
                id: "E11", patient: "P4", kind: "inpatient", department: "CARD", start: Ward.at("2026-11-22T08:00")))
        #expect(ward.patterns(Ward.access("N1", "P4", "2026-11-23T10:00")) == [.selfLookup])
        // Justified break-glass into a relative's record is still a family access.
        #expect(
            self.ward.patterns(Ward.access("N1", "P2", "2026-11-28T10:00", emergency: true, justification: "urgence"))
                == [.sameSurname])
    }

    @Test func volumeIsComparedWithPeers() {
        var ward = self.ward
        for index in 0..<40 {
            ward.patients.append(Patient(id: "X\(index)", familyName: "Patient\(index)"))
            ward.encounters.append(
                Encounter(
                    id: "EX\(index)", patient: "X\(index)", department: "CARD", start: Ward.at("2026-11-20T00:00")))
        }
        for index in 0..<40 { ward.patients.append(Patient(id: "Y\(index)", familyName: "Other\(index)")) }
        for peer in 0..<4 {
            ward.staff.append(
                StaffMember(
                    id: "NP\(peer)", familyName: "Peer", department: "CARD", role: "nurse", schedule: .shift,
                    shift: "day"))
        }
        var analyzer = AccessAnalyzer(context: ward.context)
        // Peers open ten of their patients each; N1 opens five of them and thirty unrelated records.
        for peer in 0..<4 {
            for index in 0..<10 {
                analyzer.evaluate(Ward.access("NP\(peer)", "X\(index)", "2026-11-23T10:\(10 + index)"))
            }
        }
        for index in 0..<5 { analyzer.evaluate(Ward.access("N1", "X\(index)", "2026-11-23T09:\(10 + index)")) }
        for index in 0..<30 { analyzer.evaluate(Ward.access("N1", "Y\(index)", "2026-11-23T14:\(10 + index)")) }
        // N2 opens five unrelated records: unexplained, but no spike.
        for index in 30..<35 { analyzer.evaluate(Ward.access("N2", "Y\(index)", "2026-11-23T22:\(10 + index)")) }
        let flags = analyzer.finish()
        #expect(flags.filter { $0.event.user == "N1" }.count == 30)
        #expect(flags.filter { $0.event.user == "N1" }.allSatisfy { $0.patterns.contains(.volumeSpike) })
        #expect(flags.filter { $0.event.user == "N2" }.allSatisfy { !$0.patterns.contains(.volumeSpike) })
        #expect(Set(flags.map(\.incident)) == ["user:N1", "user:N2"])
    }

    @Test func unknownUsersAndPatientsAreFlaggedNotDropped() {
        var analyzer = AccessAnalyzer(context: ward.context)
        analyzer.evaluate(Ward.access("GHOST", "P1", "2026-11-23T10:00"))
        analyzer.evaluate(Ward.access("N1", "P404", "2026-11-23T10:00"))
        let flags = analyzer.finish()
        #expect(flags.count == 2 && analyzer.summary.unknownUsers == 1 && analyzer.summary.unknownPatients == 1)
        #expect(flags.allSatisfy { $0.patterns == [.noCareRelationship] })
    }

    @Test func scoresRiseWithEveryPattern() {
        #expect(AccessAnalyzer.score([.noCareRelationship]) == 35)
        #expect(AccessAnalyzer.score([.sameAddress, .noCareRelationship]) == 95)
        #expect(AccessAnalyzer.score([.selfLookup, .offHours, .noCareRelationship]) == 100)
        #expect(AccessAnalyzer.score([]) == 0)
    }

    @Test func pseudonymisedPatientsStillMatchStaff() {
        // The server keys patients and staff alike: family, address and identity compare as hashes.
        let key: @Sendable (String) -> String = { "k:" + String($0.reversed()) }
        var context = HospitalContext()
        context.keying = key
        for member in ward.staff { context.add(member) }
        for patient in ward.patients { context.add(PseudonymousPatient(patient, key: key)) }
        context.linkStaffPatients()
        for encounter in ward.encounters {
            var keyed = encounter
            keyed.patient = key(encounter.patient)
            context.add(keyed)
        }
        var analyzer = AccessAnalyzer(context: context)
        for patient in ["P4", "P2", "P3", "P5"] {
            analyzer.evaluate(Ward.access("N1", key(patient), "2026-11-23T10:00"))
        }
        let patterns = analyzer.finish().map { Set($0.patterns) }
        #expect(patterns.contains([.selfLookup, .noCareRelationship]))
        #expect(patterns.contains([.sameSurname, .noCareRelationship]))
        #expect(patterns.contains([.sameAddress, .noCareRelationship]))
        #expect(patterns.contains([.coworker, .noCareRelationship]))
        #expect(!context.patients.contains { $0.familyName == "Martin" || $0.id == "P4" })
    }
}

@Suite struct SyntheticHospitalTests {
    @Test func theSameSeedGivesTheSameHospital() {
        var settings = SyntheticHospital.Settings()
        settings.units = 2
        settings.days = 3
        settings.plants = 4
        let first = SyntheticHospital(settings)
        let second = SyntheticHospital(settings)
        var a: [AccessEvent] = []
        var b: [AccessEvent] = []
        first.accesses { a.append($0) }
        second.accesses { b.append($0) }
        #expect(a == b && !a.isEmpty && first.labels == second.labels)
        #expect(first.planted.count == 9 * 4 + 2 * 30)
        settings.seed = 2
        var c: [AccessEvent] = []
        SyntheticHospital(settings).accesses { c.append($0) }
        #expect(c != a)
    }

    @Test func explainingFirstBeatsNaiveRules() {
        var settings = SyntheticHospital.Settings()
        settings.units = 6
        settings.days = 5
        settings.plants = 15
        let hospital = SyntheticHospital(settings)
        let context = hospital.context
        var analyzer = AccessAnalyzer(context: context)
        var naive = NaiveRules(context: context)
        hospital.accesses { event in
            analyzer.evaluate(event)
            naive.evaluate(event)
        }
        var predicted: [String: Set<AccessPattern>] = [:]
        for flag in analyzer.finish() { predicted[flag.event.id] = Set(flag.patterns) }
        let ours = Evaluation(predicted: predicted, labels: hospital.labels)
        let theirs = Evaluation(predicted: naive.finish(), labels: hospital.labels)
        #expect(ours.overall.precision >= 0.8 && ours.overall.recall >= 0.9, "\(ours.table(title: "ours"))")
        for pattern in AccessPattern.allCases where pattern != .outsideEmployment {
            let counts = ours.patterns[pattern] ?? Evaluation.Counts()
            #expect(counts.recall >= 0.9, "\(pattern): \(counts)")
        }
        #expect(theirs.overall.precision < 0.2)
        #expect(ours.table(title: "t").contains("| **overall** |"))
    }
}
