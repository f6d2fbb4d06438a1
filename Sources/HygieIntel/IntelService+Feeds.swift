public import Foundation
public import HygieCore
public import HygieStorage
import SQLKit
public import STIX

/// A remote TAXII collection pulled into a local collection on a schedule, or a local collection pushed to a
/// remote one (to a hub, a CERT, a partner).
public struct IntelFeed: Sendable, Hashable, Identifiable {
    public enum Direction: String, Sendable, CaseIterable { case pull, push }

    public let id: UUID
    public let establishmentID: Establishment.ID
    public var name: String
    public var direction: Direction
    /// The remote collection's URL (`…/collections/<id>/`).
    public var url: String
    public var username: String?
    public var hasSecret: Bool
    /// The local collection filled (pull) or read (push).
    public var collectionID: UUID
    public var intervalMinutes: Int
    /// Push: the most restricted TLP sent (RED never is).
    public var maxTLP: TLP
    public var enabled: Bool
    /// Pull: the remote `X-TAXII-Date-Added-Last` reached; push: the local `date_added` reached.
    public var cursor: String?
    public var nextRunAt: Date
    public var lastRunAt: Date?
    public var lastSuccessAt: Date?
    public var lastError: String?
    /// Failed runs in a row (the next run waits longer after each).
    public var failures: Int
    public var objectsTotal: Int64
    public var lastObjects: Int64

    /// Healthy, failing (some failures) or stale (no success for three intervals).
    public func health(at now: Date) -> String {
        if !enabled { return "disabled" }
        if failures > 0 { return "failing" }
        guard let success = lastSuccessAt else { return "pending" }
        return now.timeIntervalSince(success) > Double(intervalMinutes * 60 * 3) ? "stale" : "ok"
    }
}

extension IntelService {
    public func createFeed(
        name: String, direction: IntelFeed.Direction, url: String, username: String?, secret: String?,
        collectionID: UUID,
        intervalMinutes: Int, maxTLP: TLP = .amber, in scope: TenantScope
    ) async throws -> IntelFeed {
        try scope.require(Self.managers)
        let name = try Validate.text(name, field: "name", max: 120)
        let url = url.trimmingCharacters(in: .whitespaces)
        if let problem = TAXIIClient.checkURL(url) { throw ValidationError(field: "url", message: problem, key: "url") }
        guard (5...10_080).contains(intervalMinutes) else {
            throw ValidationError(field: "interval", message: "between 5 minutes and 7 days", key: "interval")
        }
        guard maxTLP != .red else {
            throw ValidationError(field: "max_tlp", message: "TLP:RED never leaves the establishment", key: "tlpRed")
        }
        _ = try await ownCollection(collectionID, in: scope)
        var sealed: Data?
        if let secret, !secret.isEmpty {
            guard let secrets else { throw HygieCoreError.conflict("no instance key to protect feed secrets") }
            sealed = try secrets.seal(Data(secret.utf8))
        }
        let id = UUID()
        let now = clock.milliseconds
        let establishment = scope.establishmentID.uuid
        let user = username?.isEmpty == true ? nil : username
        let sealedSecret = sealed
        try await changing(
            AuditEntry(
                action: "intel.feed.create", objectType: "intel_feed", objectID: id.uuidString,
                summary: "Created \(direction.rawValue) feed \(name) (\(url))"),
            by: scope.actor
        ) { sql in
            let clash = try await sql.raw(
                "SELECT id FROM intel_feeds WHERE establishment_id = \(bind: establishment) AND name = \(bind: name)"
            ).all()
            guard clash.isEmpty else { throw HygieCoreError.conflict("a feed named \(name) exists") }
            try await sql.raw(
                """
                INSERT INTO intel_feeds (id, establishment_id, name, direction, url, username, secret_sealed, collection_id, \
                interval_minutes, max_tlp, enabled, next_run_at, failures, objects_total, last_objects, created_at) VALUES \
                (\(bind: id), \(bind: establishment), \(bind: name), \(bind: direction.rawValue), \(bind: url), \(bind: user), \
                \(bind: sealedSecret), \(bind: collectionID), \(bind: Int64(intervalMinutes)), \(bind: maxTLP.rawValue), \
                \(bind: true), \(bind: now), \(bind: Int64(0)), \(bind: Int64(0)), \(bind: Int64(0)), \(bind: now))
                """
            ).run()
        }
        return try await feed(id, in: scope)
    }

    public func feeds(in scope: TenantScope) async throws -> [IntelFeed] {
        try scope.require(Self.readers)
        return try await sql.raw(
            "SELECT * FROM intel_feeds WHERE establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY name"
        ).all().map(Self.feed)
    }

    public func feed(_ id: UUID, in scope: TenantScope) async throws -> IntelFeed {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                "SELECT * FROM intel_feeds WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()
        else { throw HygieCoreError.notFound("feed") }
        return try Self.feed(row)
    }

    public func deleteFeed(_ id: UUID, in scope: TenantScope) async throws {
        try scope.require(Self.managers)
        let feed = try await feed(id, in: scope)
        try await changing(
            AuditEntry(
                action: "intel.feed.delete", objectType: "intel_feed", objectID: id.uuidString,
                summary: "Deleted feed \(feed.name)"),
            by: scope.actor
        ) { sql in
            try await sql.raw("DELETE FROM intel_feeds WHERE id = \(bind: id)").run()
        }
    }

    static func feed(_ row: any SQLRow) throws -> IntelFeed {
        IntelFeed(
            id: try row.decode(column: "id", as: UUID.self),
            establishmentID: .init(try row.decode(column: "establishment_id", as: UUID.self)),
            name: try row.decode(column: "name", as: String.self),
            direction: IntelFeed.Direction(rawValue: try row.decode(column: "direction", as: String.self)) ?? .pull,
            url: try row.decode(column: "url", as: String.self),
            username: try row.decode(column: "username", as: String?.self),
            hasSecret: try row.decode(column: "secret_sealed", as: Data?.self) != nil,
            collectionID: try row.decode(column: "collection_id", as: UUID.self),
            intervalMinutes: Int(try row.decode(column: "interval_minutes", as: Int64.self)),
            maxTLP: TLP(rawValue: try row.decode(column: "max_tlp", as: String.self)) ?? .amber,
            enabled: try row.decode(column: "enabled", as: Bool.self),
            cursor: try row.decode(column: "cursor", as: String?.self),
            nextRunAt: Date(milliseconds: try row.decode(column: "next_run_at", as: Int64.self)),
            lastRunAt: try row.decode(column: "last_run_at", as: Int64?.self).map(Date.init(milliseconds:)),
            lastSuccessAt: try row.decode(column: "last_success_at", as: Int64?.self).map(Date.init(milliseconds:)),
            lastError: try row.decode(column: "last_error", as: String?.self),
            failures: Int(try row.decode(column: "failures", as: Int64.self)),
            objectsTotal: try row.decode(column: "objects_total", as: Int64.self),
            lastObjects: try row.decode(column: "last_objects", as: Int64.self))
    }

    // MARK: Running

    /// Runs every enabled feed that is due, on whichever node gets there first (a feed is claimed by moving its
    /// next run forward in one statement). Returns how many ran.
    @discardableResult
    public func runDueFeeds() async throws -> Int {
        let now = clock.milliseconds
        let due = try await sql.raw(
            "SELECT id FROM intel_feeds WHERE enabled = \(bind: true) AND next_run_at <= \(bind: now) ORDER BY next_run_at LIMIT 20"
        ).all().map { try $0.decode(column: "id", as: UUID.self) }
        var ran = 0
        for id in due {
            // Claim: a run holds the feed for 15 minutes; the outcome sets the real next run.
            let claimed = try await sql.raw(
                """
                UPDATE intel_feeds SET next_run_at = \(bind: now + 900_000) WHERE id = \(bind: id) \
                AND next_run_at <= \(bind: now) RETURNING id
                """
            ).all()
            guard !claimed.isEmpty else { continue }
            _ = try await runFeed(id)
            ran += 1
        }
        return ran
    }

    /// Runs one feed now ("sync now" in the interface); records the outcome and returns the feed.
    public func runFeed(_ id: UUID, in scope: TenantScope) async throws -> IntelFeed {
        try scope.require(Self.writers)
        _ = try await feed(id, in: scope)
        _ = try await runFeed(id)
        return try await feed(id, in: scope)
    }

    func runFeed(_ id: UUID) async throws -> Bool {
        guard let row = try await sql.raw("SELECT * FROM intel_feeds WHERE id = \(bind: id)").first() else {
            return false
        }
        let feed = try Self.feed(row)
        var secret: String?
        if let sealed = try row.decode(column: "secret_sealed", as: Data?.self), let secrets {
            secret = String(decoding: try secrets.open(sealed), as: UTF8.self)
        }
        let client = TAXIIClient(collectionURL: feed.url, username: feed.username, secret: secret)
        let started = clock.milliseconds
        var count: Int64 = 0
        var cursor = feed.cursor
        var failure: String?
        do {
            switch feed.direction {
            case .pull: (count, cursor) = try await pull(feed, client: client)
            case .push: (count, cursor) = try await push(feed, client: client)
            }
        } catch {
            failure = String(describing: error).prefix(500).description
        }
        let failures = failure == nil ? 0 : feed.failures + 1
        // After a failure the next run waits longer each time: interval × 2^(failures-1), at most a day.
        let wait = Int64(feed.intervalMinutes) * 60_000 * Int64(1 << min(max(failures - 1, 0), 10))
        let next = started + min(wait, 86_400_000)
        try await sql.raw(
            """
            UPDATE intel_feeds SET cursor = \(bind: cursor), last_run_at = \(bind: started), \
            last_success_at = \(unsafeRaw: failure == nil ? "\(started)" : "last_success_at"), \
            last_error = \(bind: failure), failures = \(bind: Int64(failures)), \
            objects_total = objects_total + \(bind: count), last_objects = \(bind: count), next_run_at = \(bind: next) \
            WHERE id = \(bind: id)
            """
        ).run()
        return failure == nil
    }

    /// Pulls every object added since the cursor, page by page, into the local collection.
    func pull(_ feed: IntelFeed, client: TAXIIClient) async throws -> (Int64, String?) {
        let collection = try await loadCollections(ids: [feed.collectionID]).first
        guard let collection else { throw HygieCoreError.notFound("collection") }
        let principal = feedPrincipal(feed)
        var lastSeen = feed.cursor
        var next: String?
        var count: Int64 = 0
        for _ in 0..<1000 {
            // With a `next` token the filters stay those of the first page (the token is bound to them).
            let page = try await client.getObjects(addedAfter: feed.cursor, next: next, limit: 500)
            let entries = try STIXBundle.read(page.body)
            if !entries.isEmpty {
                let status = try await store.add(entries, to: collection, by: principal)
                count += Int64(status.successes.filter { $0.message == nil }.count)
            }
            if let last = page.lastAdded, STIXTimestamp(last) != nil { lastSeen = last }
            guard page.more, !entries.isEmpty else { break }
            guard let token = page.next else {
                // A server without `next`: the next run continues from X-TAXII-Date-Added-Last.
                break
            }
            next = token
        }
        let cursor = lastSeen
        return (count, cursor)
    }

    /// Pushes local objects added since the cursor (up to the feed's TLP), 100 per request.
    func push(_ feed: IntelFeed, client: TAXIIClient) async throws -> (Int64, String?) {
        guard let collection = try await loadCollections(ids: [feed.collectionID]).first else {
            throw HygieCoreError.notFound("collection")
        }
        let scopeSettings = try await sql.raw(
            "SELECT anonymise_upward FROM intel_settings WHERE establishment_id = \(bind: feed.establishmentID.uuid)"
        ).first()
        let anonymise = try scopeSettings?.decode(column: "anonymise_upward", as: Bool.self) ?? false
        let ownIdentity = Self.identityID(for: feed.establishmentID)
        var after = feed.cursor.flatMap { Int64($0) }
        var filter = ObjectFilter()
        filter.versions = nil
        filter.limit = 100
        var count: Int64 = 0
        var remoteFailures: [String] = []
        while true {
            let (objects, more) = try await store.page(
                collection: collection, filter: filter, maxTLP: min(feed.maxTLP, .amberStrict), after: after,
                includeBody: true)
            guard !objects.isEmpty else { break }
            var bodies: [String] = []
            for object in objects {
                if anonymise {
                    if object.stixID == ownIdentity { continue }
                    bodies.append(Self.anonymised(object.body, identity: ownIdentity))
                } else {
                    bodies.append(object.body)
                }
            }
            if !bodies.isEmpty {
                let status = try await client.addObjects(
                    Array(("{\"objects\":[" + bodies.joined(separator: ",") + "]}").utf8))
                count += Int64(status["success_count"]?.intValue ?? 0)
                for failure in status["failures"]?.arrayValue ?? [] {
                    remoteFailures.append(
                        "\(failure["id"]?.stringValue ?? "?"): \(failure["message"]?.stringValue ?? "refused")")
                }
            }
            after = objects.last?.dateAdded
            if !more { break }
        }
        if !remoteFailures.isEmpty {
            // The cursor still moves: an object the remote refuses would otherwise block every later one.
            try await sql.raw(
                "UPDATE intel_feeds SET cursor = \(bind: after.map(String.init)) WHERE id = \(bind: feed.id)"
            ).run()
            throw TAXIIClient.RemoteError(
                description: "\(remoteFailures.count) object(s) refused by the remote, e.g. \(remoteFailures[0])",
                transient: false)
        }
        return (count, after.map(String.init))
    }

    /// The object without the establishment's identity (`created_by_ref`, `where_sighted_refs`).
    static func anonymised(_ body: String, identity: String) -> String {
        // try?: stored objects were validated on the way in.
        guard var json = try? JSONParser.parse(body) else { return body }
        if json["created_by_ref"]?.stringValue == identity { json = json.removing("created_by_ref") }
        if let refs = json["where_sighted_refs"]?.arrayValue {
            let kept = refs.filter { $0.stringValue != identity }
            json = kept.isEmpty ? json.removing("where_sighted_refs") : json.setting("where_sighted_refs", .array(kept))
        }
        return JSONWriter.string(json)
    }

    func feedPrincipal(_ feed: IntelFeed) -> IntelPrincipal {
        let actor = Actor(
            userID: nil, displayName: "feed \(feed.name)", establishmentID: feed.establishmentID, role: .analyst,
            channel: "system", requestID: nil, sourceAddress: nil)
        return IntelPrincipal(
            kind: .member(.analyst), establishmentID: feed.establishmentID, maxTLP: .red, name: actor.displayName,
            actor: actor)
    }
}
