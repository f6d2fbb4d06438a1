public import ComplianceCore
import FluentKit
public import Foundation
public import HygieCore
public import HygieStorage
import SQLKit

/// Frameworks, assessments, evidence, action plans, recurring audits and live indicators.
///
/// The framework catalogue is shared by the instance (public reference data, imported by the instance
/// administrator); everything else belongs to one establishment and is reached through a ``TenantScope``.
/// Indicators come from the other modules through ``IndicatorSource``, handed over by `hygie` at start-up.
public struct ComplianceService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock
    public let configuration: ComplianceConfiguration
    let sources: [any IndicatorSource]
    let cache: FrameworkCache

    static let readers: Set<Role> = [.admin, .rssi, .analyst, .auditor, .dpo]
    /// Answer requirements, add evidence, comment, plan actions.
    static let writers: Set<Role> = [.admin, .rssi, .analyst, .dpo]
    /// Open and close assessments, manage recurring audits.
    static let managers: Set<Role> = [.admin, .rssi]
    /// Sign an assessment off.
    static let reviewers: Set<Role> = [.admin, .rssi, .auditor]
    /// Auditors comment on what they review.
    static let commenters: Set<Role> = [.admin, .rssi, .analyst, .auditor, .dpo]

    public init(
        database: DatabaseService, audit: AuditTrail, clock: any HygieClock,
        configuration: ComplianceConfiguration = ComplianceConfiguration(), indicatorSources: [any IndicatorSource] = []
    ) {
        self.database = database
        self.audit = audit
        self.clock = clock
        self.configuration = configuration
        sources = indicatorSources
        cache = FrameworkCache()
    }

    var sql: any SQLDatabase { database.sql }

    func now() -> Int64 { clock.now().milliseconds }

    func today() -> DayStamp { DayStamp(clock.now()) }

    func changing<T: Sendable>(
        _ entry: AuditEntry, by actor: Actor, _ body: @Sendable @escaping (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await audit.recording(entry, by: actor, in: database, body)
    }

    static func requireCatalogueAdministrator(_ actor: Actor) throws {
        guard actor.isInstanceAdmin || actor.role == .admin else {
            throw HygieCoreError.forbidden(
                "only the instance administrator imports frameworks (shared by every establishment)")
        }
    }

    // MARK: Catalogue

    /// Imports a CISO Assistant library (YAML) or an OSCAL catalog (JSON). A library already stored with the
    /// same or a higher version is left as it is; a higher version replaces it (results keep their requirement
    /// URNs). Reference controls and mappings whose ends are not in the catalogue are reported as warnings.
    public func importLibrary(_ data: Data, origin: String, by actor: Actor) async throws -> LibraryImportReport {
        try Self.requireCatalogueAdministrator(actor)
        guard data.count <= configuration.maxUploadBytes else {
            throw ComplianceError.tooLarge(limit: configuration.maxUploadBytes)
        }
        let library = try Self.parseLibrary(data)
        return try await store(library, sha256: data.sha256Hex, builtin: false, by: actor)
    }

    /// YAML library, or OSCAL catalog (profiles need their catalog and are refused with a message saying so).
    static func parseLibrary(_ data: Data) throws -> FrameworkLibrary {
        let first = data.first { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) }
        do {
            guard first == UInt8(ascii: "{") else { return try LibraryReader.read(data) }
            switch try OSCAL.read(Array(data)) {
            case .catalog(let catalog):
                return catalog.library()
            case .profile:
                throw ComplianceError.invalid(
                    "an OSCAL profile selects controls from a catalog: import the catalog, then create an assessment")
            case .assessmentResults:
                throw ComplianceError.invalid("OSCAL assessment results are an export, not a framework")
            }
        } catch let error as FrameworkError {
            throw ComplianceError.unreadable(error.description)
        }
    }

    /// Loads the built-in frameworks, or a newer version of them, at start-up. Idempotent.
    public func installBuiltins() async throws {
        for library in try BuiltinFrameworks.all() {
            let encoded = try JSONEncoder().encode(library)
            do {
                _ = try await store(library, sha256: encoded.sha256Hex, builtin: true, by: Actor.system("hygie"))
            } catch {
                // Several nodes starting together race to install the same library: whoever loses finds it there.
                let stored = try await sql.raw("SELECT version FROM comp_libraries WHERE urn = \(bind: library.urn)")
                    .first().map { try $0.decode(column: "version", as: Int.self) }
                guard let stored, stored >= library.version else { throw error }
            }
        }
    }

    func store(_ library: FrameworkLibrary, sha256: String, builtin: Bool, by actor: Actor) async throws
        -> LibraryImportReport
    {
        let stored = try await sql.raw("SELECT version FROM comp_libraries WHERE urn = \(bind: library.urn)").first()
            .map { try $0.decode(column: "version", as: Int.self) }
        var report = LibraryImportReport(
            urn: library.urn, name: library.name, version: library.version, frameworks: library.frameworks.map(\.name),
            nodes: library.frameworks.reduce(0) { $0 + $1.nodes.count },
            referenceControls: library.referenceControls.count,
            mappings: library.mappingSets.reduce(0) { $0 + $1.mappings.count },
            outcome: stored == nil ? "imported" : "updated", warnings: [])
        if let stored, stored >= library.version {
            report.outcome = "unchanged"
            return report
        }
        // Frameworks of another library may not be overwritten under the same URN.
        for framework in library.frameworks {
            if let owner = try await sql.raw(
                "SELECT library_urn FROM comp_frameworks WHERE urn = \(bind: framework.urn)"
            ).first().map({ try $0.decode(column: "library_urn", as: String.self) }), owner != library.urn {
                throw ComplianceError.invalid("framework \(framework.urn) already comes from library \(owner)")
            }
        }
        report.warnings = try await warnings(for: library)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var header = library
        header.frameworks = []
        header.referenceControls = []
        header.mappingSets = []
        let headerJSON = String(decoding: try encoder.encode(header), as: UTF8.self)
        let contents = try library.frameworks.map { ($0, String(decoding: try encoder.encode($0), as: UTF8.self)) }
        let warningsJSON = String(decoding: try encoder.encode(report.warnings), as: UTF8.self)
        let now = now()
        let entry = AuditEntry(
            action: builtin ? "compliance.library.builtin" : "compliance.library.import", objectType: "comp_library",
            objectID: library.urn,
            summary: "\(report.outcome.capitalized) library \(library.name) version \(library.version)")
        try await changing(entry, by: actor) { db in
            try await db.raw("DELETE FROM comp_libraries WHERE urn = \(bind: library.urn)").run()
            try await db.insert(into: "comp_libraries")
                .columns(
                    "urn", "ref_id", "name", "locale", "version", "provider", "packager", "copyright",
                    "publication_date", "builtin", "sha256", "header", "warnings", "imported_by", "imported_at"
                )
                .values(
                    SQLBind(library.urn), SQLBind(library.refID), SQLBind(library.name), SQLBind(library.locale),
                    SQLBind(library.version), SQLBind(library.provider), SQLBind(library.packager),
                    SQLBind(library.copyright), SQLBind(library.publicationDate), SQLBind(builtin), SQLBind(sha256),
                    SQLBind(headerJSON), SQLBind(warningsJSON), SQLBind(actor.displayName), SQLBind(now)
                ).run()
            for (framework, content) in contents {
                let existing = try await db.raw("SELECT id FROM comp_frameworks WHERE urn = \(bind: framework.urn)")
                    .first().map { try $0.decode(column: "id", as: UUID.self) }
                if let existing {
                    try await db.raw(
                        """
                        UPDATE comp_frameworks SET ref_id = \(bind: framework.refID), name = \(bind: framework.name), \
                        version = \(bind: library.version), nodes = \(bind: framework.nodes.count), \
                        assessable = \(bind: framework.assessableCount), scoring = \(bind: framework.scoring.rawValue), \
                        content = \(bind: content), updated_at = \(bind: now) WHERE id = \(bind: existing)
                        """
                    ).run()
                } else {
                    try await db.insert(into: "comp_frameworks")
                        .columns(
                            "id", "urn", "library_urn", "ref_id", "name", "version", "nodes", "assessable", "scoring",
                            "content", "updated_at"
                        )
                        .values(
                            SQLBind(UUID()), SQLBind(framework.urn), SQLBind(library.urn), SQLBind(framework.refID),
                            SQLBind(framework.name), SQLBind(library.version), SQLBind(framework.nodes.count),
                            SQLBind(framework.assessableCount), SQLBind(framework.scoring.rawValue), SQLBind(content),
                            SQLBind(now)
                        ).run()
                }
            }
            try await db.raw("DELETE FROM comp_reference_controls WHERE library_urn = \(bind: library.urn)").run()
            for chunk in library.referenceControls.chunked(200) {
                var insert = db.insert(into: "comp_reference_controls")
                    .columns("urn", "library_urn", "ref_id", "name", "category", "function", "description")
                for control in chunk {
                    insert = insert.values(
                        SQLBind(control.urn.lowercased()), SQLBind(library.urn), SQLBind(control.refID),
                        SQLBind(control.name), SQLBind(control.category), SQLBind(control.function),
                        SQLBind(control.description))
                }
                try await insert.run()
            }
            try await db.raw("DELETE FROM comp_mappings WHERE library_urn = \(bind: library.urn)").run()
            for set in library.mappingSets {
                var seen = Set<String>()
                let unique = set.mappings.filter {
                    seen.insert("\($0.source.lowercased())|\($0.target.lowercased())").inserted
                }
                for chunk in unique.chunked(200) {
                    var insert = db.insert(into: "comp_mappings")
                        .columns(
                            "set_urn", "library_urn", "source_framework", "target_framework", "source", "target",
                            "relationship", "strength")
                    for mapping in chunk {
                        insert = insert.values(
                            SQLBind(set.urn), SQLBind(library.urn), SQLBind(set.sourceFramework.lowercased()),
                            SQLBind(set.targetFramework.lowercased()), SQLBind(mapping.source.lowercased()),
                            SQLBind(mapping.target.lowercased()), SQLBind(mapping.relationship.rawValue),
                            SQLBind(mapping.strength))
                    }
                    try await insert.run()
                }
            }
        }
        await cache.clear()
        return report
    }

    /// Reference controls and mapping ends not found in the catalogue (nor in the library itself).
    func warnings(for library: FrameworkLibrary) async throws -> [String] {
        var warnings: [String] = []
        let urns = Set(library.frameworks.flatMap(\.nodes).flatMap(\.referenceControls).map { $0.lowercased() })
        if !urns.isEmpty {
            var known = Set(library.referenceControls.map { $0.urn.lowercased() })
            for chunk in Array(urns.subtracting(known)).chunked(300) {
                let rows = try await sql.raw(
                    "SELECT urn FROM comp_reference_controls WHERE urn IN (\(SQLList(chunk.map { SQLBind($0) })))"
                ).all()
                for row in rows { known.insert(try row.decode(column: "urn", as: String.self)) }
            }
            for framework in library.frameworks {
                for urn in framework.unresolvedReferenceControls(known: known) {
                    warnings.append("reference control \(urn) is not in the catalogue (import its library first)")
                }
            }
        }
        for set in library.mappingSets {
            let source = try await frameworkForMapping(set.sourceFramework, in: library)
            let target = try await frameworkForMapping(set.targetFramework, in: library)
            guard let source, let target else {
                let missing = source == nil ? set.sourceFramework : set.targetFramework
                warnings.append("mapping set \(set.urn): framework \(missing) is not in the catalogue yet")
                continue
            }
            let unresolved = set.unresolved(source: source, target: target)
            if !unresolved.isEmpty {
                warnings.append("mapping set \(set.urn): \(unresolved.count) mappings name unknown requirements")
            }
        }
        return warnings
    }

    func frameworkForMapping(_ urn: String, in library: FrameworkLibrary) async throws -> Framework? {
        if let local = library.frameworks.first(where: { $0.urn.lowercased() == urn.lowercased() }) { return local }
        guard
            let id = try await sql.raw("SELECT id FROM comp_frameworks WHERE LOWER(urn) = \(bind: urn.lowercased())")
                .first().map({ try $0.decode(column: "id", as: UUID.self) })
        else { return nil }
        return try await framework(id)
    }

    /// Every framework of the catalogue, built-in first, then by name.
    public func frameworks() async throws -> [FrameworkSummary] {
        try await sql.raw(
            """
            SELECT f.id, f.urn, f.library_urn, f.ref_id, f.name, f.version, f.nodes, f.assessable, f.scoring, \
            l.provider, l.copyright, l.packager, l.builtin, l.locale FROM comp_frameworks f \
            JOIN comp_libraries l ON l.urn = f.library_urn ORDER BY l.builtin DESC, f.name
            """
        ).all().map(Self.summary)
    }

    public func frameworkSummary(_ id: UUID) async throws -> FrameworkSummary {
        guard
            let row = try await sql.raw(
                """
                SELECT f.id, f.urn, f.library_urn, f.ref_id, f.name, f.version, f.nodes, f.assessable, f.scoring, \
                l.provider, l.copyright, l.packager, l.builtin, l.locale FROM comp_frameworks f \
                JOIN comp_libraries l ON l.urn = f.library_urn WHERE f.id = \(bind: id)
                """
            ).first()
        else { throw HygieCoreError.notFound("framework") }
        return try Self.summary(row)
    }

    /// A framework by its id or URN (case-insensitive) or reference (`CaRE-D2`).
    public func findFramework(_ text: String) async throws -> FrameworkSummary {
        let all = try await frameworks()
        if let id = UUID(uuidString: text), let found = all.first(where: { $0.id == id }) { return found }
        let lowered = text.lowercased()
        if let found = all.first(where: { $0.urn.lowercased() == lowered || $0.refID.lowercased() == lowered }) {
            return found
        }
        throw HygieCoreError.notFound("framework \(text)")
    }

    static func summary(_ row: any SQLRow) throws -> FrameworkSummary {
        FrameworkSummary(
            id: try row.decode(column: "id", as: UUID.self),
            urn: try row.decode(column: "urn", as: String.self),
            refID: try row.decode(column: "ref_id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            libraryURN: try row.decode(column: "library_urn", as: String.self),
            version: try row.decode(column: "version", as: Int.self),
            nodes: try row.decode(column: "nodes", as: Int.self),
            assessable: try row.decode(column: "assessable", as: Int.self),
            scoring: ScoringMethod(rawValue: try row.decode(column: "scoring", as: String.self)) ?? .compliance,
            provider: try row.decode(column: "provider", as: String?.self),
            copyright: try row.decode(column: "copyright", as: String?.self),
            packager: try row.decode(column: "packager", as: String?.self),
            builtin: try row.decode(column: "builtin", as: Bool.self),
            locale: try row.decode(column: "locale", as: String.self))
    }

    /// The requirement tree of a framework (decoded once per version, then cached).
    public func framework(_ id: UUID) async throws -> Framework {
        guard
            let row = try await sql.raw("SELECT version, updated_at FROM comp_frameworks WHERE id = \(bind: id)")
                .first()
        else { throw HygieCoreError.notFound("framework") }
        let stamp = try row.decode(column: "updated_at", as: Int64.self)
        if let cached = await cache.get(id, stamp: stamp) { return cached }
        guard
            let content = try await sql.raw("SELECT content FROM comp_frameworks WHERE id = \(bind: id)").first()?
                .decode(column: "content", as: String.self)
        else { throw HygieCoreError.notFound("framework") }
        let framework = try JSONDecoder().decode(Framework.self, from: Data(content.utf8))
        await cache.put(id, stamp: stamp, framework)
        return framework
    }

    /// Requirements of other frameworks mapped to `requirementURN` (either direction), with the relationship.
    public func mappings(of requirementURN: String) async throws -> [(
        urn: String, relationship: String, strength: Int?
    )] {
        let urn = requirementURN.lowercased()
        var result: [(String, String, Int?)] = []
        for row in try await sql.raw(
            """
            SELECT source, target, relationship, strength FROM comp_mappings \
            WHERE source = \(bind: urn) OR target = \(bind: urn) ORDER BY strength DESC, target LIMIT 50
            """
        ).all() {
            let source = try row.decode(column: "source", as: String.self)
            let target = try row.decode(column: "target", as: String.self)
            result.append(
                (
                    source == urn ? target : source, try row.decode(column: "relationship", as: String.self),
                    try row.decode(column: "strength", as: Int?.self)
                ))
        }
        var seen = Set<String>()
        return result.filter { seen.insert($0.0).inserted }
    }

    /// Reference controls by (lower-cased) URN.
    public func referenceControls(_ urns: [String]) async throws -> [String: (refID: String?, name: String?)] {
        guard !urns.isEmpty else { return [:] }
        var result: [String: (String?, String?)] = [:]
        for row in try await sql.raw(
            "SELECT urn, ref_id, name FROM comp_reference_controls WHERE urn IN (\(SQLList(urns.map { SQLBind($0.lowercased()) })))"
        ).all() {
            result[try row.decode(column: "urn", as: String.self)] = (
                try row.decode(column: "ref_id", as: String?.self), try row.decode(column: "name", as: String?.self)
            )
        }
        return result
    }
}

/// Decoded frameworks, keyed by id and last update, so that pages do not decode a 1 MB document each time.
actor FrameworkCache {
    private var entries: [UUID: (stamp: Int64, framework: Framework)] = [:]

    func get(_ id: UUID, stamp: Int64) -> Framework? {
        guard let entry = entries[id], entry.stamp == stamp else { return nil }
        return entry.framework
    }

    func put(_ id: UUID, stamp: Int64, _ framework: Framework) {
        if entries.count > 32 { entries.removeAll() }
        entries[id] = (stamp, framework)
    }

    func clear() { entries.removeAll() }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
