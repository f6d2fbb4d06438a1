import Foundation
import HTTPTypes
import Hummingbird
import HygieCompliance
import HygieCore
import HygieDetection
import HygieIncidents
import HygieIntel
import HygieStorage
import HygieVulnerabilities
import MailTriage
import Mustache
import NIOCore
import STIX

/// *Dossiers*: the case board (open cases, clocks, median times), a case (qualification and declarations with
/// countdowns, plan, observables, links, timeline, answers for the forms, lessons learned, merge), the
/// declarations board, and each declaration's pre-filled draft (printable HTML, PDF, JSON).
struct CasesWebController: PageController {
    let services: HygieServices
    var cases: CaseService { services.cases }
    static let readers: Set<Role> = [.admin, .rssi, .analyst, .dpo]
    static let handlers: Set<Role> = [.admin, .rssi, .analyst]

    /// The answers the forms ask for, beyond the case's own fields (DOMAIN.md §3).
    static let formFields = [
        "sites", "units", "applications", "suppliers", "care_impact", "degraded_from", "degraded_to", "cancelled_care",
        "transfers", "patient_harm", "data_impact", "data_categories", "person_categories", "persons_count",
        "records_count", "encrypted", "exfiltration", "consequences", "notice_persons", "malicious", "cross_border",
        "vector", "cve", "root_cause", "actions",
    ]

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/cases", use: board)
        router.post("/cases", use: open)
        router.get("/cases/declarations", use: declarationsBoard)
        router.get("/cases/monthly.svg", use: monthlyChart)
        router.get("/cases/declarations/:declaration/draft", use: draft)
        router.post("/cases/declarations/:declaration/sent", use: markSent)
        router.post("/cases/from-report/:id", use: openFromReport)
        router.post("/cases/from-alert/:id", use: openFromAlert)
        router.post("/cases/from-finding/:id", use: openFromFinding)
        router.get("/cases/:id", use: detail)
        router.post("/cases/:id", use: update)
        router.post("/cases/:id/qualify", use: qualify)
        router.post("/cases/:id/tasks", use: addTask)
        router.post("/cases/:id/tasks/:task", use: setTask)
        router.post("/cases/:id/observables", use: addObservable)
        router.post("/cases/:id/merge", use: merge)
        router.post("/cases/:id/note", use: addNote)
        router.post("/cases/:id/share", use: share)
        router.post("/cases/:id/compliance-action", use: complianceAction)
        router.post("/cases/:id/files", use: attach)
        router.get("/cases/:id/files/:file", use: download)
        router.post("/cases/:id/split", use: split)
    }

    // MARK: Helpers

    func id(_ context: HygieRequestContext, _ name: String = "id") throws -> Int64 {
        try context.int64Parameter(name, what: name == "id" ? "case" : name)
    }

    static func duration(_ seconds: TimeInterval?) -> String {
        guard let seconds else { return "—" }
        let magnitude = abs(seconds)
        let text =
            magnitude < 3_600
            ? String(format: "%.0f min", magnitude / 60)
            : magnitude < 172_800
                ? String(format: "%.1f h", magnitude / 3_600) : String(format: "%.1f j", magnitude / 86_400)
        return seconds < 0 ? "−" + text : text
    }

    func declarationRow(_ declaration: Declaration, _ context: HygieRequestContext) -> [String: Any] {
        let now = services.clock.now()
        var row: [String: Any] = [
            "id": declaration.id, "regime": t("cases.regime.\(declaration.regime.rawValue)", context),
            "recipient": declaration.regime.recipient, "due": Self.date(declaration.dueAt),
            "late": declaration.isLate(at: now), "sent": declaration.status == .sent,
        ]
        if let remaining = declaration.remaining(at: now) { row["remaining"] = Self.duration(remaining) }
        if declaration.status == .sent {
            row["sentAt"] = Self.date(declaration.sentAt)
            row["reference"] = declaration.reference.isEmpty ? "—" : declaration.reference
            row["hash"] = String(declaration.snapshotSHA256.prefix(16))
        }
        return row
    }

    func caseRow(_ incident: IncidentCase, _ context: HygieRequestContext) -> [String: Any] {
        [
            "id": incident.id, "title": incident.title, "type": t("cases.type.\(incident.type.rawValue)", context),
            "severity": t("cases.severity.\(incident.severity.rawValue)", context),
            "severityClass": incident.severity.rawValue,
            "status": t("cases.status.\(incident.status.rawValue)", context),
            "assignee": incident.assignee.isEmpty ? "—" : incident.assignee, "aware": Self.date(incident.awareAt),
            "tlp": incident.tlp.rawValue,
        ]
    }

    // MARK: Board

    func board(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await boardPage(request, context, error: nil, status: .ok)
    }

    func boardPage(
        _ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let filter = request.uri.queryParameters.get("status").map { String($0) } ?? "open"
        let all = try await cases.cases(in: scope, limit: 500)
        let shown = all.filter {
            filter == "all" || (filter == "open" ? $0.status != .closed : $0.status.rawValue == filter)
        }
        let metrics = try await cases.metrics(since: services.clock.now().addingTimeInterval(-365 * 86_400), in: scope)
        let pending = try await cases.declarations(in: scope).filter { $0.declaration.status == .draft }
        var content: [String: Any] = [
            "cases": shown.map { caseRow($0, context) }, "hasCases": !shown.isEmpty,
            "filters": ["open", "closed", "all"].map {
                ["value": $0, "label": t("cases.filter.\($0)", context), "current": $0 == filter]
            },
            "stats": [
                "open": metrics.open, "critical": all.filter { $0.status != .closed && $0.severity == .critical }.count,
                "late": metrics.lateDeclarations, "pending": pending.count,
            ],
            "medians": [
                ["label": t("cases.ttd", context), "value": Self.duration(metrics.medianTimeToDetect)],
                ["label": t("cases.tta", context), "value": Self.duration(metrics.medianTimeToAcknowledge)],
                ["label": t("cases.ttc", context), "value": Self.duration(metrics.medianTimeToContain)],
                ["label": t("cases.ttr", context), "value": Self.duration(metrics.medianTimeToResolve)],
            ],
            "clocks": pending.prefix(8).map { entry -> [String: Any] in
                var row = declarationRow(entry.declaration, context)
                row["caseID"] = entry.declaration.caseID
                row["caseTitle"] = entry.caseTitle
                return row
            },
            "canOpen": Self.handlers.contains(scope.role),
            "types": IncidentType.allCases.map {
                ["value": $0.rawValue, "label": t("cases.type.\($0.rawValue)", context)]
            },
            "severities": CaseSeverity.allCases.map {
                ["value": $0.rawValue, "label": t("cases.severity.\($0.rawValue)", context), "selected": $0 == .medium]
            },
            "now": DisplayDate.local(services.clock.now()),
        ]
        if let error { content["error"] = error }
        return page(
            "cases", t("nav.cases", context), active: "cases", content: content, signedIn: signedIn, request: request,
            context: context, status: status)
    }

    /// Cases opened per month over a year, stacked by incident type.
    func monthlyChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let all = try await cases.cases(in: scope, includeMerged: false, limit: 1_000)
        let calendar = Calendar(identifier: .gregorian)
        var utc = calendar
        utc.timeZone = TimeZone(identifier: "UTC")!
        let now = services.clock.now()
        let months: [String] = (0..<12).reversed().compactMap { back in
            utc.date(byAdding: .month, value: -back, to: now).map { String($0.utcDay.prefix(7)) }
        }
        let columns = months.map { month in
            (
                label: String(month.suffix(5)),
                counts: Dictionary(grouping: all.filter { $0.createdAt.utcDay.hasPrefix(month) }, by: \.type.rawValue)
                    .mapValues(\.count)
            )
        }
        let series = zip(IncidentType.allCases, StackedBars.palette).map {
            StackedBars.Series(key: $0.0.rawValue, colour: $0.1, label: t("cases.type.\($0.0.rawValue)", context))
        }
        return DetectionWebController.svg(
            StackedBars.svg(columns, series: series, title: t("cases.chartTitle", context), labelEvery: 2))
    }

    func open(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.handlers)
        return try await services.submitForm(context) {
            let detail = try await cases.open(
                CaseInput(
                    title: context.form["title"] ?? "", description: context.form["description"] ?? "",
                    type: IncidentType(rawValue: context.form["type"] ?? "") ?? .other,
                    severity: CaseSeverity(rawValue: context.form["severity"] ?? "") ?? .medium,
                    tlp: TLP(rawValue: context.form["tlp"] ?? "") ?? .amber, pap: .amber,
                    assignee: context.form["assignee"] ?? "",
                    awareAt: try DisplayDate.parseLocal(context.form["aware_at"]), language: context.locale.rawValue),
                in: scope)
            return .redirect("/cases/\(detail.incident.id)?flash=saved")
        } redisplay: { error, status in
            try await boardPage(request, context, error: error, status: status)
        }
    }

    func openFromReport(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.handlers)
        let type = IncidentType(rawValue: context.form["type"] ?? "") ?? .phishing
        let detail = try await cases.open(fromReport: try id(context), type: type, in: scope)
        return .redirect("/cases/\(detail.incident.id)?flash=saved")
    }

    /// A detection alert becomes a case: linked, its host, account and address attached as sighted observables.
    func openFromAlert(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.handlers)
        let alert = try await services.detection.alert(try context.idParameter("alert"), in: scope)
        let severity: CaseSeverity =
            switch alert.severity.rawValue {
            case "critical": .critical
            case "high": .high
            case "low", "informational": .low
            default: .medium
            }
        var observables: [ObservableInput] = []
        if let host = alert.host { observables.append(ObservableInput(kind: "hostname", value: host)) }
        if let user = alert.user { observables.append(ObservableInput(kind: "account", value: user)) }
        if let address = alert.address {
            observables.append(ObservableInput(kind: address.contains(":") ? "ipv6" : "ipv4", value: address))
        }
        let detail = try await cases.open(
            CaseInput(
                title: String("\(t("cases.fromAlert", context)) : \(alert.ruleTitle)".prefix(300)),
                description: "\(alert.count) × \(alert.ruleTitle) (\(alert.techniques.joined(separator: ", ")))",
                type: .other, severity: severity, detectedAt: alert.firstSeen, language: context.locale.rawValue),
            source: "alert:\(alert.id.uuidString.lowercased())",
            link: CaseLink(kind: "alert", ref: alert.id.uuidString.lowercased(), title: alert.ruleTitle),
            observables: observables, in: scope)
        return .redirect("/cases/\(detail.incident.id)?flash=saved")
    }

    /// A vulnerability finding becomes a case (an exploited flaw, a pentest finding under attack): linked, the
    /// asset attached.
    func openFromFinding(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.handlers)
        let finding = try await services.vuln.finding(try context.idParameter("finding"), in: scope)
        let severity: CaseSeverity =
            switch finding.severity.lowercased() {
            case "critical": .critical
            case "high": .high
            case "low", "none": .low
            default: .medium
            }
        let detail = try await cases.open(
            CaseInput(
                title: String("\(finding.recordID ?? finding.title) — \(finding.assetName ?? "")".prefix(300)),
                description: finding.description, type: .other, severity: severity, language: context.locale.rawValue),
            source: "finding:\(finding.id.uuidString.lowercased())",
            link: CaseLink(kind: "finding", ref: finding.id.uuidString.lowercased(), title: finding.title),
            observables: finding.assetName.map { [ObservableInput(kind: "hostname", value: $0)] } ?? [], in: scope)
        return .redirect("/cases/\(detail.incident.id)?flash=saved")
    }

    func declarationsBoard(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let entries = try await cases.declarations(in: scope)
        let rows = entries.map { entry -> [String: Any] in
            var row = declarationRow(entry.declaration, context)
            row["caseID"] = entry.declaration.caseID
            row["caseTitle"] = entry.caseTitle
            return row
        }
        return page(
            "cases_declarations", t("cases.declarations", context), active: "cases",
            content: ["declarations": rows, "hasDeclarations": !rows.isEmpty], signedIn: signedIn, request: request,
            context: context)
    }

    // MARK: Case

    func detail(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await detailPage(request, context, error: nil, status: .ok)
    }

    func detailPage(
        _ request: Request, _ context: HygieRequestContext, caseID: Int64? = nil, error: String?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let detail = try await cases.detail(try caseID ?? id(context), in: scope)
        let incident = detail.incident
        let metrics = incident.metrics
        var content = caseRow(incident, context)
        content["description"] = incident.description
        content["canEdit"] = Self.handlers.contains(scope.role) && incident.mergedInto == nil
        if let merged = incident.mergedInto { content["mergedInto"] = merged }
        content["times"] = [
            ["label": t("cases.occurred", context), "value": Self.date(incident.occurredAt)],
            ["label": t("cases.detected", context), "value": Self.date(incident.detectedAt)],
            ["label": t("cases.aware", context), "value": Self.date(incident.awareAt)],
            ["label": t("cases.acknowledged", context), "value": Self.date(incident.acknowledgedAt)],
            ["label": t("cases.contained", context), "value": Self.date(incident.containedAt)],
            ["label": t("cases.resolved", context), "value": Self.date(incident.resolvedAt)],
            ["label": t("cases.closed", context), "value": Self.date(incident.closedAt)],
        ]
        content["metrics"] = [
            ["label": t("cases.ttd", context), "value": Self.duration(metrics.timeToDetect)],
            ["label": t("cases.tta", context), "value": Self.duration(metrics.timeToAcknowledge)],
            ["label": t("cases.ttc", context), "value": Self.duration(metrics.timeToContain)],
            ["label": t("cases.ttr", context), "value": Self.duration(metrics.timeToResolve)],
        ]
        content["form"] = [
            "occurred": DisplayDate.local(incident.occurredAt), "detected": DisplayDate.local(incident.detectedAt),
            "aware": DisplayDate.local(incident.awareAt), "contained": DisplayDate.local(incident.containedAt),
            "resolved": DisplayDate.local(incident.resolvedAt), "assignee": incident.assignee,
            "lessons": incident.lessons,
        ]
        content["statuses"] = options(CaseStatus.allCases, selected: incident.status, prefix: "cases.status", context)
        content["severities"] = options(
            CaseSeverity.allCases, selected: incident.severity, prefix: "cases.severity", context)
        content["tlps"] = TLP.allCases.map {
            ["value": $0.rawValue, "label": $0.rawValue.uppercased(), "selected": $0 == incident.tlp]
        }
        content["paps"] = PAP.allCases.map {
            ["value": $0.rawValue, "label": $0.rawValue.uppercased(), "selected": $0 == incident.pap]
        }
        content["qualification"] = [
            "significant": incident.qualification.significant, "personalData": incident.qualification.personalData,
            "nis2": incident.qualification.nis2,
        ]
        content["declarations"] = detail.declarations.map { declarationRow($0, context) }
        content["hasDeclarations"] = !detail.declarations.isEmpty
        content["tasks"] = detail.tasks.map { task -> [String: Any] in
            [
                "id": task.id, "title": task.title, "phase": t("cases.phase.\(task.phase)", context),
                "done": task.status == .done, "skipped": task.status == .skipped, "doneBy": task.doneBy,
                "doneAt": Self.date(task.doneAt),
            ]
        }
        let done = detail.tasks.filter { $0.status != .todo }.count
        content["progress"] = "\(done)/\(detail.tasks.count)"
        content["observables"] = detail.observables.map {
            [
                "kind": $0.kind, "value": $0.kind == "url" ? URLExtractor.defang($0.value) : $0.value, "ioc": $0.ioc,
                "sighted": $0.sighted, "tlp": $0.tlp.rawValue, "note": $0.note,
            ] as [String: Any]
        }
        content["hasObservables"] = !detail.observables.isEmpty
        content["links"] = detail.links.map { link -> [String: Any] in
            [
                "title": link.title.isEmpty ? "\(link.kind) \(link.ref)" : link.title,
                "href": ["report": "/reports/", "alert": "/alerts/", "finding": "/vuln/findings/", "case": "/cases/"][
                    link.kind
                ]
                .map { $0 + link.ref } ?? "",
                "kind": link.kind,
            ]
        }
        content["hasLinks"] = !detail.links.isEmpty
        content["timeline"] = detail.events.reversed().map {
            [
                "at": Self.date($0.at), "actor": $0.actor, "kind": t("cases.event.\($0.kind)", context),
                "detail": $0.detail,
            ]
        }
        content["fields"] = Self.formFields.map { key in
            ["key": key, "label": t("cases.field.\(key)", context), "value": incident.fields[key] ?? ""]
        }
        content["otherCases"] = try await cases.cases(in: scope, limit: 100).filter { $0.id != incident.id }.map {
            ["id": $0.id, "title": $0.title]
        }
        let collections = try await services.intel.collections(for: services.intel.principal(for: scope)).filter {
            $0.canWrite && $0.collection.establishmentID == scope.establishmentID
        }
        content["collections"] = collections.map { ["id": $0.collection.id.uuidString, "title": $0.collection.title] }
        content["canShare"] = !collections.isEmpty && detail.observables.contains(where: \.ioc) && incident.pap != .red
        content["shared"] = detail.observables.filter { $0.sharedAt != nil }.count
        content["canPlan"] = incident.status == .resolved || incident.status == .closed
        content["files"] = try await cases.files(incident.id, in: scope).map {
            [
                "id": $0.id, "name": $0.name, "size": $0.size, "sha256": $0.sha256, "by": $0.uploadedBy,
                "at": Self.date($0.createdAt),
            ]
                as [String: Any]
        }
        content["splittable"] = detail.observables.map { ["id": $0.id, "label": "\($0.kind) \($0.value)"] }
        content["canSplit"] = detail.observables.count > 1
        if let error { content["error"] = error }
        return page(
            "case_detail", "\(t("cases.case", context)) #\(incident.id)", active: "cases", content: content,
            signedIn: signedIn, request: request, context: context, status: status)
    }

    /// Runs a change and shows the case again, with the message of a refused change.
    func change(
        _ request: Request, _ context: HygieRequestContext,
        _ action: @escaping (TenantScope, Int64) async throws -> Void
    ) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.handlers)
        let id = try id(context)
        return try await services.submitForm(context) {
            try await action(scope, id)
            return .redirect("/cases/\(id)?flash=saved")
        } redisplay: { error, status in
            try await detailPage(request, context, error: error, status: status)
        }
    }

    func update(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await change(request, context) { scope, id in
            let form = context.form
            var fields: CaseFields?
            if form["fields_form"] == "1" {
                fields = Dictionary(uniqueKeysWithValues: Self.formFields.map { ($0, form["field_\($0)"] ?? "") })
            }
            _ = try await cases.update(
                id,
                CaseChange(
                    title: form["title"], description: form["description"],
                    severity: form["severity"].flatMap(CaseSeverity.init(rawValue:)),
                    tlp: form["tlp"].flatMap(TLP.init(rawValue:)), pap: form["pap"].flatMap(PAP.init(rawValue:)),
                    status: form["status"].flatMap(CaseStatus.init(rawValue:)), assignee: form["assignee"],
                    occurredAt: try DisplayDate.parseLocal(form["occurred_at"]),
                    detectedAt: try DisplayDate.parseLocal(form["detected_at"]),
                    awareAt: try DisplayDate.parseLocal(form["aware_at"]),
                    containedAt: try DisplayDate.parseLocal(form["contained_at"]),
                    resolvedAt: try DisplayDate.parseLocal(form["resolved_at"]), fields: fields,
                    lessons: form["lessons"]),
                in: scope)
        }
    }

    func qualify(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await change(request, context) { scope, id in
            _ = try await cases.qualify(
                id,
                Qualification(
                    significant: context.form["significant"] == "on",
                    personalData: context.form["personal_data"] == "on",
                    nis2: context.form["nis2"] == "on"), in: scope)
        }
    }

    func addTask(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await change(request, context) { scope, id in
            _ = try await cases.addTask(id, title: context.form["title"] ?? "", in: scope)
        }
    }

    func setTask(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await change(request, context) { scope, _ in
            let status = CaseTask.Status(rawValue: context.form["status"] ?? "") ?? .done
            _ = try await cases.setTask(try id(context, "task"), status: status, in: scope)
        }
    }

    func addObservable(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await change(request, context) { scope, id in
            _ = try await cases.addObservable(
                id, kind: context.form["kind"] ?? "", value: context.form["value"] ?? "",
                ioc: context.form["ioc"] == "on", sighted: context.form["sighted"] == "on",
                tlp: TLP(rawValue: context.form["tlp"] ?? "") ?? .amber, note: context.form["note"] ?? "", in: scope)
        }
    }

    func addNote(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await change(request, context) { scope, id in
            _ = try await cases.note(id, context.form["note"] ?? "", in: scope)
        }
    }

    func share(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await change(request, context) { scope, id in
            guard let collection = UUID(uuidString: context.form["collection"] ?? "") else {
                throw IncidentsError.invalid("choose a collection")
            }
            _ = try await cases.shareIndicators(
                id, collection: collection, tlp: TLP(rawValue: context.form["tlp"] ?? "") ?? .amber,
                intel: services.intel, in: scope)
        }
    }

    /// A lessons-learned action becomes an action of the compliance plan (and a note in the case).
    func complianceAction(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await change(request, context) { scope, id in
            let title = (context.form["title"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !title.isEmpty else { throw IncidentsError.invalid("name the action") }
            let incident = try await cases.incident(id, in: scope)
            let action = try await services.compliance.createAction(
                ActionInput(
                    title: title, description: "\(t("cases.case", context)) #\(id) — \(incident.title)", priority: .high
                ),
                in: scope)
            _ = try await cases.note(id, "\(t("cases.actionCreated", context)) : \(action.title)", in: scope)
        }
    }

    func attach(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await change(request, context) { scope, id in
            guard let file = context.files["file"], !file.bytes.isEmpty else {
                throw IncidentsError.invalid("choose a file")
            }
            _ = try await cases.attach(
                id, name: file.filename, contentType: file.contentType, data: file.bytes, in: scope)
        }
    }

    func download(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let (file, bytes) = try await cases.file(try id(context, "file"), in: scope)
        // Served as a download only, whatever it claims to be.
        return .evidenceFile(named: file.name, sha256: file.sha256, Data(bytes))
    }

    func split(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.handlers)
        let id = try id(context)
        let chosen = context.form.keys.filter { $0.hasPrefix("obs-") }.compactMap { Int64($0.dropFirst(4)) }
        return try await services.submitForm(context) {
            let created = try await cases.split(id, observables: chosen, title: context.form["title"] ?? "", in: scope)
            return .redirect("/cases/\(created.incident.id)?flash=saved")
        } redisplay: { error, status in
            try await detailPage(request, context, error: error, status: status)
        }
    }

    func merge(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.handlers)
        let id = try id(context)
        guard let target = Int64(context.form["into"] ?? "") else { throw HygieWebError.badRequest("choose a case") }
        _ = try await cases.merge(id, into: target, in: scope)
        return .redirect("/cases/\(target)?flash=saved")
    }

    // MARK: Declarations

    func draft(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let declarationID = try id(context, "declaration")
        let draft = try await cases.draft(declarationID, in: scope)
        let format = request.uri.queryParameters.get("format").map { String($0) } ?? "html"
        switch format {
        case "json":
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/json; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"declaration-\(declarationID).json\"",
                ], body: .init(byteBuffer: ByteBuffer(bytes: draft.json())))
        case "html", "pdf":
            let html = document(draft, context, standalone: format == "pdf")
            if format == "html" {
                return Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: html)))
            }
            let pdf = try await PDFPrinter(chromium: services.compliance.configuration.chromium).print(html)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/pdf",
                    .contentDisposition: "attachment; filename=\"declaration-\(declarationID).pdf\"",
                ], body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
        default:
            throw HygieWebError.badRequest("format must be html, pdf or json")
        }
    }

    /// The printable declaration (A4 stylesheet; inlined for PDF, with a CSP forbidding every resource).
    func document(_ draft: DeclarationDraft, _ context: HygieRequestContext, standalone: Bool) -> String {
        var content: [String: Any] = [
            "title": t("cases.regime.\(draft.regime)", context), "recipient": draft.recipient,
            "caseID": draft.caseID, "caseTitle": draft.caseTitle, "due": Self.date(draft.dueAt),
            "generated": Self.date(services.clock.now()),
            "sections": draft.sections.map { section in
                [
                    "title": section.title,
                    "fields": section.fields.map {
                        ["label": $0.label, "value": $0.value, "missing": $0.value.isEmpty]
                    },
                ] as [String: Any]
            },
            "missing": draft.missing.count,
        ]
        if standalone { content["css"] = ComplianceReports.stylesheet }
        let object: [String: Any] = [
            "t": renderer.translations.catalog(context.locale), "lang": context.locale.rawValue, "page": content,
        ]
        return renderer.library.render(object, withTemplate: "declaration") ?? "template declaration missing"
    }

    func markSent(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.handlers)
        let declarationID = try id(context, "declaration")
        let draft = try await cases.draft(declarationID, in: scope)
        return try await services.submitForm(context) {
            _ = try await cases.markSent(
                declarationID, sentAt: try DisplayDate.parseLocal(context.form["sent_at"]) ?? services.clock.now(),
                reference: context.form["reference"] ?? "", delayReason: context.form["delay_reason"] ?? "",
                content: draft.json(), in: scope)
            return .redirect("/cases/\(draft.caseID)?flash=saved")
        } redisplay: { error, status in
            try await detailPage(request, context, caseID: draft.caseID, error: error, status: status)
        }
    }
}
