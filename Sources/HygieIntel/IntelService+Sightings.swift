public import Foundation
import HygieCore
public import HygieStorage
public import SQLKit
public import STIX

/// A log value that matched an indicator, as detection reports it.
public struct SightingHit: Sendable, Hashable {
    public var establishmentID: UUID
    public var collectionID: UUID
    public var indicatorID: String
    /// Milliseconds since 1970.
    public var time: Int64

    public init(establishmentID: UUID, collectionID: UUID, indicatorID: String, time: Int64) {
        self.establishmentID = establishmentID
        self.collectionID = collectionID
        self.indicatorID = indicatorID
        self.time = time
    }
}

/// How often an indicator was seen in an establishment's logs.
public struct SightingSummary: Sendable, Hashable {
    public var indicatorID: String
    public var collectionID: UUID
    public var name: String?
    public var tlp: TLP
    public var firstSeen: Date
    public var lastSeen: Date
    public var count: Int64
}

/// An establishment's intel settings.
public struct IntelSettings: Sendable, Hashable {
    /// Its own domains: indicators naming them (or their subdomains) never raise an alert here.
    public var ownDomains: [String]
    /// Sightings shared upward name no establishment (no `where_sighted_refs`, no `created_by_ref`).
    public var anonymiseUpward: Bool

    public init(ownDomains: [String] = [], anonymiseUpward: Bool = false) {
        self.ownDomains = ownDomains
        self.anonymiseUpward = anonymiseUpward
    }
}

extension IntelService {
    /// Adds hits to the sighting counters, inside the caller's transaction (detection's batch commit).
    public static func recordSightings(_ hits: [SightingHit], dialect: SQLDialectKind, on sql: any SQLDatabase)
        async throws
    {
        guard !hits.isEmpty else { return }
        let greatest = dialect == .postgres ? "GREATEST" : "MAX"
        let least = dialect == .postgres ? "LEAST" : "MIN"
        struct Key: Hashable {
            var establishment: UUID
            var collection: UUID
            var indicator: String
        }
        var grouped: [Key: (first: Int64, last: Int64, count: Int64)] = [:]
        var days: [UUID: [Int64: Int64]] = [:]
        for hit in hits {
            let key = Key(establishment: hit.establishmentID, collection: hit.collectionID, indicator: hit.indicatorID)
            let current = grouped[key] ?? (hit.time, hit.time, 0)
            grouped[key] = (min(current.first, hit.time), max(current.last, hit.time), current.count + 1)
            days[hit.establishmentID, default: [:]][hit.time / 86_400_000, default: 0] += 1
        }
        // A fixed order keeps concurrent nodes from deadlocking on the same rows.
        for (key, value) in grouped.sorted(by: {
            ($0.key.establishment.uuidString, $0.key.indicator) < ($1.key.establishment.uuidString, $1.key.indicator)
        }) {
            try await sql.raw(
                """
                INSERT INTO intel_sightings (establishment_id, collection_id, indicator_id, first_seen, last_seen, count) \
                VALUES (\(bind: key.establishment), \(bind: key.collection), \(bind: key.indicator), \(bind: value.first), \
                \(bind: value.last), \(bind: value.count)) ON CONFLICT (establishment_id, collection_id, indicator_id) \
                DO UPDATE SET count = intel_sightings.count + excluded.count, \
                first_seen = \(unsafeRaw: least)(intel_sightings.first_seen, excluded.first_seen), \
                last_seen = \(unsafeRaw: greatest)(intel_sightings.last_seen, excluded.last_seen)
                """
            ).run()
        }
        for (establishment, counts) in days.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            for (day, count) in counts.sorted(by: { $0.key < $1.key }) {
                try await sql.raw(
                    """
                    INSERT INTO intel_sighting_days (establishment_id, day, count) VALUES (\(bind: establishment), \
                    \(bind: day), \(bind: count)) ON CONFLICT (establishment_id, day) DO UPDATE SET \
                    count = intel_sighting_days.count + excluded.count
                    """
                ).run()
            }
        }
    }

    /// The indicators seen in the establishment's logs (or the one named `indicatorID`), most recent first.
    public func sightings(in scope: TenantScope, indicatorID: String? = nil, limit: Int = 200) async throws
        -> [SightingSummary]
    {
        try scope.require(Self.readers)
        let only: SQLQueryString = indicatorID.map { " AND s.indicator_id = \(bind: $0)" } ?? ""
        let rows = try await sql.raw(
            """
            SELECT s.indicator_id, s.collection_id, s.first_seen, s.last_seen, s.count, o.name, o.tlp_rank \
            FROM intel_sightings s LEFT JOIN intel_objects o ON o.establishment_id = (SELECT c.establishment_id FROM \
            intel_collections c WHERE c.id = s.collection_id) AND o.collection_id = s.collection_id \
            AND o.stix_id = s.indicator_id AND o.is_latest = \(bind: true) \
            WHERE s.establishment_id = \(bind: scope.establishmentID.uuid)\(only) ORDER BY s.last_seen DESC \
            LIMIT \(bind: limit)
            """
        ).all()
        return try rows.map {
            SightingSummary(
                indicatorID: try $0.decode(column: "indicator_id", as: String.self),
                collectionID: try $0.decode(column: "collection_id", as: UUID.self),
                name: try $0.decode(column: "name", as: String?.self),
                tlp: TLP(storedRank: try $0.decode(column: "tlp_rank", as: Int?.self) ?? TLP.amber.rank),
                firstSeen: Date(milliseconds: try $0.decode(column: "first_seen", as: Int64.self)),
                lastSeen: Date(milliseconds: try $0.decode(column: "last_seen", as: Int64.self)),
                count: try $0.decode(column: "count", as: Int64.self))
        }
    }

    /// Sightings per day over the last `days` days (oldest first, zero-filled).
    public func sightingsPerDay(in scope: TenantScope, days: Int = 30) async throws -> [(day: Date, count: Int64)] {
        try scope.require(Self.readers)
        let today = Int64(clock.now().timeIntervalSince1970 / 86_400)
        let rows = try await sql.raw(
            """
            SELECT day, count FROM intel_sighting_days WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            AND day > \(bind: today - Int64(days))
            """
        ).all()
        var counts: [Int64: Int64] = [:]
        for row in rows {
            counts[try row.decode(column: "day", as: Int64.self)] = try row.decode(column: "count", as: Int64.self)
        }
        return ((today - Int64(days) + 1)...today).map {
            (Date(timeIntervalSince1970: Double($0) * 86_400), counts[$0] ?? 0)
        }
    }

    /// STIX `sighting` objects for the establishment's sightings, each marked with its indicator's TLP and
    /// carrying no internal detail (no host, user or address): indicator, counts, first and last seen, and —
    /// unless anonymised — the establishment's identity.
    public func sightingObjects(in scope: TenantScope, maxTLP: TLP = .amber, anonymise: Bool? = nil) async throws
        -> [JSONValue]
    {
        let settings = try await settings(in: scope)
        let anonymous = anonymise ?? settings.anonymiseUpward
        let identity = try await identityObject(for: scope.establishmentID)
        let identityID = identity["id"]?.stringValue ?? ""
        var objects: [JSONValue] = anonymous ? [] : [identity]
        for sighting in try await sightings(in: scope, limit: 100_000) where sighting.tlp <= min(maxTLP, .amberStrict) {
            let id =
                "sighting--"
                + DerivedUUID.make(
                    namespace: "hygie-sighting",
                    name: "\(scope.establishmentID.uuid)|\(sighting.collectionID)|\(sighting.indicatorID)")
            let first = IndicatorBuilder.timestamp(sighting.firstSeen)
            let last = IndicatorBuilder.timestamp(sighting.lastSeen)
            var members: [JSONValue.Member] = [
                .init("type", .string("sighting")), .init("spec_version", .string("2.1")), .init("id", .string(id)),
                .init("created", .string(first)), .init("modified", .string(last)),
                .init("first_seen", .string(first)), .init("last_seen", .string(last)),
                .init("count", .number(String(min(sighting.count, 999_999_999)))),
                .init("sighting_of_ref", .string(sighting.indicatorID)),
            ]
            if !anonymous {
                members.append(.init("where_sighted_refs", .array([.string(identityID)])))
                members.append(.init("created_by_ref", .string(identityID)))
            }
            members.append(.init("object_marking_refs", .array([.string(sighting.tlp.markingDefinitionID)])))
            objects.append(.object(members))
        }
        return objects
    }

    /// Adds the establishment's current sightings to one of its collections (for partners who read it, or a
    /// push to a hub). Unchanged sightings are duplicates and stay as they are.
    public func publishSightings(to collectionID: UUID, in scope: TenantScope) async throws -> AddStatus {
        try scope.require(Self.writers)
        let collection = try await ownCollection(collectionID, in: scope)
        let objects = try await sightingObjects(in: scope, maxTLP: .amberStrict)
        let entries = objects.map { STIXBundle.Entry(json: $0) }
        return try await store.add(entries, to: collection, by: principal(for: scope))
    }

    // MARK: Settings

    public func settings(in scope: TenantScope) async throws -> IntelSettings {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                "SELECT * FROM intel_settings WHERE establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()
        else { return IntelSettings() }
        return IntelSettings(
            ownDomains: try row.decode(column: "own_domains", as: String.self).split(separator: ",").map(String.init),
            anonymiseUpward: try row.decode(column: "anonymise_upward", as: Bool.self))
    }

    public func updateSettings(_ settings: IntelSettings, in scope: TenantScope) async throws {
        try scope.require(Self.managers)
        var domains: [String] = []
        for raw in settings.ownDomains {
            let domain = IOC.normalizedDomain(raw.trimmingCharacters(in: .whitespaces))
            guard !domain.isEmpty else { continue }
            guard domain.contains("."), domain.count <= 253,
                domain.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") })
            else {
                throw ValidationError(field: "own_domains", message: "'\(raw)' is not a domain name", key: "domain")
            }
            domains.append(domain)
        }
        let establishment = scope.establishmentID.uuid
        let list = domains.joined(separator: ",")
        let anonymise = settings.anonymiseUpward
        try await changing(
            AuditEntry(
                action: "intel.settings.update", objectType: "intel_settings", objectID: establishment.uuidString,
                summary: "Own domains: \(domains.isEmpty ? "none" : list); anonymise upward: \(anonymise)"),
            by: scope.actor
        ) { sql in
            try await sql.raw("DELETE FROM intel_settings WHERE establishment_id = \(bind: establishment)").run()
            try await sql.raw(
                """
                INSERT INTO intel_settings (establishment_id, own_domains, anonymise_upward) VALUES \
                (\(bind: establishment), \(bind: list), \(bind: anonymise))
                """
            ).run()
            try await ObjectStore.bumpRevision(sql)
        }
    }
}
