import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import SQLKit
public import VulnCore

extension VulnService {
    // MARK: Assets

    public func assets(in scope: TenantScope, kind: AssetKind? = nil, search: String? = nil, limit: Int = 500)
        async throws -> [Asset]
    {
        try scope.require(Self.readers)
        var query = sql.select().column("*").from("vuln_assets")
            .where("establishment_id", .equal, scope.establishmentID.uuid)
        if let kind { query = query.where("kind", .equal, kind.rawValue) }
        if let search, !search.isEmpty {
            let pattern = "%\(search.lowercased())%"
            query = query.where { group in
                group.where(SQLFunction("LOWER", args: SQLIdentifier("name")), .like, SQLBind(pattern))
                    .orWhere(SQLFunction("LOWER", args: SQLIdentifier("addresses")), .like, SQLBind(pattern))
                    .orWhere(SQLFunction("LOWER", args: SQLIdentifier("model")), .like, SQLBind(pattern))
                    .orWhere(SQLFunction("LOWER", args: SQLIdentifier("department")), .like, SQLBind(pattern))
            }
        }
        return try await query.orderBy("risk", .descending).orderBy("name").limit(min(max(limit, 1), 5_000)).all()
            .map(Self.asset)
    }

    public func asset(_ id: UUID, in scope: TenantScope) async throws -> Asset {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                "SELECT * FROM vuln_assets WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()
        else { throw HygieCoreError.notFound("asset") }
        return try Self.asset(row)
    }

    public func components(of assetID: UUID, in scope: TenantScope) async throws -> [Component] {
        try scope.require(Self.readers)
        return try await sql.raw(
            "SELECT * FROM vuln_components WHERE asset_id = \(bind: assetID) AND establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY name"
        ).all().map(Self.component)
    }

    static func asset(_ row: any SQLRow) throws -> Asset {
        func list(_ column: String) throws -> [String] {
            try row.decode(column: column, as: String.self).split(separator: " ").map(String.init)
        }
        return Asset(
            id: try row.decode(column: "id", as: UUID.self),
            establishmentID: try row.decode(column: "establishment_id", as: UUID.self),
            name: try row.decode(column: "name", as: String.self),
            kind: AssetKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .other,
            hostname: try row.decode(column: "hostname", as: String?.self), addresses: try list("addresses"),
            macs: try list("macs"), serial: try row.decode(column: "serial", as: String?.self),
            manufacturer: try row.decode(column: "manufacturer", as: String?.self),
            model: try row.decode(column: "model", as: String?.self),
            firmware: try row.decode(column: "firmware", as: String?.self),
            operatingSystem: try row.decode(column: "os", as: String?.self),
            department: try row.decode(column: "department", as: String?.self),
            location: try row.decode(column: "location", as: String?.self),
            zone: try row.decode(column: "zone", as: String?.self),
            internetExposed: try row.decode(column: "internet_exposed", as: Bool.self),
            criticality: Criticality(rawValue: try row.decode(column: "criticality", as: String.self)) ?? .medium,
            safetyImpact: SSVC.SafetyImpact(rawValue: try row.decode(column: "safety_impact", as: String.self))
                ?? .negligible,
            endOfSupport: try row.decode(column: "end_of_support", as: String?.self),
            protocols: try list("protocols"), notes: try row.decode(column: "notes", as: String.self),
            sources: try list("sources"), risk: try row.decode(column: "risk", as: Double.self),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            lastSeenAt: Date(milliseconds: try row.decode(column: "last_seen_at", as: Int64.self)))
    }

    static func component(_ row: any SQLRow) throws -> Component {
        Component(
            id: try row.decode(column: "id", as: UUID.self), assetID: try row.decode(column: "asset_id", as: UUID.self),
            name: try row.decode(column: "name", as: String.self),
            vendor: try row.decode(column: "vendor", as: String.self),
            version: try row.decode(column: "version", as: String.self),
            cpe: try row.decode(column: "cpe", as: String?.self),
            purl: try row.decode(column: "purl", as: String?.self),
            source: ComponentSource(rawValue: try row.decode(column: "source", as: String.self)) ?? .declared,
            supportLevel: try row.decode(column: "support_level", as: String?.self),
            endOfSupport: try row.decode(column: "end_of_support", as: String?.self))
    }

    /// Checks a draft; returns it with normalised fields.
    static func validated(_ draft: AssetDraft) throws -> AssetDraft {
        var draft = draft
        draft.name = draft.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !draft.name.isEmpty, draft.name.count <= 200 else {
            throw ValidationError(field: "name", message: "between 1 and 200 characters", key: "length")
        }
        for address in draft.addresses where address.count > 64 || address.contains(" ") {
            throw ValidationError(field: "addresses", message: "\(address.prefix(64)) is not an address")
        }
        if let date = draft.endOfSupport, !date.isEmpty {
            guard date.count == 10, VulnService.dateFormatter.date(from: date) != nil else {
                throw ValidationError(field: "end_of_support", message: "expected a date YYYY-MM-DD")
            }
        }
        for (field, value) in [
            ("hostname", draft.hostname), ("serial", draft.serial), ("manufacturer", draft.manufacturer),
            ("model", draft.model), ("firmware", draft.firmware), ("os", draft.operatingSystem),
            ("department", draft.department), ("location", draft.location), ("zone", draft.zone),
        ] where (value?.count ?? 0) > 200 {
            throw ValidationError(field: field, message: "at most 200 characters", key: "length")
        }
        guard draft.notes.count <= 4000 else {
            throw ValidationError(field: "notes", message: "at most 4,000 characters", key: "length")
        }
        return draft
    }

    static let dateFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.isLenient = false
        return formatter
    }()

    /// Creates an asset by hand; returns its id.
    public func createAsset(_ draft: AssetDraft, in scope: TenantScope) async throws -> UUID {
        try scope.require(Self.writers)
        let draft = try Self.validated(draft)
        let id = UUID()
        let now = now()
        try await changing(
            AuditEntry(
                action: "vuln.asset.create", objectType: "vuln_asset", objectID: id.uuidString,
                summary: "created asset \(draft.name)", establishmentID: scope.establishmentID), by: scope.actor
        ) { db in
            try await Self.insertAsset(
                id: id, draft, sources: ["manual"], establishment: scope.establishmentID.uuid, now: now, on: db)
        }
        return id
    }

    public func updateAsset(_ id: UUID, _ draft: AssetDraft, in scope: TenantScope) async throws {
        try scope.require(Self.writers)
        let draft = try Self.validated(draft)
        _ = try await asset(id, in: scope)
        let now = now()
        try await changing(
            AuditEntry(
                action: "vuln.asset.update", objectType: "vuln_asset", objectID: id.uuidString,
                summary: "updated asset \(draft.name)", establishmentID: scope.establishmentID), by: scope.actor
        ) { db in
            try await db.update("vuln_assets")
                .set("name", to: draft.name).set("kind", to: draft.kind.rawValue).set("hostname", to: draft.hostname)
                .set("addresses", to: draft.addresses.joined(separator: " ")).set(
                    "macs", to: draft.macs.joined(separator: " ")
                )
                .set("serial", to: draft.serial).set("manufacturer", to: draft.manufacturer).set(
                    "model", to: draft.model
                )
                .set("firmware", to: draft.firmware).set("os", to: draft.operatingSystem)
                .set("department", to: draft.department).set("location", to: draft.location).set("zone", to: draft.zone)
                .set("internet_exposed", to: draft.internetExposed).set("criticality", to: draft.criticality.rawValue)
                .set("safety_impact", to: draft.safetyImpact.rawValue).set("end_of_support", to: draft.endOfSupport)
                .set("protocols", to: draft.protocols.joined(separator: " ")).set("notes", to: draft.notes)
                .set("updated_at", to: now)
                .where("id", .equal, id).where("establishment_id", .equal, scope.establishmentID.uuid).run()
        }
        // Exposure, criticality and safety change priorities.
        _ = try await match(in: scope)
    }

    public func deleteAsset(_ id: UUID, in scope: TenantScope) async throws {
        try scope.require(Self.writers)
        let existing = try await asset(id, in: scope)
        try await changing(
            AuditEntry(
                action: "vuln.asset.delete", objectType: "vuln_asset", objectID: id.uuidString,
                summary: "deleted asset \(existing.name)", establishmentID: scope.establishmentID), by: scope.actor
        ) { db in
            try await db.raw(
                "DELETE FROM vuln_findings WHERE asset_id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).run()
            try await db.raw(
                "DELETE FROM vuln_components WHERE asset_id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).run()
            try await db.raw(
                "DELETE FROM vuln_assets WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).run()
        }
    }

    /// Adds a software component to an asset by hand.
    public func addComponent(
        to assetID: UUID, name: String, vendor: String, version: String, cpe: String?, purl: String?,
        in scope: TenantScope
    ) async throws {
        try scope.require(Self.writers)
        let asset = try await asset(assetID, in: scope)
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty || cpe != nil else { throw ValidationError(field: "name", message: "name or CPE required") }
        var parsed: CPE?
        if let cpe, !cpe.isEmpty {
            do { parsed = try CPE(parsing: cpe) } catch { throw ValidationError(field: "cpe", message: error.message) }
        }
        if let purl, !purl.isEmpty, PackageURL(purl) == nil {
            throw ValidationError(field: "purl", message: "not a package URL (pkg:type/namespace/name@version)")
        }
        let component = InventoryComponent(
            name: name.isEmpty ? CPE.unescaped(parsed!.product.text) : name, vendor: vendor, version: version,
            cpe: parsed,
            purl: purl?.isEmpty == false ? purl : nil, source: .declared)
        let now = now()
        try await changing(
            AuditEntry(
                action: "vuln.component.add", objectType: "vuln_asset", objectID: assetID.uuidString,
                summary: "added \(component.name) \(version) to \(asset.name)", establishmentID: scope.establishmentID),
            by: scope.actor
        ) { db in
            try await Self.insertComponents(
                [component], asset: assetID, establishment: scope.establishmentID.uuid, now: now, on: db)
        }
        _ = try await match(in: scope)
    }

    static func insertAsset(
        id: UUID, _ draft: AssetDraft, sources: [String], establishment: UUID, now: Int64, on db: any SQLDatabase
    ) async throws {
        try await db.insert(into: "vuln_assets")
            .columns(
                "id", "establishment_id", "name", "kind", "hostname", "addresses", "macs", "serial", "manufacturer",
                "model",
                "firmware", "os", "department", "location", "zone", "internet_exposed", "criticality", "safety_impact",
                "end_of_support", "protocols", "notes", "sources", "risk", "created_at", "updated_at", "last_seen_at"
            )
            .values(
                id, establishment, draft.name, draft.kind.rawValue, draft.hostname,
                draft.addresses.joined(separator: " "),
                draft.macs.joined(separator: " "), draft.serial, draft.manufacturer, draft.model, draft.firmware,
                draft.operatingSystem, draft.department, draft.location, draft.zone, draft.internetExposed,
                draft.criticality.rawValue, draft.safetyImpact.rawValue, draft.endOfSupport,
                draft.protocols.joined(separator: " "), draft.notes, sources.joined(separator: " "), 0.0, now, now, now
            ).run()
    }

    static func insertComponents(
        _ components: [InventoryComponent], asset: UUID, establishment: UUID, now: Int64, on db: any SQLDatabase
    ) async throws {
        for start in stride(from: 0, to: components.count, by: 500) {
            var insert = db.insert(into: "vuln_components")
                .columns(
                    "id", "establishment_id", "asset_id", "name", "vendor", "version", "cpe", "purl", "source",
                    "support_level", "end_of_support", "created_at")
            for component in components[start..<min(start + 500, components.count)] {
                insert = insert.values(
                    UUID(), establishment, asset, String(component.name.prefix(200)),
                    String(component.vendor.prefix(200)),
                    String(component.version.prefix(100)), component.cpe?.description, component.purl,
                    component.source.rawValue,
                    component.supportLevel, component.endOfSupport, now)
            }
            try await insert.run()
        }
    }

    // MARK: Inventory imports

    /// Imports assets from a CSV (with an optional column mapping), an nmap XML report or an SBOM, merging
    /// with known assets by serial number, MAC, hostname or address. Components the same source gave
    /// before and no longer lists are removed (a finding on them closes as fixed at the next match).
    public func importInventory(
        _ kind: InventoryKind, bytes: [UInt8], mapping: [String] = [], origin: String, in scope: TenantScope
    ) async throws -> ImportReport {
        try scope.require(Self.writers)
        guard bytes.count <= configuration.maxUploadBytes else {
            throw VulnError.tooLarge(limit: configuration.maxUploadBytes)
        }
        let parsed: [InventoryAsset]
        do {
            switch kind {
            case .csv: parsed = try InventoryCSV.parse(bytes, mapping: try InventoryCSV.mapping(mapping))
            case .nmap: parsed = try NmapXML.parse(bytes)
            case .sbom: parsed = [try SBOM.parse(bytes)]
            }
        } catch {
            throw VulnError.unreadable("\(origin): \(error.message)")
        }
        var report = ImportReport(kind: kind.rawValue)
        report.records = parsed.count
        let now = now()
        let source = kind.rawValue
        report = try await changing(
            AuditEntry(
                action: "vuln.inventory.import", objectType: "vuln_asset", objectID: nil,
                summary: "imported \(parsed.count) assets from \(kind.rawValue) file \(origin)",
                establishmentID: scope.establishmentID), by: scope.actor
        ) { [report] db in
            var report = report
            let known = try await db.raw(
                "SELECT id, name, hostname, addresses, macs, serial, sources FROM vuln_assets WHERE establishment_id = \(bind: scope.establishmentID.uuid)"
            ).all()
            var bySerial: [String: UUID] = [:]
            var byMAC: [String: UUID] = [:]
            var byHost: [String: UUID] = [:]
            var byAddress: [String: UUID] = [:]
            var byName: [String: UUID] = [:]
            var sources: [UUID: Set<String>] = [:]
            for row in known {
                let id = try row.decode(column: "id", as: UUID.self)
                if let serial = try row.decode(column: "serial", as: String?.self), !serial.isEmpty {
                    bySerial[serial.lowercased()] = id
                }
                for mac in try row.decode(column: "macs", as: String.self).split(separator: " ") {
                    byMAC[mac.uppercased()] = id
                }
                if let host = try row.decode(column: "hostname", as: String?.self), !host.isEmpty {
                    byHost[host.lowercased()] = id
                }
                for address in try row.decode(column: "addresses", as: String.self).split(separator: " ") {
                    byAddress[String(address)] = id
                }
                byName[try row.decode(column: "name", as: String.self).lowercased()] = id
                sources[id] = Set(
                    try row.decode(column: "sources", as: String.self).split(separator: " ").map(String.init))
            }
            for item in parsed {
                // Strongest identity first: serial, MAC, hostname, address, then the name.
                let match =
                    item.serial.flatMap { bySerial[$0.lowercased()] } ?? item.macs.lazy.compactMap {
                        byMAC[$0.uppercased()]
                    }.first
                    ?? item.hostname.flatMap { byHost[$0.lowercased()] } ?? item.addresses.lazy.compactMap {
                        byAddress[$0]
                    }.first
                    ?? byName[item.name.lowercased()]
                let id = match ?? UUID()
                var draft = AssetDraft(
                    name: String(item.name.prefix(200)), kind: item.kind ?? (kind == .sbom ? .medicalDevice : .other))
                draft.hostname = item.hostname
                draft.addresses = item.addresses
                draft.macs = item.macs
                draft.serial = item.serial
                draft.manufacturer = item.manufacturer
                draft.model = item.model
                draft.firmware = item.firmware
                draft.operatingSystem = item.operatingSystem
                draft.department = item.department
                draft.location = item.location
                draft.zone = item.zone
                draft.internetExposed = item.internetExposed ?? false
                draft.criticality = item.criticality.flatMap(Criticality.init(loose:)) ?? .medium
                draft.safetyImpact =
                    item.safetyImpact.flatMap(SSVC.SafetyImpact.init(loose:))
                    ?? (draft.kind == .medicalDevice ? .marginal : .negligible)
                draft.endOfSupport = item.endOfSupport.map { String($0.prefix(10)) }
                draft.protocols = item.protocols
                if let criticality = item.criticality, Criticality(loose: criticality) == nil {
                    report.warnings.append(
                        "\(item.name): unknown criticality \(criticality) (low, medium, high, vital)")
                }
                if let safety = item.safetyImpact, SSVC.SafetyImpact(loose: safety) == nil {
                    report.warnings.append("\(item.name): unknown safety impact \(safety)")
                }
                if let existing = match {
                    // Fill in what the file knows; keep what people typed for the rest.
                    var update = db.update("vuln_assets").set("last_seen_at", to: now).set("updated_at", to: now)
                    func set(_ column: String, _ value: String?) {
                        if let value, !value.isEmpty { update = update.set(SQLIdentifier(column), to: value) }
                    }
                    set("hostname", item.hostname)
                    if !item.addresses.isEmpty { set("addresses", item.addresses.joined(separator: " ")) }
                    if !item.macs.isEmpty { set("macs", item.macs.joined(separator: " ")) }
                    set("serial", item.serial)
                    set("manufacturer", item.manufacturer)
                    set("model", item.model)
                    set("firmware", item.firmware)
                    set("os", item.operatingSystem)
                    set("department", item.department)
                    set("location", item.location)
                    set("zone", item.zone)
                    set("end_of_support", draft.endOfSupport)
                    if item.kind != nil { set("kind", draft.kind.rawValue) }
                    if item.internetExposed != nil {
                        update = update.set("internet_exposed", to: draft.internetExposed)
                    }
                    if item.criticality != nil { set("criticality", draft.criticality.rawValue) }
                    if item.safetyImpact != nil { set("safety_impact", draft.safetyImpact.rawValue) }
                    if !item.protocols.isEmpty { set("protocols", item.protocols.joined(separator: " ")) }
                    set("sources", sources[existing, default: []].union([source]).sorted().joined(separator: " "))
                    try await update.where("id", .equal, existing).where(
                        "establishment_id", .equal, scope.establishmentID.uuid
                    ).run()
                    report.updated += 1
                } else {
                    try await Self.insertAsset(
                        id: id, draft, sources: [source], establishment: scope.establishmentID.uuid, now: now, on: db)
                    report.created += 1
                    if let serial = item.serial { bySerial[serial.lowercased()] = id }
                    for mac in item.macs { byMAC[mac.uppercased()] = id }
                    if let host = item.hostname { byHost[host.lowercased()] = id }
                    for address in item.addresses { byAddress[address] = id }
                    byName[item.name.lowercased()] = id
                }
                // This source's components are replaced by what the file lists now.
                try await db.raw(
                    "DELETE FROM vuln_components WHERE asset_id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid) AND source = \(bind: Self.componentSource(kind).rawValue)"
                ).run()
                try await Self.insertComponents(
                    item.components, asset: id, establishment: scope.establishmentID.uuid, now: now, on: db)
            }
            return report
        }
        let matched = try await match(in: scope)
        report.detail = String(
            format: "%d new findings, %d fixed; %d assets matched in %.2f s, of which index and matching %.2f s",
            matched.opened, matched.fixed, matched.assets, matched.seconds, matched.matchingSeconds)
        return report
    }

    static func componentSource(_ kind: InventoryKind) -> ComponentSource {
        switch kind {
        case .csv: .csv
        case .nmap: .nmap
        case .sbom: .sbom
        }
    }
}
