import Testing

@testable import PrivacyCore

@Suite struct HL7Tests {
    static let admit = [
        "MSH|^~\\&|SIH|CHU|HYGIE|CHU|20261123101500+0100||ADT^A01^ADT_A01|MSG0001|P|2.5|||||FRA|8859/1",
        "EVN|A01|20261123101500|||S0042^Martin^Claire",
        "PID|1||123456^^^CHU^NH~P77^^^CHU&1.2.250&ISO^PI||DUPONT-MOREAU^Anne^^^Mme~MOREAU^Anne^^^^^L||19620512|F|||"
            + "12 rue de la R\\E\\publique^^Lyon^^69003^FRA||04 72 00 00 00",
        "PV1|1|I|CARD^101^1^CHU||||S0001^House^Greg~S0002^Wilson^James||S0003^Cuddy^Lisa|||||||VIP|S0004^Admit^Doc||V2026-9"
            + String(repeating: "|", count: 25) + "20261123100000",
        "OBX|1|TX|note||ligne 1\\.br\\ligne 2 \\F\\ \\S\\ \\T\\ \\R\\ \\X41\\",
        "OBX|2|TX|note||deuxième",
    ]

    @Test func readsAnAdmissionWithItsVariations() throws {
        for separator in ["\r", "\n", "\r\n"] {
            let message = try HL7Message(Self.admit.joined(separator: separator) + separator)
            let adt = try ADTMessage(message, defaultOffset: 3600)
            #expect(adt.trigger == "A01" && adt.controlID == "MSG0001")
            // PID-3 repeats: the PI identifier is chosen over the first.
            #expect(adt.patient.id == "P77")
            #expect(adt.patient.familyName == "DUPONT-MOREAU" && adt.patient.givenName == "Anne")
            #expect(adt.patient.birthDate == "1962-05-12" && adt.patient.address == "12 rue de la R\\publique")
            #expect(adt.patient.postalCode == "69003" && adt.patient.city == "Lyon" && adt.restricted)
            guard case .stay(let visit, _, let kind, let unit, let attending, let at) = adt.changes.first else {
                Issue.record("no stay")
                return
            }
            #expect(visit == "V2026-9" && kind == "inpatient" && unit == "CARD")
            #expect(attending == ["S0001", "S0002", "S0003", "S0004"])
            #expect(at == Instant(iso: "2026-11-23T10:00:00+01:00"))
            // Segment repeats and escape sequences.
            #expect(message.segments(named: "OBX").count == 2)
            let obx = message.segments(named: "OBX")[0]
            #expect(message.value(message.repetitions(of: obx, 5)[0]) == "ligne 1\nligne 2 | ^ & ~ A")
        }
    }

    @Test func readsOtherEncodingCharactersAndMissingFields() throws {
        // Separators declared by MSH-1 and MSH-2; no EVN (the time comes from MSH-7); PV1 sent twice.
        let pv1 = "PV1##O#ORTH" + String(repeating: "#", count: 16) + "V5"
        let text = "MSH#:!$%#SIH#CHU###20261123##ADT:A03#9#P#2.3\rPID###X1!P5::::PI#\r\(pv1)\r\(pv1)\r"
        let message = try HL7Message(text)
        let adt = try ADTMessage(message, defaultOffset: 0)
        #expect(adt.trigger == "A03" && adt.patient.id == "P5" && adt.patient.familyName.isEmpty)
        #expect(adt.changes == [.discharge(visit: "V5", at: Instant(iso: "2026-11-23")!, disposition: "")])
        #expect(message.segments(named: "PV1").count == 2 && !adt.restricted)
    }

    @Test func refusesWhatIsNotAnADTMessage() throws {
        let bad: [(String, String)] = [
            ("PID|1||P1", "a message starts with an MSH segment"),
            ("MSH|^~\\&|A|B|C|D|20261123||ORU^R01|1|P|2.5\rPID|1||P1", "only ADT messages"),
            ("MSH|^~\\&|A|B|C|D|20261123||ADT^A40|1|P|2.5\rPID|1||P1", "is not handled"),
            ("MSH|^~\\&|A|B|C|D|20261123||ADT^A01|1|P|2.5\rPID|1||\rPV1|1|I|CARD", "PID-3"),
            ("MSH|^~\\&|A|B|C|D|20261123||ADT^A01|1|P|2.5\rPID|1||P1\rPV1|1|I|CARD", "PV1-19"),
            ("MSH|^~\\&|A|B|C|D|20261123||ADT^A02|1|P|2.5\rPID|1||P1\rPV1|1|I|||||||||||||||||V1", "PV1-3"),
            (
                "MSH|^~\\&|A|B|C|D|yesterday||ADT^A01|1|P|2.5\rEVN|A01|never\rPID|1||P1\rPV1|1|I|C||||||||||||||||V1",
                "event time"
            ),
            ("MSH|^~\\&|A|B|C|D|20261123||ADT^A01|1|P|2.5\rpid|1||P1", "is not a segment name"),
            ("MSH|^^\\&|A", "MSH-1 and MSH-2"),
        ]
        for (text, expected) in bad {
            do {
                _ = try ADTMessage(try HL7Message(text), defaultOffset: 0)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.message.contains(expected), "\(error.message) for \(text)")
            }
        }
    }

    @Test func acknowledgesWithTheControlID() throws {
        let message = try HL7Message(Self.admit.joined(separator: "\r"))
        let ack = ADTMessage.acknowledgement(for: message, code: "AE", error: "unit|unknown", now: Instant(seconds: 0))
        let segments = ack.split(separator: "\r")
        #expect(segments[0].hasPrefix("MSH|^~\\&|HYGIE|CHU|SIH|CHU|19700101000000||ACK^A01^ACK|ACKMSG0001|P|2.5"))
        #expect(segments[1] == "MSA|AE|MSG0001" && segments[2].hasSuffix("unit\\F\\unknown"))
        let reply = try HL7Message(ack)
        #expect(reply.value("MSA", 2) == "MSG0001" && reply.value("ERR", 8) == "unit|unknown")
        #expect(HL7Message.time("202611231015+0100", defaultOffset: 0) == Instant(iso: "2026-11-23T10:15:00+01:00"))
        #expect(HL7Message.time("2026", defaultOffset: 0) == Instant(iso: "2026-01-01"))
        #expect(HL7Message.time("20261123T10", defaultOffset: 0) == nil)
    }

    @Test func framesMLLPAcrossReadsAndReportsFramingErrors() {
        var framer = MLLPFramer(maximumBytes: 64)
        let frame = MLLPFramer.frame("MSH|^~\\&|A")
        #expect(framer.feed(frame.prefix(5)).isEmpty && framer.pending)
        #expect(framer.feed(frame.dropFirst(5)) == [.message(Array("MSH|^~\\&|A".utf8))] && !framer.pending)
        let outputs = framer.feed(Array("junk".utf8) + frame + [0x0B] + Array("half".utf8) + frame)
        #expect(
            outputs == [
                .error("4 bytes outside an MLLP frame"), .message(Array("MSH|^~\\&|A".utf8)),
                .error("a frame started before the previous one ended"), .message(Array("MSH|^~\\&|A".utf8)),
            ])
        let big = framer.feed([0x0B] + [UInt8](repeating: 0x41, count: 100))
        #expect(big == [.error("frame larger than 64 bytes"), .error("35 bytes outside an MLLP frame")])
        #expect(!framer.pending)
    }
}
