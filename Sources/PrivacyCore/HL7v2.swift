import Foundation

/// Why an HL7 v2 message was refused.
public struct HL7Error: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
}

/// An HL7 v2 message (ER7 "pipe" encoding), with the encoding characters its MSH declares.
///
/// Segments may end in CR (the standard), LF or CRLF; fields keep their raw text and are unescaped when read
/// (`\F\ \S\ \T\ \R\ \E\`, `\.br\`, `\Xhh\`; highlighting and character-set escapes are dropped).
public struct HL7Message: Sendable {
    public struct Segment: Sendable {
        public var name: String
        /// `fields[n]` is field n (MSH-1 is the field separator itself).
        var fields: [Substring]
    }

    public let segments: [Segment]
    let field: Character
    let component: Character
    let repetition: Character
    let escape: Character?
    let subcomponent: Character

    public static let maximumBytes = 1 << 20

    public init(_ text: String) throws(HL7Error) {
        guard text.utf8.count <= Self.maximumBytes else { throw HL7Error("message larger than 1 MiB") }
        let lines = text.split(whereSeparator: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }).filter {
            !$0.allSatisfy(\.isWhitespace)
        }
        guard let header = lines.first, header.hasPrefix("MSH"), header.count >= 8 else {
            throw HL7Error("a message starts with an MSH segment")
        }
        let characters = Array(header.dropFirst(3).prefix(5))
        field = characters[0]
        guard characters.count >= 4 else { throw HL7Error("MSH-2 must hold the encoding characters (^~\\&)") }
        component = characters[1]
        repetition = characters[2]
        escape = characters[3] == field ? nil : characters[3]
        subcomponent = characters.count > 4 && characters[4] != field ? characters[4] : "&"
        guard Set([field, component, repetition, subcomponent]).count == 4, !field.isLetter, !field.isNumber else {
            throw HL7Error("MSH-1 and MSH-2 must be distinct separator characters")
        }
        var segments: [Segment] = []
        for (number, line) in lines.enumerated() {
            let parts = line.split(separator: field, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard name.count == 3, name.allSatisfy({ $0.isUppercase || $0.isNumber }), name.first!.isLetter else {
                throw HL7Error("segment \(number + 1): \"\(name.prefix(10))\" is not a segment name")
            }
            var fields = Array(parts)
            if name == "MSH" {
                // MSH-1 is the separator: shift so that fields[n] is MSH-n.
                fields.insert(Substring(String(field)), at: 1)
            }
            segments.append(Segment(name: name, fields: fields))
        }
        self.segments = segments
        guard self.value("MSH", 9).count >= 3 else { throw HL7Error("MSH-9 (message type) is empty") }
    }

    public func segments(named name: String) -> [Segment] { segments.filter { $0.name == name } }

    /// Raw repetitions of field `number` of the first `segment`.
    public func repetitions(_ segment: String, _ number: Int) -> [Substring] {
        guard let found = segments.first(where: { $0.name == segment }) else { return [] }
        return repetitions(of: found, number)
    }

    public func repetitions(of segment: Segment, _ number: Int) -> [Substring] {
        guard number < segment.fields.count else { return [] }
        if segment.name == "MSH", number <= 2 { return [segment.fields[number]] }
        return segment.fields[number].split(separator: repetition, omittingEmptySubsequences: false)
    }

    /// Field `number`, component `component`, subcomponent `sub` of the first repetition, unescaped.
    public func value(_ segment: String, _ number: Int, component: Int = 1, sub: Int = 1) -> String {
        guard let first = repetitions(segment, number).first else { return "" }
        return value(first, component: component, sub: sub)
    }

    /// Component and subcomponent of one raw field repetition, unescaped.
    public func value(_ raw: Substring, component: Int = 1, sub: Int = 1) -> String {
        let components = raw.split(separator: self.component, omittingEmptySubsequences: false)
        guard component - 1 < components.count else { return "" }
        let subs = components[component - 1].split(separator: subcomponent, omittingEmptySubsequences: false)
        guard sub - 1 < subs.count else { return "" }
        return unescape(subs[sub - 1])
    }

    func unescape(_ text: Substring) -> String {
        guard let escape, text.contains(escape) else { return String(text) }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == escape, let close = text[text.index(after: index)...].firstIndex(of: escape) else {
                result.append(character)
                index = text.index(after: index)
                continue
            }
            let code = text[text.index(after: index)..<close]
            switch code {
            case "F": result.append(field)
            case "S": result.append(component)
            case "T": result.append(subcomponent)
            case "R": result.append(repetition)
            case "E": result.append(escape)
            case ".br": result.append("\n")
            default:
                if code.first == "X" {
                    var bytes: [UInt8] = []
                    var hex = code.dropFirst()
                    while hex.count >= 2, let byte = UInt8(hex.prefix(2), radix: 16) {
                        bytes.append(byte)
                        hex = hex.dropFirst(2)
                    }
                    result += String(decoding: bytes, as: UTF8.self)
                }
            // \H\ \N\ (highlight), \Cxxyy\ \Mxxyyzz\ (character sets), \Zxx\: nothing to show.
            }
            index = text.index(after: close)
        }
        return result
    }

    /// An HL7 TS/DTM value: `YYYY[MM[DD[HH[MM[SS[.S…]]]]]][±ZZZZ]`.
    public static func time(_ text: String, defaultOffset: Int32) -> Instant? {
        var digits = Substring(text)
        var zone = ""
        if let sign = text.firstIndex(where: { $0 == "+" || $0 == "-" }) {
            digits = text[..<sign]
            zone = String(text[sign...])
        }
        if let dot = digits.firstIndex(of: ".") { digits = digits[..<dot] }
        guard [4, 6, 8, 10, 12, 14].contains(digits.count), digits.allSatisfy(\.isNumber) else { return nil }
        let padded = Array(digits + String(repeating: "0", count: 14 - digits.count))
        func part(_ from: Int, _ count: Int) -> String { String(padded[from..<from + count]) }
        var month = part(4, 2)
        var day = part(6, 2)
        if month == "00" { month = "01" }
        if day == "00" { day = "01" }
        var iso = "\(part(0, 4))-\(month)-\(day)T\(part(8, 2)):\(part(10, 2)):\(part(12, 2))"
        if zone.count == 5 { iso += "\(zone.prefix(3)):\(zone.suffix(2))" } else if !zone.isEmpty { return nil }
        return Instant(iso: iso, defaultOffset: defaultOffset)
    }
}

/// What an ADT message changes in the care context.
public enum ADTChange: Sendable, Hashable {
    /// A01 admit, A04 register, A05 pre-admit, A06/A07 class change, A08 update (opening the stay if unknown).
    case stay(visit: String, patient: String, kind: String, unit: String, attending: [String], at: Instant)
    /// A02: the stay moves to another unit at `at`.
    case transfer(visit: String, patient: String, unit: String, attending: [String], at: Instant)
    /// A03.
    case discharge(visit: String, at: Instant, disposition: String)
    /// A11, A12, A13: the last admission, transfer or discharge is undone.
    case cancelAdmit(visit: String)
    case cancelTransfer(visit: String)
    case cancelDischarge(visit: String)
}

/// An ADT message read into the patient it describes and the change it makes.
public struct ADTMessage: Sendable {
    public var trigger: String
    public var controlID: String
    public var patient: Patient
    public var changes: [ADTChange]
    /// `PV1-16` VIP indicator or `PD1-12` protection indicator.
    public var restricted: Bool

    public static let supportedTriggers: Set<String> = [
        "A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13", "A28", "A31",
    ]

    public init(_ message: HL7Message, defaultOffset: Int32) throws(HL7Error) {
        let type = message.value("MSH", 9)
        var trigger = message.value("MSH", 9, component: 2)
        if trigger.isEmpty { trigger = message.value("EVN", 1) }
        guard type == "ADT" else { throw HL7Error("MSH-9 \(type)^\(trigger): only ADT messages are read") }
        guard Self.supportedTriggers.contains(trigger) else {
            throw HL7Error("ADT^\(trigger) is not handled (A01–A08, A11–A13, A28, A31 are)")
        }
        self.trigger = trigger
        controlID = message.value("MSH", 10)
        let identifiers = message.repetitions("PID", 3)
        let chosen = identifiers.first { message.value($0, component: 5) == "PI" } ?? identifiers.first
        guard let chosen, case let id = message.value(chosen), !id.isEmpty else {
            throw HL7Error("PID-3 (patient identifier) is missing")
        }
        let when =
            [message.value("EVN", 6), message.value("EVN", 2), message.value("MSH", 7)].lazy.compactMap {
                HL7Message.time($0, defaultOffset: defaultOffset)
            }.first
        guard let when else { throw HL7Error("no valid event time in EVN-6, EVN-2 or MSH-7") }
        let death = HL7Message.time(message.value("PID", 29), defaultOffset: defaultOffset)
        var birth = message.value("PID", 7)
        if birth.count >= 8 {
            let digits = Array(birth.prefix(8))
            birth = "\(String(digits[0..<4]))-\(String(digits[4..<6]))-\(String(digits[6..<8]))"
        }
        restricted = !message.value("PV1", 16).isEmpty || message.value("PD1", 12) == "Y"
        patient = Patient(
            id: id, givenName: message.value("PID", 5, component: 2), familyName: message.value("PID", 5),
            gender: message.value("PID", 8), birthDate: birth, address: message.value("PID", 11),
            postalCode: message.value("PID", 11, component: 5), city: message.value("PID", 11, component: 3),
            deceased: death ?? (message.value("PID", 30) == "Y" ? when : nil), restricted: restricted)
        var visit = message.value("PV1", 19)
        if visit.isEmpty { visit = message.value("PID", 18) }
        let unit = message.value("PV1", 3)
        var attending: [String] = []
        for number in [7, 9, 17] {
            for raw in message.repetitions("PV1", number) {
                let staff = message.value(raw)
                if !staff.isEmpty, !attending.contains(staff) { attending.append(staff) }
            }
        }
        let kind: String
        switch message.value("PV1", 2) {
        case "I": kind = "inpatient"
        case "O": kind = "outpatient"
        case "E": kind = "emergency"
        case "P": kind = "preadmit"
        case let other: kind = other.lowercased()
        }
        let admitted = HL7Message.time(message.value("PV1", 44), defaultOffset: defaultOffset) ?? when
        var changes: [ADTChange] = []
        let needsVisit = !["A28", "A31"].contains(trigger)
        if needsVisit, visit.isEmpty { throw HL7Error("PV1-19 (visit number) is missing") }
        switch trigger {
        case "A01", "A04", "A05", "A06", "A07", "A08":
            guard !unit.isEmpty else { throw HL7Error("PV1-3 (assigned location) is missing") }
            changes.append(.stay(visit: visit, patient: id, kind: kind, unit: unit, attending: attending, at: admitted))
        case "A02":
            guard !unit.isEmpty else { throw HL7Error("PV1-3 (new location) is missing") }
            changes.append(.transfer(visit: visit, patient: id, unit: unit, attending: attending, at: when))
        case "A03":
            let discharged = HL7Message.time(message.value("PV1", 45), defaultOffset: defaultOffset) ?? when
            changes.append(.discharge(visit: visit, at: discharged, disposition: message.value("PV1", 36)))
        case "A11": changes.append(.cancelAdmit(visit: visit))
        case "A12": changes.append(.cancelTransfer(visit: visit))
        case "A13": changes.append(.cancelDischarge(visit: visit))
        default: break
        }
        self.changes = changes
    }

    /// The acknowledgement (`MSA` AA, or AE/AR with an `ERR` segment) to send back over MLLP.
    public static func acknowledgement(
        for message: HL7Message?, code: String, error: String? = nil, now: Instant
    ) -> String {
        let digits = now.iso.filter(\.isNumber).prefix(14)
        let sendingApp = message?.value("MSH", 3) ?? ""
        let sendingFacility = message?.value("MSH", 4) ?? ""
        let receivingFacility = message?.value("MSH", 6) ?? ""
        let trigger = message?.value("MSH", 9, component: 2) ?? ""
        let control = message?.value("MSH", 10) ?? ""
        let version = message.map { $0.value("MSH", 12) }.flatMap { $0.isEmpty ? nil : $0 } ?? "2.5"
        func clean(_ text: String) -> String {
            text.replacingOccurrences(of: "\\", with: "\\E\\").replacingOccurrences(of: "|", with: "\\F\\")
                .replacingOccurrences(of: "^", with: "\\S\\").replacingOccurrences(of: "&", with: "\\T\\")
                .replacingOccurrences(of: "~", with: "\\R\\").replacingOccurrences(of: "\r", with: " ")
                .replacingOccurrences(of: "\n", with: " ")
        }
        var segments = [
            "MSH|^~\\&|HYGIE|\(clean(receivingFacility))|\(clean(sendingApp))|\(clean(sendingFacility))|\(digits)||"
                + "ACK^\(clean(trigger))^ACK|ACK\(clean(control))|P|\(clean(version))",
            "MSA|\(code)|\(clean(control))",
        ]
        if let error { segments.append("ERR|||207^Application internal error^HL70357|E||||\(clean(error))") }
        return segments.joined(separator: "\r") + "\r"
    }
}

/// Minimal Lower Layer Protocol framing: `<VT> message <FS><CR>`. Bytes outside a frame, or a frame larger than
/// `maximumBytes`, are framing errors: the connection reports them and drops what it cannot read.
public struct MLLPFramer: Sendable {
    public static let start: UInt8 = 0x0B
    public static let end: UInt8 = 0x1C
    public var maximumBytes: Int
    var buffer: [UInt8] = []
    var inFrame = false

    public enum Output: Sendable, Equatable {
        case message([UInt8])
        case error(String)
    }

    public init(maximumBytes: Int = 1 << 20) { self.maximumBytes = maximumBytes }

    /// Frames completed by `bytes`, in order, with framing errors where they happened.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Output] {
        var outputs: [Output] = []
        var stray = 0
        for byte in bytes {
            if !inFrame {
                if byte == Self.start {
                    if stray > 0 { outputs.append(.error("\(stray) bytes outside an MLLP frame")) }
                    stray = 0
                    inFrame = true
                    buffer.removeAll(keepingCapacity: true)
                } else if byte != 0x0D, byte != 0x0A {
                    stray += 1
                }
                continue
            }
            if byte == Self.end {
                outputs.append(.message(buffer))
                buffer.removeAll(keepingCapacity: true)
                inFrame = false
            } else if byte == Self.start {
                outputs.append(.error("a frame started before the previous one ended"))
                buffer.removeAll(keepingCapacity: true)
            } else {
                buffer.append(byte)
                if buffer.count > maximumBytes {
                    outputs.append(.error("frame larger than \(maximumBytes) bytes"))
                    buffer.removeAll()
                    inFrame = false
                }
            }
        }
        if stray > 0 { outputs.append(.error("\(stray) bytes outside an MLLP frame")) }
        return outputs
    }

    /// Whether a frame was left open (a connection closing now loses it).
    public var pending: Bool { inFrame }

    public static func frame(_ text: String) -> [UInt8] { [start] + Array(text.utf8) + [end, 0x0D] }
}
