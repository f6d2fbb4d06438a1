import Foundation
import HygieCore
import HygieIncidents
import HygieStorage
import HygieTestSupport
import Logging
import NIOCore
import NIOPosix
import PrivacyCore
import SQLKit
import STIX
import Testing

@testable import HygiePrivacy

/// An establishment with a DPO, a small care context and a monitoring service.
struct PrivacyWorld {
    let services: TestServices
    let privacy: PrivacyService
    let establishment: Establishment
    let rssi: TenantScope
    let dpo: TenantScope

    static func make(_ db: DatabaseService, name: String = "CHU Valbrune") async throws -> PrivacyWorld {
        // 2026-11-23T09:40Z: the accesses of the tests are recent.
        let services = try TestServices(database: db, clock: ManualClock(Date(timeIntervalSince1970: 1_795_945_200)))
        let (establishment, rssi) = try await services.makeEstablishment(name)
        let privacy = PrivacyService(
            database: db, audit: services.audit, clock: services.clock,
            secrets: try SecretBox(keyData: Data(repeating: 7, count: 32)),
            cases: CaseService(database: db, audit: services.audit, clock: services.clock))
        let dpo = try await Self.member(services, establishment, "dpo")
        let world = PrivacyWorld(
            services: services, privacy: privacy, establishment: establishment, rssi: rssi, dpo: dpo)
        try await world.importContext()
        return world
    }

    static func member(_ services: TestServices, _ establishment: Establishment, _ role: String) async throws
        -> TenantScope
    {
        let admin = try await services.identity.scope(for: establishment.id, actor: TestServices.cli)
        let slug = establishment.name.lowercased().filter(\.isLetter)
        let member = try await services.identity.addMember(
            NewUser(
                email: "\(role)@\(slug).example", displayName: role.uppercased(), password: TestServices.password,
                role: role),
            in: admin)
        let actor = Actor(
            userID: member.user.id, displayName: member.user.email, establishmentID: nil, role: .staff,
            channel: "session",
            requestID: nil, sourceAddress: "127.0.0.1")
        return try await services.identity.scope(for: establishment.id, actor: actor)
    }

    func importContext() async throws {
        _ = try await privacy.importContext(
            .departments, Array("code,label,kind\nCARD,Cardiologie,clinical\nNEUR,Neurologie,clinical\n".utf8), in: rssi
        )
        _ = try await privacy.importContext(
            .staff,
            Array(
                """
                staff_id,given_name,family_name,gender,birth_date,address,postal_code,city,department,role,role_label,schedule,shift,hire_date,workstation
                N1,Claire,Martin,female,1980-02-03,12 rue Pasteur,69003,Lyon,CARD,nurse,Infirmière,shift,day,2015-01-01,PC1
                D2,Anne,Roy,female,1970-01-01,1 quai Rambaud,69002,Lyon,NEUR,physician,Médecin,office,,2010-01-01,PC2
                """.utf8), in: rssi)
        _ = try await privacy.importContext(
            .patients,
            Array(
                """
                patient_id,given_name,family_name,gender,birth_date,address,postal_code,city,deceased_datetime,restricted
                P1,Jean,Moreau,male,1950-01-01,8 rue Victor Hugo,69001,Lyon,,
                P2,Lucie,Martin,female,1990-01-01,5 place Bellecour,69002,Lyon,,
                P6,Star,Célèbre,female,1970-01-01,,,,,VIP
                """.utf8), in: rssi)
        _ = try await privacy.importContext(
            .encounters,
            Array(
                """
                encounter_id,patient_id,class,department,attending_staff_id,start,end,discharge_disposition
                E1,P1,inpatient,CARD,,2026-11-20T10:00:00+01:00,,
                E2,P2,inpatient,NEUR,D2,2026-11-21T10:00:00+01:00,,
                """.utf8), in: rssi)
    }

    static func auditEvent(_ id: String, user: String, patient: String, at time: String, emergency: Bool = false)
        -> String
    {
        ContextExport.auditEvent(
            AccessEvent(id: id, time: Instant(iso: time)!, user: user, patient: patient, emergency: emergency))
    }

    /// A PV1 segment with its unit (PV1-3), attending (PV1-7), visit (PV1-19) and admission time (PV1-44).
    static func pv1(_ unit: String, _ attending: String, _ visit: String, admitted: String = "") -> String {
        var fields = [String](repeating: "", count: 45)
        (fields[0], fields[1], fields[2], fields[3], fields[7]) = ("PV1", "1", "I", unit, attending)
        (fields[19], fields[44]) = (visit, admitted)
        return fields.joined(separator: "|")
    }

    func analyse() async throws {
        while try await privacy.analyzePending() > 0 {}
    }
}

@Suite struct PrivacyServiceTests {
    @Test(arguments: TestDatabase.enabled)
    func accessesAreExplainedFlaggedReviewedAndTurnedIntoACase(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await PrivacyWorld.make(db)
            let privacy = world.privacy
            let lines = [
                PrivacyWorld.auditEvent("a1", user: "N1", patient: "P1", at: "2026-11-23T09:00:00+01:00"),
                PrivacyWorld.auditEvent("a2", user: "N1", patient: "P2", at: "2026-11-23T10:00:00+01:00"),
                PrivacyWorld.auditEvent("a3", user: "N1", patient: "P6", at: "2026-11-23T11:00:00+01:00"),
                PrivacyWorld.auditEvent("a4", user: "D2", patient: "P2", at: "2026-11-23T11:30:00+01:00"),
            ]
            let bulk = try await privacy.ingestFHIR(
                Array(lines.joined(separator: "\n").utf8), ndjson: true, in: world.rssi)
            #expect(bulk.result.accepted == 4)
            // The same events again are duplicates, nothing is stored twice.
            let again = try await privacy.ingestFHIR(Array(lines[0].utf8), ndjson: false, in: world.rssi)
            #expect(again.result.accepted == 0 && again.result.duplicates == 1)
            try await world.analyse()

            // Only the officer sees the queue.
            await #expect(throws: HygieCoreError.self) { _ = try await privacy.incidents(in: world.rssi) }
            let queue = try await privacy.incidents(in: world.dpo)
            #expect(queue.count == 1)
            let incident = try #require(queue.first)
            #expect(incident.userID == "N1" && incident.userName == "Claire Martin" && incident.flags == 2)
            #expect(Set(incident.patterns) == [.sameSurname, .vip, .noCareRelationship])
            let detail = try await privacy.incident(incident.id, in: world.dpo)
            #expect(detail.explainedSameDays == 1)
            #expect(detail.flags.map(\.eventID) == ["a2", "a3"])
            #expect(detail.flags.allSatisfy { $0.patientKey.hasPrefix("pk-") })

            // No patient identifier or name is stored in clear.
            let sql = db.sql
            let keys = try await sql.raw("SELECT patient_key FROM priv_accesses").all().map {
                try $0.decode(column: "patient_key", as: String.self)
            }
            #expect(keys.count == 4 && keys.allSatisfy { $0.hasPrefix("pk-") && !$0.contains("P1") })
            let stored = try await sql.raw("SELECT * FROM priv_patients").all()
            for row in stored {
                for column in ["patient_key", "surname_keys", "address_key", "identity_key"] {
                    let value = try row.decode(column: column, as: String.self)
                    #expect(!value.contains("Martin") && !value.contains("Moreau") && !value.contains("P2"))
                }
                let sealed = try #require(
                    Data(base64Encoded: try row.decode(column: "sealed_identity", as: String.self)))
                #expect(!String(decoding: sealed, as: UTF8.self).contains("Martin"))
            }
            // Re-identification: the DPO only, audited.
            let patient = try await privacy.reidentify(detail.flags[0].patientKey, in: world.dpo)
            #expect(patient.id == "P2" && patient.familyName == "Martin")
            await #expect(throws: HygieCoreError.self) {
                _ = try await privacy.reidentify(detail.flags[0].patientKey, in: world.rssi)
            }
            let actions = try await sql.raw("SELECT action FROM core_audit_events").all().map {
                try $0.decode(column: "action", as: String.self)
            }
            #expect(actions.contains("privacy.reidentify") && actions.contains("privacy.incident.view"))

            // The patient's report lists every access, explained or not.
            let (key, report) = try await privacy.accesses(ofPatient: "P2", in: world.dpo)
            #expect(key == detail.flags[0].patientKey && report.count == 2)
            #expect(Set(report.map(\.status)) == ["flagged", "explained"])
            #expect(report.first { $0.userID == "D2" }?.explanation == "attending")

            // Deciding: an inappropriate access needs notes, and can open a case.
            await #expect(throws: PrivacyError.self) {
                _ = try await privacy.decide(incident.id, .inappropriate, notes: " ", openCase: true, in: world.dpo)
            }
            let decided = try await privacy.decide(
                incident.id, .inappropriate, notes: "Consultation du dossier d'une parente, reconnue en entretien.",
                openCase: true, in: world.dpo)
            #expect(decided.incident.status == .inappropriate && decided.incident.caseID != nil)
            let cases = CaseService(database: db, audit: world.services.audit, clock: world.services.clock)
            let opened = try await cases.detail(try #require(decided.incident.caseID), in: world.rssi)
            #expect(opened.incident.type == .ehrAccess && opened.incident.tlp == .red)
            #expect(opened.links.contains { $0.kind == "privacy" && $0.ref == String(incident.id) })

            // A new flag of the same user after the decision opens a new incident.
            _ = try await privacy.ingestFHIR(
                Array(PrivacyWorld.auditEvent("a5", user: "N1", patient: "P6", at: "2026-11-24T10:00:00+01:00").utf8),
                ndjson: false, in: world.rssi)
            try await world.analyse()
            #expect(try await privacy.incidents(status: .open, in: world.dpo).count == 1)

            let stats = try await privacy.statistics(in: world.rssi)
            #expect(stats.accesses == 5 && stats.explained == 2 && stats.flagged == 3)
            #expect(stats.incidentsByStatus == ["inappropriate": 1, "open": 1] && stats.casesOpened == 1)
            #expect(stats.byPattern["vip"] == 2 && stats.context["patients"] == 3)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func invalidInputChangesNothing(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await PrivacyWorld.make(db)
            let privacy = world.privacy
            let good = PrivacyWorld.auditEvent("b1", user: "N1", patient: "P1", at: "2026-11-23T09:00:00+01:00")
            // One bad line refuses the whole NDJSON body, with its line.
            do {
                _ = try await privacy.ingestFHIR(
                    Array((good + "\n{\"resourceType\":\"AuditEvent\"}\n").utf8), ndjson: true, in: world.rssi)
                Issue.record("accepted")
            } catch let error as FHIRError {
                #expect(error.issues.allSatisfy { $0.diagnostics.hasPrefix("line 2") })
            }
            // A transaction is all or nothing; a batch keeps the good entries.
            let bad = #"{"resourceType":"AuditEvent","recorded":"soon"}"#
            let transaction =
                #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":"# + good + #"},{"resource":"#
                + bad + #"}]}"#
            await #expect(throws: FHIRError.self) {
                _ = try await privacy.ingestFHIR(Array(transaction.utf8), ndjson: false, in: world.rssi)
            }
            #expect(
                try await db.sql.raw("SELECT COUNT(*) AS n FROM priv_accesses").first()?.decode(
                    column: "n", as: Int.self) == 0)
            let batch = transaction.replacingOccurrences(of: "\"transaction\"", with: "\"batch\"")
            let outcome = try await privacy.ingestFHIR(Array(batch.utf8), ndjson: false, in: world.rssi)
            #expect(
                outcome.result.accepted == 1
                    && outcome.entries[1].issues.contains { $0.expression == "AuditEvent.recorded" })
            await #expect(throws: FHIRError.self) {
                _ = try await privacy.ingestFHIR(Array("{not json".utf8), ndjson: false, in: world.rssi)
            }
            // A bad staff file keeps the previous directory.
            await #expect(throws: PrivacyError.self) {
                _ = try await privacy.importContext(.staff, Array("staff_id,family_name\nX,Y\n".utf8), in: world.rssi)
            }
            #expect(try await privacy.contextCounts(in: world.rssi)["staff"] == 2)
            // Staff members cannot feed or read anything.
            let staff = try await PrivacyWorld.member(world.services, world.establishment, "staff")
            await #expect(throws: HygieCoreError.self) {
                _ = try await privacy.ingestCSV(Array("a".utf8), mapping: nil, in: staff)
            }
            await #expect(throws: HygieCoreError.self) { _ = try await privacy.statistics(in: staff) }
            await #expect(throws: PrivacyError.self) {
                _ = try await privacy.updateSettings(PrivacySettings(retentionDays: 2), in: world.rssi)
            }
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func establishmentsAreIsolated(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await PrivacyWorld.make(db)
            _ = try await world.privacy.ingestFHIR(
                Array(PrivacyWorld.auditEvent("c1", user: "N1", patient: "P6", at: "2026-11-23T10:00:00+01:00").utf8),
                ndjson: false, in: world.rssi)
            try await world.analyse()
            let incident = try #require(try await world.privacy.incidents(in: world.dpo).first)
            let (other, _) = try await world.services.makeEstablishment("Clinique Voisine")
            let otherDPO = try await PrivacyWorld.member(world.services, other, "dpo")
            await #expect(throws: PrivacyError.self) { _ = try await world.privacy.incident(incident.id, in: otherDPO) }
            #expect(try await world.privacy.incidents(in: otherDPO).isEmpty)
            let flag = try await world.privacy.incident(incident.id, in: world.dpo).flags[0]
            await #expect(throws: PrivacyError.self) {
                _ = try await world.privacy.reidentify(flag.patientKey, in: otherDPO)
            }
            // Each establishment has its own key: the same patient id gives another pseudonym.
            let (key, lines) = try await world.privacy.accesses(ofPatient: "P6", in: otherDPO)
            #expect(key != flag.patientKey && lines.isEmpty)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func aVIPListAndStaffPatientPairsCompleteTheContext(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await PrivacyWorld.make(db)
            // P1 is on the VIP list; P8 (unknown so far) too; N1 is the patient P9 for the identity server.
            let vip = try await world.privacy.importContext(
                .vip, Array("patient_id,motif\nP1,élu\nP8,presse\n".utf8), in: world.rssi)
            #expect(vip.rows == 2)
            _ = try await world.privacy.importContext(
                .staffPatients, Array("staff_id,patient_id\nN1,P9\n".utf8), in: world.rssi)
            await #expect(throws: PrivacyError.self) {
                _ = try await world.privacy.importContext(.vip, Array("ipp\nP1\n".utf8), in: world.rssi)
            }
            _ = try await world.privacy.ingestCSV(
                Array(
                    "time,user,patient,id\n2026-11-23T10:00:00+01:00,D2,P1,v1\n2026-11-23T10:05:00+01:00,N1,P9,v2\n"
                        .utf8),
                mapping: nil, in: world.rssi)
            try await world.analyse()
            let patterns = Set(try await world.privacy.incidents(in: world.dpo).flatMap(\.patterns))
            #expect(patterns.isSuperset(of: [.vip, .selfLookup]))
            #expect(try await world.privacy.contextCounts(in: world.rssi)["staff_patients"] == 1)
            #expect(
                try await world.privacy.reidentify(
                    try await world.privacy.accesses(ofPatient: "P8", in: world.dpo).key, in: world.dpo
                ).restricted)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func aLateStayExplainsAnEarlierFlag(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await PrivacyWorld.make(db)
            _ = try await world.privacy.ingestCSV(
                Array("time,user,patient,id\n2026-11-23T10:00:00+01:00,D2,P1,x1\n".utf8), mapping: nil, in: world.rssi)
            try await world.analyse()
            #expect(try await world.privacy.incidents(in: world.dpo).count == 1)
            // The ADT feed reports the transfer of P1 to neurology the same morning.
            let adt = [
                "MSH|^~\\&|SIH|CHU|HYGIE|CHU|20261123090000+0100||ADT^A02|M2|P|2.5",
                "EVN|A02|20261123090000+0100|||||20261123090000+0100",
                "PID|1||P1^^^CHU^PI||MOREAU^Jean||19500101|M",
                PrivacyWorld.pv1("NEUR", "D2", "V1"),
            ].joined(separator: "\r")
            let ack = try await world.privacy.applyADT(adt, establishment: world.establishment.id.uuid)
            #expect(ack.contains("MSA|AA|M2"))
            try await world.analyse()
            #expect(try await world.privacy.incidents(in: world.dpo).isEmpty)
            let (_, lines) = try await world.privacy.accesses(ofPatient: "P1", in: world.dpo)
            #expect(lines.map(\.explanation) == ["attending"])
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func admissionsTransfersAndCancellationsFollowTheFeed(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await PrivacyWorld.make(db)
            func message(_ trigger: String, _ unit: String, _ time: String, id: String) -> String {
                [
                    "MSH|^~\\&|SIH|CHU|HYGIE|CHU|\(time)||ADT^\(trigger)|\(id)|P|2.5",
                    "EVN|\(trigger)|\(time)", "PID|1||P9^^^CHU^PI||LEFEBVRE^Rose||19400101|F",
                    PrivacyWorld.pv1(unit, "D2", "V9", admitted: time),
                ].joined(separator: "\r")
            }
            let messages = [
                message("A01", "CARD", "202611210800", id: "1"), message("A02", "NEUR", "202611221000", id: "2"),
                message("A12", "NEUR", "202611221100", id: "3"), message("A03", "CARD", "202611231200", id: "4"),
                message("A13", "CARD", "202611231300", id: "5"),
            ]
            // MLLP-framed, as an interface engine's archive; then the same as plain text: the same stays result.
            let framed = try await world.privacy.importADT(messages.flatMap(MLLPFramer.frame), in: world.rssi)
            #expect(framed.rows == 5)
            let plain = try await world.privacy.importADT(
                Array(messages.joined(separator: "\r\n").utf8), in: world.rssi)
            #expect(plain.rows == 5)
            let rows = try await db.sql.raw(
                "SELECT department, end_at FROM priv_encounters WHERE source = 'adt' AND visit = 'V9' ORDER BY start_at, id"
            ).all()
            // The transfer was cancelled and the discharge too: one open stay in cardiology.
            #expect(rows.count == 1)
            #expect(try rows[0].decode(column: "department", as: String.self) == "CARD")
            #expect(try rows[0].decode(column: "end_at", as: Int64?.self) == nil)
            await #expect(throws: PrivacyError.self) {
                _ = try await world.privacy.importADT(
                    Array("MSH|^~\\&|A|B|C|D|20261123||ORU^R01|1|P|2.5".utf8), in: world.rssi)
            }
        }
    }
}

@Suite struct MLLPListenerTests {
    @Test func answersEachFrameWithAnAcknowledgement() async throws {
        try await TestDatabase.sqlite.withDatabase { db in
            let world = try await PrivacyWorld.make(db)
            let bound = AsyncStream<Int>.makeStream()
            let listener = MLLPListener(
                settings: MLLPSettings(host: "127.0.0.1", port: 0, establishment: world.establishment.id.uuid),
                service: world.privacy, logger: Logger(label: "test"), onBound: { bound.continuation.yield($0) })
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await listener.run() }
                var ports = bound.stream.makeAsyncIterator()
                let port = try #require(await ports.next())
                let admit = [
                    "MSH|^~\\&|SIH|CHU|HYGIE|CHU|20261123090000||ADT^A01|77|P|2.5", "PID|1||P1^^^CHU^PI||MOREAU^Jean",
                    PrivacyWorld.pv1("CARD", "", "V1"),
                ].joined(separator: "\r")
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                        }
                    }
                let replies = try await channel.executeThenClose { inbound, outbound in
                    // Stray bytes, then two messages in one write, the second unreadable.
                    try await outbound.write(
                        ByteBuffer(bytes: Array("noise".utf8) + MLLPFramer.frame(admit) + MLLPFramer.frame("garbage")))
                    var framer = MLLPFramer()
                    var replies: [String] = []
                    for try await chunk in inbound {
                        for case .message(let bytes) in framer.feed(chunk.readableBytesView) {
                            replies.append(String(decoding: bytes, as: UTF8.self))
                        }
                        if replies.count == 2 { break }
                    }
                    return replies
                }
                #expect(replies.count == 2)
                #expect(replies[0].contains("MSA|AA|77") && replies[1].contains("MSA|AR|"))
                group.cancelAll()
            }
            #expect(
                try await db.sql.raw("SELECT COUNT(*) AS n FROM priv_encounters WHERE source = 'adt'").first()?.decode(
                    column: "n", as: Int.self) == 1)
        }
    }

    @Test func atnaMessagesAreStored() async throws {
        try await TestDatabase.sqlite.withDatabase { db in
            let world = try await PrivacyWorld.make(db)
            let xml = """
                <AuditMessage><EventIdentification EventActionCode="R" EventDateTime="2026-11-23T10:00:00+01:00"/>\
                <ActiveParticipant UserID="N1" UserIsRequestor="true"/>\
                <ParticipantObjectIdentification ParticipantObjectID="P6" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"/></AuditMessage>
                """
            let syslog = Array("<85>1 2026-11-23T09:00:00Z dpi DPI - IHE+RFC-3881 - ".utf8) + Array(xml.utf8)
            let (result, invalid) = try await world.privacy.ingestATNA(
                [syslog, Array("<85>1 - - - - IHE+RFC-3881 - <AuditMessage>".utf8)],
                establishment: world.establishment.id.uuid)
            #expect(result.accepted == 1 && invalid == 1)
            try await world.analyse()
            #expect(try await world.privacy.incidents(in: world.dpo).first?.patterns.contains(.vip) == true)
        }
    }
}
