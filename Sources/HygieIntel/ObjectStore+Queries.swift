import Crypto
import FluentKit
import Foundation
import HygieCore
import HygieStorage
import SQLKit
import STIX

/// STIX objects of collections: adding (with de-duplication, version tracking and unique `date_added`),
/// paging with TAXII filters, versions, deletion and status resources. Callers check access first.
struct ObjectStore: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock

    var sql: any SQLDatabase { database.sql }

    static let insertChunk = 200
    static let lookupChunk = 500

    /// A valid object ready to be written.
    struct Candidate: Sendable {
        var object: STIXObject
        var bytes: ArraySlice<UInt8>
        var hash: String
    }

    /// Adds the entries of one envelope to a collection in one transaction and records the status resource.
    /// Invalid entries are reported as failures; exact duplicates of stored versions count as successes and
    /// keep their original `date_added`.
    func add(
        _ entries: [STIXBundle.Entry], to collection: IntelCollection, by principal: IntelPrincipal
    ) async throws -> AddStatus {
        let statusID = UUID()
        let requestTime = Int64(clock.now().timeIntervalSince1970 * 1_000_000)
        var failures: [AddStatus.Detail] = []
        var candidates: [Candidate] = []
        for entry in entries {
            switch entry.result {
            case .success(let object):
                let digest = Data(entry.bytes).sha256Hex
                candidates.append(Candidate(object: object, bytes: entry.bytes, hash: digest))
            case .failure(let error):
                failures.append(
                    .init(
                        id: entry.claimedID ?? "", version: entry.bytes.isEmpty ? "" : "unknown", message: error.message
                    ))
            }
        }
        let store = self
        let failed = failures
        let valid = candidates
        let successes = try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            let details = try await store.write(valid, to: collection, requestTime: requestTime, on: sql)
            try await store.recordStatus(
                id: statusID, collection: collection, principal: principal, requestTime: requestTime,
                total: entries.count, successes: details, failures: failed, on: sql)
            try await store.audit.record(
                AuditEntry(
                    action: "intel.objects.add", objectType: "collection", objectID: collection.id.uuidString,
                    summary:
                        "\(principal.name) added \(details.count) of \(entries.count) objects to collection \(collection.title)",
                    establishmentID: collection.establishmentID),
                by: principal.actor, on: db)
            return details
        }
        return AddStatus(
            id: statusID, status: "complete", requestTimestamp: requestTime, totalCount: entries.count,
            successCount: successes.count, failureCount: failures.count, pendingCount: 0, successes: successes,
            failures: failures)
    }

    struct Existing {
        var version: Int64
        var hash: String
        var isLatest: Bool
    }

    func write(
        _ candidates: [Candidate], to collection: IntelCollection, requestTime: Int64, on sql: any SQLDatabase
    ) async throws -> [AddStatus.Detail] {
        let establishment = collection.establishmentID.uuid
        guard
            let clockRow = try await sql.raw(
                """
                SELECT added_clock FROM intel_collections WHERE id = \(bind: collection.id) \
                AND establishment_id = \(bind: establishment)\(unsafeRaw: database.dialect.forUpdate)
                """
            ).first()
        else { throw HygieCoreError.notFound("collection") }
        var addedClock = max(try clockRow.decode(column: "added_clock", as: Int64.self), requestTime - 1)

        // What is stored already for the ids of this envelope.
        var existing: [String: [Existing]] = [:]
        let ids = Array(Set(candidates.map(\.object.id)))
        for start in stride(from: 0, to: ids.count, by: Self.lookupChunk) {
            let chunk = ids[start..<min(start + Self.lookupChunk, ids.count)]
            let rows = try await sql.raw(
                """
                SELECT stix_id, version, content_hash, is_latest FROM intel_objects \
                WHERE establishment_id = \(bind: establishment) AND collection_id = \(bind: collection.id) \
                AND stix_id IN (\(binds: Array(chunk)))
                """
            ).all()
            for row in rows {
                existing[try row.decode(column: "stix_id", as: String.self), default: []].append(
                    Existing(
                        version: try row.decode(column: "version", as: Int64.self),
                        hash: try row.decode(column: "content_hash", as: String.self),
                        isLatest: try row.decode(column: "is_latest", as: Bool.self)))
            }
        }

        let storedIDs = Set(existing.keys)
        struct NewRow {
            var candidate: Candidate
            var dateAdded: Int64
            var version: Int64
            var versionText: String
        }
        var newRows: [NewRow] = []
        var details: [AddStatus.Detail] = []
        for candidate in candidates {
            let object = candidate.object
            var known = existing[object.id] ?? []
            if let version = object.version {
                let text = Self.versionText(of: object)
                if known.contains(where: { $0.version == version.microseconds }) {
                    details.append(.init(id: object.id, version: text, message: "already stored"))
                    continue
                }
                addedClock += 1
                newRows.append(
                    NewRow(
                        candidate: candidate, dateAdded: addedClock, version: version.microseconds, versionText: text))
                known.append(Existing(version: version.microseconds, hash: candidate.hash, isLatest: false))
                details.append(.init(id: object.id, version: text, message: nil))
            } else {
                // No modified/created (observables): a version is new content, dated by its arrival.
                if known.contains(where: { $0.hash == candidate.hash }) {
                    let version = known.first { $0.hash == candidate.hash }!.version
                    details.append(
                        .init(
                            id: object.id, version: STIXTimestamp(microseconds: version).taxiiString,
                            message: "already stored"))
                    continue
                }
                addedClock += 1
                let text = STIXTimestamp(microseconds: addedClock).taxiiString
                newRows.append(
                    NewRow(candidate: candidate, dateAdded: addedClock, version: addedClock, versionText: text))
                known.append(Existing(version: addedClock, hash: candidate.hash, isLatest: false))
                details.append(.init(id: object.id, version: text, message: nil))
            }
            existing[object.id] = known
        }
        guard !newRows.isEmpty else { return details }

        // The latest version of each id, over stored and new rows; older latest rows lose the flag.
        var latest: [String: Int64] = [:]
        for (id, rows) in existing { latest[id] = rows.map(\.version).max() }
        var demote: [String] = []
        for id in Set(newRows.map(\.candidate.object.id)) {
            let storedLatest = (existing[id] ?? []).first { $0.isLatest }
            if let storedLatest, storedLatest.version != latest[id] { demote.append(id) }
        }
        for start in stride(from: 0, to: demote.count, by: Self.lookupChunk) {
            let chunk = Array(demote[start..<min(start + Self.lookupChunk, demote.count)])
            try await sql.raw(
                """
                UPDATE intel_objects SET is_latest = \(bind: false) WHERE establishment_id = \(bind: establishment) \
                AND collection_id = \(bind: collection.id) AND stix_id IN (\(binds: chunk)) AND is_latest = \(bind: true)
                """
            ).run()
        }
        for start in stride(from: 0, to: newRows.count, by: Self.insertChunk) {
            let chunk = newRows[start..<min(start + Self.insertChunk, newRows.count)]
            var values: [SQLQueryString] = []
            for row in chunk {
                let object = row.candidate.object
                let tlp = object.tlp ?? collection.defaultTLP
                let isLatest = latest[object.id] == row.version
                values.append(
                    """
                    (\(bind: establishment), \(bind: collection.id), \(bind: row.dateAdded), \(bind: object.id), \
                    \(bind: object.type), \(bind: object.specVersion ?? "2.1"), \(bind: row.version), \
                    \(bind: row.versionText), \(bind: tlp.rank), \(bind: object.isRevoked), \(bind: isLatest), \
                    \(bind: row.candidate.hash), \(bind: object.name.map { String($0.prefix(500)) }), \
                    \(bind: String(decoding: row.candidate.bytes, as: UTF8.self)))
                    """)
            }
            try await sql.raw(
                """
                INSERT INTO intel_objects (establishment_id, collection_id, date_added, stix_id, type, spec_version, \
                version, version_text, tlp_rank, revoked, is_latest, content_hash, name, body) VALUES \
                \(values.joined(separator: ", "))
                """
            ).run()
        }
        let newIDs = Set(newRows.map(\.candidate.object.id)).subtracting(storedIDs).count
        try await sql.raw(
            """
            UPDATE intel_collections SET added_clock = \(bind: addedClock), object_count = object_count + \(bind: Int64(newIDs)) \
            WHERE id = \(bind: collection.id)
            """
        ).run()
        if newRows.contains(where: { $0.candidate.object.type == "indicator" }) { try await Self.bumpRevision(sql) }
        return details
    }

    /// Tells every node's ``IndicatorFeed`` that the indicators may have changed.
    static func bumpRevision(_ sql: any SQLDatabase) async throws {
        try await sql.raw("UPDATE intel_state SET revision = revision + 1 WHERE id = 1").run()
    }

    /// `modified` (or `created`) exactly as the object wrote it.
    static func versionText(of object: STIXObject) -> String {
        object.json["modified"]?.stringValue ?? object.json["created"]?.stringValue ?? object.version?.stixString ?? ""
    }

    func recordStatus(
        id: UUID, collection: IntelCollection, principal: IntelPrincipal, requestTime: Int64, total: Int,
        successes: [AddStatus.Detail], failures: [AddStatus.Detail], on sql: any SQLDatabase
    ) async throws {
        let details = JSONValue.object([
            .init("successes", .array(successes.map(Self.detailJSON))),
            .init("failures", .array(failures.map(Self.detailJSON))),
        ])
        try await sql.raw(
            """
            INSERT INTO intel_status (id, establishment_id, collection_id, principal, status, request_timestamp, \
            total_count, success_count, failure_count, pending_count, details) VALUES (\(bind: id), \
            \(bind: collection.establishmentID.uuid), \(bind: collection.id), \(bind: principal.name), \
            \(bind: "complete"), \(bind: requestTime), \(bind: Int64(total)), \(bind: Int64(successes.count)), \
            \(bind: Int64(failures.count)), \(bind: Int64(0)), \(bind: JSONWriter.string(details)))
            """
        ).run()
    }

    static func detailJSON(_ detail: AddStatus.Detail) -> JSONValue {
        var members: [JSONValue.Member] = [.init("id", .string(detail.id)), .init("version", .string(detail.version))]
        if let message = detail.message { members.append(.init("message", .string(message))) }
        return .object(members)
    }

    func status(_ id: UUID, collections: Set<UUID>) async throws -> AddStatus? {
        guard let row = try await sql.raw("SELECT * FROM intel_status WHERE id = \(bind: id)").first(),
            collections.contains(try row.decode(column: "collection_id", as: UUID.self))
        else { return nil }
        let details = try JSONParser.parse(try row.decode(column: "details", as: String.self))
        func list(_ key: String) -> [AddStatus.Detail] {
            (details[key]?.arrayValue ?? []).map {
                .init(
                    id: $0["id"]?.stringValue ?? "", version: $0["version"]?.stringValue ?? "",
                    message: $0["message"]?.stringValue)
            }
        }
        return AddStatus(
            id: id, status: try row.decode(column: "status", as: String.self),
            requestTimestamp: try row.decode(column: "request_timestamp", as: Int64.self),
            totalCount: Int(try row.decode(column: "total_count", as: Int64.self)),
            successCount: Int(try row.decode(column: "success_count", as: Int64.self)),
            failureCount: Int(try row.decode(column: "failure_count", as: Int64.self)),
            pendingCount: Int(try row.decode(column: "pending_count", as: Int64.self)),
            successes: list("successes"), failures: list("failures"))
    }

    // MARK: Reading

    /// The WHERE clause shared by listings, versions and deletion.
    func conditions(collection: IntelCollection, filter: ObjectFilter, maxTLP: TLP) -> SQLQueryString {
        var query: SQLQueryString = """
            establishment_id = \(bind: collection.establishmentID.uuid) AND collection_id = \(bind: collection.id) \
            AND tlp_rank <= \(bind: maxTLP.rank)
            """
        if !filter.ids.isEmpty { query = query + " AND stix_id IN (\(binds: filter.ids))" }
        if !filter.types.isEmpty { query = query + " AND type IN (\(binds: filter.types))" }
        if !filter.specVersions.isEmpty { query = query + " AND spec_version IN (\(binds: filter.specVersions))" }
        if let versions = filter.versions, !versions.isEmpty {
            var alternatives: [SQLQueryString] = []
            for selector in versions {
                switch selector {
                case .last: alternatives.append("is_latest = \(bind: true)")
                case .first:
                    alternatives.append(
                        """
                        version = (SELECT MIN(o2.version) FROM intel_objects o2 WHERE \
                        o2.establishment_id = intel_objects.establishment_id AND o2.collection_id = intel_objects.collection_id \
                        AND o2.stix_id = intel_objects.stix_id AND o2.tlp_rank <= \(bind: maxTLP.rank))
                        """)
                case .exact(let micros): alternatives.append("version = \(bind: micros)")
                }
            }
            query = query + " AND (" + alternatives.joined(separator: " OR ") + ")"
        }
        return query
    }

    /// One page in `date_added` order, starting after `after` (exclusive).
    func page(
        collection: IntelCollection, filter: ObjectFilter, maxTLP: TLP, after: Int64?, includeBody: Bool
    ) async throws -> (objects: [StoredObject], more: Bool) {
        var query = conditions(collection: collection, filter: filter, maxTLP: maxTLP)
        if let after { query = query + " AND date_added > \(bind: after)" }
        let columns =
            "date_added, stix_id, type, spec_version, version, version_text, tlp_rank, revoked, is_latest, name"
            + (includeBody ? ", body" : "")
        let rows = try await sql.raw(
            """
            SELECT \(unsafeRaw: columns) FROM intel_objects WHERE \(query) ORDER BY date_added LIMIT \
            \(bind: filter.limit + 1)
            """
        ).all()
        var objects = try rows.map { try Self.stored($0, includeBody: includeBody) }
        let more = objects.count > filter.limit
        if more { objects.removeLast() }
        return (objects, more)
    }

    static func stored(_ row: any SQLRow, includeBody: Bool) throws -> StoredObject {
        StoredObject(
            stixID: try row.decode(column: "stix_id", as: String.self),
            type: try row.decode(column: "type", as: String.self),
            specVersion: try row.decode(column: "spec_version", as: String.self),
            versionText: try row.decode(column: "version_text", as: String.self),
            version: try row.decode(column: "version", as: Int64.self),
            dateAdded: try row.decode(column: "date_added", as: Int64.self),
            tlp: TLP(storedRank: try row.decode(column: "tlp_rank", as: Int.self)),
            revoked: try row.decode(column: "revoked", as: Bool.self),
            isLatest: try row.decode(column: "is_latest", as: Bool.self),
            name: try row.decode(column: "name", as: String?.self),
            body: includeBody ? try row.decode(column: "body", as: String.self) : "")
    }

    /// Deletes the matching versions of one object; returns how many rows went. The latest flag moves to
    /// the newest remaining version.
    func delete(
        stixID: String, collection: IntelCollection, filter: ObjectFilter, maxTLP: TLP, by principal: IntelPrincipal
    )
        async throws -> Int
    {
        var filter = filter
        filter.ids = [stixID]
        let store = self
        let condition = conditions(collection: collection, filter: filter, maxTLP: maxTLP)
        return try await database.transaction { db in
            let sql = db as! any SQLDatabase  // Both drivers are SQL databases.
            let count =
                try await sql.raw("SELECT COUNT(*) AS n FROM intel_objects WHERE \(condition)").first()?
                .decode(column: "n", as: Int.self) ?? 0
            guard count > 0 else { return 0 }
            try await sql.raw("DELETE FROM intel_objects WHERE \(condition)").run()
            try await Self.bumpRevision(sql)
            let scope: SQLQueryString = """
                establishment_id = \(bind: collection.establishmentID.uuid) AND collection_id = \(bind: collection.id) \
                AND stix_id = \(bind: stixID)
                """
            let remaining =
                try await sql.raw("SELECT COUNT(*) AS n FROM intel_objects WHERE \(scope)").first()?
                .decode(column: "n", as: Int.self) ?? 0
            let hasLatest =
                try await sql.raw(
                    "SELECT COUNT(*) AS n FROM intel_objects WHERE \(scope) AND is_latest = \(bind: true)"
                )
                .first()?.decode(column: "n", as: Int.self) ?? 0
            if remaining == 0 {
                try await sql.raw(
                    "UPDATE intel_collections SET object_count = object_count - 1 WHERE id = \(bind: collection.id)"
                ).run()
            } else if hasLatest == 0 {
                try await sql.raw(
                    """
                    UPDATE intel_objects SET is_latest = \(bind: true) WHERE \(scope) AND version = \
                    (SELECT MAX(version) FROM intel_objects WHERE \(scope))
                    """
                ).run()
            }
            try await store.audit.record(
                AuditEntry(
                    action: "intel.object.delete", objectType: "stix_object", objectID: stixID,
                    summary:
                        "\(principal.name) deleted \(count) version(s) of \(stixID) from collection \(collection.title)",
                    establishmentID: collection.establishmentID),
                by: principal.actor, on: db)
            return count
        }
    }
}
