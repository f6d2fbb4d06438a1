import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieStorage
import HygieVulnerabilities
import NIOCore
import VulnCore

/// Pages of the vulnerability module: overview, inventory, findings, expert assessments.
struct VulnWebController: PageController {
    let services: HygieServices
    var vuln: VulnService { services.vuln }
    static let readers: Set<Role> = [.admin, .rssi, .analyst, .auditor]
    static let writers: Set<Role> = [.admin, .rssi, .analyst]

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/vuln", use: overview)
        router.get("/vuln/trend.svg", use: trendChart)
        router.get("/vuln/classes.svg", use: classesChart)
        router.post("/vuln/inventory", use: importInventory)
        router.post("/vuln/data", use: importData)
        router.post("/vuln/match", use: match)
        router.get("/vuln/assets", use: assets)
        router.post("/vuln/assets", use: createAsset)
        router.get("/vuln/assets/:id", use: asset)
        router.post("/vuln/assets/:id", use: updateAsset)
        router.post("/vuln/assets/:id/components", use: addComponent)
        router.post("/vuln/assets/:id/delete", use: deleteAsset)
        router.get("/vuln/findings", use: findings)
        router.get("/vuln/findings.csv", use: exportCSV)
        router.get("/vuln/findings/:id", use: finding)
        router.post("/vuln/findings/:id", use: updateFinding)
        router.post("/vuln/findings/:id/evidence", use: addEvidence)
        router.get("/vuln/evidence/:id", use: evidence)
        router.get("/vuln/assessments", use: assessments)
        router.post("/vuln/assessments", use: createAssessment)
        router.post("/vuln/expert-findings", use: createExpertFinding)
        router.post("/vuln/settings", use: saveSettings)
    }

    // MARK: Labels

    func priorityRow(_ priority: SSVC.Decision, _ context: HygieRequestContext) -> [String: Any] {
        [
            "value": priority.rawValue, "label": t("vuln.priority.\(priority.rawValue)", context),
            "class": Self.priorityClass(priority),
        ]
    }

    static func priorityClass(_ priority: SSVC.Decision) -> String {
        switch priority {
        case .immediate: "critical"
        case .outOfCycle: "high"
        case .scheduled: "medium"
        case .defer: "low"
        }
    }

    func findingRow(_ finding: Finding, _ context: HygieRequestContext, today: String) -> [String: Any] {
        [
            "id": finding.id.uuidString.lowercased(), "title": finding.title, "cve": finding.recordID ?? "",
            "asset": finding.assetName ?? "—", "assetID": finding.assetID?.uuidString.lowercased() ?? "",
            "priority": priorityRow(finding.priority, context),
            "why": finding.explanation(french: context.locale == .fr),
            "cvss": finding.cvssScore.map { String(format: "%.1f", $0) } ?? "—",
            "epss": finding.epss.map { String(format: "%.1f %%", $0 * 100) } ?? "—", "kev": finding.kev,
            "status": t("vuln.status.\(finding.status.rawValue)", context), "due": finding.dueOn,
            "overdue": finding.isOverdue(today: today),
            "confidence": t("vuln.confidence.\(finding.confidence.rawValue)", context),
            "expert": finding.origin == .expert,
        ]
    }

    // MARK: Overview

    func overview(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let summary = try await vuln.summary(in: scope)
        let today = VulnService.day(services.clock.now())
        var exposed = FindingFilter()
        exposed.kevOnly = true
        exposed.internetExposedOnly = true
        exposed.limit = 20
        var top = FindingFilter()
        top.limit = 10
        let counts = try await vuln.catalogCounts()
        let settings = try await vuln.settings(in: scope)
        let stats: [[String: Any]] = [
            ["value": summary.assets, "label": t("vuln.assets", context)],
            ["value": summary.medicalDevices, "label": t("vuln.medicalDevices", context)],
            ["value": summary.internetExposed, "label": t("vuln.internetExposed", context)],
            ["value": summary.openByPriority[.immediate] ?? 0, "label": t("vuln.priority.immediate", context)],
            ["value": summary.overdue, "label": t("vuln.overdue", context)],
            [
                "value": summary.meanDaysToRemediate.map { String(format: "%.0f", $0) } ?? "—",
                "label": t("vuln.mttr", context),
            ],
        ]
        let content: [String: Any] = [
            "stats": stats, "kevOnExposed": summary.kevOnExposed,
            "exposed": try await vuln.findings(exposed, in: scope).items.map { findingRow($0, context, today: today) },
            "top": try await vuln.findings(top, in: scope).items.map { findingRow($0, context, today: today) },
            "priorities": SSVC.Decision.allCases.reversed().map { priority -> [String: Any] in
                var row = priorityRow(priority, context)
                row["count"] = summary.openByPriority[priority] ?? 0
                return row
            },
            "unsupported": summary.unsupported,
            "catalog": ["records": counts.records, "kev": counts.kev, "epss": counts.epss],
            "imports": try await vuln.imports(limit: 5).map {
                [
                    "kind": $0.kind, "origin": $0.origin, "records": $0.records, "at": Self.date($0.at),
                    "actor": $0.actor,
                ]
            },
            "canWrite": Self.writers.contains(scope.role),
            "canImportData": signedIn.session.user.isInstanceAdmin || scope.role == .admin,
            "canSettle": [.admin, .rssi].contains(scope.role),
            "settings": [
                "immediate": settings.immediateDays, "outOfCycle": settings.outOfCycleDays,
                "scheduled": settings.scheduledDays, "defer": settings.deferDays,
                "possible": settings.includeProductMatches,
            ],
            "dataKinds": VulnDataKind.allCases.map {
                ["value": $0.rawValue, "label": t("vuln.dataKind.\($0.rawValue)", context)]
            },
        ]
        return page(
            "vuln", t("nav.vuln", context), active: "vuln", content: content, signedIn: signedIn, request: request,
            context: context)
    }

    func trendChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let summary = try await vuln.summary(in: scope)
        return DetectionWebController.svg(
            BarChart(
                bars: summary.openTrend.map { .init(label: String($0.week.suffix(5)), value: $0.open) },
                title: t("vuln.trend", context)
            ).svg())
    }

    func classesChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let summary = try await vuln.summary(in: scope)
        return DetectionWebController.svg(
            Charts.horizontalBars(
                summary.byDeviceClass.map { ("\(t("vuln.kind.\($0.kind)", context)) (\($0.assets))", $0.findings) },
                title: t("vuln.byClass", context)))
    }

    func importInventory(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.writers)
        guard let file = context.files["file"], !file.bytes.isEmpty else { return .redirect("/vuln?flash=noFile") }
        let name = file.filename.lowercased()
        let kind =
            InventoryKind(rawValue: context.form[field: "kind"])
            ?? (name.hasSuffix(".xml") ? .nmap : (name.hasSuffix(".json") ? .sbom : .csv))
        let mapping = context.form[field: "mapping"].split(whereSeparator: \.isNewline).map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        let report = try await vuln.importInventory(
            kind, bytes: file.bytes, mapping: mapping, origin: file.filename, in: scope)
        return .redirect("/vuln/assets?imported=1&created=\(report.created)&updated=\(report.updated)")
    }

    func importData(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        guard let file = context.files["file"], !file.bytes.isEmpty else { return .redirect("/vuln?flash=noFile") }
        guard let kind = VulnDataKind(rawValue: context.form[field: "kind"]) else {
            return .redirect("/vuln?flash=noFile")
        }
        _ = try await vuln.importData(kind, bytes: file.bytes, origin: file.filename, by: scope.actor)
        _ = try await vuln.match(in: scope)
        return .redirect("/vuln?flash=imported")
    }

    func match(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.writers)
        _ = try await vuln.match(in: scope)
        return .redirect("/vuln?flash=matched")
    }

    func saveSettings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope([.admin, .rssi])
        var settings = VulnSettings()
        settings.immediateDays = Int(context.form[field: "immediate"]) ?? 0
        settings.outOfCycleDays = Int(context.form[field: "outOfCycle"]) ?? 0
        settings.scheduledDays = Int(context.form[field: "scheduled"]) ?? 0
        settings.deferDays = Int(context.form[field: "defer"]) ?? 0
        settings.includeProductMatches = context.form["possible"] == "1"
        try await vuln.updateSettings(settings, in: scope)
        return .redirect("/vuln?flash=saved")
    }

    // MARK: Assets

    func assetRow(_ asset: Asset, _ context: HygieRequestContext) -> [String: Any] {
        [
            "id": asset.id.uuidString.lowercased(), "name": asset.name,
            "kind": t("vuln.kind.\(asset.kind.rawValue)", context),
            "addresses": asset.addresses.joined(separator: " "),
            "device": [asset.manufacturer, asset.model, asset.firmware].compactMap { $0 }.joined(separator: " "),
            "department": asset.department ?? "", "zone": asset.zone ?? "", "exposed": asset.internetExposed,
            "risk": String(format: "%.0f", asset.risk),
            "riskClass": asset.risk >= 40
                ? "critical" : (asset.risk >= 15 ? "high" : (asset.risk > 0 ? "medium" : "low")),
            "eos": asset.endOfSupport ?? "",
        ]
    }

    func assetForm(_ asset: Asset?, _ context: HygieRequestContext) -> [String: Any] {
        [
            "action": asset.map { "/vuln/assets/\($0.id.uuidString.lowercased())" } ?? "/vuln/assets",
            "name": asset?.name ?? "", "hostname": asset?.hostname ?? "",
            "addresses": asset?.addresses.joined(separator: " ") ?? "",
            "macs": asset?.macs.joined(separator: " ") ?? "", "serial": asset?.serial ?? "",
            "manufacturer": asset?.manufacturer ?? "", "model": asset?.model ?? "", "firmware": asset?.firmware ?? "",
            "os": asset?.operatingSystem ?? "", "department": asset?.department ?? "",
            "location": asset?.location ?? "",
            "zone": asset?.zone ?? "", "exposed": asset?.internetExposed ?? false, "eos": asset?.endOfSupport ?? "",
            "protocols": asset?.protocols.joined(separator: " ") ?? "", "notes": asset?.notes ?? "",
            "kinds": options(AssetKind.allCases, selected: asset?.kind ?? .server, prefix: "vuln.kind", context),
            "criticalities": options(
                Criticality.allCases, selected: asset?.criticality ?? .medium, prefix: "vuln.criticality", context),
            "safeties": options(
                SSVC.SafetyImpact.allCases, selected: asset?.safetyImpact ?? .negligible, prefix: "vuln.safety", context
            ),
        ]
    }

    func assets(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await assetsPage(request, context, error: nil, status: .ok)
    }

    func assetsPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws
        -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let query = request.uri.queryParameters
        let kind = query.get("kind").flatMap(AssetKind.init(rawValue:))
        let items = try await vuln.assets(in: scope, kind: kind, search: query.get("q"), limit: 1_000)
        var notice: String?
        if query.get("imported") != nil {
            notice = t("vuln.importedAssets", context).replacingOccurrences(
                of: "{created}", with: query.get("created") ?? "0"
            )
            .replacingOccurrences(of: "{updated}", with: query.get("updated") ?? "0")
        }
        var content: [String: Any] = [
            "assets": items.map { assetRow($0, context) }, "q": query.get("q") ?? "",
            "kindFilter": [["value": "", "label": "—", "selected": kind == nil]]
                + options(AssetKind.allCases, selected: kind, prefix: "vuln.kind", context),
            "form": assetForm(nil, context), "canWrite": Self.writers.contains(scope.role),
            "inventoryKinds": options(InventoryKind.allCases, selected: nil, prefix: "vuln.inventoryKind", context),
        ]
        if let error { content["error"] = error }
        if let notice { content["notice"] = notice }
        return page(
            "vuln_assets", t("vuln.inventory", context), active: "vuln", content: content, signedIn: signedIn,
            request: request, context: context, status: status)
    }

    static func draft(_ form: [String: String]) throws -> AssetDraft {
        guard let kind = AssetKind(rawValue: form[field: "kind"]) else {
            throw ValidationError(field: "kind", message: "choose a type")
        }
        var draft = AssetDraft(name: form[field: "name"], kind: kind)
        func optional(_ key: String) -> String? {
            let value = form[field: key].trimmingCharacters(in: .whitespaces)
            return value.isEmpty ? nil : value
        }
        func words(_ key: String) -> [String] {
            form[field: key].split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        }
        draft.hostname = optional("hostname")
        draft.addresses = words("addresses")
        draft.macs = words("macs").map { $0.uppercased() }
        draft.serial = optional("serial")
        draft.manufacturer = optional("manufacturer")
        draft.model = optional("model")
        draft.firmware = optional("firmware")
        draft.operatingSystem = optional("os")
        draft.department = optional("department")
        draft.location = optional("location")
        draft.zone = optional("zone")
        draft.internetExposed = form["exposed"] == "1"
        draft.criticality = Criticality(rawValue: form[field: "criticality"]) ?? .medium
        draft.safetyImpact = SSVC.SafetyImpact(rawValue: form[field: "safety"]) ?? .negligible
        draft.endOfSupport = optional("eos")
        draft.protocols = words("protocols").map { $0.uppercased() }
        draft.notes = form[field: "notes"]
        return draft
    }

    func createAsset(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.writers)
            let id = try await vuln.createAsset(try Self.draft(context.form), in: scope)
            return .redirect("/vuln/assets/\(id.uuidString.lowercased())?flash=saved")
        } redisplay: { error, status in
            try await assetsPage(request, context, error: error, status: status)
        }
    }

    func asset(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await assetPage(request, context, error: nil, status: .ok)
    }

    func assetPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws
        -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("asset")
        let asset = try await vuln.asset(id, in: scope)
        var filter = FindingFilter()
        filter.assetID = id
        filter.statuses = Set(FindingStatus.allCases)
        filter.includeProductMatches = true
        let today = VulnService.day(services.clock.now())
        var row = assetRow(asset, context)
        row["safety"] = t("vuln.safety.\(asset.safetyImpact.rawValue)", context)
        row["criticality"] = t("vuln.criticality.\(asset.criticality.rawValue)", context)
        row["hostname"] = asset.hostname ?? "—"
        row["serial"] = asset.serial ?? "—"
        row["macs"] = asset.macs.joined(separator: " ")
        row["protocols"] = asset.protocols.joined(separator: ", ")
        row["location"] = asset.location ?? "—"
        row["os"] = asset.operatingSystem ?? "—"
        row["sources"] = asset.sources.joined(separator: ", ")
        row["lastSeen"] = Self.date(asset.lastSeenAt)
        row["unsupported"] = (asset.endOfSupport ?? "9999") < today
        var content: [String: Any] = [
            "asset": row, "form": assetForm(asset, context), "canWrite": Self.writers.contains(scope.role),
            "components": try await vuln.components(of: id, in: scope).map { component -> [String: Any] in
                [
                    "name": component.name, "vendor": component.vendor, "version": component.version,
                    "cpe": component.cpe ?? "", "purl": component.purl ?? "", "source": component.source.rawValue,
                    "support": [component.supportLevel, component.endOfSupport].compactMap { $0 }.joined(
                        separator: " · "),
                ]
            },
            "findings": try await vuln.findings(filter, in: scope).items.map { findingRow($0, context, today: today) },
        ]
        if let error { content["error"] = error }
        return page(
            "vuln_asset", asset.name, active: "vuln", content: content, signedIn: signedIn, request: request,
            context: context, status: status)
    }

    func updateAsset(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.writers)
            let id = try context.idParameter("asset")
            try await vuln.updateAsset(id, try Self.draft(context.form), in: scope)
            return .redirect("/vuln/assets/\(id.uuidString.lowercased())?flash=saved")
        } redisplay: { error, status in
            try await assetPage(request, context, error: error, status: status)
        }
    }

    func addComponent(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.writers)
            let id = try context.idParameter("asset")
            let form = context.form
            try await vuln.addComponent(
                to: id, name: form[field: "name"], vendor: form[field: "vendor"], version: form[field: "version"],
                cpe: form[field: "cpe"], purl: form[field: "purl"], in: scope)
            return .redirect("/vuln/assets/\(id.uuidString.lowercased())?flash=saved")
        } redisplay: { error, status in
            try await assetPage(request, context, error: error, status: status)
        }
    }

    func deleteAsset(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.writers)
        try await vuln.deleteAsset(try context.idParameter("asset"), in: scope)
        return .redirect("/vuln/assets?flash=saved")
    }

    // MARK: Findings

    func findings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let query = request.uri.queryParameters
        var filter = try VulnAPIController.filter(query)
        filter.limit = 200
        let result = try await vuln.findings(filter, in: scope)
        let today = VulnService.day(services.clock.now())
        let status = query.get("status") ?? ""
        var exportQuery = request.uri.query ?? ""
        if exportQuery.count > 500 { exportQuery = "" }
        let content: [String: Any] = [
            "findings": result.items.map { findingRow($0, context, today: today) }, "total": result.total,
            "shown": result.items.count, "q": query.get("q") ?? "",
            "statuses": [["value": "", "label": t("vuln.status.active", context), "selected": status.isEmpty]]
                + FindingStatus.allCases.map {
                    [
                        "value": $0.rawValue, "label": t("vuln.status.\($0.rawValue)", context),
                        "selected": $0.rawValue == status,
                    ]
                },
            "priorities": [["value": "", "label": "—", "selected": filter.priority == nil]]
                + options(
                    SSVC.Decision.allCases.reversed(), selected: filter.priority, prefix: "vuln.priority", context),
            "kev": filter.kevOnly, "exposed": filter.internetExposedOnly, "overdue": filter.overdueOnly,
            "medical": filter.medicalOnly, "possible": filter.includeProductMatches,
            "export": "/vuln/findings.csv" + (exportQuery.isEmpty ? "" : "?" + exportQuery),
        ]
        return page(
            "vuln_findings", t("vuln.findings", context), active: "vuln", content: content, signedIn: signedIn,
            request: request, context: context)
    }

    func exportCSV(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        return VulnAPIController.csv(
            try await vuln.exportCSV(try VulnAPIController.filter(request.uri.queryParameters), in: scope),
            name: "findings.csv")
    }

    func finding(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await findingPage(request, context, error: nil, status: .ok)
    }

    func findingPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws
        -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try context.idParameter("finding")
        let finding = try await vuln.finding(id, in: scope)
        let today = VulnService.day(services.clock.now())
        var row = findingRow(finding, context, today: today)
        row["description"] = finding.description
        row["recommendation"] = finding.recommendation
        row["reason"] = finding.reason
        row["component"] = finding.componentLabel ?? "—"
        row["kevDue"] = finding.kevDue ?? ""
        row["statusNote"] = finding.statusNote
        row["assignee"] = finding.assignee ?? ""
        row["acceptedUntil"] = finding.acceptedUntil ?? ""
        row["acceptedBy"] = finding.acceptedBy ?? ""
        row["firstSeen"] = Self.date(finding.firstSeenAt)
        row["lastSeen"] = Self.date(finding.lastSeenAt)
        row["ssvc"] = [
            "exploitation": t("vuln.exploitation.\(finding.exploitation.rawValue)", context),
            "exposure": t("vuln.exposure.\(finding.exposure.rawValue)", context),
            "automatable": t(finding.automatable ? "vuln.yes" : "vuln.no", context),
            "human": t("vuln.human.\(finding.humanImpact.rawValue)", context),
        ]
        row["nvd"] = finding.recordID?.hasPrefix("CVE-") == true
        var content: [String: Any] = [
            "finding": row,
            "statuses": options(FindingStatus.allCases, selected: finding.status, prefix: "vuln.status", context),
            "timeline": try await vuln.events(of: id, in: scope).map { event -> [String: Any] in
                [
                    "at": Self.date(event.at), "actor": event.actor, "kind": t("vuln.event.\(event.kind)", context),
                    "from": event.oldValue ?? "", "to": event.newValue ?? "", "note": event.note,
                ]
            },
            "evidence": try await vuln.evidence(of: id, in: scope).map { item -> [String: Any] in
                [
                    "id": item.id.uuidString.lowercased(), "name": item.filename, "sha256": item.sha256,
                    "size": ByteCountFormatter.string(fromByteCount: Int64(item.size), countStyle: .file),
                    "by": item.uploadedBy, "at": Self.date(item.uploadedAt),
                ]
            },
            "canWrite": Self.writers.union([.auditor]).contains(scope.role),
        ]
        if let error { content["error"] = error }
        return page(
            "vuln_finding", finding.title, active: "vuln", content: content, signedIn: signedIn, request: request,
            context: context, status: status)
    }

    func updateFinding(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.writers.union([.auditor]))
            let id = try context.idParameter("finding")
            let form = context.form
            let current = try await vuln.finding(id, in: scope)
            let status = FindingStatus(rawValue: form[field: "status"])
            let assignee = form[field: "assignee"].trimmingCharacters(in: .whitespaces)
            let due = form[field: "due"]
            _ = try await vuln.update(
                id,
                FindingUpdate(
                    status: status == current.status ? nil : status, note: form[field: "note"],
                    assignee: assignee == (current.assignee ?? "") ? nil : .some(assignee.isEmpty ? nil : assignee),
                    dueOn: due.isEmpty || due == current.dueOn ? nil : due,
                    acceptedUntil: form[field: "until"].isEmpty ? nil : form[field: "until"]), in: scope)
            return .redirect("/vuln/findings/\(id.uuidString.lowercased())?flash=saved")
        } redisplay: { error, status in
            try await findingPage(request, context, error: error, status: status)
        }
    }

    func addEvidence(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.readers)
            let id = try context.idParameter("finding")
            guard let file = context.files["file"] else {
                throw ValidationError(field: "file", message: "choose a file", key: "required")
            }
            _ = try await vuln.addEvidence(
                to: id, filename: file.filename, contentType: file.contentType, bytes: file.bytes, in: scope)
            return .redirect("/vuln/findings/\(id.uuidString.lowercased())?flash=saved")
        } redisplay: { error, status in
            try await findingPage(request, context, error: error, status: status)
        }
    }

    func evidence(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let (item, content) = try await vuln.evidenceContent(try context.idParameter("evidence"), in: scope)
        return VulnAPIController.download(item, content)
    }

    // MARK: Assessments

    func assessments(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await assessmentsPage(request, context, error: nil, status: .ok)
    }

    func assessmentsPage(
        _ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status
    )
        async throws -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let items = try await vuln.assessments(in: scope)
        var content: [String: Any] = [
            "assessments": items.map {
                [
                    "id": $0.id.uuidString.lowercased(), "title": $0.title,
                    "kind": t("vuln.assessmentKind.\($0.kind)", context),
                    "auditor": $0.auditor, "scope": $0.scope,
                    "dates": [$0.startedOn, $0.endedOn].compactMap { $0 }.joined(separator: " → "),
                    "findings": $0.findingCount,
                ]
            },
            "kinds": ["pentest", "audit", "red_team", "configuration_review", "other"].map {
                ["value": $0, "label": t("vuln.assessmentKind.\($0)", context)]
            },
            "severities": ExpertSeverity.allCases.map {
                ["value": $0.rawValue, "label": t("vuln.severity.\($0.rawValue)", context)]
            },
            "assets": try await vuln.assets(in: scope, limit: 2_000).map {
                ["id": $0.id.uuidString.lowercased(), "name": $0.name]
            },
            "canRecord": [.admin, .rssi, .analyst, .auditor].contains(scope.role),
            "today": VulnService.day(services.clock.now()),
        ]
        if let error { content["error"] = error }
        return page(
            "vuln_assessments", t("vuln.assessments", context), active: "vuln", content: content, signedIn: signedIn,
            request: request, context: context, status: status)
    }

    func createAssessment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.readers)
            let form = context.form
            _ = try await vuln.createAssessment(
                title: form[field: "title"], kind: form[field: "kind"], auditor: form[field: "auditor"],
                scope: form[field: "scope"], startedOn: form[field: "started"], endedOn: form[field: "ended"], in: scope
            )
            return .redirect("/vuln/assessments?flash=saved")
        } redisplay: { error, status in
            try await assessmentsPage(request, context, error: error, status: status)
        }
    }

    func createExpertFinding(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await services.submitForm(context) {
            let scope = try await services.signedIn(context).requireScope(Self.readers)
            let form = context.form
            guard let severity = ExpertSeverity(rawValue: form[field: "severity"]) else {
                throw ValidationError(field: "severity", message: "choose a severity")
            }
            let assets = form.keys.filter { $0.hasPrefix("asset-") }.compactMap {
                UUID(uuidString: String($0.dropFirst(6)))
            }
            let ids = try await vuln.createExpertFinding(
                ExpertFindingDraft(
                    title: form[field: "title"], description: form[field: "description"],
                    recommendation: form[field: "recommendation"], severity: severity, assetIDs: assets,
                    assessmentID: UUID(uuidString: form[field: "assessment"]), cve: form[field: "cve"]), in: scope)
            return .redirect(
                ids.count == 1
                    ? "/vuln/findings/\(ids[0].uuidString.lowercased())?flash=saved" : "/vuln/findings?flash=saved")
        } redisplay: { error, status in
            try await assessmentsPage(request, context, error: error, status: status)
        }
    }
}
