import FluentKit
public import Foundation
import HygieCore
import HygieIncidents
public import HygieStorage
public import PrivacyCore
import SQLKit
import STIX

extension PrivacyService {
    // MARK: Queue

    /// Incidents of the establishment, highest score first (open ones first when no status is given).
    public func incidents(status: PrivacyIncidentStatus? = nil, limit: Int = 200, in scope: TenantScope) async throws
        -> [PrivacyIncident]
    {
        try scope.require(Self.officers)
        let establishment = scope.establishmentID.uuid
        let filter: SQLQueryString = status.map { "AND i.status = \(bind: $0.rawValue)" } ?? ""
        return try await incidentRows(
            """
            WHERE i.establishment_id = \(bind: establishment) \(filter) ORDER BY CASE WHEN i.status = 'open' THEN 0 \
            ELSE 1 END, i.score DESC, i.last_at DESC LIMIT \(unsafeRaw: String(max(1, min(limit, 1000))))
            """, establishment)
    }

    func incidentRows(_ clause: SQLQueryString, _ establishment: UUID) async throws -> [PrivacyIncident] {
        let rows = try await sql.raw(
            """
            SELECT i.id, i.user_id, i.status, i.score, i.flags, i.patterns, i.first_at, i.last_at, i.decision_notes, \
            i.decided_by, i.decided_at, i.case_id, s.display_name, s.department, s.role FROM priv_incidents i \
            LEFT JOIN priv_staff s ON s.establishment_id = i.establishment_id AND s.staff_id = i.user_id \(clause)
            """
        ).all()
        return try rows.map { row in
            PrivacyIncident(
                id: try row.decode(column: "id", as: Int64.self),
                userID: try row.decode(column: "user_id", as: String.self),
                userName: try row.decode(column: "display_name", as: String?.self) ?? "",
                userDepartment: try row.decode(column: "department", as: String?.self) ?? "",
                userRole: try row.decode(column: "role", as: String?.self) ?? "",
                status: PrivacyIncidentStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
                score: Int(try row.decode(column: "score", as: Int64.self)),
                flags: Int(try row.decode(column: "flags", as: Int64.self)),
                patterns: try row.decode(column: "patterns", as: String.self).split(separator: ",").compactMap {
                    AccessPattern(rawValue: String($0))
                },
                firstAt: Self.date(try row.decode(column: "first_at", as: Int64.self)),
                lastAt: Self.date(try row.decode(column: "last_at", as: Int64.self)),
                decisionNotes: try row.decode(column: "decision_notes", as: String.self),
                decidedBy: try row.decode(column: "decided_by", as: String.self),
                decidedAt: try row.decode(column: "decided_at", as: Int64?.self).map(Self.date),
                caseID: try row.decode(column: "case_id", as: Int64?.self))
        }
    }

    func incidentRow(_ id: Int64, _ establishment: UUID) async throws -> PrivacyIncident {
        guard
            let incident = try await incidentRows(
                "WHERE i.id = \(bind: id) AND i.establishment_id = \(bind: establishment)", establishment
            ).first
        else { throw PrivacyError.notFound("incident") }
        return incident
    }

    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// One incident with its flagged accesses. Every view is written to the audit trail.
    public func incident(_ id: Int64, in scope: TenantScope) async throws -> PrivacyIncidentDetail {
        try scope.require(Self.officers)
        let establishment = scope.establishmentID.uuid
        let incident = try await incidentRow(id, establishment)
        let flags = try await flags(of: id, establishment)
        let days = Set(flags.map { Int64(Instant(seconds: Int64($0.at.timeIntervalSince1970)).localDay) })
        var explained = 0
        if !days.isEmpty {
            explained =
                try await sql.raw(
                    """
                    SELECT COUNT(*) AS n FROM priv_accesses WHERE establishment_id = \(bind: establishment) \
                    AND user_id = \(bind: incident.userID) AND status = 'explained' \
                    AND local_day IN (\(SQLList(days.map { SQLBind($0) })))
                    """
                ).first()?.decode(column: "n", as: Int.self) ?? 0
        }
        try await audit.recording(
            AuditEntry(
                action: "privacy.incident.view", objectType: "privacy_incident", objectID: String(id),
                summary: "EHR incident \(id) viewed (\(flags.count) flagged accesses of \(incident.userID))",
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { _ in }
        return PrivacyIncidentDetail(incident: incident, flags: flags, explainedSameDays: explained)
    }

    func flags(of incident: Int64, _ establishment: UUID) async throws -> [PrivacyFlag] {
        let rows = try await sql.raw(
            """
            SELECT f.id, f.patient_key, f.at, f.patterns, f.reasons, f.score, a.event_id, a.utc_offset, a.emergency, \
            a.justification, a.action FROM priv_flags f JOIN priv_accesses a ON a.id = f.access_id \
            WHERE f.establishment_id = \(bind: establishment) AND f.incident_id = \(bind: incident) ORDER BY f.at, f.id
            """
        ).all()
        return try rows.map { row in
            let at = try row.decode(column: "at", as: Int64.self)
            let offset = Int32(try row.decode(column: "utc_offset", as: Int64.self))
            return PrivacyFlag(
                id: try row.decode(column: "id", as: Int64.self),
                eventID: try row.decode(column: "event_id", as: String.self),
                at: Self.date(at), wallClock: Instant(seconds: at / 1000, offset: offset).iso,
                patientKey: try row.decode(column: "patient_key", as: String.self),
                patterns: try row.decode(column: "patterns", as: String.self).split(separator: ",").compactMap {
                    AccessPattern(rawValue: String($0))
                },
                reasons: (try? JSONDecoder().decode(
                    [String].self, from: Data(try row.decode(column: "reasons", as: String.self).utf8))) ?? [],
                score: Int(try row.decode(column: "score", as: Int64.self)),
                emergency: try row.decode(column: "emergency", as: Bool.self),
                justification: try row.decode(column: "justification", as: String.self),
                action: try row.decode(column: "action", as: String.self))
        }
    }

    // MARK: Decisions

    /// Records the officer's decision. An inappropriate access can open an incident case (type `ehr_access`,
    /// personal-data breach to assess for the CNIL), linked to the incident.
    public func decide(
        _ id: Int64, _ status: PrivacyIncidentStatus, notes: String, openCase: Bool, language: String = "fr",
        in scope: TenantScope
    ) async throws -> PrivacyIncidentDetail {
        try scope.require(Self.officers)
        guard status != .open else {
            throw PrivacyError.invalid("a decision is legitimate, inappropriate or interview")
        }
        let notes = notes.trimmingCharacters(in: .whitespacesAndNewlines)
        guard notes.count <= 10_000 else { throw PrivacyError.invalid("notes are longer than 10000 characters") }
        guard !(status == .inappropriate && notes.isEmpty) else {
            throw PrivacyError.invalid("say why the access is inappropriate (notes)")
        }
        guard !openCase || status == .inappropriate else {
            throw PrivacyError.invalid("a case is opened for an inappropriate access only")
        }
        let establishment = scope.establishmentID.uuid
        let incident = try await incidentRow(id, establishment)
        let now = clock.now().milliseconds
        let actor = scope.actor.displayName
        try await audit.recording(
            AuditEntry(
                action: "privacy.incident.decide", objectType: "privacy_incident", objectID: String(id),
                summary: "EHR incident \(id) of \(incident.userID) decided \(status.rawValue)",
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { db in
            try await db.raw(
                """
                UPDATE priv_incidents SET status = \(bind: status.rawValue), decision_notes = \(bind: notes), \
                decided_by = \(bind: actor), decided_at = \(bind: now), updated_at = \(bind: now) \
                WHERE id = \(bind: id) AND establishment_id = \(bind: establishment)
                """
            ).run()
        }
        if openCase {
            let english = language == "en"
            let patterns = incident.patterns.map(\.rawValue).joined(separator: ", ")
            let title =
                english
                ? "Inappropriate EHR access by \(incident.userName.isEmpty ? incident.userID : incident.userName)"
                : "Accès inapproprié au DPI par \(incident.userName.isEmpty ? incident.userID : incident.userName)"
            let detail = try await cases.open(
                CaseInput(
                    title: title,
                    description: (english
                        ? "\(incident.flags) flagged access(es) (\(patterns)), privacy incident \(id). "
                        : "\(incident.flags) accès signalé(s) (\(patterns)), incident de confidentialité \(id). ")
                        + notes,
                    type: .ehrAccess, severity: incident.score >= 80 ? .high : .medium, tlp: .red, pap: .red,
                    occurredAt: incident.firstAt, detectedAt: incident.lastAt, language: language),
                source: "privacy:\(id)",
                link: CaseLink(kind: "privacy", ref: String(id), title: "EHR incident \(id) (\(incident.userID))"),
                observables: [ObservableInput(kind: "user-account", value: incident.userID, sighted: true)], in: scope)
            try await sql.raw(
                """
                UPDATE priv_incidents SET case_id = \(bind: detail.incident.id) WHERE id = \(bind: id) \
                AND establishment_id = \(bind: establishment)
                """
            ).run()
        }
        return try await self.incident(id, in: scope)
    }

    // MARK: Patients

    /// The patient behind a pseudonym, for the privacy officer only; each time is audited.
    public func reidentify(_ patientKey: String, in scope: TenantScope) async throws -> Patient {
        try scope.require(Self.officers)
        let establishment = scope.establishmentID.uuid
        guard
            let row = try await sql.raw(
                """
                SELECT sealed_identity, restricted FROM priv_patients WHERE establishment_id = \(bind: establishment) \
                AND patient_key = \(bind: patientKey)
                """
            ).first()
        else { throw PrivacyError.notFound("patient") }
        guard let sealed = Data(base64Encoded: try row.decode(column: "sealed_identity", as: String.self)) else {
            throw PrivacyError.invalid("damaged patient identity")
        }
        var patient = try JSONDecoder().decode(Patient.self, from: try box().open(sealed))
        // A VIP list marks the record after its identity was sealed.
        patient.restricted = try row.decode(column: "restricted", as: Bool.self)
        try await audit.recording(
            AuditEntry(
                action: "privacy.reidentify", objectType: "privacy_patient", objectID: patientKey,
                summary: "patient \(patientKey) re-identified", establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { _ in }
        return patient
    }

    /// "Who accessed my record": every access kept for the patient, with who, when and why it was legitimate.
    public func accesses(ofPatient patientID: String, in scope: TenantScope) async throws -> (
        key: String, lines: [AccessLine]
    ) {
        try scope.require(Self.officers)
        let id = patientID.trimmingCharacters(in: .whitespaces)
        guard !id.isEmpty, id.count <= 100 else { throw PrivacyError.invalid("give the patient's identifier (IPP)") }
        let establishment = scope.establishmentID.uuid
        let key = try await pseudonymizer(establishment)(id)
        let rows = try await sql.raw(
            """
            SELECT a.event_id, a.at, a.utc_offset, a.user_id, a.action, a.emergency, a.status, a.explanation, \
            s.display_name, s.role, s.department FROM priv_accesses a LEFT JOIN priv_staff s ON \
            s.establishment_id = a.establishment_id AND s.staff_id = a.user_id \
            WHERE a.establishment_id = \(bind: establishment) AND a.patient_key = \(bind: key) ORDER BY a.at DESC LIMIT 5000
            """
        ).all()
        let lines = try rows.map { row in
            let at = try row.decode(column: "at", as: Int64.self)
            return AccessLine(
                eventID: try row.decode(column: "event_id", as: String.self), at: Self.date(at),
                wallClock: Instant(
                    seconds: at / 1000, offset: Int32(try row.decode(column: "utc_offset", as: Int64.self))
                ).iso,
                userID: try row.decode(column: "user_id", as: String.self),
                userName: try row.decode(column: "display_name", as: String?.self) ?? "",
                role: try row.decode(column: "role", as: String?.self) ?? "",
                department: try row.decode(column: "department", as: String?.self) ?? "",
                action: try row.decode(column: "action", as: String.self),
                emergency: try row.decode(column: "emergency", as: Bool.self),
                status: try row.decode(column: "status", as: String.self),
                explanation: try row.decode(column: "explanation", as: String.self))
        }
        try await audit.recording(
            AuditEntry(
                action: "privacy.patient-report", objectType: "privacy_patient", objectID: key,
                summary: "access report of patient \(key) (\(lines.count) accesses)",
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { _ in }
        return (key, lines)
    }

    /// The incident file: the incident, its flags with each patient re-identified, the user's directory entry.
    /// Audited as a re-identification of every patient in it.
    public func export(_ id: Int64, in scope: TenantScope) async throws -> IncidentFile {
        let detail = try await incident(id, in: scope)
        var patients: [String: Patient] = [:]
        for key in Set(detail.flags.map(\.patientKey)) {
            patients[key] = try? await reidentify(key, in: scope)
        }
        let staff = try await sql.raw(
            """
            SELECT record FROM priv_staff WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            AND staff_id = \(bind: detail.incident.userID)
            """
        ).first().flatMap { row in
            try? JSONDecoder().decode(
                StaffMember.self, from: Data(try row.decode(column: "record", as: String.self).utf8))
        }
        return IncidentFile(
            exportedAt: clock.now(), exportedBy: scope.actor.displayName, incident: detail.incident, user: staff,
            flags: detail.flags, patients: patients, explainedSameDays: detail.explainedSameDays)
    }

    // MARK: Statistics

    /// Counts per month over `months` months, by explanation, pattern and decision; no patient, no name.
    public func statistics(months: Int = 12, in scope: TenantScope) async throws -> PrivacyStatistics {
        try scope.require(Self.statisticsReaders)
        let establishment = scope.establishmentID.uuid
        let since = clock.now().milliseconds - Int64(max(1, min(months, 60))) * 31 * 86_400_000
        var perMonth: [String: PrivacyStatistics.Period] = [:]
        var perDay: [String: PrivacyStatistics.Period] = [:]
        let today = Instant(seconds: Int64(clock.now().timeIntervalSince1970)).localDay
        var byExplanation: [String: Int] = [:]
        let rows = try await sql.raw(
            """
            SELECT local_day, status, explanation, emergency, COUNT(*) AS n FROM priv_accesses \
            WHERE establishment_id = \(bind: establishment) AND at >= \(bind: since) \
            GROUP BY local_day, status, explanation, emergency
            """
        ).all()
        var totals = (accesses: 0, explained: 0, flagged: 0, pending: 0, emergency: 0)
        for row in rows {
            let day = try row.decode(column: "local_day", as: Int64.self)
            let date = Instant(seconds: day * 86_400).isoDate
            let month = String(date.prefix(7))
            let count = try row.decode(column: "n", as: Int.self)
            let status = try row.decode(column: "status", as: String.self)
            let emergency = try row.decode(column: "emergency", as: Bool.self)
            if day > Int64(today) - 30 {
                var entry = perDay[date] ?? .init(period: date, accesses: 0, explained: 0, flagged: 0, emergency: 0)
                entry.accesses += count
                if emergency { entry.emergency += count }
                if status == "explained" { entry.explained += count }
                if status == "flagged" { entry.flagged += count }
                perDay[date] = entry
            }
            var entry = perMonth[month] ?? .init(period: month, accesses: 0, explained: 0, flagged: 0, emergency: 0)
            entry.accesses += count
            totals.accesses += count
            if emergency {
                entry.emergency += count
                totals.emergency += count
            }
            switch status {
            case "explained":
                entry.explained += count
                totals.explained += count
                byExplanation[try row.decode(column: "explanation", as: String.self), default: 0] += count
            case "flagged":
                entry.flagged += count
                totals.flagged += count
            default: totals.pending += count
            }
            perMonth[month] = entry
        }
        var byPattern: [String: Int] = [:]
        for row in try await sql.raw(
            """
            SELECT patterns FROM priv_flags WHERE establishment_id = \(bind: establishment) AND at >= \(bind: since)
            """
        ).all() {
            for pattern in try row.decode(column: "patterns", as: String.self).split(separator: ",") {
                byPattern[String(pattern), default: 0] += 1
            }
        }
        var byStatus: [String: Int] = [:]
        var casesOpened = 0
        for row in try await sql.raw(
            """
            SELECT status, COUNT(*) AS n, COUNT(case_id) AS cases FROM priv_incidents \
            WHERE establishment_id = \(bind: establishment) AND last_at >= \(bind: since) GROUP BY status
            """
        ).all() {
            byStatus[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
            casesOpened += try row.decode(column: "cases", as: Int.self)
        }
        return PrivacyStatistics(
            months: perMonth.values.sorted { $0.period < $1.period },
            days: perDay.values.sorted { $0.period < $1.period },
            accesses: totals.accesses,
            explained: totals.explained, flagged: totals.flagged, pending: totals.pending, emergency: totals.emergency,
            byExplanation: byExplanation, byPattern: byPattern, incidentsByStatus: byStatus, casesOpened: casesOpened,
            context: try await contextCounts(in: scope))
    }
}

/// An incident exported for the file (disciplinary procedure, the CNIL, the patient's request).
public struct IncidentFile: Sendable, Codable {
    public var exportedAt: Date
    public var exportedBy: String
    public var incident: PrivacyIncident
    public var user: StaffMember?
    public var flags: [PrivacyFlag]
    public var patients: [String: Patient]
    public var explainedSameDays: Int
}
