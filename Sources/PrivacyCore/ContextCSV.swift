import Foundation
import RecordInput

/// Why an input was refused: every problem found, with its line.
public struct PrivacyInputError: Error, Sendable, CustomStringConvertible, Equatable {
    public var problems: [String]
    public var description: String { problems.prefix(20).joined(separator: "; ") }

    public init(_ problems: [String]) { self.problems = problems }
    public init(_ problem: String) { problems = [problem] }
}

/// A CSV file read by header name: the standard layouts (`staff.csv`, `patients.csv`…) and EHR exports mapped
/// column by column. A missing required column or a bad value refuses the whole file with every problem listed,
/// so nothing is half-imported.
public struct CSVTable: Sendable {
    public let what: String
    let columns: [String: Int]
    let rows: [[String]]
    public let header: [String]

    /// Data rows, without the header; blank lines are skipped.
    public var count: Int { rows.count }

    public init(_ bytes: [UInt8], what: String) throws(PrivacyInputError) {
        self.what = what
        var parsed: [[String]]
        do { parsed = try CSV.rows(bytes, what: what) } catch { throw PrivacyInputError(error.message) }
        guard let first = parsed.first, !(first.count == 1 && first[0].isEmpty) else {
            throw PrivacyInputError("\(what): the file is empty")
        }
        header = first.map { $0.trimmingCharacters(in: .whitespaces) }
        var columns: [String: Int] = [:]
        for (index, name) in header.enumerated() where columns[name.lowercased()] == nil {
            columns[name.lowercased()] = index
        }
        self.columns = columns
        parsed.removeFirst()
        rows = parsed.filter { !($0.count == 1 && $0[0].trimmingCharacters(in: .whitespaces).isEmpty) }
    }

    /// Throws when one of `names` is not a column.
    public func require(_ names: [String]) throws(PrivacyInputError) {
        let missing = names.filter { columns[$0.lowercased()] == nil }
        guard missing.isEmpty else {
            throw PrivacyInputError(
                "\(what): missing column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) "
                    + "(found: \(header.joined(separator: ", ")))")
        }
    }

    public func has(_ column: String) -> Bool { columns[column.lowercased()] != nil }

    /// Calls `body` with each row; problems thrown by `body` are gathered and thrown together at the end.
    public func forEach(_ body: (Row) throws(PrivacyInputError) -> Void) throws(PrivacyInputError) {
        var problems: [String] = []
        for (index, cells) in rows.enumerated() {
            do { try body(Row(table: self, cells: cells, line: index + 2)) } catch {
                problems.append(contentsOf: error.problems)
                if problems.count >= 50 { break }
            }
        }
        guard problems.isEmpty else { throw PrivacyInputError(problems) }
    }

    public struct Row {
        let table: CSVTable
        let cells: [String]
        public let line: Int

        public subscript(_ column: String) -> String {
            guard let index = table.columns[column.lowercased()], index < cells.count else { return "" }
            return cells[index].trimmingCharacters(in: .whitespaces)
        }

        public func required(_ column: String) throws(PrivacyInputError) -> String {
            let value = self[column]
            guard !value.isEmpty else { throw problem("\(column) is empty") }
            return value
        }

        public func time(_ column: String, offset: Int32, required: Bool) throws(PrivacyInputError) -> Instant? {
            let text = self[column]
            if text.isEmpty {
                if required { throw problem("\(column) is empty") }
                return nil
            }
            guard let instant = Instant(iso: text, defaultOffset: offset) else {
                throw problem("\(column) \"\(text.prefix(40))\" is not an ISO 8601 date or time")
            }
            return instant
        }

        public func problem(_ text: String) -> PrivacyInputError {
            PrivacyInputError("\(table.what): line \(line): \(text)")
        }
    }
}

/// The standard context layouts.
public enum ContextCSV {
    public static func departments(_ bytes: [UInt8]) throws(PrivacyInputError) -> [Department] {
        let table = try CSVTable(bytes, what: "departments.csv")
        try table.require(["code"])
        var result: [Department] = []
        try table.forEach { row throws(PrivacyInputError) in
            result.append(Department(code: try row.required("code"), label: row["label"], kind: row["kind"]))
        }
        return result
    }

    public static func staff(_ bytes: [UInt8], offset: Int32) throws(PrivacyInputError) -> [StaffMember] {
        let table = try CSVTable(bytes, what: "staff.csv")
        try table.require(["staff_id", "family_name", "department", "role"])
        var result: [StaffMember] = []
        try table.forEach { row throws(PrivacyInputError) in
            let schedule = row["schedule"].lowercased()
            guard schedule.isEmpty || WorkSchedule(rawValue: schedule) != nil else {
                throw row.problem("schedule \"\(schedule)\" is neither shift nor office")
            }
            if !row["shift"].isEmpty, ShiftHours(row["shift"]) == nil {
                throw row.problem(
                    "shift \"\(row["shift"])\" is not day, night, morning, afternoon, evening or HH:MM-HH:MM")
            }
            result.append(
                StaffMember(
                    id: try row.required("staff_id"), givenName: row["given_name"], familyName: row["family_name"],
                    gender: row["gender"], birthDate: row["birth_date"], address: row["address"],
                    postalCode: row["postal_code"], city: row["city"], department: row["department"],
                    role: row["role"], roleLabel: row["role_label"],
                    schedule: WorkSchedule(rawValue: schedule) ?? (row["shift"].isEmpty ? .office : .shift),
                    shift: row["shift"], hireDate: try row.time("hire_date", offset: offset, required: false),
                    endDate: try row.time("end_date", offset: offset, required: false),
                    workstation: row["workstation"]))
        }
        return result
    }

    public static func patients(_ bytes: [UInt8], offset: Int32) throws(PrivacyInputError) -> [Patient] {
        let table = try CSVTable(bytes, what: "patients.csv")
        try table.require(["patient_id", "family_name"])
        var result: [Patient] = []
        try table.forEach { row throws(PrivacyInputError) in
            let restricted = row["restricted"].lowercased()
            result.append(
                Patient(
                    id: try row.required("patient_id"), givenName: row["given_name"], familyName: row["family_name"],
                    gender: row["gender"], birthDate: row["birth_date"], address: row["address"],
                    postalCode: row["postal_code"], city: row["city"],
                    deceased: try row.time("deceased_datetime", offset: offset, required: false),
                    restricted: !(restricted.isEmpty || ["0", "false", "no", "non", "n"].contains(restricted))))
        }
        return result
    }

    public static func encounters(_ bytes: [UInt8], offset: Int32) throws(PrivacyInputError) -> [Encounter] {
        let table = try CSVTable(bytes, what: "encounters.csv")
        try table.require(["encounter_id", "patient_id", "department", "start"])
        var result: [Encounter] = []
        try table.forEach { row throws(PrivacyInputError) in
            let start = try row.time("start", offset: offset, required: true)!
            let end = try row.time("end", offset: offset, required: false)
            if let end, end < start { throw row.problem("end is before start") }
            let attending = row["attending_staff_id"].split(whereSeparator: { $0 == ";" || $0 == "|" }).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            result.append(
                Encounter(
                    id: try row.required("encounter_id"), patient: try row.required("patient_id"), kind: row["class"],
                    department: try row.required("department"), attending: attending.filter { !$0.isEmpty },
                    start: start, end: end, dischargeDisposition: row["discharge_disposition"]))
        }
        return result
    }

    public static func careEvents(_ bytes: [UInt8], offset: Int32) throws(PrivacyInputError) -> [CareEvent] {
        let table = try CSVTable(bytes, what: "care_events.csv")
        try table.require(["patient_id", "kind", "department", "time"])
        var result: [CareEvent] = []
        try table.forEach { row throws(PrivacyInputError) in
            result.append(
                CareEvent(
                    encounter: row["encounter_id"], patient: try row.required("patient_id"),
                    kind: try row.required("kind"), department: try row.required("department"),
                    staff: row["staff_id"], time: try row.time("time", offset: offset, required: true)!))
        }
        return result
    }
}

/// The hours of a named or written shift, as seconds since midnight (an end before the start crosses midnight).
public struct ShiftHours: Sendable, Hashable {
    public var start: Int
    public var end: Int

    public init?(_ text: String) {
        switch text.lowercased() {
        case "day", "jour": (start, end) = (7 * 3600, 19 * 3600)
        case "night", "nuit": (start, end) = (19 * 3600, 7 * 3600)
        case "morning", "matin": (start, end) = (6 * 3600, 14 * 3600)
        case "afternoon", "apres-midi", "après-midi": (start, end) = (14 * 3600, 22 * 3600)
        case "evening", "soir": (start, end) = (16 * 3600, 0)
        default:
            let parts = text.split(separator: "-")
            guard parts.count == 2, let from = Self.clock(parts[0]), let to = Self.clock(parts[1]) else { return nil }
            (start, end) = (from, to)
        }
    }

    static func clock(_ text: Substring) -> Int? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":")
        guard (1...2).contains(parts.count), let hour = Int(parts[0]), (0...24).contains(hour) else { return nil }
        let minute = parts.count == 2 ? Int(parts[1]) : 0
        guard let minute, (0..<60).contains(minute) else { return nil }
        return hour * 3600 + minute * 60
    }

    /// Whether `second` (since midnight) falls within the shift widened by `margin` seconds on both sides.
    public func contains(_ second: Int, margin: Int) -> Bool {
        let from = (start - margin + 86_400) % 86_400
        let to = (end + margin) % 86_400
        if from == to { return true }
        return from < to ? (second >= from && second < to) : (second >= from || second < to)
    }
}
