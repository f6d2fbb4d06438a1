import FluentKit
import Foundation
import HygieCore
public import HygieStorage
import PrivacyCore
import SQLKit

extension PrivacyService {
    /// Imports one context file in the standard layout. Staff and departments replace the previous directory
    /// (HR exports are whole); patients are updated or added; encounters and care events replace the rows of the
    /// same encounters. Every line is checked first: a bad file changes nothing.
    public func importContext(_ kind: ContextKind, _ bytes: [UInt8], in scope: TenantScope) async throws -> ImportResult
    {
        try scope.require(Self.managers)
        let establishment = scope.establishmentID.uuid
        let pseudonym = try await pseudonymizer(establishment)
        let offset = try await settings(establishment).analysis.defaultOffset
        let box = try box()
        let now = clock.now().milliseconds
        var rows = 0
        func parsed<T>(_ body: () throws(PrivacyInputError) -> T) throws -> T {
            do { return try body() } catch {
                throw PrivacyError.invalid(error.problems.prefix(20).joined(separator: "\n"))
            }
        }
        switch kind {
        case .departments:
            let departments = try parsed { () throws(PrivacyInputError) in try ContextCSV.departments(bytes) }
            rows = departments.count
            try await changing("privacy.import", "\(rows) departments imported", scope) { db in
                try await db.raw("DELETE FROM priv_departments WHERE establishment_id = \(bind: establishment)").run()
                for chunk in departments.chunked(200) {
                    try await db.insert(into: "priv_departments").columns("establishment_id", "code", "label", "kind")
                        .rows(
                            chunk.map {
                                [SQLBind(establishment), SQLBind($0.code), SQLBind($0.label), SQLBind($0.kind)]
                            }
                        )
                        .run()
                }
            }
        case .staff:
            let staff = try parsed { () throws(PrivacyInputError) in try ContextCSV.staff(bytes, offset: offset) }
            rows = staff.count
            let encoder = JSONEncoder()
            let records = try staff.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
            try await changing("privacy.import", "\(rows) staff imported", scope) { db in
                try await db.raw("DELETE FROM priv_staff WHERE establishment_id = \(bind: establishment)").run()
                for chunk in Array(zip(staff, records)).chunked(200) {
                    try await db.insert(into: "priv_staff")
                        .columns("establishment_id", "staff_id", "record", "department", "role", "display_name")
                        .rows(
                            chunk.map { member, record in
                                [
                                    SQLBind(establishment), SQLBind(member.id), SQLBind(record),
                                    SQLBind(member.department), SQLBind(member.role),
                                    SQLBind("\(member.givenName) \(member.familyName)"),
                                ]
                            }
                        ).run()
                }
            }
        case .patients:
            let patients = try parsed { () throws(PrivacyInputError) in try ContextCSV.patients(bytes, offset: offset) }
            rows = patients.count
            try await storePatients(patients, pseudonym: pseudonym, box: box, now: now, scope: scope)
        case .encounters:
            let encounters = try parsed { () throws(PrivacyInputError) in
                try ContextCSV.encounters(bytes, offset: offset)
            }
            rows = encounters.count
            try await changing("privacy.import", "\(rows) encounters imported", scope) { db in
                for chunk in encounters.chunked(200) {
                    try await db.raw(
                        """
                        DELETE FROM priv_encounters WHERE establishment_id = \(bind: establishment) AND \
                        encounter_id IN (\(SQLList(chunk.map { SQLBind($0.id) })))
                        """
                    ).run()
                    try await Self.insertEncounters(db, chunk, establishment, pseudonym, source: "csv")
                }
            }
        case .careEvents:
            let events = try parsed { () throws(PrivacyInputError) in try ContextCSV.careEvents(bytes, offset: offset) }
            rows = events.count
            try await changing("privacy.import", "\(rows) care events imported", scope) { db in
                let encounters = Array(Set(events.map(\.encounter).filter { !$0.isEmpty }))
                for chunk in encounters.chunked(200) {
                    try await db.raw(
                        """
                        DELETE FROM priv_care_events WHERE establishment_id = \(bind: establishment) AND \
                        encounter_id IN (\(SQLList(chunk.map { SQLBind($0) })))
                        """
                    ).run()
                }
                for chunk in events.chunked(200) {
                    try await db.insert(into: "priv_care_events")
                        .columns(
                            "establishment_id", "encounter_id", "patient_key", "kind", "department", "staff_id", "at"
                        )
                        .rows(
                            chunk.map {
                                [
                                    SQLBind(establishment), SQLBind($0.encounter), SQLBind(pseudonym($0.patient)),
                                    SQLBind($0.kind), SQLBind($0.department), SQLBind($0.staff),
                                    SQLBind($0.time.seconds * 1000),
                                ]
                            }
                        ).run()
                }
            }
        case .vip:
            let table = try parsed { () throws(PrivacyInputError) in
                let table = try CSVTable(bytes, what: "VIP list")
                try table.require(["patient_id"])
                return table
            }
            var ids: [String] = []
            try parsed { () throws(PrivacyInputError) in
                try table.forEach { row throws(PrivacyInputError) in ids.append(try row.required("patient_id")) }
            }
            rows = ids.count
            let known = try await sql.raw(
                "SELECT patient_key FROM priv_patients WHERE establishment_id = \(bind: establishment)"
            ).all().map { try $0.decode(column: "patient_key", as: String.self) }
            let missing = ids.filter { !Set(known).contains(pseudonym($0)) }.map { Patient(id: $0) }
            if !missing.isEmpty {
                try await storePatients(missing, pseudonym: pseudonym, box: box, now: now, scope: scope)
            }
            let keys = ids.map { pseudonym($0) }
            try await changing("privacy.import", "\(rows) VIP records marked restricted", scope) { db in
                for chunk in keys.chunked(200) {
                    try await db.raw(
                        """
                        UPDATE priv_patients SET restricted = \(bind: true) WHERE establishment_id = \(bind: establishment) \
                        AND patient_key IN (\(SQLList(chunk.map { SQLBind($0) })))
                        """
                    ).run()
                }
            }
        case .staffPatients:
            let table = try parsed { () throws(PrivacyInputError) in
                let table = try CSVTable(bytes, what: "staff who are patients")
                try table.require(["staff_id", "patient_id"])
                return table
            }
            var pairs: [(String, String)] = []
            try parsed { () throws(PrivacyInputError) in
                try table.forEach { row throws(PrivacyInputError) in
                    pairs.append((try row.required("staff_id"), pseudonym(try row.required("patient_id"))))
                }
            }
            rows = pairs.count
            let rowsToInsert = pairs
            try await changing("privacy.import", "\(rows) staff-patient pairs imported", scope) { db in
                try await db.raw("DELETE FROM priv_staff_patients WHERE establishment_id = \(bind: establishment)")
                    .run()
                for chunk in rowsToInsert.chunked(200) {
                    try await db.insert(into: "priv_staff_patients").columns(
                        "establishment_id", "staff_id", "patient_key"
                    )
                    .rows(chunk.map { [SQLBind(establishment), SQLBind($0.0), SQLBind($0.1)] })
                    .ignoringConflicts(with: ["establishment_id", "staff_id", "patient_key"])
                    .run()
                }
            }
        }
        let requeued = try await contextChanged(establishment)
        return ImportResult(kind: kind.rawValue, rows: rows, requeued: requeued)
    }

    func changing(
        _ action: String, _ summary: String, _ scope: TenantScope,
        _ body: @Sendable @escaping (any SQLDatabase) async throws -> Void
    )
        async throws
    {
        try await audit.recording(
            AuditEntry(
                action: action, objectType: "privacy", objectID: nil, summary: summary,
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database, body)
    }

    func storePatients(
        _ patients: [Patient], pseudonym: Pseudonymizer, box: SecretBox, now: Int64, scope: TenantScope
    ) async throws {
        let establishment = scope.establishmentID.uuid
        let rows = try patients.map { try Self.patientRow($0, establishment, pseudonym, box, now: now) }
        try await changing("privacy.import", "\(patients.count) patients imported (pseudonymised)", scope) { db in
            try await Self.upsertPatients(db, rows)
        }
    }

    /// A `priv_patients` row: the keyed values the analyser compares and the sealed identity.
    static func patientRow(
        _ patient: Patient, _ establishment: UUID, _ pseudonym: Pseudonymizer, _ box: SecretBox, now: Int64
    ) throws -> [any SQLExpression] {
        let keyed = PseudonymousPatient(patient, key: { pseudonym($0) })
        let sealed = try box.seal(try JSONEncoder().encode(patient)).base64EncodedString()
        return [
            SQLBind(establishment), SQLBind(keyed.key), SQLBind(keyed.surnameKeys.joined(separator: " ")),
            SQLBind(keyed.addressKey), SQLBind(keyed.identityKey), SQLBind(keyed.restricted),
            SQLBind(keyed.deceased.map { $0.seconds * 1000 }), SQLBind(sealed), SQLBind(now),
        ]
    }

    /// Adds patients or replaces what is known of them.
    static func upsertPatients(_ db: any SQLDatabase, _ rows: [[any SQLExpression]]) async throws {
        for chunk in rows.chunked(200) {
            try await db.insert(into: "priv_patients")
                .columns(
                    "establishment_id", "patient_key", "surname_keys", "address_key", "identity_key", "restricted",
                    "deceased_at", "sealed_identity", "updated_at"
                )
                .rows(chunk)
                .onConflict(with: ["establishment_id", "patient_key"]) { conflict in
                    conflict.set(excludedValueOf: "surname_keys").set(excludedValueOf: "address_key")
                        .set(excludedValueOf: "identity_key").set(excludedValueOf: "restricted")
                        .set(excludedValueOf: "deceased_at").set(excludedValueOf: "sealed_identity")
                        .set(excludedValueOf: "updated_at")
                }
                .run()
        }
    }

    static func insertEncounters(
        _ db: any SQLDatabase, _ encounters: some Collection<Encounter>, _ establishment: UUID,
        _ pseudonym: Pseudonymizer,
        source: String, visit: String? = nil
    ) async throws {
        guard !encounters.isEmpty else { return }
        try await db.insert(into: "priv_encounters")
            .columns(
                "establishment_id", "encounter_id", "visit", "patient_key", "class", "department", "attending",
                "start_at", "end_at", "disposition", "source"
            )
            .rows(
                encounters.map {
                    [
                        SQLBind(establishment), SQLBind($0.id), SQLBind(visit ?? $0.id), SQLBind(pseudonym($0.patient)),
                        SQLBind($0.kind), SQLBind($0.department), SQLBind($0.attending.joined(separator: ";")),
                        SQLBind($0.start.seconds * 1000), SQLBind($0.end.map { $0.seconds * 1000 }),
                        SQLBind($0.dischargeDisposition), SQLBind(source),
                    ]
                }
            ).run()
    }

    /// After a context change: a new version for every node's cache, and the recent flags of undecided incidents
    /// analysed again (a stay recorded late explains an access flagged early). Returns how many were requeued.
    func contextChanged(_ establishment: UUID) async throws -> Int {
        let now = clock.now().milliseconds
        try await sql.raw(
            """
            UPDATE priv_settings SET updated_at = CASE WHEN updated_at >= \(bind: now) THEN updated_at + 1 \
            ELSE \(bind: now) END WHERE establishment_id = \(bind: establishment)
            """
        ).run()
        let since = now - 14 * 86_400_000
        let rows = try await sql.raw(
            """
            UPDATE priv_accesses SET status = 'pending' WHERE establishment_id = \(bind: establishment) \
            AND status = 'flagged' AND at >= \(bind: since) AND id IN (SELECT f.access_id FROM priv_flags f \
            JOIN priv_incidents i ON i.id = f.incident_id WHERE f.establishment_id = \(bind: establishment) \
            AND i.status = 'open') RETURNING id
            """
        ).all()
        return rows.count
    }

    /// The analysis context of an establishment, from the cache while no import changed it.
    func context(_ establishment: UUID) async throws -> HospitalContext {
        let version =
            try await sql.raw("SELECT updated_at FROM priv_settings WHERE establishment_id = \(bind: establishment)")
            .first()?.decode(column: "updated_at", as: Int64.self) ?? 0
        let sql = self.sql
        return try await cache.get(establishment, version: version) {
            let pseudonym = try await pseudonymizer(establishment)
            var context = HospitalContext()
            context.keying = { pseudonym($0) }
            for row in try await sql.raw(
                "SELECT code, label, kind FROM priv_departments WHERE establishment_id = \(bind: establishment)"
            ).all() {
                context.add(
                    Department(
                        code: try row.decode(column: "code", as: String.self),
                        label: try row.decode(column: "label", as: String.self),
                        kind: try row.decode(column: "kind", as: String.self)))
            }
            let decoder = JSONDecoder()
            for row in try await sql.raw(
                "SELECT record FROM priv_staff WHERE establishment_id = \(bind: establishment)"
            ).all() {
                let record = try row.decode(column: "record", as: String.self)
                context.add(try decoder.decode(StaffMember.self, from: Data(record.utf8)))
            }
            for row in try await sql.raw(
                """
                SELECT patient_key, surname_keys, address_key, identity_key, restricted, deceased_at FROM priv_patients \
                WHERE establishment_id = \(bind: establishment)
                """
            ).all() {
                context.add(
                    PseudonymousPatient(
                        key: try row.decode(column: "patient_key", as: String.self),
                        surnameKeys: try row.decode(column: "surname_keys", as: String.self).split(separator: " ").map(
                            String.init),
                        addressKey: try row.decode(column: "address_key", as: String.self),
                        identityKey: try row.decode(column: "identity_key", as: String.self),
                        restricted: try row.decode(column: "restricted", as: Bool.self),
                        deceased: try row.decode(column: "deceased_at", as: Int64?.self).map {
                            Instant(seconds: $0 / 1000)
                        }))
            }
            let pairs = try await sql.raw(
                "SELECT staff_id, patient_key FROM priv_staff_patients WHERE establishment_id = \(bind: establishment)"
            ).all().map {
                (
                    staff: try $0.decode(column: "staff_id", as: String.self),
                    patient: try $0.decode(column: "patient_key", as: String.self)
                )
            }
            context.linkStaffPatients(explicit: pairs)
            for row in try await sql.raw(
                """
                SELECT encounter_id, patient_key, class, department, attending, start_at, end_at, disposition \
                FROM priv_encounters WHERE establishment_id = \(bind: establishment)
                """
            ).all() {
                context.add(
                    Encounter(
                        id: try row.decode(column: "encounter_id", as: String.self),
                        patient: try row.decode(column: "patient_key", as: String.self),
                        kind: try row.decode(column: "class", as: String.self),
                        department: try row.decode(column: "department", as: String.self),
                        attending: try row.decode(column: "attending", as: String.self).split(separator: ";").map(
                            String.init),
                        start: Instant(seconds: try row.decode(column: "start_at", as: Int64.self) / 1000),
                        end: try row.decode(column: "end_at", as: Int64?.self).map { Instant(seconds: $0 / 1000) },
                        dischargeDisposition: try row.decode(column: "disposition", as: String.self)))
            }
            for row in try await sql.raw(
                """
                SELECT encounter_id, patient_key, kind, department, staff_id, at FROM priv_care_events \
                WHERE establishment_id = \(bind: establishment)
                """
            ).all() {
                context.add(
                    CareEvent(
                        encounter: try row.decode(column: "encounter_id", as: String.self),
                        patient: try row.decode(column: "patient_key", as: String.self),
                        kind: try row.decode(column: "kind", as: String.self),
                        department: try row.decode(column: "department", as: String.self),
                        staff: try row.decode(column: "staff_id", as: String.self),
                        time: Instant(seconds: try row.decode(column: "at", as: Int64.self) / 1000)))
            }
            return context
        }
    }

    /// How much context an establishment has.
    public func contextCounts(in scope: TenantScope) async throws -> [String: Int] {
        try scope.require(Self.statisticsReaders)
        let establishment = scope.establishmentID.uuid
        var counts: [String: Int] = [:]
        for (name, table) in [
            ("departments", "priv_departments"), ("staff", "priv_staff"), ("patients", "priv_patients"),
            ("encounters", "priv_encounters"), ("care_events", "priv_care_events"),
            ("staff_patients", "priv_staff_patients"),
        ] {
            counts[name] =
                try await sql.raw(
                    "SELECT COUNT(*) AS n FROM \(unsafeRaw: table) WHERE establishment_id = \(bind: establishment)"
                ).first()?.decode(column: "n", as: Int.self) ?? 0
        }
        return counts
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
