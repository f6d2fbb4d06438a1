import FederationCore
import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import SQLKit
import Synchronization

/// What the coordinator dashboards read. Snapshots are decoded once, when they arrive: each member's latest value
/// per key goes to `fed_member_values`, and daily sums per key to `fed_rollups`, so that a page costs the same
/// with ten members or three thousand and a year of history.
extension HubService {
    /// The key of the CaRE D2 framework's score (the programme's current domain).
    public static let careKey = "compliance:urn:hygie:risk:framework:care-d2"
    /// The figures the dashboards follow (averages across members, and their trends).
    public static let headline = [
        "compliance.average", careKey, "awareness.trained-12m", "awareness.report-rate", "vuln.kev-overdue-exposed",
        "detection.silent-sources",
    ]

    /// The figures of a snapshot by key.
    static func values(of snapshot: Snapshot) -> [(key: String, value: Double, trend: Bool)] {
        var values: [(key: String, value: Double, trend: Bool)] = snapshot.indicators.map { ($0.key, $0.value, true) }
        let scores = snapshot.compliance.compactMap(\.score)
        if !scores.isEmpty { values.append(("compliance.average", scores.reduce(0, +) / Double(scores.count), true)) }
        for framework in snapshot.compliance {
            if let score = framework.score { values.append(("compliance:\(framework.urn)", score, true)) }
            for theme in framework.themes {
                if let score = theme.score { values.append(("theme:\(framework.urn)#\(theme.ref)", score, false)) }
            }
        }
        var seen: Set<String> = []
        return values.filter { seen.insert($0.key).inserted }
    }

    /// Adds a newly stored snapshot to the day's sums and, when it is the member's latest, replaces its values.
    static func recordValues(
        _ snapshot: Snapshot, member: UUID, coordinator: UUID, latest: Bool, on sql: any SQLDatabase
    ) async throws {
        let values = Self.values(of: snapshot)
        if latest {
            try await sql.raw("DELETE FROM fed_member_values WHERE member_id = \(bind: member)").run()
            for chunk in stride(from: 0, to: values.count, by: 200) {
                let rows = values[chunk..<min(chunk + 200, values.count)].map {
                    "(\(bind: member), \(bind: coordinator), \(bind: $0.key), \(bind: $0.value))" as SQLQueryString
                }
                try await sql.raw(
                    "INSERT INTO fed_member_values (member_id, coordinator_establishment_id, key, value) VALUES "
                        + rows.joined(separator: ", ")
                ).run()
            }
        }
        let day = snapshot.takenAt.dayNumber
        let trends = values.filter(\.trend)
        guard !trends.isEmpty else { return }
        let rows = trends.map {
            "(\(bind: coordinator), \(bind: day), \(bind: $0.key), \(bind: $0.value), 1)" as SQLQueryString
        }
        try await sql.raw(
            "INSERT INTO fed_rollups (coordinator_establishment_id, day, key, total, samples) VALUES "
                + rows.joined(separator: ", ")
                    + """
                     ON CONFLICT (coordinator_establishment_id, day, key) DO UPDATE SET \
                    total = fed_rollups.total + EXCLUDED.total, samples = fed_rollups.samples + 1
                    """
        ).run()
    }

    /// A stored snapshot body, for the migration that fills the tables from what arrived before them.
    static func recordValues(
        _ body: String, member: UUID, coordinator: UUID, latest: Bool, on sql: any SQLDatabase
    ) async throws {
        guard let snapshot = try? decoder.decode(Snapshot.self, from: Data(body.utf8)) else { return }
        try await recordValues(snapshot, member: member, coordinator: coordinator, latest: latest, on: sql)
    }

    /// A page of the coordinator's members (by name), with their latest values; `search` matches the name or
    /// FINESS, `filter` is `stale` (no snapshot for 48 h) or `revoked`.
    public func members(
        in scope: TenantScope, search: String = "", filter: String = "", offset: Int = 0, limit: Int = 100
    ) async throws -> (total: Int, members: [FederationMember]) {
        try scope.require(Self.coordinators)
        var condition: SQLQueryString = "m.coordinator_establishment_id = \(bind: scope.establishmentID.uuid)"
        let text = search.trimmingCharacters(in: .whitespaces).lowercased()
        if !text.isEmpty {
            let like = "%\(text.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: ""))%"
            condition += " AND (LOWER(m.name) LIKE \(bind: like) OR m.finess LIKE \(bind: like))"
        }
        let staleSince = clock.now().addingTimeInterval(-Self.stale).milliseconds
        switch filter {
        case "stale":
            condition +=
                " AND m.status = 'active' AND (m.last_snapshot_at IS NULL OR m.last_snapshot_at < \(bind: staleSince))"
        case "revoked": condition += " AND m.status <> 'active'"
        default: break
        }
        let total =
            try await sql.raw("SELECT COUNT(*) AS n FROM fed_members m WHERE " + condition).first()?.decode(
                column: "n", as: Int.self) ?? 0
        let rows = try await sql.raw(
            "SELECT m.* FROM fed_members m WHERE " + condition
                + " ORDER BY m.name, m.id LIMIT \(unsafeRaw: String(max(1, min(limit, 1000)))) OFFSET \(unsafeRaw: String(max(0, offset)))"
        ).all()
        var members = try rows.map { row in
            func date(_ column: String) throws -> Date? {
                try row.decode(column: column, as: Int64?.self).map(Date.init(milliseconds:))
            }
            return FederationMember(
                id: try row.decode(column: "id", as: UUID.self), name: try row.decode(column: "name", as: String.self),
                finess: try row.decode(column: "finess", as: String?.self),
                kind: try row.decode(column: "kind", as: String.self),
                label: try row.decode(column: "label", as: String.self),
                status: try row.decode(column: "status", as: String.self),
                enrolledAt: Date(milliseconds: try row.decode(column: "enrolled_at", as: Int64.self)),
                lastSeenAt: try date("last_seen_at"), lastSnapshotAt: try date("last_snapshot_at"), values: [:])
        }
        if !members.isEmpty {
            var values: [UUID: [String: Double]] = [:]
            for row in try await sql.raw(
                "SELECT member_id, key, value FROM fed_member_values WHERE member_id IN \(SQLBind.group(members.map(\.id)))"
            ).all() {
                values[try row.decode(column: "member_id", as: UUID.self), default: [:]][
                    try row.decode(column: "key", as: String.self)] = try row.decode(column: "value", as: Double.self)
            }
            for index in members.indices { members[index].values = values[members[index].id] ?? [:] }
        }
        return (total, members)
    }

    /// A member showing no snapshot for this long is stale.
    public static let stale: TimeInterval = 48 * 3600

    /// The fleet at a glance: member counts, averages of the headline figures, the most reported framework's
    /// themes in score bands, declaration counts, and weekly trends over a year.
    public func overview(in scope: TenantScope) async throws -> HubOverview {
        try scope.require(Self.coordinators)
        let coordinator = scope.establishmentID.uuid
        let now = clock.now()
        // A new snapshot, enrolment, revocation or declaration moves this stamp; the minute moves "late" and "fresh".
        let stamp =
            try await sql.raw(
                """
                SELECT COUNT(*) AS n, MAX(m.last_snapshot_at) AS seen, MAX(m.revoked_at) AS revoked, \
                (SELECT MAX(d.updated_at) FROM fed_declarations d JOIN fed_members dm ON dm.id = d.member_id \
                WHERE dm.coordinator_establishment_id = \(bind: coordinator)) AS declared \
                FROM fed_members m WHERE m.coordinator_establishment_id = \(bind: coordinator)
                """
            ).first().map { row in
                [
                    try row.decode(column: "n", as: Int64.self), try row.decode(column: "seen", as: Int64?.self) ?? 0,
                    try row.decode(column: "revoked", as: Int64?.self) ?? 0,
                    try row.decode(column: "declared", as: Int64?.self) ?? 0,
                    Int64(now.timeIntervalSince1970 / 60),
                ].map(String.init).joined(separator: ":")
            } ?? ""
        if let cached = overviews.get(coordinator, stamp: stamp) { return cached }
        var overview = HubOverview()
        if let row = try await sql.raw(
            """
            SELECT SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS active, \
            SUM(CASE WHEN status = 'active' AND last_snapshot_at >= \(bind: now.addingTimeInterval(-Self.stale).milliseconds) \
            THEN 1 ELSE 0 END) AS fresh, SUM(CASE WHEN status <> 'active' THEN 1 ELSE 0 END) AS revoked \
            FROM fed_members WHERE coordinator_establishment_id = \(bind: coordinator)
            """
        ).first() {
            overview.active = try row.decode(column: "active", as: Int?.self) ?? 0
            overview.fresh = try row.decode(column: "fresh", as: Int?.self) ?? 0
            overview.revoked = try row.decode(column: "revoked", as: Int?.self) ?? 0
        }
        for row in try await sql.raw(
            """
            SELECT v.key, AVG(v.value) AS average, SUM(v.value) AS total, COUNT(*) AS n FROM fed_member_values v \
            JOIN fed_members m ON m.id = v.member_id AND m.status = 'active' \
            WHERE v.coordinator_establishment_id = \(bind: coordinator) AND (v.key IN \(SQLBind.group(Self.headline)) \
            OR v.key LIKE 'compliance:%') GROUP BY v.key
            """
        ).all() {
            let key = try row.decode(column: "key", as: String.self)
            let figure = HubOverview.Figure(
                average: try row.decode(column: "average", as: Double.self),
                total: try row.decode(column: "total", as: Double.self),
                members: try row.decode(column: "n", as: Int.self))
            if key.hasPrefix("compliance:") { overview.frameworkMembers[key] = figure.members }
            if Self.headline.contains(key) { overview.figures[key] = figure }
        }
        if let main = overview.frameworkMembers.max(by: { ($0.value, $1.key) < ($1.value, $0.key) })?.key {
            try await themes(of: String(main.dropFirst("compliance:".count)), coordinator: coordinator, into: &overview)
        }
        if let row = try await sql.raw(
            """
            SELECT SUM(CASE WHEN d.status <> 'sent' THEN 1 ELSE 0 END) AS open, SUM(CASE WHEN d.status <> 'sent' \
            AND d.due_at < \(bind: now.milliseconds) THEN 1 ELSE 0 END) AS late FROM fed_declarations d \
            JOIN fed_members m ON m.id = d.member_id WHERE m.coordinator_establishment_id = \(bind: coordinator)
            """
        ).first() {
            overview.openDeclarations = try row.decode(column: "open", as: Int?.self) ?? 0
            overview.lateDeclarations = try row.decode(column: "late", as: Int?.self) ?? 0
        }
        overview.trends = try await trends(coordinator: coordinator, now: now)
        overviews.put(overview, for: coordinator, stamp: stamp)
        return overview
    }

    /// The themes of a framework (names from one member's latest snapshot) with how many members sit in each band.
    func themes(of urn: String, coordinator: UUID, into overview: inout HubOverview) async throws {
        guard
            let body = try await sql.raw(
                """
                SELECT s.body FROM fed_snapshots s WHERE s.member_id = (SELECT v.member_id FROM fed_member_values v \
                WHERE v.coordinator_establishment_id = \(bind: coordinator) AND v.key = \(bind: "compliance:\(urn)") \
                LIMIT 1) ORDER BY s.taken_at DESC, s.id DESC LIMIT 1
                """
            ).first()?.decode(column: "body", as: String.self),
            let framework = try? Self.decoder.decode(Snapshot.self, from: Data(body.utf8)).compliance.first(where: {
                $0.urn == urn
            })
        else { return }
        var bands: [String: HubOverview.ThemeBands] = [:]
        let prefix = "theme:\(urn)#"
        for row in try await sql.raw(
            """
            SELECT v.key, AVG(v.value) AS average, SUM(CASE WHEN v.value >= 75 THEN 1 ELSE 0 END) AS ok, \
            SUM(CASE WHEN v.value >= 50 AND v.value < 75 THEN 1 ELSE 0 END) AS medium, \
            SUM(CASE WHEN v.value < 50 THEN 1 ELSE 0 END) AS critical FROM fed_member_values v \
            JOIN fed_members m ON m.id = v.member_id AND m.status = 'active' \
            WHERE v.coordinator_establishment_id = \(bind: coordinator) AND v.key LIKE \(bind: prefix + "%") GROUP BY v.key
            """
        ).all() {
            let ref = String(try row.decode(column: "key", as: String.self).dropFirst(prefix.count))
            bands[ref] = HubOverview.ThemeBands(
                ref: ref, name: "", average: try row.decode(column: "average", as: Double.self),
                ok: try row.decode(column: "ok", as: Int?.self) ?? 0,
                medium: try row.decode(column: "medium", as: Int?.self) ?? 0,
                critical: try row.decode(column: "critical", as: Int?.self) ?? 0)
        }
        overview.framework = HubOverview.FrameworkThemes(
            urn: urn, name: framework.name,
            themes: framework.themes.map { theme in
                var band =
                    bands[theme.ref]
                    ?? HubOverview.ThemeBands(ref: theme.ref, name: "", average: nil, ok: 0, medium: 0, critical: 0)
                band.name = theme.name
                return band
            })
    }

    /// Weekly points over the last 52 weeks: the average across the snapshots received each week, per key.
    func trends(coordinator: UUID, now: Date) async throws -> [HubOverview.TrendPoint] {
        let today = now.dayNumber
        let first = today - 7 * 52 + 1
        var sums: [Int64: [String: (total: Double, samples: Int64, days: Set<Int64>)]] = [:]
        for row in try await sql.raw(
            """
            SELECT day, key, total, samples FROM fed_rollups WHERE coordinator_establishment_id = \(bind: coordinator) \
            AND day >= \(bind: first) AND key IN \(SQLBind.group(Self.headline))
            """
        ).all() {
            let day = try row.decode(column: "day", as: Int64.self)
            let week = (day - first) / 7
            let key = try row.decode(column: "key", as: String.self)
            var sum = sums[week, default: [:]][key] ?? (0, 0, [])
            sum.total += try row.decode(column: "total", as: Double.self)
            sum.samples += try row.decode(column: "samples", as: Int64.self)
            sum.days.insert(day)
            sums[week, default: [:]][key] = sum
        }
        return (0..<52).map { week in
            let start = Date(timeIntervalSince1970: Double(first + Int64(week) * 7) * 86_400)
            return HubOverview.TrendPoint(
                weekStart: start,
                averages: (sums[Int64(week)] ?? [:]).mapValues { $0.samples > 0 ? $0.total / Double($0.samples) : 0 },
                dailyTotals: (sums[Int64(week)] ?? [:]).mapValues { $0.total / Double(max(1, $0.days.count)) })
        }
    }
}

/// The coordinator's fleet at a glance.
public struct HubOverview: Sendable, Hashable, Codable {
    public struct Figure: Sendable, Hashable, Codable {
        /// Mean across the members reporting it.
        public var average: Double
        /// Sum across them (counts such as exposed known-exploited findings).
        public var total: Double
        public var members: Int
    }

    public struct ThemeBands: Sendable, Hashable, Codable {
        public var ref: String
        public var name: String
        public var average: Double?
        /// Members at 75 % or more, 50–75 %, under 50 %.
        public var ok: Int
        public var medium: Int
        public var critical: Int
    }

    public struct FrameworkThemes: Sendable, Hashable, Codable {
        public var urn: String
        public var name: String
        public var themes: [ThemeBands]
    }

    public struct TrendPoint: Sendable, Hashable, Codable {
        public var weekStart: Date
        /// Mean of the week's snapshots, per headline key.
        public var averages: [String: Double]
        /// The week's daily sums across members, averaged over the days that had snapshots.
        public var dailyTotals: [String: Double]
    }

    public var active = 0
    public var fresh = 0
    public var revoked = 0
    public var figures: [String: Figure] = [:]
    /// Members reporting each framework (`compliance:<urn>`).
    public var frameworkMembers: [String: Int] = [:]
    public var framework: FrameworkThemes?
    public var openDeclarations = 0
    public var lateDeclarations = 0
    public var trends: [TrendPoint] = []
}

/// The latest overview of each coordinator with the stamp it was computed at.
public final class OverviewCache: Sendable {
    let entries = Mutex<[UUID: (stamp: String, overview: HubOverview)]>([:])

    public init() {}

    func get(_ coordinator: UUID, stamp: String) -> HubOverview? {
        entries.withLock { $0[coordinator].flatMap { $0.stamp == stamp ? $0.overview : nil } }
    }

    func put(_ overview: HubOverview, for coordinator: UUID, stamp: String) {
        entries.withLock { $0[coordinator] = (stamp, overview) }
    }
}
