import FluentKit
import Foundation
import HygieCore
import HygieStorage
import PrivacyCore
import SQLKit

extension PrivacyService {
    /// Analyses the pending accesses of every establishment, a whole wall-clock day at a time (volume spikes
    /// compare each user-day with the peers' days). Flags join the open incident of their user, or open one.
    /// Returns the number of accesses analysed.
    @discardableResult
    func analyzePending(limitDays: Int = 20) async throws -> Int {
        let rows = try await sql.raw(
            """
            SELECT establishment_id, local_day FROM priv_accesses WHERE status = 'pending' \
            GROUP BY establishment_id, local_day ORDER BY local_day LIMIT \(unsafeRaw: String(limitDays))
            """
        ).all()
        var analysed = 0
        for row in rows {
            let establishment = try row.decode(column: "establishment_id", as: UUID.self)
            let day = try row.decode(column: "local_day", as: Int64.self)
            analysed += try await analyze(day: day, establishment: establishment)
        }
        return analysed
    }

    /// Works through pending accesses (a bulk import) in rounds of days until none is left, or `rounds` are done.
    /// Returns the number of accesses analysed.
    @discardableResult
    public func analyzeBacklog(rounds: Int = 50) async throws -> Int {
        var total = 0
        for _ in 0..<rounds {
            let analysed = try await analyzePending()
            total += analysed
            if analysed == 0 { break }
        }
        return total
    }

    func analyze(day: Int64, establishment: UUID) async throws -> Int {
        let context = try await context(establishment)
        let settings = try await settings(establishment).analysis
        let rows = try await sql.raw(
            """
            SELECT id, event_id, at, utc_offset, user_id, patient_key, action, emergency, justification, source, \
            status FROM priv_accesses WHERE establishment_id = \(bind: establishment) AND local_day = \(bind: day)
            """
        ).all()
        var analyzer = AccessAnalyzer(context: context, settings: settings)
        analyzer.keepExplanations = true
        var pending: Set<Int64> = []
        for row in rows {
            let id = try row.decode(column: "id", as: Int64.self)
            if try row.decode(column: "status", as: String.self) == "pending" { pending.insert(id) }
            analyzer.evaluate(
                AccessEvent(
                    id: String(id),
                    time: Instant(
                        seconds: try row.decode(column: "at", as: Int64.self) / 1000,
                        offset: Int32(try row.decode(column: "utc_offset", as: Int64.self))),
                    user: try row.decode(column: "user_id", as: String.self),
                    patient: try row.decode(column: "patient_key", as: String.self),
                    action: try row.decode(column: "action", as: String.self),
                    emergency: try row.decode(column: "emergency", as: Bool.self),
                    justification: try row.decode(column: "justification", as: String.self),
                    source: try row.decode(column: "source", as: String.self)))
        }
        let flags = analyzer.finish()
        let explained = analyzer.explained
        let now = clock.now().milliseconds
        try await database.transaction { db in
            let sql = db as! any SQLDatabase  // both drivers are SQL databases
            // Pending accesses that are explained now; a flag of an undecided incident that is explained now goes.
            var byExplanation: [String: [Int64]] = [:]
            for (id, explanation) in explained {
                guard let id = Int64(id) else { continue }
                byExplanation[explanation.rawValue, default: []].append(id)
            }
            var touched: Set<Int64> = []
            for (explanation, ids) in byExplanation {
                for chunk in ids.chunked(500) {
                    let list = SQLList(chunk.map { SQLBind($0) })
                    let removed = try await sql.raw(
                        """
                        DELETE FROM priv_flags WHERE establishment_id = \(bind: establishment) AND access_id IN (\(list)) \
                        AND incident_id IN (SELECT id FROM priv_incidents WHERE establishment_id = \(bind: establishment) \
                        AND status = 'open') RETURNING incident_id
                        """
                    ).all()
                    for row in removed { touched.insert(try row.decode(column: "incident_id", as: Int64.self)) }
                    try await sql.raw(
                        """
                        UPDATE priv_accesses SET status = 'explained', explanation = \(bind: explanation) \
                        WHERE establishment_id = \(bind: establishment) AND id IN (\(list)) AND (status = 'pending' \
                        OR id NOT IN (SELECT access_id FROM priv_flags WHERE establishment_id = \(bind: establishment)))
                        """
                    ).run()
                }
            }
            var incidentOf: [String: Int64] = [:]
            for flag in flags {
                guard let accessID = Int64(flag.event.id) else { continue }
                let patterns = flag.patterns.map(\.rawValue).joined(separator: ",")
                let reasons = String(decoding: try JSONEncoder().encode(flag.reasons), as: UTF8.self)
                try await sql.raw(
                    """
                    UPDATE priv_accesses SET status = 'flagged', explanation = '' WHERE id = \(bind: accessID) \
                    AND establishment_id = \(bind: establishment)
                    """
                ).run()
                if let existing = try await sql.raw(
                    """
                    SELECT incident_id, patterns FROM priv_flags WHERE establishment_id = \(bind: establishment) \
                    AND access_id = \(bind: accessID)
                    """
                ).first() {
                    let incident = try existing.decode(column: "incident_id", as: Int64.self)
                    if try existing.decode(column: "patterns", as: String.self) != patterns {
                        try await sql.raw(
                            """
                            UPDATE priv_flags SET patterns = \(bind: patterns), reasons = \(bind: reasons), \
                            score = \(bind: Int64(flag.score)) WHERE establishment_id = \(bind: establishment) \
                            AND access_id = \(bind: accessID)
                            """
                        ).run()
                        touched.insert(incident)
                    }
                    continue
                }
                let user = flag.event.user
                let incident: Int64
                if let known = incidentOf[user] {
                    incident = known
                } else if let open = try await sql.raw(
                    """
                    SELECT id FROM priv_incidents WHERE establishment_id = \(bind: establishment) \
                    AND user_id = \(bind: user) AND status = 'open' ORDER BY id LIMIT 1
                    """
                ).first() {
                    incident = try open.decode(column: "id", as: Int64.self)
                } else {
                    guard
                        let created = try await sql.raw(
                            """
                            INSERT INTO priv_incidents (establishment_id, user_id, status, score, flags, patterns, \
                            first_at, last_at, decision_notes, decided_by, created_at, updated_at) VALUES \
                            (\(bind: establishment), \(bind: user), 'open', 0, 0, '', \(bind: now), \(bind: now), '', '', \
                            \(bind: now), \(bind: now)) RETURNING id
                            """
                        ).first()
                    else { throw PrivacyError.invalid("the incident could not be stored") }
                    incident = try created.decode(column: "id", as: Int64.self)
                }
                incidentOf[user] = incident
                touched.insert(incident)
                try await sql.raw(
                    """
                    INSERT INTO priv_flags (establishment_id, access_id, incident_id, user_id, patient_key, at, \
                    patterns, reasons, score) VALUES (\(bind: establishment), \(bind: accessID), \(bind: incident), \
                    \(bind: user), \(bind: flag.event.patient), \(bind: flag.event.time.seconds * 1000), \
                    \(bind: patterns), \(bind: reasons), \(bind: Int64(flag.score)))
                    """
                ).run()
            }
            for incident in touched { try await Self.refresh(incident, establishment, sql, now: now) }
        }
        return pending.count
    }

    /// Recomputes an incident's score, count, patterns and period from its flags; an open incident left without
    /// flags is deleted.
    static func refresh(_ incident: Int64, _ establishment: UUID, _ sql: any SQLDatabase, now: Int64) async throws {
        let rows = try await sql.raw(
            """
            SELECT patterns, score, at FROM priv_flags WHERE establishment_id = \(bind: establishment) \
            AND incident_id = \(bind: incident)
            """
        ).all()
        guard !rows.isEmpty else {
            try await sql.raw(
                """
                DELETE FROM priv_incidents WHERE id = \(bind: incident) AND establishment_id = \(bind: establishment) \
                AND status = 'open'
                """
            ).run()
            return
        }
        var patterns: Set<String> = []
        var score: Int64 = 0
        var first = Int64.max
        var last = Int64.min
        for row in rows {
            for pattern in try row.decode(column: "patterns", as: String.self).split(separator: ",") {
                patterns.insert(String(pattern))
            }
            score = max(score, try row.decode(column: "score", as: Int64.self))
            let at = try row.decode(column: "at", as: Int64.self)
            first = min(first, at)
            last = max(last, at)
        }
        // Several flagged accesses weigh more than one: up to +15 for repetition.
        let total = min(100, score + min(15, Int64(rows.count - 1) * 3))
        let ordered = AccessPattern.allCases.map(\.rawValue).filter { patterns.contains($0) }.joined(separator: ",")
        try await sql.raw(
            """
            UPDATE priv_incidents SET score = \(bind: total), flags = \(bind: Int64(rows.count)), \
            patterns = \(bind: ordered), first_at = \(bind: first), last_at = \(bind: last), updated_at = \(bind: now) \
            WHERE id = \(bind: incident) AND establishment_id = \(bind: establishment)
            """
        ).run()
    }

    /// Deletes accesses older than each establishment's retention (flags of decided incidents are kept with
    /// their incident). Returns how many went.
    @discardableResult
    public func purgeExpired() async throws -> Int {
        var purged = 0
        for row in try await sql.raw("SELECT establishment_id FROM priv_settings").all() {
            let establishment = try row.decode(column: "establishment_id", as: UUID.self)
            let days = try await settings(establishment).retentionDays
            let cutoff = clock.now().milliseconds - Int64(days) * 86_400_000
            purged += try await sql.raw(
                """
                DELETE FROM priv_accesses WHERE establishment_id = \(bind: establishment) AND at < \(bind: cutoff) \
                AND id NOT IN (SELECT access_id FROM priv_flags WHERE establishment_id = \(bind: establishment)) \
                RETURNING id
                """
            ).all().count
        }
        return purged
    }
}
