import PrivacyCore
import STIX

/// Feeds arbitrary bytes to the EHR access readers. The first byte chooses: 0 a FHIR AuditEvent or Bundle,
/// 1 an IHE ATNA audit message (alone or inside a syslog line), 2 an HL7 v2 ADT message and its ACK, 3 MLLP
/// framing, 4 the context CSV layouts and an access export. A crash, a hang or a sanitizer report is a bug;
/// errors answer bad input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let mode = start.load(as: UInt8.self) % 5
    let bytes = Array(UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self) + 1, count: count - 1))
    switch mode {
    case 0:
        guard let value = try? JSONParser.parse(bytes) else { return 0 }
        if value["resourceType"]?.stringValue == "Bundle" {
            guard let entries = try? FHIRAuditEvent.bundleEntries(value) else { return 0 }
            for resource in entries.resources { check(resource) }
        } else {
            check(value)
        }
    case 1:
        let xml = ATNAMessage.payload(ofSyslog: bytes) ?? bytes
        do {
            if let event = try ATNAMessage.access(xml, defaultOffset: 3600) {
                precondition(!event.user.isEmpty && !event.patient.isEmpty, "access without user or patient")
            }
        } catch {
            precondition(!error.problems.isEmpty, "error without a message")
        }
    case 2:
        let text = String(decoding: bytes, as: UTF8.self)
        let message = try? HL7Message(text)
        if let message, let adt = try? ADTMessage(message, defaultOffset: 3600) {
            precondition(!adt.patient.id.isEmpty, "ADT without a patient")
        }
        let ack = ADTMessage.acknowledgement(for: message, code: "AE", error: text, now: Instant(seconds: 0))
        precondition((try? HL7Message(ack)) != nil, "an ACK that does not parse")
    case 3:
        var framer = MLLPFramer(maximumBytes: 256)
        var total = 0
        for output in framer.feed(bytes) {
            if case .message(let message) = output { total += message.count }
        }
        precondition(total <= bytes.count, "more bytes out than in")
    default:
        _ = try? ContextCSV.staff(bytes, offset: 3600)
        _ = try? ContextCSV.patients(bytes, offset: 3600)
        _ = try? ContextCSV.encounters(bytes, offset: 3600)
        _ = try? ContextCSV.careEvents(bytes, offset: 3600)
        _ = try? AccessInput.csv(bytes, mapping: nil, defaultOffset: 3600)
        _ = Instant(iso: String(decoding: bytes.prefix(40), as: UTF8.self))
    }
    return 0
}

func check(_ resource: JSONValue) {
    do {
        if let event = try FHIRAuditEvent.access(resource, defaultOffset: 3600, fallbackID: "f") {
            precondition(!event.user.isEmpty && !event.patient.isEmpty, "access without user or patient")
        }
    } catch {
        precondition(!error.issues.isEmpty, "error without an issue")
    }
}
