import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieStorage
import HygieVulnerabilities
import NIOCore
import VulnCore

/// `/api/v1/vuln` — inventory, imports, matching, findings, expert assessments and evidence.
struct VulnAPIController {
    let services: HygieServices
    var core: CoreAPIController { CoreAPIController(services: services) }
    var vuln: VulnService { services.vuln }

    var operations: [APIOperation] {
        let op = APIOperation.tagged("vulnerabilities")
        return [
            op(
                .get, "/api/v1/vuln/summary", "Figures: assets, open findings by priority, KEV on exposed assets", nil,
                "Object", 200, summary),
            op(.get, "/api/v1/vuln/assets", "Assets, riskiest first (kind, q)", nil, "Object", 200, assets),
            op(.post, "/api/v1/vuln/assets", "Create an asset", "Object", "Object", 201, createAsset),
            op(
                .get, "/api/v1/vuln/assets/{id}", "One asset with its components and findings", nil, "Object", 200,
                asset),
            op(.put, "/api/v1/vuln/assets/{id}", "Replace an asset's fields", "Object", "Object", 200, updateAsset),
            op(.delete, "/api/v1/vuln/assets/{id}", "Delete an asset and its findings", nil, "Empty", 204, deleteAsset),
            op(
                .post, "/api/v1/vuln/assets/{id}/components", "Add a software component", "Object", "Empty", 204,
                addComponent),
            op(
                .post, "/api/v1/vuln/inventory",
                "Import assets: body is a CSV (kind=csv, map=field=Header…), nmap XML (kind=nmap) or SBOM JSON (kind=sbom)",
                "Object", "Object", 200, importInventory),
            op(
                .post, "/api/v1/vuln/data",
                "Import vulnerability data (instance administrator): kind=nvd|cve5|osv|csaf|kev|epss, gzip allowed",
                "Object", "Object", 200, importData),
            op(.post, "/api/v1/vuln/match", "Match the inventory against the catalogue now", nil, "Object", 200, match),
            op(
                .get, "/api/v1/vuln/findings",
                "Findings by priority (status, priority, kev, exposed, overdue, medical, possible, q, limit, offset; format=csv)",
                nil, "Object", 200, findings),
            op(
                .post, "/api/v1/vuln/findings", "Record an expert finding (pentest, audit)", "Object", "Object", 201,
                createFinding),
            op(
                .get, "/api/v1/vuln/findings/{id}", "One finding with its timeline and evidence", nil, "Object", 200,
                finding),
            op(
                .patch, "/api/v1/vuln/findings/{id}", "Change status, assignee or deadline, or comment", "Object",
                "Object",
                200, updateFinding),
            op(
                .post, "/api/v1/vuln/findings/{id}/evidence",
                "Attach an evidence file (body; filename query parameter)",
                "Object", "Object", 201, addEvidence),
            op(.get, "/api/v1/vuln/evidence/{id}", "Download an evidence file", nil, "Object", 200, evidence),
            op(
                .get, "/api/v1/vuln/assessments", "Expert assessments (pentests, audits)", nil, "Object", 200,
                assessments),
            op(.post, "/api/v1/vuln/assessments", "Record an assessment", "Object", "Object", 201, createAssessment),
            op(.get, "/api/v1/vuln/settings", "Remediation deadlines per priority", nil, "Object", 200, settings),
            op(.put, "/api/v1/vuln/settings", "Change remediation deadlines", "Object", "Object", 200, updateSettings),
        ]
    }

    func addRoutes(to router: Router<HygieRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.routerPath), method: operation.method, use: operation.handler)
        }
    }

    static func json(_ value: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        try DetectionAPIController.json(value, status: status)
    }

    static func iso(_ date: Date?) -> Any { DetectionAPIController.iso(date) }

    func object(_ request: Request, _ context: HygieRequestContext) async throws -> [String: Any] {
        try await DetectionAPIController(services: services).body(request)
    }

    func raw(_ request: Request) async throws -> [UInt8] {
        var request = request
        let buffer = try await request.collectBody(upTo: vuln.configuration.maxUploadBytes)
        guard buffer.readableBytes > 0 else { throw HygieWebError.badRequest("the request body is empty") }
        return Array(buffer.readableBytesView)
    }

    // MARK: JSON forms

    static func assetJSON(_ asset: Asset) -> [String: Any] {
        [
            "id": asset.id.uuidString.lowercased(), "name": asset.name, "kind": asset.kind.rawValue,
            "hostname": asset.hostname ?? NSNull(), "addresses": asset.addresses, "macs": asset.macs,
            "serial": asset.serial ?? NSNull(), "manufacturer": asset.manufacturer ?? NSNull(),
            "model": asset.model ?? NSNull(), "firmware": asset.firmware ?? NSNull(),
            "os": asset.operatingSystem ?? NSNull(), "department": asset.department ?? NSNull(),
            "location": asset.location ?? NSNull(), "zone": asset.zone ?? NSNull(),
            "internet_exposed": asset.internetExposed, "criticality": asset.criticality.rawValue,
            "safety_impact": asset.safetyImpact.rawValue, "end_of_support": asset.endOfSupport ?? NSNull(),
            "protocols": asset.protocols, "notes": asset.notes, "sources": asset.sources, "risk": asset.risk,
            "created_at": iso(asset.createdAt), "last_seen_at": iso(asset.lastSeenAt),
        ]
    }

    static func findingJSON(_ finding: Finding) -> [String: Any] {
        [
            "id": finding.id.uuidString.lowercased(), "cve": finding.recordID ?? NSNull(), "title": finding.title,
            "origin": finding.origin.rawValue, "asset_id": finding.assetID?.uuidString.lowercased() ?? NSNull(),
            "asset": finding.assetName ?? NSNull(), "component": finding.componentLabel ?? NSNull(),
            "description": finding.description, "recommendation": finding.recommendation, "severity": finding.severity,
            "cvss": finding.cvssScore ?? NSNull(), "epss": finding.epss ?? NSNull(), "kev": finding.kev,
            "kev_due": finding.kevDue ?? NSNull(), "confidence": finding.confidence.rawValue, "reason": finding.reason,
            "priority": finding.priority.rawValue, "priority_label": finding.priority.cisaLabel,
            "why": finding.explanation(french: false),
            "ssvc": [
                "exploitation": finding.exploitation.rawValue, "exposure": finding.exposure.rawValue,
                "automatable": finding.automatable, "human_impact": finding.humanImpact.rawValue,
            ],
            "status": finding.status.rawValue, "status_note": finding.statusNote,
            "assignee": finding.assignee ?? NSNull(),
            "due_on": finding.dueOn, "accepted_by": finding.acceptedBy ?? NSNull(),
            "accepted_until": finding.acceptedUntil ?? NSNull(),
            "assessment_id": finding.assessmentID?.uuidString.lowercased() ?? NSNull(),
            "first_seen_at": iso(finding.firstSeenAt), "last_seen_at": iso(finding.lastSeenAt),
            "resolved_at": iso(finding.resolvedAt),
        ]
    }

    static func reportJSON(_ report: ImportReport) -> [String: Any] {
        [
            "kind": report.kind, "records": report.records, "created": report.created, "updated": report.updated,
            "skipped": report.skipped, "warnings": report.warnings, "detail": report.detail ?? NSNull(),
        ]
    }

    /// An asset draft from a JSON object (every field optional but `name` and `kind`).
    static func draft(_ body: [String: Any]) throws -> AssetDraft {
        guard let name = body["name"] as? String else {
            throw ValidationError(field: "name", message: "required", key: "required")
        }
        let kindText = body["kind"] as? String ?? "other"
        guard let kind = AssetKind(rawValue: kindText) else {
            throw ValidationError(field: "kind", message: "server, workstation, network, medical_device, iot or other")
        }
        var draft = AssetDraft(name: name, kind: kind)
        func text(_ key: String) throws -> String? {
            guard let value = body[key], !(value is NSNull) else { return nil }
            guard let string = value as? String else { throw ValidationError(field: key, message: "expected a string") }
            return string.isEmpty ? nil : string
        }
        func list(_ key: String) throws -> [String] {
            guard let value = body[key], !(value is NSNull) else { return [] }
            guard let strings = value as? [String] else {
                throw ValidationError(field: key, message: "expected an array of strings")
            }
            return strings
        }
        draft.hostname = try text("hostname")
        draft.addresses = try list("addresses")
        draft.macs = try list("macs")
        draft.serial = try text("serial")
        draft.manufacturer = try text("manufacturer")
        draft.model = try text("model")
        draft.firmware = try text("firmware")
        draft.operatingSystem = try text("os")
        draft.department = try text("department")
        draft.location = try text("location")
        draft.zone = try text("zone")
        draft.endOfSupport = try text("end_of_support")
        draft.protocols = try list("protocols")
        draft.notes = try text("notes") ?? ""
        if let value = body["internet_exposed"] {
            guard let flag = value as? Bool else {
                throw ValidationError(field: "internet_exposed", message: "expected true or false")
            }
            draft.internetExposed = flag
        }
        if let value = try text("criticality") {
            guard let level = Criticality(rawValue: value) else {
                throw ValidationError(field: "criticality", message: "low, medium, high or vital")
            }
            draft.criticality = level
        }
        if let value = try text("safety_impact") {
            guard let level = SSVC.SafetyImpact(rawValue: value) else {
                throw ValidationError(field: "safety_impact", message: "negligible, marginal, critical or catastrophic")
            }
            draft.safetyImpact = level
        }
        return draft
    }

    // MARK: Handlers

    func summary(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let summary = try await vuln.summary(in: scope)
        return try Self.json([
            "assets": summary.assets, "medical_devices": summary.medicalDevices,
            "internet_exposed": summary.internetExposed,
            "out_of_support": summary.unsupported, "kev_on_exposed_assets": summary.kevOnExposed,
            "overdue": summary.overdue,
            "open_by_priority": Dictionary(
                uniqueKeysWithValues: SSVC.Decision.allCases.map { ($0.rawValue, summary.openByPriority[$0] ?? 0) }),
            "mean_days_to_remediate": summary.meanDaysToRemediate ?? NSNull(), "risk": summary.establishmentRisk,
            "open_trend": summary.openTrend.map { ["week": $0.week, "open": $0.open] },
            "by_device_class": summary.byDeviceClass.map {
                ["kind": $0.kind, "assets": $0.assets, "findings": $0.findings]
            },
        ])
    }

    func assets(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let query = request.uri.queryParameters
        var kind: AssetKind?
        if let text = query.get("kind") {
            guard let value = AssetKind(rawValue: text) else { throw HygieWebError.badRequest("unknown kind \(text)") }
            kind = value
        }
        let items = try await vuln.assets(
            in: scope, kind: kind, search: query.get("q"), limit: query.get("limit").flatMap(Int.init) ?? 500)
        return try Self.json(["items": items.map(Self.assetJSON)])
    }

    func createAsset(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let id = try await vuln.createAsset(try Self.draft(try await object(request, context)), in: scope)
        return try Self.json(Self.assetJSON(try await vuln.asset(id, in: scope)), status: .created)
    }

    func asset(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let id = try context.idParameter("asset")
        var object = Self.assetJSON(try await vuln.asset(id, in: scope))
        object["components"] = try await vuln.components(of: id, in: scope).map { component -> [String: Any] in
            [
                "id": component.id.uuidString.lowercased(), "name": component.name, "vendor": component.vendor,
                "version": component.version, "cpe": component.cpe ?? NSNull(), "purl": component.purl ?? NSNull(),
                "source": component.source.rawValue, "support_level": component.supportLevel ?? NSNull(),
                "end_of_support": component.endOfSupport ?? NSNull(),
            ]
        }
        var filter = FindingFilter()
        filter.assetID = id
        filter.statuses = Set(FindingStatus.allCases)
        object["findings"] = try await vuln.findings(filter, in: scope).items.map(Self.findingJSON)
        return try Self.json(object)
    }

    func updateAsset(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let id = try context.idParameter("asset")
        try await vuln.updateAsset(id, try Self.draft(try await object(request, context)), in: scope)
        return try Self.json(Self.assetJSON(try await vuln.asset(id, in: scope)))
    }

    func deleteAsset(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        try await vuln.deleteAsset(try context.idParameter("asset"), in: scope)
        return Response(status: .noContent)
    }

    func addComponent(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await object(request, context)
        try await vuln.addComponent(
            to: try context.idParameter("asset"), name: body["name"] as? String ?? "",
            vendor: body["vendor"] as? String ?? "",
            version: body["version"] as? String ?? "", cpe: body["cpe"] as? String, purl: body["purl"] as? String,
            in: scope)
        return Response(status: .noContent)
    }

    func importInventory(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let query = request.uri.queryParameters
        guard let kind = InventoryKind(rawValue: query.get("kind") ?? "") else {
            throw HygieWebError.badRequest("kind must be csv, nmap or sbom")
        }
        let mapping: [String] = query.getAll("map").map { String($0) }
        let report = try await vuln.importInventory(
            kind, bytes: try await raw(request), mapping: mapping, origin: query.get("filename") ?? "api", in: scope)
        return try Self.json(Self.reportJSON(report))
    }

    func importData(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        guard let kind = VulnDataKind(rawValue: request.uri.queryParameters.get("kind") ?? "") else {
            throw HygieWebError.badRequest("kind must be nvd, cve5, osv, csaf, kev or epss")
        }
        let report = try await vuln.importData(
            kind, bytes: try await raw(request), origin: request.uri.queryParameters.get("filename") ?? "api",
            by: scope.actor)
        return try Self.json(Self.reportJSON(report))
    }

    func match(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let report = try await vuln.match(in: try core.scope(request, context))
        return try Self.json([
            "assets": report.assets, "components": report.components, "matches": report.matches,
            "opened": report.opened,
            "reopened": report.reopened, "fixed": report.fixed, "seconds": report.seconds,
        ])
    }

    static func filter(_ parameters: Parameters) throws -> FindingFilter {
        var filter = FindingFilter()
        if let status = parameters.get("status"), !status.isEmpty {
            filter.statuses = Set(
                try status.split(separator: ",").map { text in
                    guard let value = FindingStatus(rawValue: String(text)) else {
                        throw HygieWebError.badRequest("unknown status \(text)")
                    }
                    return value
                })
        }
        if let priority = parameters.get("priority"), !priority.isEmpty {
            guard let value = SSVC.Decision(rawValue: priority) else {
                throw HygieWebError.badRequest("unknown priority \(priority)")
            }
            filter.priority = value
        }
        if let asset = parameters.get("asset"), !asset.isEmpty {
            guard let id = UUID(uuidString: asset) else { throw HygieWebError.badRequest("asset is not an id") }
            filter.assetID = id
        }
        filter.kevOnly = parameters.get("kev") == "1" || parameters.get("kev") == "true"
        filter.internetExposedOnly = parameters.get("exposed") == "1" || parameters.get("exposed") == "true"
        filter.overdueOnly = parameters.get("overdue") == "1" || parameters.get("overdue") == "true"
        filter.medicalOnly = parameters.get("medical") == "1" || parameters.get("medical") == "true"
        filter.includeProductMatches = parameters.get("possible") == "1" || parameters.get("possible") == "true"
        filter.search = parameters.get("q")
        filter.limit = parameters.get("limit").flatMap(Int.init) ?? 100
        filter.offset = parameters.get("offset").flatMap(Int.init) ?? 0
        return filter
    }

    func findings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let filter = try Self.filter(request.uri.queryParameters)
        if request.uri.queryParameters.get("format") == "csv" {
            return Self.csv(try await vuln.exportCSV(filter, in: scope), name: "findings.csv")
        }
        let page = try await vuln.findings(filter, in: scope)
        return try Self.json(["items": page.items.map(Self.findingJSON), "total": page.total])
    }

    static func csv(_ text: String, name: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(name)\"",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func finding(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let id = try context.idParameter("finding")
        var object = Self.findingJSON(try await vuln.finding(id, in: scope))
        object["timeline"] = try await vuln.events(of: id, in: scope).map { event -> [String: Any] in
            [
                "at": Self.iso(event.at), "actor": event.actor, "kind": event.kind, "from": event.oldValue ?? NSNull(),
                "to": event.newValue ?? NSNull(), "note": event.note,
            ]
        }
        object["evidence"] = try await vuln.evidence(of: id, in: scope).map(Self.evidenceJSON)
        return try Self.json(object)
    }

    static func evidenceJSON(_ item: Evidence) -> [String: Any] {
        [
            "id": item.id.uuidString.lowercased(), "filename": item.filename, "content_type": item.contentType,
            "sha256": item.sha256, "size": item.size, "uploaded_by": item.uploadedBy,
            "uploaded_at": iso(item.uploadedAt),
        ]
    }

    static func update(_ body: [String: Any]) throws -> FindingUpdate {
        var change = FindingUpdate()
        if let text = body["status"] as? String {
            guard let status = FindingStatus(rawValue: text) else {
                throw ValidationError(field: "status", message: "unknown status \(text)")
            }
            change.status = status
        }
        change.note = body["note"] as? String
        if body.keys.contains("assignee") { change.assignee = .some(body["assignee"] as? String) }
        change.dueOn = body["due_on"] as? String
        change.acceptedUntil = body["accepted_until"] as? String
        return change
    }

    func updateFinding(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let finding = try await vuln.update(
            try context.idParameter("finding"), try Self.update(try await object(request, context)), in: scope)
        return try Self.json(Self.findingJSON(finding))
    }

    func createFinding(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await object(request, context)
        guard let severity = ExpertSeverity(rawValue: body["severity"] as? String ?? "") else {
            throw ValidationError(field: "severity", message: "critical, high, medium, low or info")
        }
        var assets: [UUID] = []
        for text in body["asset_ids"] as? [String] ?? [] {
            guard let id = UUID(uuidString: text) else {
                throw ValidationError(field: "asset_ids", message: "\(text) is not an id")
            }
            assets.append(id)
        }
        let assessment = try (body["assessment_id"] as? String).map { text in
            guard let id = UUID(uuidString: text) else {
                throw ValidationError(field: "assessment_id", message: "not an id")
            }
            return id
        }
        let ids = try await vuln.createExpertFinding(
            ExpertFindingDraft(
                title: body["title"] as? String ?? "", description: body["description"] as? String ?? "",
                recommendation: body["recommendation"] as? String ?? "", severity: severity, assetIDs: assets,
                assessmentID: assessment, cve: body["cve"] as? String), in: scope)
        return try Self.json(["ids": ids.map { $0.uuidString.lowercased() }], status: .created)
    }

    func addEvidence(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let name = request.uri.queryParameters.get("filename") ?? "evidence"
        let item = try await vuln.addEvidence(
            to: try context.idParameter("finding"), filename: name,
            contentType: request.headers[.contentType] ?? "application/octet-stream", bytes: try await raw(request),
            in: scope)
        return try Self.json(Self.evidenceJSON(item), status: .created)
    }

    func evidence(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let (item, content) = try await vuln.evidenceContent(try context.idParameter("evidence"), in: scope)
        return Self.download(item, content)
    }

    /// An evidence file, always as an attachment (never rendered in the browser).
    static func download(_ item: Evidence, _ content: Data) -> Response {
        .evidenceFile(named: item.filename, sha256: item.sha256, content)
    }

    func assessments(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        return try Self.json([
            "items": try await vuln.assessments(in: scope).map { item -> [String: Any] in
                [
                    "id": item.id.uuidString.lowercased(), "title": item.title, "kind": item.kind,
                    "auditor": item.auditor,
                    "scope": item.scope, "started_on": item.startedOn, "ended_on": item.endedOn ?? NSNull(),
                    "findings": item.findingCount,
                ]
            }
        ])
    }

    func createAssessment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await object(request, context)
        let id = try await vuln.createAssessment(
            title: body["title"] as? String ?? "", kind: body["kind"] as? String ?? "",
            auditor: body["auditor"] as? String ?? "",
            scope: body["scope"] as? String ?? "", startedOn: body["started_on"] as? String ?? "",
            endedOn: body["ended_on"] as? String, in: scope)
        return try Self.json(["id": id.uuidString.lowercased()], status: .created)
    }

    static func settingsJSON(_ settings: VulnSettings) -> [String: Any] {
        [
            "immediate_days": settings.immediateDays, "out_of_cycle_days": settings.outOfCycleDays,
            "scheduled_days": settings.scheduledDays, "defer_days": settings.deferDays,
            "include_product_matches": settings.includeProductMatches,
        ]
    }

    func settings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try Self.json(Self.settingsJSON(try await vuln.settings(in: try core.scope(request, context))))
    }

    func updateSettings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try core.scope(request, context)
        let body = try await object(request, context)
        var settings = try await vuln.settings(in: scope)
        for (key, path) in [
            ("immediate_days", \VulnSettings.immediateDays), ("out_of_cycle_days", \VulnSettings.outOfCycleDays),
            ("scheduled_days", \VulnSettings.scheduledDays), ("defer_days", \VulnSettings.deferDays),
        ] {
            guard let value = body[key] else { continue }
            guard let days = value as? Int else {
                throw ValidationError(field: key, message: "expected a number of days")
            }
            settings[keyPath: path] = days
        }
        if let flag = body["include_product_matches"] {
            guard let value = flag as? Bool else {
                throw ValidationError(field: "include_product_matches", message: "expected true or false")
            }
            settings.includeProductMatches = value
        }
        try await vuln.updateSettings(settings, in: scope)
        return try Self.json(Self.settingsJSON(settings))
    }
}
