import FluentKit
import Foundation
public import HygieCore
public import HygieStorage
import SQLKit
import Synchronization
public import VulnCore

/// The matching index, rebuilt when the catalogue's data version changes (any node's import).
final class IndexCache: Sendable {
    let state = Mutex<(version: String, index: VulnerabilityIndex)?>(nil)
}

/// Orders the events a process writes within one millisecond.
let eventSequence = Atomic<Int64>(0)

/// What a finding needs from the catalogue.
struct RecordMeta: Sendable {
    var title: String
    var summary: String
    var cvssScore: Double?
    var exploitation: String?
    var automatable: String?
    var kev: Bool
    var kevDue: String?
    var kevAction: String?
}

extension VulnService {
    /// The index of every record that says what it affects.
    func currentIndex() async throws -> VulnerabilityIndex {
        let version =
            try await sql.raw("SELECT value FROM vuln_state WHERE key = \(bind: "data_version")").first()
            .map { try $0.decode(column: "value", as: String.self) } ?? "empty"
        if let cached = cache.state.withLock({ $0 }), cached.version == version { return cached.index }
        // Rows are decoded as they arrive: the raw JSON of the whole catalogue is never held at once.
        let gathered = Mutex<(records: [VulnerabilityRecord], failure: String?)>(([], nil))
        try await sql.raw("SELECT record_id, data FROM vuln_affected ORDER BY record_id, source").run { row in
            do {
                let id = try row.decode(column: "record_id", as: String.self)
                let data = try JSONDecoder().decode(
                    StoredMatchData.self, from: Data(try row.decode(column: "data", as: String.self).utf8))
                gathered.withLock { state in
                    if state.records.last?.id != id { state.records.append(VulnerabilityRecord(id: id, source: .nvd)) }
                    state.records[state.records.count - 1].configurations += data.configurations
                    state.records[state.records.count - 1].affected += data.affected
                }
            } catch {
                gathered.withLock { $0.failure = $0.failure ?? "\(error)" }
            }
        }
        let (records, failure) = gathered.withLock { state in
            let result = (state.records, state.failure)
            state.records = []
            return result
        }
        if let failure { throw VulnError.invalid("the vulnerability catalogue cannot be read: \(failure)") }
        let index = VulnerabilityIndex(records: records)
        cache.state.withLock { $0 = (version, index) }
        return index
    }

    static func exposure(_ asset: Asset) -> SSVC.Exposure {
        if asset.internetExposed { return .open }
        let zone = ProductKey.normalise(asset.zone ?? "")
        let small = [
            "isolated", "isole", "isolee", "offline", "air_gap", "airgap", "biomedical", "biomed", "medical", "ot",
            "small",
        ]
        return small.contains(where: { zone == $0 || zone.hasPrefix($0 + "_") }) ? .small : .controlled
    }

    static func decision(_ meta: RecordMeta?, asset: Asset?, fallback: ExpertSeverity? = nil) -> (
        SSVC.Decision, SSVC.Exploitation, SSVC.Exposure, Bool, SSVC.HumanImpact
    ) {
        let exploitation = meta?.kev == true ? .active : SSVC.exploitation(meta?.exploitation)
        let exposure = asset.map(Self.exposure) ?? .controlled
        let automatable = meta?.automatable?.lowercased() == "yes"
        let human = SSVC.humanImpact(
            safety: asset?.safetyImpact ?? .negligible, mission: asset?.criticality.mission ?? .crippled)
        var decision = SSVC.decide(
            exploitation: exploitation, exposure: exposure, automatable: automatable, humanImpact: human)
        if let fallback, meta == nil { decision = max(decision, fallback.priority) }
        return (decision, exploitation, exposure, automatable, human)
    }

    static let riskWeights: [SSVC.Decision: Double] = [.immediate: 40, .outOfCycle: 15, .scheduled: 5, .defer: 1]

    func settings(for establishment: UUID, on db: any SQLDatabase) async throws -> VulnSettings {
        var settings = VulnSettings()
        if let row = try await db.raw("SELECT * FROM vuln_settings WHERE establishment_id = \(bind: establishment)")
            .first()
        {
            settings.immediateDays = try row.decode(column: "immediate_days", as: Int.self)
            settings.outOfCycleDays = try row.decode(column: "out_of_cycle_days", as: Int.self)
            settings.scheduledDays = try row.decode(column: "scheduled_days", as: Int.self)
            settings.deferDays = try row.decode(column: "defer_days", as: Int.self)
            settings.includeProductMatches = try row.decode(column: "include_product_matches", as: Bool.self)
        }
        return settings
    }

    public func settings(in scope: TenantScope) async throws -> VulnSettings {
        try scope.require(Self.readers)
        return try await settings(for: scope.establishmentID.uuid, on: sql)
    }

    public func updateSettings(_ settings: VulnSettings, in scope: TenantScope) async throws {
        try scope.require(Self.approvers)
        for (field, days) in [
            ("immediate_days", settings.immediateDays), ("out_of_cycle_days", settings.outOfCycleDays),
            ("scheduled_days", settings.scheduledDays), ("defer_days", settings.deferDays),
        ] where !(1...730).contains(days) {
            throw ValidationError(field: field, message: "between 1 and 730 days", key: "range")
        }
        try await changing(
            AuditEntry(
                action: "vuln.settings.update", objectType: "vuln_settings", objectID: nil,
                summary:
                    "remediation deadlines \(settings.immediateDays)/\(settings.outOfCycleDays)/\(settings.scheduledDays)/\(settings.deferDays) days",
                establishmentID: scope.establishmentID), by: scope.actor
        ) { db in
            try await db.insert(into: "vuln_settings")
                .columns(
                    "establishment_id", "immediate_days", "out_of_cycle_days", "scheduled_days", "defer_days",
                    "include_product_matches"
                )
                .values(
                    scope.establishmentID.uuid, settings.immediateDays, settings.outOfCycleDays, settings.scheduledDays,
                    settings.deferDays, settings.includeProductMatches
                )
                .onConflict(with: ["establishment_id"]) {
                    $0.set(excludedValueOf: "immediate_days").set(excludedValueOf: "out_of_cycle_days")
                        .set(excludedValueOf: "scheduled_days").set(excludedValueOf: "defer_days")
                        .set(excludedValueOf: "include_product_matches")
                }.run()
        }
        _ = try await match(in: scope)
    }

    func meta(_ ids: [String], on db: any SQLDatabase) async throws -> [String: RecordMeta] {
        var result: [String: RecordMeta] = [:]
        for start in stride(from: 0, to: ids.count, by: 500) {
            let slice = Array(ids[start..<min(start + 500, ids.count)])
            let rows = try await db.select()
                .columns(
                    "id", "title", "summary", "cvss_score", "ssvc_exploitation", "ssvc_automatable", "kev", "kev_due",
                    "kev_action"
                )
                .from("vuln_records").where(SQLIdentifier("id"), .in, SQLBind.group(slice)).all()
            for row in rows {
                result[try row.decode(column: "id", as: String.self)] = RecordMeta(
                    title: try row.decode(column: "title", as: String.self),
                    summary: try row.decode(column: "summary", as: String.self),
                    cvssScore: try row.decode(column: "cvss_score", as: Double?.self),
                    exploitation: try row.decode(column: "ssvc_exploitation", as: String?.self),
                    automatable: try row.decode(column: "ssvc_automatable", as: String?.self),
                    kev: try row.decode(column: "kev", as: Bool.self),
                    kevDue: try row.decode(column: "kev_due", as: String?.self),
                    kevAction: try row.decode(column: "kev_action", as: String?.self))
            }
        }
        return result
    }

    /// Matches the establishment's inventory against the catalogue and brings its findings up to date:
    /// new matches open findings, matches of fixed findings reopen them, findings whose component is gone
    /// close as fixed (verified by the inventory).
    public func match(in scope: TenantScope) async throws -> MatchReport {
        try scope.require(Self.writers)
        return try await match(establishment: scope.establishmentID.uuid)
    }

    /// A finding as matching needs it back.
    struct Known {
        var id: UUID
        var status: FindingStatus
        var priority: String
        var due: String
        var first: Int64
        var confidence: String
        var reason: String
    }

    static let findingColumns = [
        "id", "establishment_id", "asset_id", "component_id", "record_id", "match_key", "origin", "assessment_id",
        "title",
        "description", "recommendation", "severity", "cvss_score", "confidence", "reason", "priority", "exploitation",
        "exposure", "automatable", "human_impact", "status", "status_note", "assignee", "due_on", "accepted_by",
        "accepted_until", "first_seen_at", "last_seen_at", "resolved_at", "updated_at",
    ]
    static let eventColumns = [
        "id", "establishment_id", "finding_id", "at", "seq", "actor", "kind", "old_value", "new_value", "note",
    ]

    /// Rows written in batches (one INSERT per 250 rows).
    final class Batch {
        let table: String
        let columns: [String]
        var rows: [[any Encodable & Sendable]] = []

        init(_ table: String, _ columns: [String]) {
            self.table = table
            self.columns = columns
        }

        func add(_ row: [any Encodable & Sendable], on db: any SQLDatabase) async throws {
            rows.append(row)
            if rows.count >= 250 { try await flush(on: db) }
        }

        func flush(on db: any SQLDatabase) async throws {
            guard !rows.isEmpty else { return }
            var insert = db.insert(into: table).columns(columns)
            for row in rows { insert = insert.values(row) }
            try await insert.run()
            rows.removeAll(keepingCapacity: true)
        }
    }

    static func eventRow(
        _ finding: UUID, _ establishment: UUID, _ kind: String, _ old: String?, _ new: String?, _ note: String,
        by actor: String = "Hygie", at: Int64
    ) -> [any Encodable & Sendable] {
        [
            UUID(), establishment, finding, at, eventSequence.add(1, ordering: .relaxed).newValue, actor, kind, old,
            new,
            String(note.prefix(2000)),
        ]
    }

    /// Each asset of an establishment with what it runs, as the matcher reads it (the ids of the component rows,
    /// nil for the device itself).
    static func inventories(_ establishment: UUID, on db: any SQLDatabase) async throws -> [(
        asset: Asset, components: [InventoryComponent], ids: [UUID?]
    )] {
        let assets = try await db.raw("SELECT * FROM vuln_assets WHERE establishment_id = \(bind: establishment)")
            .all().map(Self.asset)
        var componentsByAsset: [UUID: [Component]] = [:]
        for row in try await db.raw("SELECT * FROM vuln_components WHERE establishment_id = \(bind: establishment)")
            .all()
        {
            let component = try Self.component(row)
            componentsByAsset[component.assetID, default: []].append(component)
        }
        return assets.map { asset in
            let components = componentsByAsset[asset.id] ?? []
            var inventory = components.map { component in
                InventoryComponent(
                    name: component.name, vendor: component.vendor, version: component.version,
                    cpe: component.cpe.flatMap { try? CPE(parsing: $0) }, purl: component.purl,
                    source: component.source)
            }
            var ids: [UUID?] = components.map(\.id)
            // A device is matched as itself too: advisories name the manufacturer's model and firmware.
            if let manufacturer = asset.manufacturer, let model = asset.model, !manufacturer.isEmpty, !model.isEmpty {
                inventory.append(
                    InventoryComponent(
                        name: model, vendor: manufacturer, version: asset.firmware ?? "", source: .declared))
                ids.append(nil)
            }
            return (asset, inventory, ids)
        }
    }

    /// How exposed an establishment is to each record (a coordinator's broadcasts): assets running an affected
    /// version, those of them exposed to the Internet, assets running the product at a version that cannot be
    /// compared, and the size of the inventory. Counts only: nothing names an asset.
    /// The inventory is read once for all the records.
    public func exposures(to records: [VulnerabilityRecord], for establishment: Establishment.ID) async throws
        -> [ProductExposure]
    {
        guard !records.isEmpty else { return [] }
        let index = VulnerabilityIndex(records: records)
        let inventories = try await Self.inventories(establishment.uuid, on: sql)
        var blank = ProductExposure()
        blank.inventoryAssets = inventories.count
        var exposures = Array(repeating: blank, count: records.count)
        for (asset, inventory, _) in inventories {
            var affected: Set<Int> = []
            var unknown: Set<Int> = []
            for match in index.match(inventory, loose: true) {
                if match.confidence == .product { unknown.insert(match.record) } else { affected.insert(match.record) }
            }
            for position in affected {
                exposures[position].affectedAssets += 1
                if asset.internetExposed { exposures[position].exposedAssets += 1 }
            }
            for position in unknown.subtracting(affected) { exposures[position].unknownVersionAssets += 1 }
        }
        return exposures
    }

    func match(establishment: UUID) async throws -> MatchReport {
        let started = Date()
        let index = try await currentIndex()
        let indexSeconds = Date().timeIntervalSince(started)
        let now = now()
        let today = today()
        return try await database.transaction { db in
            let db = db as! any SQLDatabase  // Both drivers are SQL databases.
            var report = MatchReport()
            report.matchingSeconds = indexSeconds
            let settings = try await self.settings(for: establishment, on: db)
            let inventories = try await Self.inventories(establishment, on: db)
            report.assets = inventories.count
            var known: [String: Known] = [:]
            for row in try await db.raw(
                "SELECT id, match_key, status, priority, due_on, first_seen_at, confidence, reason FROM vuln_findings WHERE establishment_id = \(bind: establishment) AND origin = \(bind: FindingOrigin.match.rawValue)"
            ).all() {
                known[try row.decode(column: "match_key", as: String.self)] = Known(
                    id: try row.decode(column: "id", as: UUID.self),
                    status: FindingStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
                    priority: try row.decode(column: "priority", as: String.self),
                    due: try row.decode(column: "due_on", as: String.self),
                    first: try row.decode(column: "first_seen_at", as: Int64.self),
                    confidence: try row.decode(column: "confidence", as: String.self),
                    reason: try row.decode(column: "reason", as: String.self))
            }
            var metas: [String: RecordMeta] = [:]
            let findings = Batch("vuln_findings", Self.findingColumns)
            let events = Batch("vuln_finding_events", Self.eventColumns)
            var seen: Set<String> = []
            for (asset, inventory, ids) in inventories {
                report.components += inventory.count
                let matchStarted = Date()
                let matches = index.match(inventory, loose: settings.includeProductMatches)
                report.matchingSeconds += Date().timeIntervalSince(matchStarted)
                let missing = Set(matches.map(\.recordID)).subtracting(metas.keys)
                if !missing.isEmpty {
                    metas.merge(try await self.meta(Array(missing), on: db)) { current, _ in current }
                }
                for match in matches {
                    let product = inventory[match.component]
                    // Stable across imports (component rows are replaced): the asset, the record, the product.
                    let key =
                        "\(asset.id.uuidString)|\(match.recordID)|"
                        + (ids[match.component] == nil
                            ? "device" : ProductKey.normalise("\(product.vendor) \(product.name)"))
                    guard seen.insert(key).inserted else { continue }
                    report.matches += 1
                    let meta = metas[match.recordID]
                    let (priority, exploitation, exposure, automatable, human) = Self.decision(meta, asset: asset)
                    let reason = String(match.reason.prefix(1000))
                    if let found = known[key] {
                        let reopen = found.status == .fixed
                        guard
                            reopen || found.priority != priority.rawValue
                                || found.confidence != match.confidence.rawValue
                                || found.reason != reason
                        else { continue }
                        var update = db.update("vuln_findings").set("updated_at", to: now)
                            .set("confidence", to: match.confidence.rawValue).set("reason", to: reason)
                            .set("priority", to: priority.rawValue).set("exploitation", to: exploitation.rawValue)
                            .set("exposure", to: exposure.rawValue).set("automatable", to: automatable)
                            .set("human_impact", to: human.rawValue).set("cvss_score", to: meta?.cvssScore)
                            .set("severity", to: CVSS.severity(meta?.cvssScore ?? 0))
                        if found.priority != priority.rawValue {
                            // A higher priority brings the deadline closer; a lower one never pushes it away.
                            let due = Self.day(
                                Date(milliseconds: found.first).addingTimeInterval(
                                    Double(settings.days(priority)) * 86_400))
                            if due < found.due { update = update.set("due_on", to: due) }
                            try await events.add(
                                Self.eventRow(
                                    found.id, establishment, "priority", found.priority, priority.rawValue, "", at: now),
                                on: db)
                        }
                        if reopen {
                            update = update.set("status", to: FindingStatus.open.rawValue).set(
                                "resolved_at", to: SQLLiteral.null
                            )
                            .set("status_note", to: "detected again")
                            try await events.add(
                                Self.eventRow(
                                    found.id, establishment, "status", "fixed", "open", "detected again by matching",
                                    at: now),
                                on: db)
                            report.reopened += 1
                        }
                        try await update.where("id", .equal, found.id).run()
                        continue
                    }
                    let id = UUID()
                    let label = "\(product.vendor) \(product.name) \(product.version)".trimmingCharacters(
                        in: .whitespaces)
                    let due = Self.day(
                        Date(milliseconds: now).addingTimeInterval(Double(settings.days(priority)) * 86_400))
                    try await findings.add(
                        [
                            id, establishment, asset.id, ids[match.component], match.recordID, key,
                            FindingOrigin.match.rawValue,
                            UUID?.none, String("\(match.recordID) — \(label)".prefix(300)),
                            String((meta?.summary ?? "").prefix(4000)),
                            meta?.kevAction ?? "", CVSS.severity(meta?.cvssScore ?? 0), meta?.cvssScore,
                            match.confidence.rawValue,
                            reason, priority.rawValue, exploitation.rawValue, exposure.rawValue, automatable,
                            human.rawValue,
                            FindingStatus.open.rawValue, "", String?.none, due, String?.none, String?.none, now, now,
                            Int64?.none, now,
                        ], on: db)
                    try await events.add(
                        Self.eventRow(
                            id, establishment, "status", nil, "open", "detected: \(reason.prefix(300))", at: now),
                        on: db)
                    report.opened += 1
                }
            }
            try await findings.flush(on: db)
            // Findings whose vulnerable component is no longer there.
            var gone: [UUID] = []
            for (key, found) in known where !seen.contains(key) && found.status.closesOnImport {
                gone.append(found.id)
                try await events.add(
                    Self.eventRow(
                        found.id, establishment, "status", found.status.rawValue, "fixed",
                        "verified: no longer detected in the inventory", at: now), on: db)
            }
            for start in stride(from: 0, to: gone.count, by: 500) {
                try await db.update("vuln_findings").set("status", to: FindingStatus.fixed.rawValue)
                    .set("resolved_at", to: now).set("updated_at", to: now)
                    .set("status_note", to: "no longer detected in the inventory")
                    .where(SQLIdentifier("id"), .in, SQLBind.group(Array(gone[start..<min(start + 500, gone.count)])))
                    .run()
            }
            report.fixed = gone.count
            // Accepted risks whose acceptance has expired come back.
            for row in try await db.raw(
                "SELECT id FROM vuln_findings WHERE establishment_id = \(bind: establishment) AND status = \(bind: FindingStatus.riskAccepted.rawValue) AND accepted_until < \(bind: today)"
            ).all() {
                let id = try row.decode(column: "id", as: UUID.self)
                try await db.update("vuln_findings").set("status", to: FindingStatus.open.rawValue)
                    .set("status_note", to: "risk acceptance expired").set("updated_at", to: now).where(
                        "id", .equal, id
                    ).run()
                try await events.add(
                    Self.eventRow(
                        id, establishment, "status", "risk_accepted", "open", "risk acceptance expired", at: now),
                    on: db)
            }
            try await events.flush(on: db)
            // Still matched: seen now (one statement rather than one per finding).
            try await db.raw(
                "UPDATE vuln_findings SET last_seen_at = \(bind: now) WHERE establishment_id = \(bind: establishment) AND origin = \(bind: FindingOrigin.match.rawValue) AND status <> \(bind: FindingStatus.fixed.rawValue)"
            ).run()
            try await Self.updateRisk(establishment: establishment, on: db)
            report.seconds = Date().timeIntervalSince(started)
            return report
        }
    }

    static func updateRisk(establishment: UUID, on db: any SQLDatabase) async throws {
        var risk: [UUID: Double] = [:]
        for row in try await db.raw(
            "SELECT asset_id, priority, confidence FROM vuln_findings WHERE establishment_id = \(bind: establishment) AND asset_id IS NOT NULL AND status IN (\(bind: FindingStatus.open.rawValue), \(bind: FindingStatus.inProgress.rawValue))"
        ).all() {
            let asset = try row.decode(column: "asset_id", as: UUID.self)
            let priority = SSVC.Decision(rawValue: try row.decode(column: "priority", as: String.self)) ?? .scheduled
            let factor =
                try row.decode(column: "confidence", as: String.self) == MatchConfidence.product.rawValue ? 0.5 : 1
            risk[asset, default: 0] += (riskWeights[priority] ?? 1) * factor
        }
        try await db.raw(
            "UPDATE vuln_assets SET risk = 0 WHERE establishment_id = \(bind: establishment) AND risk <> 0"
        ).run()
        // Risks take few distinct values: one statement per value (and per 500 assets).
        let byValue = Dictionary(grouping: risk.keys) { min(100, risk[$0]!) }
        for (value, assets) in byValue.sorted(by: { $0.key < $1.key }) {
            for start in stride(from: 0, to: assets.count, by: 500) {
                try await db.update("vuln_assets").set("risk", to: value)
                    .where(
                        SQLIdentifier("id"), .in, SQLBind.group(Array(assets[start..<min(start + 500, assets.count)]))
                    ).run()
            }
        }
    }

    static func event(
        _ finding: UUID, _ establishment: UUID, _ kind: String, _ old: String?, _ new: String?, _ note: String,
        by actor: String, at: Int64, on db: any SQLDatabase
    ) async throws {
        try await db.insert(into: "vuln_finding_events").columns(eventColumns)
            .values(eventRow(finding, establishment, kind, old, new, note, by: actor, at: at)).run()
    }
}
