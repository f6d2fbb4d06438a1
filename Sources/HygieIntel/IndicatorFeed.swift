public import Foundation
public import HygieCore
public import HygieStorage
public import Logging
import SQLKit
public import STIX
public import ServiceLifecycle
import Synchronization

/// What kind of log value is looked up.
public enum IOCFieldKind: String, Sendable, CaseIterable {
    case ip, domain, url, hash, email
}

/// One indicator detection can raise an alert for.
public struct IndicatorEntry: Sendable, Hashable {
    public var stixID: String
    public var collectionID: UUID
    /// The establishment that holds the collection.
    public var ownerID: UUID
    public var name: String
    public var tlp: TLP
    public var confidence: Int?
    public var validFrom: Int64
    public var validUntil: Int64?
    /// The value it looks for, for display (`domain:evil.example`).
    public var ioc: String
    var collectionIndex: Int32
}

/// Warning lists: values that are never worth an alert even when an indicator names them.
public enum WarningList {
    /// Very common domains and the French health administration's own (an indicator on them is an error or
    /// a test): matched exactly and as parents of the indicator's domain.
    public static let commonDomains: Set<String> = [
        "google.com", "googleapis.com", "gstatic.com", "youtube.com", "microsoft.com", "windows.com",
        "windowsupdate.com", "office.com", "office365.com", "outlook.com", "live.com", "microsoftonline.com",
        "azure.com", "bing.com", "apple.com", "icloud.com", "amazon.com", "amazonaws.com", "cloudflare.com",
        "akamai.net", "akamaiedge.net", "facebook.com", "linkedin.com", "github.com", "mozilla.org", "wikipedia.org",
        "gouv.fr", "sante.fr", "ameli.fr", "ars.sante.fr", "service-public.fr", "cert.ssi.gouv.fr", "ssi.gouv.fr",
        "example.com", "example.org", "example.net", "localhost", "local",
    ]

    /// Why an IOC is on a warning list (nil when it is not).
    public static func reason(_ ioc: IOC) -> String? {
        switch ioc {
        case .ip(let network):
            if network.isNonPublic { return "private, reserved or documentation address" }
            if network.prefixLength < (network.isIPv6 ? 32 : 8) { return "range too wide" }
            return nil
        case .domain(let domain):
            return contains(domain, orParentIn: commonDomains) ? "very common domain" : nil
        case .url(let url):
            guard let host = URLComponents(string: url)?.host else { return nil }
            // A URL on a common site can be precise (a path); only the bare site is refused.
            let path = URLComponents(string: url)?.path ?? ""
            return contains(host, orParentIn: commonDomains) && (path.isEmpty || path == "/") ? "very common site" : nil
        case .hash(_, let value):
            // Hashes of empty input are everywhere.
            let empty: Set<String> = [
                "d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ]
            return empty.contains(value) ? "hash of empty content" : nil
        case .email:
            return nil
        }
    }

    /// Whether `domain` or one of its parent domains is in `names`.
    static func contains(_ domain: String, orParentIn names: Set<String>) -> Bool {
        var name = Substring(domain)
        while true {
            if names.contains(String(name)) { return true }
            guard let dot = name.firstIndex(of: ".") else { return false }
            name = name[name.index(after: dot)...]
        }
    }
}

/// The indicators every establishment can match, built from the database; immutable once built.
public final class IndicatorSnapshot: Sendable {
    let index: IOCIndex
    public let entries: [IndicatorEntry]
    /// Collection indices each establishment may see.
    let visible: [UUID: Set<Int32>]
    let ownDomains: [UUID: Set<String>]
    public let revision: Int64
    /// Indicators left out: on a warning list, or with a pattern that is not a single comparison.
    public let warningListed: Int
    public let notIndexable: Int

    init(
        index: IOCIndex, entries: [IndicatorEntry], visible: [UUID: Set<Int32>], ownDomains: [UUID: Set<String>],
        revision: Int64, warningListed: Int, notIndexable: Int
    ) {
        self.index = index
        self.entries = entries
        self.visible = visible
        self.ownDomains = ownDomains
        self.revision = revision
        self.warningListed = warningListed
        self.notIndexable = notIndexable
    }

    public static let empty = IndicatorSnapshot(
        index: IOCIndex(), entries: [], visible: [:], ownDomains: [:], revision: -1, warningListed: 0, notIndexable: 0)

    public var isEmpty: Bool { index.isEmpty }
    public var indexedValues: Int { index.count }

    /// Indicators matching a log value for an establishment, at `now` (milliseconds): visible to it, valid,
    /// and not naming one of its own domains.
    public func match(_ kind: IOCFieldKind, _ value: String, establishment: UUID, now: Int64) -> [IndicatorEntry] {
        let refs: [Int32]
        switch kind {
        case .ip: refs = index.lookup(ip: value)
        case .domain:
            refs = index.lookup(domain: value)
            // Own domains are rare hits: checked only when an indicator names the value.
            if !refs.isEmpty, let own = ownDomains[establishment],
                WarningList.contains(IOC.normalizedDomain(value), orParentIn: own)
            {
                return []
            }
        case .url: refs = index.lookup(url: value)
        case .hash: refs = index.lookup(hash: value)
        case .email: refs = index.lookup(email: value)
        }
        guard !refs.isEmpty, let allowed = visible[establishment] else { return [] }
        var found: [IndicatorEntry] = []
        for ref in refs {
            let entry = entries[Int(ref)]
            guard allowed.contains(entry.collectionIndex), entry.validFrom <= now,
                entry.validUntil.map({ now < $0 }) ?? true
            else { continue }
            found.append(entry)
        }
        return found
    }

    /// For benchmarks and tests: a snapshot over given indicators, all visible to `establishment`.
    public static func build(
        indicators: [(entry: IndicatorEntry, iocs: [IOC])], establishment: UUID, ownDomains: Set<String> = []
    ) -> IndicatorSnapshot {
        var builder = SnapshotBuilder()
        for (entry, iocs) in indicators {
            var entry = entry
            entry.collectionIndex = 0
            builder.add(entry, iocs: iocs)
        }
        return builder.snapshot(
            visible: [establishment: [0]], ownDomains: [establishment: ownDomains], revision: 0, notIndexable: 0)
    }
}

/// Collects indicators into an index, leaving out the values on a warning list (and the indicators left with
/// none); the one way snapshots are built, from the database or for benchmarks.
struct SnapshotBuilder {
    var index = IOCIndex()
    var entries: [IndicatorEntry] = []
    var warningListed = 0

    mutating func add(_ entry: IndicatorEntry, iocs: [IOC]) {
        let kept = iocs.filter { WarningList.reason($0) == nil }
        guard !kept.isEmpty else {
            warningListed += 1
            return
        }
        let ref = Int32(entries.count)
        for ioc in kept { index.insert(ioc, ref: ref) }
        entries.append(entry)
    }

    consuming func snapshot(
        visible: [UUID: Set<Int32>], ownDomains: [UUID: Set<String>], revision: Int64, notIndexable: Int
    )
        -> IndicatorSnapshot
    {
        index.finish()
        return IndicatorSnapshot(
            index: index, entries: entries, visible: visible, ownDomains: ownDomains, revision: revision,
            warningListed: warningListed, notIndexable: notIndexable)
    }
}

extension IndicatorEntry {
    public init(
        stixID: String, collectionID: UUID, ownerID: UUID, name: String, tlp: TLP, confidence: Int?, validFrom: Int64,
        validUntil: Int64?, ioc: String
    ) {
        self.init(
            stixID: stixID, collectionID: collectionID, ownerID: ownerID, name: name, tlp: tlp, confidence: confidence,
            validFrom: validFrom, validUntil: validUntil, ioc: ioc, collectionIndex: 0)
    }
}

/// Keeps the indicator snapshot of this node current: checks the intel revision every two seconds and rebuilds
/// the snapshot when it moved (a few seconds for a million indicators). Detection reads ``current`` per batch.
public final class IndicatorFeed: Service, Sendable {
    let database: DatabaseService
    let clock: any HygieClock
    let logger: Logger
    private let snapshot = Mutex(IndicatorSnapshot.empty)

    public init(database: DatabaseService, clock: any HygieClock, logger: Logger) {
        self.database = database
        self.clock = clock
        self.logger = logger
    }

    public var current: IndicatorSnapshot { snapshot.withLock { $0 } }

    /// Builds the first snapshot at once, then checks every two seconds. After a rebuild it waits at least four
    /// times as long as the rebuild took (a million indicators take tens of seconds), so rebuilding never uses
    /// more than a fifth of a core however often feeds change the indicators.
    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            var pause = 2.0
            do {
                let started = Date()
                if try await refresh() { pause = max(pause, min(4 * Date().timeIntervalSince(started), 300)) }
            } catch is CancellationError {
                break
            } catch {
                logger.error("indicator snapshot refresh failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(pause))  // cancelled on shutdown: the loop condition ends it
        }
    }

    /// Rebuilds the snapshot if the revision moved; returns whether it did.
    @discardableResult
    public func refresh() async throws -> Bool {
        let revision = try await Self.revision(database.sql)
        guard revision != current.revision else { return false }
        let started = Date()
        let built = try await build(revision: revision)
        snapshot.withLock { $0 = built }
        logger.info(
            "indicators loaded",
            metadata: [
                "indicators": "\(built.entries.count)", "values": "\(built.indexedValues)",
                "warning_listed": "\(built.warningListed)", "not_indexable": "\(built.notIndexable)",
                "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))",
            ])
        return true
    }

    static func revision(_ sql: any SQLDatabase) async throws -> Int64 {
        try await sql.raw("SELECT revision FROM intel_state WHERE id = 1").first()?.decode(
            column: "revision", as: Int64.self) ?? 0
    }

    func build(revision: Int64) async throws -> IndicatorSnapshot {
        let sql = database.sql
        // Which collections each establishment sees (its own, and those distributed to it).
        let establishments = try await sql.raw("SELECT id, group_id, region_id FROM core_establishments").all().map {
            (
                id: try $0.decode(column: "id", as: UUID.self),
                group: try $0.decode(column: "group_id", as: UUID?.self),
                region: try $0.decode(column: "region_id", as: UUID?.self)
            )
        }
        let byID = Dictionary(establishments.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var groupMembers: [UUID: Set<UUID>] = [:]
        for row in try await sql.raw(
            "SELECT group_id, member_establishment_id FROM intel_sharing_group_members WHERE member_establishment_id IS NOT NULL"
        ).all() {
            groupMembers[try row.decode(column: "group_id", as: UUID.self), default: []].insert(
                try row.decode(column: "member_establishment_id", as: UUID.self))
        }
        var collectionIndex: [UUID: Int32] = [:]
        var visible: [UUID: Set<Int32>] = [:]
        for row in try await sql.raw(
            "SELECT id, establishment_id, distribution, sharing_group_id FROM intel_collections"
        ).all() {
            let id = try row.decode(column: "id", as: UUID.self)
            let owner = try row.decode(column: "establishment_id", as: UUID.self)
            let distribution =
                Distribution(rawValue: try row.decode(column: "distribution", as: String.self)) ?? .establishment
            let group = try row.decode(column: "sharing_group_id", as: UUID?.self)
            let index = Int32(collectionIndex.count)
            collectionIndex[id] = index
            for establishment in establishments {
                let sees: Bool
                switch distribution {
                case .establishment: sees = establishment.id == owner
                case .ght:
                    sees =
                        establishment.id == owner
                        || (establishment.group != nil && establishment.group == byID[owner]?.group)
                case .region:
                    sees =
                        establishment.id == owner
                        || (establishment.region != nil && establishment.region == byID[owner]?.region)
                case .nation: sees = true
                case .group:
                    sees =
                        establishment.id == owner
                        || (group.map { groupMembers[$0]?.contains(establishment.id) ?? false } ?? false)
                }
                if sees { visible[establishment.id, default: []].insert(index) }
            }
        }
        var ownDomains: [UUID: Set<String>] = [:]
        for row in try await sql.raw("SELECT establishment_id, own_domains FROM intel_settings").all() {
            ownDomains[try row.decode(column: "establishment_id", as: UUID.self)] = Set(
                try row.decode(column: "own_domains", as: String.self).split(separator: ",").map {
                    IOC.normalizedDomain(String($0))
                })
        }

        var builder = SnapshotBuilder()
        var notIndexable = 0
        // Keyset pages over the primary key: memory stays bounded whatever the number of indicators.
        var after: (UUID, UUID, Int64)?
        while true {
            var query: SQLQueryString = """
                SELECT establishment_id, collection_id, date_added, stix_id, tlp_rank, body FROM intel_objects \
                WHERE type = 'indicator' AND is_latest = \(bind: true) AND revoked = \(bind: false)
                """
            if let (establishment, collection, added) = after {
                query =
                    query + """
                         AND (establishment_id > \(bind: establishment) OR (establishment_id = \(bind: establishment) AND \
                        (collection_id > \(bind: collection) OR (collection_id = \(bind: collection) AND date_added > \(bind: added)))))
                        """
            }
            let rows = try await sql.raw(query + " ORDER BY establishment_id, collection_id, date_added LIMIT 5000")
                .all()
            guard !rows.isEmpty else { break }
            for row in rows {
                let owner = try row.decode(column: "establishment_id", as: UUID.self)
                let collection = try row.decode(column: "collection_id", as: UUID.self)
                after = (owner, collection, try row.decode(column: "date_added", as: Int64.self))
                guard let collectionRef = collectionIndex[collection],
                    // try?: stored objects were validated on the way in.
                    let json = try? JSONParser.parse(try row.decode(column: "body", as: String.self)),
                    json["pattern_type"]?.stringValue == "stix", let text = json["pattern"]?.stringValue,
                    let pattern = try? PatternParser.parse(text), let iocs = IOC.extract(from: pattern)
                else {
                    notIndexable += 1
                    continue
                }
                let validFrom = json["valid_from"]?.stringValue.flatMap(STIXTimestamp.init)?.microseconds ?? 0
                let validUntil = json["valid_until"]?.stringValue.flatMap(STIXTimestamp.init)?.microseconds
                builder.add(
                    IndicatorEntry(
                        stixID: try row.decode(column: "stix_id", as: String.self), collectionID: collection,
                        ownerID: owner,
                        name: json["name"]?.stringValue ?? iocs[0].description,
                        tlp: TLP(storedRank: try row.decode(column: "tlp_rank", as: Int.self)),
                        confidence: json["confidence"]?.intValue, validFrom: validFrom / 1000,
                        validUntil: validUntil.map { $0 / 1000 },
                        ioc: iocs.map(\.description).joined(separator: " OR "), collectionIndex: collectionRef),
                    iocs: iocs)
            }
        }
        return builder.snapshot(
            visible: visible, ownDomains: ownDomains, revision: revision, notIndexable: notIndexable)
    }
}
