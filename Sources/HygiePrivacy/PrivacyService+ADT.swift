import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import PrivacyCore
import SQLKit

extension PrivacyService {
    /// Applies one ADT message to the establishment's stays (admissions, transfers, discharges and their
    /// cancellations), and updates the patient (pseudonymised). Returns the ACK to send back.
    public func applyADT(_ text: String, establishment: UUID) async throws -> String {
        let now = Instant(seconds: Int64(clock.now().timeIntervalSince1970))
        let message: HL7Message
        do { message = try HL7Message(text) } catch {
            return ADTMessage.acknowledgement(for: nil, code: "AR", error: error.message, now: now)
        }
        do {
            let offset = try await settings(establishment).analysis.defaultOffset
            let adt = try ADTMessage(message, defaultOffset: offset)
            try await apply(adt, establishment: establishment)
            return ADTMessage.acknowledgement(for: message, code: "AA", now: now)
        } catch let error as HL7Error {
            return ADTMessage.acknowledgement(for: message, code: "AE", error: error.message, now: now)
        } catch {
            return ADTMessage.acknowledgement(
                for: message, code: "AE", error: "the message could not be stored", now: now)
        }
    }

    /// A file of ADT messages (one after the other, or MLLP-framed): applied in order, every message checked
    /// first so that a bad file changes nothing.
    public func importADT(_ bytes: [UInt8], in scope: TenantScope) async throws -> ImportResult {
        try scope.require(Self.managers)
        let establishment = scope.establishmentID.uuid
        let offset = try await settings(establishment).analysis.defaultOffset
        var texts: [String] = []
        if bytes.contains(MLLPFramer.start) {
            var framer = MLLPFramer()
            for output in framer.feed(bytes) {
                switch output {
                case .message(let message): texts.append(String(decoding: message, as: UTF8.self))
                case .error(let problem): throw PrivacyError.invalid("MLLP framing: \(problem)")
                }
            }
        } else {
            // Messages follow each other: each starts at an MSH segment at the start of a line.
            let text = String(decoding: bytes, as: UTF8.self)
            var current = ""
            for line in text.split(
                omittingEmptySubsequences: true, whereSeparator: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" })
            {
                if line.hasPrefix("MSH"), !current.isEmpty {
                    texts.append(current)
                    current = ""
                }
                current += line + "\r"
            }
            if !current.isEmpty { texts.append(current) }
        }
        guard !texts.isEmpty else { throw PrivacyError.invalid("no HL7 message in the file") }
        var messages: [ADTMessage] = []
        for (index, text) in texts.enumerated() {
            do { messages.append(try ADTMessage(try HL7Message(text), defaultOffset: offset)) } catch {
                throw PrivacyError.invalid("message \(index + 1): \(error.message)")
            }
        }
        try await audit.recording(
            AuditEntry(
                action: "privacy.import", objectType: "privacy", objectID: nil,
                summary: "\(messages.count) ADT messages imported", establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { _ in }
        for message in messages { try await apply(message, establishment: establishment, bumpVersion: false) }
        let requeued = try await contextChanged(establishment)
        return ImportResult(kind: "adt", rows: messages.count, requeued: requeued)
    }

    func apply(_ adt: ADTMessage, establishment: UUID, bumpVersion: Bool = true) async throws {
        let pseudonym = try await pseudonymizer(establishment)
        let box = try box()
        let now = clock.now().milliseconds
        let key = pseudonym(adt.patient.id)
        let row = try Self.patientRow(adt.patient, establishment, pseudonym, box, now: now)
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // both drivers are SQL databases
            try await Self.upsertPatients(sql, [row])
            for change in adt.changes { try await Self.apply(change, sql, establishment, key) }
        }
        if bumpVersion { _ = try await contextChanged(establishment) }
    }

    /// The unit segments of a visit, oldest first.
    static func segments(_ sql: any SQLDatabase, _ establishment: UUID, _ visit: String) async throws
        -> [(id: Int64, department: String, end: Int64?)]
    {
        try await sql.raw(
            """
            SELECT id, department, end_at FROM priv_encounters WHERE establishment_id = \(bind: establishment) \
            AND visit = \(bind: visit) AND source = 'adt' ORDER BY start_at, id
            """
        ).all().map {
            (
                try $0.decode(column: "id", as: Int64.self), try $0.decode(column: "department", as: String.self),
                try $0.decode(column: "end_at", as: Int64?.self)
            )
        }
    }

    static func apply(_ change: ADTChange, _ sql: any SQLDatabase, _ establishment: UUID, _ patient: String)
        async throws
    {
        func open(_ visit: String, _ index: Int, _ kind: String, _ unit: String, _ attending: [String], _ at: Instant)
            async throws
        {
            try await sql.raw(
                """
                INSERT INTO priv_encounters (establishment_id, encounter_id, visit, patient_key, class, department, \
                attending, start_at, end_at, disposition, source) VALUES (\(bind: establishment), \
                \(bind: "\(visit)#\(index)"), \(bind: visit), \(bind: patient), \(bind: kind), \(bind: unit), \
                \(bind: attending.joined(separator: ";")), \(bind: at.seconds * 1000), NULL, '', 'adt')
                """
            ).run()
        }
        switch change {
        case .stay(let visit, _, let kind, let unit, let attending, let at):
            let segments = try await segments(sql, establishment, visit)
            if let last = segments.last, last.end == nil {
                if last.department == unit {
                    try await sql.raw(
                        """
                        UPDATE priv_encounters SET attending = \(bind: attending.joined(separator: ";")), \
                        class = \(bind: kind) WHERE id = \(bind: last.id)
                        """
                    ).run()
                    return
                }
                try await sql.raw(
                    "UPDATE priv_encounters SET end_at = \(bind: at.seconds * 1000) WHERE id = \(bind: last.id)"
                ).run()
            }
            try await open(visit, segments.count + 1, kind, unit, attending, at)
        case .transfer(let visit, _, let unit, let attending, let at):
            let segments = try await segments(sql, establishment, visit)
            var kind = "inpatient"
            if let last = segments.last, last.end == nil {
                try await sql.raw(
                    "UPDATE priv_encounters SET end_at = \(bind: at.seconds * 1000) WHERE id = \(bind: last.id)"
                ).run()
                kind =
                    try await sql.raw("SELECT class FROM priv_encounters WHERE id = \(bind: last.id)").first()?.decode(
                        column: "class", as: String.self) ?? kind
            }
            try await open(visit, segments.count + 1, kind, unit, attending, at)
        case .discharge(let visit, let at, let disposition):
            guard let last = try await segments(sql, establishment, visit).last else {
                throw HL7Error("A03 for visit \(visit), which was never admitted")
            }
            try await sql.raw(
                """
                UPDATE priv_encounters SET end_at = \(bind: at.seconds * 1000), disposition = \(bind: disposition) \
                WHERE id = \(bind: last.id)
                """
            ).run()
        case .cancelAdmit(let visit):
            try await sql.raw(
                """
                DELETE FROM priv_encounters WHERE establishment_id = \(bind: establishment) AND visit = \(bind: visit) \
                AND source = 'adt'
                """
            ).run()
        case .cancelTransfer(let visit):
            let segments = try await segments(sql, establishment, visit)
            guard segments.count >= 2, let last = segments.last else {
                throw HL7Error("A12 for visit \(visit), which has no transfer to cancel")
            }
            try await sql.raw("DELETE FROM priv_encounters WHERE id = \(bind: last.id)").run()
            try await sql.raw(
                "UPDATE priv_encounters SET end_at = NULL WHERE id = \(bind: segments[segments.count - 2].id)"
            ).run()
        case .cancelDischarge(let visit):
            guard let last = try await segments(sql, establishment, visit).last else {
                throw HL7Error("A13 for visit \(visit), which was never admitted")
            }
            try await sql.raw("UPDATE priv_encounters SET end_at = NULL, disposition = '' WHERE id = \(bind: last.id)")
                .run()
        }
    }
}
