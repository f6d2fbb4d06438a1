public import Foundation
import HygieCore
public import HygieStorage
import SQLKit
public import STIX

/// What the indicator and object pages search for.
public struct ObjectSearch: Sendable, Hashable {
    /// Words found in the name, the id or the JSON (a value such as an address or a hash).
    public var text: String = ""
    public var types: [String] = []
    public var collectionID: UUID?
    /// Only objects marked at most this TLP.
    public var maxTLP: TLP = .red
    public var includeRevoked = false
    /// Keyset position: `date_added` of the last object of the previous page (newest first).
    public var before: Int64?
    public var limit = 50

    public init() {}
}

/// One object found, with where it lives.
public struct FoundObject: Sendable, Hashable {
    public var object: StoredObject
    public var collection: IntelCollection

    public init(object: StoredObject, collection: IntelCollection) {
        self.object = object
        self.collection = collection
    }
}

/// An object with its versions and the objects that refer to it or that it refers to.
public struct ObjectDetail: Sendable {
    public var object: StoredObject
    public var collection: IntelCollection
    public var versions: [String]
    public var related: [FoundObject]
    public var sightings: SightingSummary?
}

extension IntelService {
    /// Latest versions of objects in the collections the member can read, newest first.
    public func search(_ search: ObjectSearch, in scope: TenantScope) async throws -> (
        objects: [FoundObject], next: Int64?
    ) {
        try scope.require(Self.readers)
        let readable = try await collections(for: principal(for: scope)).filter(\.canRead).map(\.collection)
        let chosen = search.collectionID.map { id in readable.filter { $0.id == id } } ?? readable
        guard !chosen.isEmpty else { return ([], nil) }
        let byID = Dictionary(chosen.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var query: SQLQueryString = """
            SELECT date_added, stix_id, type, spec_version, version, version_text, tlp_rank, revoked, is_latest, name, body, \
            collection_id FROM intel_objects WHERE collection_id IN (\(binds: chosen.map(\.id))) AND is_latest = \(bind: true) \
            AND tlp_rank <= \(bind: search.maxTLP.rank)
            """
        if !search.types.isEmpty { query = query + " AND type IN (\(binds: search.types))" }
        if !search.includeRevoked { query = query + " AND revoked = \(bind: false)" }
        let text = search.text.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty {
            let like =
                "%" + text.lowercased().replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "")
                + "%"
            query =
                query
                + " AND (LOWER(name) LIKE \(bind: like) OR stix_id = \(bind: text) OR LOWER(body) LIKE \(bind: like))"
        }
        if let before = search.before { query = query + " AND date_added < \(bind: before)" }
        let rows = try await sql.raw(query + " ORDER BY date_added DESC LIMIT \(bind: search.limit + 1)").all()
        var found: [FoundObject] = []
        for row in rows.prefix(search.limit) {
            guard let collection = byID[try row.decode(column: "collection_id", as: UUID.self)] else { continue }
            found.append(FoundObject(object: try ObjectStore.stored(row, includeBody: true), collection: collection))
        }
        return (found, rows.count > search.limit ? found.last?.object.dateAdded : nil)
    }

    /// One object (latest version) from a collection the member can read, with versions and relations.
    public func detail(_ stixID: String, collection collectionID: UUID?, in scope: TenantScope) async throws
        -> ObjectDetail
    {
        try scope.require(Self.readers)
        let readable = try await collections(for: principal(for: scope)).filter(\.canRead).map(\.collection)
        let chosen = collectionID.map { id in readable.filter { $0.id == id } } ?? readable
        guard !chosen.isEmpty else { throw HygieCoreError.notFound("object") }
        let rows = try await sql.raw(
            """
            SELECT * FROM intel_objects WHERE collection_id IN (\(binds: chosen.map(\.id))) AND stix_id = \(bind: stixID) \
            ORDER BY version
            """
        ).all()
        guard let latestRow = try rows.last(where: { try $0.decode(column: "is_latest", as: Bool.self) }) ?? rows.last
        else {
            throw HygieCoreError.notFound("object")
        }
        let object = try ObjectStore.stored(latestRow, includeBody: true)
        let collectionOfObject = try latestRow.decode(column: "collection_id", as: UUID.self)
        guard let collection = chosen.first(where: { $0.id == collectionOfObject }) else {
            throw HygieCoreError.notFound("object")
        }
        let versions = try rows.filter { try $0.decode(column: "collection_id", as: UUID.self) == collectionOfObject }
            .map { try $0.decode(column: "version_text", as: String.self) }

        // Objects it names (…_ref, …_refs) and objects that name it.
        var refs = Set<String>()
        if let json = try? JSONParser.parse(object.body), let members = json.members {  // stored objects are valid JSON
            for member in members where member.key.hasSuffix("_ref") || member.key.hasSuffix("_refs") {
                if let ref = member.value.stringValue { refs.insert(ref) }
                for ref in member.value.arrayValue ?? [] { if let text = ref.stringValue { refs.insert(text) } }
            }
        }
        refs.remove(stixID)
        let ids = chosen.map(\.id)
        var relatedRows: [any SQLRow] = []
        if !refs.isEmpty {
            relatedRows += try await sql.raw(
                """
                SELECT * FROM intel_objects WHERE collection_id IN (\(binds: ids)) AND is_latest = \(bind: true) \
                AND stix_id IN (\(binds: Array(refs).prefix(200).map { $0 })) LIMIT 200
                """
            ).all()
        }
        relatedRows += try await sql.raw(
            """
            SELECT * FROM intel_objects WHERE collection_id IN (\(binds: ids)) AND is_latest = \(bind: true) \
            AND type IN ('relationship', 'sighting', 'report', 'note', 'opinion', 'grouping', 'observed-data') \
            AND stix_id <> \(bind: stixID) AND body LIKE \(bind: "%\"" + stixID + "\"%") LIMIT 200
            """
        ).all()
        let byID = Dictionary(chosen.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var related: [FoundObject] = []
        var seen = Set<String>()
        for row in relatedRows {
            let found = try ObjectStore.stored(row, includeBody: true)
            guard seen.insert(found.stixID).inserted,
                let owner = byID[try row.decode(column: "collection_id", as: UUID.self)]
            else { continue }
            related.append(FoundObject(object: found, collection: owner))
        }
        // The other end of each relationship or sighting naming this object (indicator → indicates → malware).
        var ends = Set<String>()
        for item in related where ["relationship", "sighting"].contains(item.object.type) {
            guard let json = try? JSONParser.parse(item.object.body) else { continue }  // stored objects are valid JSON
            for key in ["source_ref", "target_ref", "sighting_of_ref"] {
                if let ref = json[key]?.stringValue, ref != stixID, !seen.contains(ref) { ends.insert(ref) }
            }
        }
        if !ends.isEmpty {
            let rows = try await sql.raw(
                """
                SELECT * FROM intel_objects WHERE collection_id IN (\(binds: ids)) AND is_latest = \(bind: true) \
                AND stix_id IN (\(binds: Array(ends).prefix(200).map { $0 })) LIMIT 200
                """
            ).all()
            for row in rows {
                let found = try ObjectStore.stored(row, includeBody: true)
                guard seen.insert(found.stixID).inserted,
                    let owner = byID[try row.decode(column: "collection_id", as: UUID.self)]
                else { continue }
                related.append(FoundObject(object: found, collection: owner))
            }
        }
        let sighting = try await sightings(in: scope, indicatorID: stixID, limit: 1).first
        return ObjectDetail(
            object: object, collection: collection, versions: versions, related: related, sightings: sighting)
    }

    /// Counts per type and TLP over the readable collections (for the overview page).
    public func overview(in scope: TenantScope) async throws -> (types: [(String, Int)], tlp: [(TLP, Int)]) {
        try scope.require(Self.readers)
        let readable = try await collections(for: principal(for: scope)).filter(\.canRead).map(\.collection.id)
        guard !readable.isEmpty else { return ([], []) }
        let types = try await sql.raw(
            """
            SELECT type, COUNT(*) AS n FROM intel_objects WHERE collection_id IN (\(binds: readable)) \
            AND is_latest = \(bind: true) GROUP BY type ORDER BY n DESC
            """
        ).all().map { (try $0.decode(column: "type", as: String.self), try $0.decode(column: "n", as: Int.self)) }
        let tlp = try await sql.raw(
            """
            SELECT tlp_rank, COUNT(*) AS n FROM intel_objects WHERE collection_id IN (\(binds: readable)) \
            AND is_latest = \(bind: true) GROUP BY tlp_rank ORDER BY tlp_rank
            """
        ).all().map {
            (TLP(storedRank: try $0.decode(column: "tlp_rank", as: Int.self)), try $0.decode(column: "n", as: Int.self))
        }
        return (types, tlp)
    }
}
