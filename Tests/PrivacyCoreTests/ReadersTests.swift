import Foundation
import STIX
import Testing

@testable import PrivacyCore

@Suite struct InstantTests {
    @Test func readsOffsetsLocalTimesAndDates() throws {
        let paris = try #require(Instant(iso: "2026-11-23T14:05:00+01:00"))
        #expect(paris.seconds == 1_795_439_100)
        #expect(paris.secondOfDay == 14 * 3600 + 300)
        #expect(paris.weekday == 1)
        let utc = try #require(Instant(iso: "2026-11-23T13:05:00Z", defaultOffset: 3600))
        #expect(utc == paris && utc.secondOfDay == paris.secondOfDay)
        let local = try #require(Instant(iso: "2026-11-23 14:05", defaultOffset: 3600))
        #expect(local == paris)
        #expect(Instant(iso: "2026-11-23")?.secondOfDay == 0)
        #expect(Instant(iso: "2026-11-23T14:05:00.123+0100") == paris)
        #expect(paris.iso == "2026-11-23T14:05:00+01:00")
        for bad in ["", "2026-13-01", "2026-11-23T25:00", "23/11/2026", "2026-11-23T14:05:00+01:00x", "2026-11-23T14"] {
            #expect(Instant(iso: bad) == nil, "\(bad)")
        }
    }

    @Test func shiftsCrossMidnight() throws {
        let night = try #require(ShiftHours("night"))
        #expect(night.contains(23 * 3600, margin: 0) && night.contains(3 * 3600, margin: 0))
        #expect(!night.contains(12 * 3600, margin: 3600))
        #expect(ShiftHours("06:30-14:00")?.start == 6 * 3600 + 1800)
        #expect(ShiftHours("day shift") == nil && ShiftHours("25:00-26:00") == nil)
    }
}

@Suite struct ContextCSVTests {
    @Test func readsTheStandardLayouts() throws {
        let staff = try ContextCSV.staff(
            Array(
                """
                staff_id,given_name,family_name,gender,birth_date,address,postal_code,city,department,role,role_label,schedule,shift,hire_date,workstation
                S1,Claire,Martin,female,1980-02-03,"12 rue Pasteur",69003,Lyon,CARD,nurse,Infirmière,shift,night,2015-09-01,PC-1
                S2,Paul,Durand,male,1975-05-06,,,,DIM,coder,TIM,office,,2010-01-04,
                """.utf8), offset: 3600)
        #expect(staff.count == 2 && staff[0].schedule == .shift && staff[0].shift == "night")
        #expect(staff[1].schedule == .office && staff[0].hireDate == Instant(iso: "2015-09-01", defaultOffset: 3600))
        let patients = try ContextCSV.patients(
            Array(
                "patient_id,given_name,family_name,birth_date,deceased_datetime,restricted\nP1,Jean,Moreau,1950-01-01,2026-11-20T04:00:00+01:00,\nP2,Anne,Roy,1990-01-01,,VIP\n"
                    .utf8), offset: 3600)
        #expect(patients[0].deceased != nil && !patients[0].restricted && patients[1].restricted)
    }

    @Test func refusesAFileWithEveryProblemListed() {
        #expect(throws: PrivacyInputError.self) {
            try ContextCSV.encounters(Array("encounter_id,patient_id\nE1,P1\n".utf8), offset: 0)
        }
        do {
            _ = try ContextCSV.encounters(
                Array(
                    """
                    encounter_id,patient_id,class,department,attending_staff_id,start,end
                    E1,P1,inpatient,CARD,S1,2026-11-20T10:00:00+01:00,2026-11-19T10:00:00+01:00
                    E2,,inpatient,CARD,S1,yesterday,
                    """.utf8), offset: 0)
            Issue.record("a bad file was read")
        } catch {
            #expect(error.problems.count == 2)
            #expect(error.problems[0].contains("line 2") && error.problems[0].contains("end is before start"))
            #expect(error.problems[1].contains("line 3"))
        }
        #expect(throws: PrivacyInputError.self) {
            try ContextCSV.staff(
                Array("staff_id,family_name,department,role,schedule\nS1,X,A,nurse,weekly\n".utf8), offset: 0)
        }
        #expect(throws: PrivacyInputError.self) { try ContextCSV.staff([], offset: 0) }
        #expect(throws: PrivacyInputError.self) {
            try ContextCSV.patients(Array("patient_id,family_name\n\"P1,X\n".utf8), offset: 0)
        }
    }

    @Test func mapsEHRExportColumns() throws {
        let csv = Array(
            "Horodatage;Matricule;IPP;Motif;Bris de glace\n2026-11-23 02:10;S9;P4;urgence vitale;oui\n2026-11-23 10:00;S9;P5;;\n"
                .utf8)
        let events = try AccessInput.csv(
            csv, mapping: "time=Horodatage,user=Matricule,patient=IPP,justification=Motif,emergency=Bris de glace",
            defaultOffset: 3600)
        #expect(
            events.count == 2 && events[0].emergency && events[0].justification == "urgence vitale"
                && !events[1].emergency)
        #expect(events[0].time.secondOfDay == 2 * 3600 + 600 && events[0].id != events[1].id)
        // Usual French headers are recognised without a mapping; unknown ones are not.
        #expect(try AccessInput.csv(csv, mapping: nil, defaultOffset: 3600).map(\.patient) == ["P4", "P5"])
        #expect(throws: PrivacyInputError.self) {
            try AccessInput.csv(Array("When;Who;Whom\n2026-11-23 02:10;S9;P4\n".utf8), mapping: nil, defaultOffset: 0)
        }
        #expect(throws: PrivacyInputError.self) {
            try AccessInput.csv(csv, mapping: "when=Horodatage", defaultOffset: 0)
        }
    }
}

@Suite struct FHIRAuditEventTests {
    static func resource(_ json: String) throws -> JSONValue { try JSONParser.parse(json) }

    static let balp = """
        {"resourceType":"AuditEvent","id":"ae-1","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},
         "subtype":[{"code":"read"}],"action":"R","recorded":"2026-11-23T02:14:00+01:00","outcome":"0",
         "agent":[{"type":{"coding":[{"code":"humanuser"}]},"who":{"identifier":{"value":"S0042"}},"requestor":true,
                   "purposeOfUse":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"ETREAT"}],"text":"arrêt cardiaque"}]},
                  {"who":{"display":"DPI"},"requestor":false}],
         "source":{"observer":{"display":"DPI Cardio"}},
         "entity":[{"what":{"reference":"https://ehr.example/fhir/Patient/P77/_history/3"},"type":{"code":"1"},"role":{"code":"1"}}]}
        """

    @Test func readsABALPPatientRead() throws {
        let event = try #require(
            try FHIRAuditEvent.access(try Self.resource(Self.balp), defaultOffset: 3600, fallbackID: "x"))
        #expect(event.id == "ae-1" && event.user == "S0042" && event.patient == "P77" && event.action == "R")
        #expect(event.emergency && event.justification == "arrêt cardiaque" && event.source == "DPI Cardio")
        #expect(event.time.secondOfDay == 2 * 3600 + 840)
    }

    @Test func readsR5PatientAndPractitionerReferences() throws {
        let json = """
            {"resourceType":"AuditEvent","code":{"code":"110110"},"recorded":"2026-11-23T10:00:00Z","source":{"observer":{"reference":"Device/dpi"}},
             "agent":[{"who":{"reference":"Practitioner/S7"},"requestor":true,"authorization":[{"coding":[{"code":"TREAT"}]}]}],
             "patient":{"reference":"Patient/P1"}}
            """
        let event = try #require(
            try FHIRAuditEvent.access(try Self.resource(json), defaultOffset: 3600, fallbackID: "fb"))
        #expect(event.user == "S7" && event.patient == "P1" && !event.emergency && event.id == "fb")
    }

    @Test func refusesInvalidResourcesWithTheirElement() throws {
        let cases: [(String, String)] = [
            (#"{"resourceType":"Patient","id":"1"}"#, "resourceType"),
            (
                #"{"resourceType":"AuditEvent","type":{"code":"rest"},"agent":[{"requestor":true}],"source":{}}"#,
                "AuditEvent.recorded"
            ),
            (
                #"{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"yesterday","agent":[{"requestor":true}],"source":{}}"#,
                "AuditEvent.recorded"
            ),
            (
                #"{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"2026-11-23T10:00:00Z","source":{}}"#,
                "AuditEvent.agent"
            ),
            (
                #"{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"2026-11-23T10:00:00Z","agent":[{"requestor":true}],"source":{},"action":"X"}"#,
                "AuditEvent.action"
            ),
            (
                #"{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"2026-11-23T10:00:00Z","agent":[{"requestor":true}],"source":{},"entity":[{"what":{"reference":"Patient/P1"}}]}"#,
                "AuditEvent.agent"
            ),
        ]
        for (json, expression) in cases {
            let resource = try Self.resource(json)
            do {
                _ = try FHIRAuditEvent.access(resource, defaultOffset: 0, fallbackID: "")
                Issue.record("accepted: \(json)")
            } catch {
                #expect(error.issues.contains { $0.expression == expression }, "\(error.issues) for \(json)")
            }
        }
        // A login has no patient: valid, not an access.
        let login =
            #"{"resourceType":"AuditEvent","type":{"code":"110114"},"recorded":"2026-11-23T10:00:00Z","agent":[{"who":{"identifier":{"value":"S1"}},"requestor":true}],"source":{}}"#
        #expect(try FHIRAuditEvent.access(try Self.resource(login), defaultOffset: 0, fallbackID: "") == nil)
    }

    @Test func bundlesAcceptOnlyPostedEntries() throws {
        let bundle = try Self.resource(
            #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"AuditEvent"},"request":{"method":"DELETE","url":"AuditEvent/1"}}]}"#
        )
        #expect(throws: FHIRError.self) { try FHIRAuditEvent.bundleEntries(bundle) }
        #expect(throws: FHIRError.self) {
            try FHIRAuditEvent.bundleEntries(try Self.resource(#"{"resourceType":"Bundle","type":"searchset"}"#))
        }
        #expect(FHIRAuditEvent.patientID("Patient/") == nil && FHIRAuditEvent.patientID("Observation/1") == nil)
    }

    @Test func exportedAuditEventsReadBack() throws {
        let event = AccessEvent(
            id: "ae-\"2\"", time: Instant(iso: "2026-11-23T10:00:00+01:00")!, user: "S1", patient: "P\\9",
            emergency: true, justification: "ligne\nsuivante", source: "DPI")
        let read = try #require(
            try FHIRAuditEvent.access(
                JSONParser.parse(ContextExport.auditEvent(event)), defaultOffset: 0, fallbackID: ""))
        #expect(read == event)
    }
}

@Suite struct ATNATests {
    static let dicom = """
        <?xml version="1.0" encoding="UTF-8"?>
        <AuditMessage xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
          <EventIdentification EventActionCode="R" EventDateTime="2026-11-23T02:14:00.000+01:00" EventOutcomeIndicator="0">
            <EventID csd-code="110110" codeSystemName="DCM" originalText="Patient Record"/>
            <PurposeOfUse csd-code="ETREAT" codeSystemName="v3-ActReason" originalText="Emergency Treatment"/>
          </EventIdentification>
          <ActiveParticipant UserID="sess-9" AlternativeUserID="S0042" UserName="Claire Martin" UserIsRequestor="true" NetworkAccessPointID="10.1.2.3" NetworkAccessPointTypeCode="2"/>
          <ActiveParticipant UserID="dpi.chu.local" UserIsRequestor="false"/>
          <AuditSourceIdentification AuditSourceID="DPI-CHU"/>
          <!-- the patient -->
          <ParticipantObjectIdentification ParticipantObjectID="P77^^^&amp;1.2.250.1.71.4.2.7&amp;ISO" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1">
            <ParticipantObjectIDTypeCode csd-code="2" originalText="Patient Number"/>
          </ParticipantObjectIdentification>
        </AuditMessage>
        """

    @Test func readsADICOMAuditMessage() throws {
        let event = try #require(try ATNAMessage.access(Array(Self.dicom.utf8), defaultOffset: 0))
        #expect(event.user == "S0042" && event.patient == "P77" && event.emergency && event.source == "DPI-CHU")
        #expect(event.justification == "Emergency Treatment" && event.time.secondOfDay == 2 * 3600 + 840)
        // The same message twice has the same id (a resent message is a duplicate).
        #expect(try ATNAMessage.access(Array(Self.dicom.utf8), defaultOffset: 0)?.id == event.id)
        let syslog =
            Array("<85>1 2026-11-23T01:14:00Z dpi DPI 1234 IHE+RFC-3881 - \u{FEFF}".utf8) + Array(Self.dicom.utf8)
        #expect(
            try ATNAMessage.payload(ofSyslog: syslog).flatMap { try ATNAMessage.access($0, defaultOffset: 0) } == event)
        #expect(ATNAMessage.payload(ofSyslog: Array("<13>1 2026-11-23T01:14:00Z host app - - - hello <b>".utf8)) == nil)
    }

    @Test func readsTheRFC3881Spelling() throws {
        let xml = """
            <AuditMessage><EventIdentification EventActionCode='R' EventDateTime='2026-11-23T10:00:00Z'><EventID code="110110"/></EventIdentification>
            <ActiveParticipant UserID="S5" UserIsRequestor="true"/><ParticipantObjectIdentification ParticipantObjectID="P3" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"/></AuditMessage>
            """
        let event = try #require(try ATNAMessage.access(Array(xml.utf8), defaultOffset: 0))
        #expect(event.user == "S5" && event.patient == "P3" && !event.emergency)
    }

    @Test func refusesMalformedMessages() throws {
        let bad = [
            "<AuditMessage><EventIdentification EventDateTime=2026-11-23/></AuditMessage>",
            "<!DOCTYPE x [<!ENTITY a 'b'>]><AuditMessage/>",
            "<AuditMessage><EventIdentification EventDateTime=\"2026-11-23T10:00:00Z\"",
            "<Event/>",
            "<AuditMessage><ActiveParticipant UserID=\"S1\"/></AuditMessage>",
        ]
        for text in bad {
            #expect(throws: PrivacyInputError.self, "\(text)") {
                try ATNAMessage.access(Array(text.utf8), defaultOffset: 0)
            }
        }
        let noPatient =
            "<AuditMessage><EventIdentification EventDateTime=\"2026-11-23T10:00:00Z\"/><ActiveParticipant UserID=\"S1\" UserIsRequestor=\"true\"/></AuditMessage>"
        #expect(try ATNAMessage.access(Array(noPatient.utf8), defaultOffset: 0) == nil)
    }
}
