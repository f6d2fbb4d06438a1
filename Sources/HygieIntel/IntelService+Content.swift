public import Foundation
public import HygieCore
public import HygieStorage
import SQLKit
public import STIX

/// Import and export of STIX content by members of an establishment (pages, REST API, CLI).
extension IntelService {
    /// Formats `import` understands.
    public enum ImportFormat: String, Sendable, CaseIterable {
        /// A STIX 2.1 bundle or TAXII envelope.
        case stix
        /// Indicator CSV: `type,value[,name,description,tlp,valid_from,valid_until,confidence,labels]`.
        case csv
        /// A MISP event (`{"Event": {...}}`) or a list of them, as exported by MISP.
        case misp

        /// Guesses from the first non-blank bytes (JSON with `Event` is MISP, other JSON is STIX, else CSV).
        public static func guess(_ bytes: [UInt8]) -> ImportFormat {
            let head = String(decoding: bytes.prefix(4096), as: UTF8.self).trimmingCharacters(
                in: .whitespacesAndNewlines)
            if head.hasPrefix("{") || head.hasPrefix("[") {
                return head.contains("\"Event\"") ? .misp : .stix
            }
            return .csv
        }
    }

    /// Imports content into a collection of the scope's establishment; returns the status (per-object
    /// successes and failures), like a TAXII add.
    public func importContent(_ bytes: [UInt8], format: ImportFormat, into collectionID: UUID, in scope: TenantScope)
        async throws -> AddStatus
    {
        try scope.require(Self.writers)
        let collection = try await ownCollection(collectionID, in: scope)
        guard bytes.count <= configuration.maxContentLength * 10 else {
            throw IntelError.tooLarge(limit: configuration.maxContentLength * 10)
        }
        let entries: [STIXBundle.Entry]
        switch format {
        case .stix:
            do {
                entries = try STIXBundle.read(bytes)
            } catch {
                throw IntelError.unreadable(error.message)
            }
        case .csv:
            entries = try IndicatorCSV.read(
                bytes, identity: try await identityObject(for: scope.establishmentID), now: clock.now())
        case .misp:
            entries = try MISPImport.read(bytes, now: clock.now())
        }
        return try await store.add(entries, to: collection, by: principal(for: scope))
    }

    /// The latest version of every object of a collection marked at most `maxTLP` (default AMBER; RED is
    /// never exported), as one STIX bundle, with the TLP marking definitions it refers to.
    public func exportBundle(collection collectionID: UUID, maxTLP: TLP = .amber, in scope: TenantScope) async throws
        -> [UInt8]
    {
        try scope.require(Self.readers)
        let collection = try await ownCollection(collectionID, in: scope)
        let ceiling = min(maxTLP, .amberStrict)
        var filter = ObjectFilter()
        filter.limit = 5000
        var after: Int64?
        var out = Array("{\"type\":\"bundle\",\"id\":\"bundle--\(UUID().uuidString.lowercased())\",\"objects\":[".utf8)
        var first = true
        var levels = Set<TLP>()
        var included = Set<String>()
        while true {
            let (objects, more) = try await store.page(
                collection: collection, filter: filter, maxTLP: ceiling, after: after, includeBody: true)
            for object in objects {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out += Array(object.body.utf8)
                levels.insert(object.tlp)
                included.insert(object.stixID)
            }
            after = objects.last?.dateAdded
            if !more { break }
        }
        for level in levels.sorted() where !included.contains(level.markingDefinitionID) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONWriter.write(level.markingDefinition, to: &out)
        }
        out += Array("]}".utf8)
        return out
    }

    /// The `identity` object that stands for an establishment in what it shares (created_by_ref, sightings).
    /// Its id is derived from the establishment id, so it is stable without being stored.
    public func identityObject(for establishmentID: Establishment.ID) async throws -> JSONValue {
        let row = try await sql.raw(
            "SELECT name, finess, created_at FROM core_establishments WHERE id = \(bind: establishmentID.uuid)"
        ).first()
        let name = try row?.decode(column: "name", as: String.self) ?? "Hygie establishment"
        let finess = try row?.decode(column: "finess", as: String?.self)
        return Self.identity(id: Self.identityID(for: establishmentID), name: name, finess: finess)
    }

    /// `identity--` + a UUID derived from the establishment id (so two instances agree on it).
    public static func identityID(for establishmentID: Establishment.ID) -> String {
        "identity--"
            + DerivedUUID.make(namespace: "hygie-establishment", name: establishmentID.uuid.uuidString.lowercased())
    }

    static func identity(id: String, name: String, finess: String?) -> JSONValue {
        var members: [JSONValue.Member] = [
            .init("type", .string("identity")), .init("spec_version", .string("2.1")), .init("id", .string(id)),
            .init("created", .string("2020-01-01T00:00:00.000Z")),
            .init("modified", .string("2020-01-01T00:00:00.000Z")),
            .init("name", .string(name)), .init("identity_class", .string("organization")),
            .init("sectors", .array([.string("healthcare")])),
        ]
        if let finess {
            members.append(
                .init(
                    "external_references",
                    .array([.object([.init("source_name", .string("FINESS")), .init("external_id", .string(finess))])]))
            )
        }
        return .object(members)
    }
}
