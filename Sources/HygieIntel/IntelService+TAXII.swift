import Crypto
import FluentKit
public import Foundation
public import HygieCore
import HygieStorage
import SQLKit
import STIX

/// The TAXII 2.1 operations, for a principal. Permission rules follow TAXII 2.1 §5: a collection the principal
/// can neither read nor write is "not found"; reading a write-only collection or writing a read-only one is
/// "forbidden". Objects above the principal's TLP ceiling are invisible everywhere.
extension IntelService {
    /// An API root: one per establishment holding collections the principal can use.
    public struct APIRoot: Sendable, Hashable {
        public var establishmentID: Establishment.ID
        public var title: String
    }

    /// The principal's own establishment first, then those whose collections it was given.
    public func apiRoots(for principal: IntelPrincipal) async throws -> [APIRoot] {
        var ids = [principal.establishmentID]
        for access in try await collections(for: principal) where !ids.contains(access.collection.establishmentID) {
            ids.append(access.collection.establishmentID)
        }
        var roots: [APIRoot] = []
        for id in ids {
            guard
                let row = try await sql.raw("SELECT name FROM core_establishments WHERE id = \(bind: id.uuid)").first()
            else { continue }
            roots.append(APIRoot(establishmentID: id, title: try row.decode(column: "name", as: String.self)))
        }
        return roots
    }

    /// Whether an API root exists for the principal.
    public func apiRoot(_ establishmentID: Establishment.ID, for principal: IntelPrincipal) async throws -> APIRoot {
        guard let root = try await apiRoots(for: principal).first(where: { $0.establishmentID == establishmentID })
        else {
            throw HygieCoreError.notFound("API root")
        }
        return root
    }

    func access(
        _ collectionID: UUID, root: Establishment.ID, for principal: IntelPrincipal, read: Bool = false,
        write: Bool = false
    ) async throws -> IntelCollection {
        let access = try await collection(collectionID, for: principal)
        // TAXII 2.1 §5 tables: a collection neither readable nor writable answers "not found".
        guard access.collection.establishmentID == root, access.canRead || access.canWrite else {
            throw HygieCoreError.notFound("collection")
        }
        if read, !access.canRead {
            throw HygieCoreError.forbidden("this collection cannot be read with these credentials")
        }
        if write, !access.canWrite {
            throw HygieCoreError.forbidden("this collection cannot be written with these credentials")
        }
        return access.collection
    }

    /// Get Objects / Get Object Manifests (§5.3, §5.4).
    public func objects(
        in collectionID: UUID, root: Establishment.ID, filter: ObjectFilter, next: String?, includeBody: Bool,
        for principal: IntelPrincipal
    ) async throws -> ObjectPage {
        let collection = try await access(collectionID, root: root, for: principal, read: true)
        return try await page(collection, filter: filter, next: next, includeBody: includeBody, principal: principal)
    }

    func page(
        _ collection: IntelCollection, filter: ObjectFilter, next: String?, includeBody: Bool, principal: IntelPrincipal
    )
        async throws -> ObjectPage
    {
        var after = filter.addedAfter
        if let next {
            let position = try PageToken.position(next, collection: collection.id, filter: filter, principal: principal)
            after = max(after ?? .min, position)
        }
        let (objects, more) = try await store.page(
            collection: collection, filter: filter, maxTLP: principal.maxTLP, after: after, includeBody: includeBody)
        var page = ObjectPage(
            objects: objects, more: more, next: nil, firstAdded: objects.first?.dateAdded,
            lastAdded: objects.last?.dateAdded)
        if more, let last = objects.last?.dateAdded {
            page.next = PageToken.make(position: last, collection: collection.id, filter: filter, principal: principal)
        }
        if objects.isEmpty {
            // Nothing (more) to return: the headers say where the reader stands, so polling with
            // `added_after` keeps its place.
            let position = after ?? 0
            page.firstAdded = position
            page.lastAdded = position
        }
        return page
    }

    /// Get an Object (§5.6): its versions selected by the filter; not found when none is visible.
    public func object(
        _ stixID: String, in collectionID: UUID, root: Establishment.ID, filter: ObjectFilter, next: String?,
        for principal: IntelPrincipal
    ) async throws -> ObjectPage {
        let collection = try await access(collectionID, root: root, for: principal, read: true)
        var filter = filter
        filter.ids = [stixID]
        filter.types = []
        let page = try await page(collection, filter: filter, next: next, includeBody: true, principal: principal)
        if page.objects.isEmpty, next == nil { throw HygieCoreError.notFound("object") }
        return page
    }

    /// Get Object Versions (§5.8): every version of one object, oldest first.
    public func versions(
        of stixID: String, in collectionID: UUID, root: Establishment.ID, filter: ObjectFilter, next: String?,
        for principal: IntelPrincipal
    ) async throws -> ObjectPage {
        let collection = try await access(collectionID, root: root, for: principal, read: true)
        var filter = filter
        filter.ids = [stixID]
        filter.types = []
        filter.versions = nil
        let page = try await page(collection, filter: filter, next: next, includeBody: false, principal: principal)
        if page.objects.isEmpty, next == nil, filter.addedAfter == nil { throw HygieCoreError.notFound("object") }
        return page
    }

    /// Add Objects (§5.5): validates the whole envelope, stores the valid objects, returns the status.
    public func addObjects(
        _ bytes: [UInt8], to collectionID: UUID, root: Establishment.ID, for principal: IntelPrincipal
    ) async throws -> AddStatus {
        try await addObjects(to: collectionID, root: root, for: principal) { bytes }
    }

    /// Add Objects, checking the principal's rights before `body` reads the request: a refused writer learns
    /// nothing from an error about its content.
    public func addObjects(
        to collectionID: UUID, root: Establishment.ID, for principal: IntelPrincipal,
        body: () async throws -> [UInt8]
    ) async throws -> AddStatus {
        let collection = try await access(collectionID, root: root, for: principal, write: true)
        let bytes = try await body()
        guard bytes.count <= configuration.maxContentLength else {
            throw IntelError.tooLarge(limit: configuration.maxContentLength)
        }
        let entries: [STIXBundle.Entry]
        do {
            entries = try STIXBundle.read(bytes)
        } catch {
            throw IntelError.unreadable(error.message)
        }
        return try await store.add(entries, to: collection, by: principal)
    }

    /// Delete an Object (§5.7): the versions selected by `match[version]` and `match[spec_version]`.
    public func deleteObject(
        _ stixID: String, in collectionID: UUID, root: Establishment.ID, filter: ObjectFilter,
        for principal: IntelPrincipal
    ) async throws {
        let collection = try await access(collectionID, root: root, for: principal, read: true, write: true)
        var filter = filter
        // Without match[version], every version goes (TAXII 2.1 §5.7).
        if !filter.explicitVersions { filter.versions = nil }
        filter.types = []
        let removed = try await store.delete(
            stixID: stixID, collection: collection, filter: filter, maxTLP: principal.maxTLP, by: principal)
        if removed == 0 { throw HygieCoreError.notFound("object") }
    }

    /// Get Status (§4.3): visible to principals who may write the collection it concerns.
    public func status(_ id: UUID, root: Establishment.ID, for principal: IntelPrincipal) async throws -> AddStatus {
        let writable = Set(
            try await collections(for: principal).filter { $0.canWrite && $0.collection.establishmentID == root }.map(
                \.collection.id))
        guard let status = try await store.status(id, collections: writable) else {
            throw HygieCoreError.notFound("status")
        }
        return status
    }
}

/// `next` tokens: the position (a `date_added`) bound to the collection, the filters and the principal, so a
/// token cannot page another collection or another query (TAXII 2.1 appendix B: servers must not trust it).
enum PageToken {
    static func binding(collection: UUID, filter: ObjectFilter, principal: IntelPrincipal) -> String {
        let text = "\(collection.uuidString)|\(principal.kind)|\(principal.maxTLP.rawValue)|\(filter.fingerprint)"
        return SHA256.hash(data: Data(text.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    static func make(position: Int64, collection: UUID, filter: ObjectFilter, principal: IntelPrincipal) -> String {
        "\(position).\(binding(collection: collection, filter: filter, principal: principal))"
    }

    static func position(_ token: String, collection: UUID, filter: ObjectFilter, principal: IntelPrincipal)
        throws(IntelError)
        -> Int64
    {
        let parts = token.split(separator: ".")
        guard parts.count == 2, let position = Int64(parts[0]), position >= 0 else {
            throw IntelError.badParameter("next: not a token this server issued")
        }
        guard String(parts[1]) == binding(collection: collection, filter: filter, principal: principal) else {
            throw IntelError.badParameter("next: this token belongs to another collection or to other filters")
        }
        return position
    }
}
