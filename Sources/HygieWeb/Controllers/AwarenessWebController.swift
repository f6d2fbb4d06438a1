import AwarenessCore
import Foundation
import HTTPTypes
import Hummingbird
import HygieAwareness
import HygieCore
import HygieStorage
import NIOCore

/// Pages of the awareness module: the programme's overview and trend, a campaign's report, launching a
/// campaign, preparing groups, templates, landing pages and sending profiles, training assignments; and the
/// learners' portal (personal link or session) with lessons, quizzes and certificates.
struct AwarenessWebController: PageController {
    let services: HygieServices
    var awareness: AwarenessService { services.awareness }
    static let readers: Set<Role> = [.admin, .rssi, .analyst, .dpo]
    static let writers: Set<Role> = [.admin, .rssi, .analyst]
    static let managers: Set<Role> = [.admin, .rssi]
    /// Per-person results: the security leads and the DPO who checks the programme, nobody else.
    static let personal: Set<Role> = [.admin, .rssi, .dpo]

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/awareness", use: overview)
        router.get("/awareness/trend.svg", use: trendChart)
        router.get("/awareness/campaigns.csv", use: exportCSV)
        router.get("/awareness/campaigns/:id", use: campaign)
        router.get("/awareness/campaigns/:id/funnel.svg", use: funnelChart)
        router.post("/awareness/campaigns/:id/complete", use: complete)
        router.get("/awareness/new", use: newCampaign)
        router.post("/awareness/campaigns", use: launch)
        router.get("/awareness/setup", use: setup)
        router.post("/awareness/programme", use: saveProgramme)
        router.post("/awareness/groups", use: importGroup)
        router.post("/awareness/templates", use: saveTemplate)
        router.post("/awareness/pages", use: savePage)
        router.post("/awareness/profiles", use: saveProfile)
        router.post("/awareness/delete/:kind/:id", use: delete)
        router.get("/awareness/training", use: training)
        router.post("/awareness/training/assign", use: assign)
        router.post("/awareness/training/link", use: personalLink)
        router.get("/training", use: portal)
        router.get("/training/t/:token", use: portal)
        router.get("/training/m/:module", use: module)
        router.get("/training/t/:token/:module", use: module)
        router.post("/training/m/:module", use: answer)
        router.post("/training/t/:token/:module", use: answer)
        router.get("/training/m/:module/certificate", use: certificate)
        router.get("/training/t/:token/:module/certificate", use: certificate)
    }

    // MARK: Helpers

    static func percent(_ value: Double?) -> String { value.map { String(format: "%.0f %%", $0 * 100) } ?? "—" }

    static func minutes(_ seconds: Double?) -> String {
        guard let seconds else { return "—" }
        return seconds < 3600 ? String(format: "%.0f min", seconds / 60) : String(format: "%.1f h", seconds / 3600)
    }

    func figures(_ figures: CampaignFigures, _ context: HygieRequestContext) -> [[String: Any]] {
        let rows: [[String: Any]] = [
            ["label": t("awareness.delivered", context), "value": String(figures.delivered), "rate": ""],
            [
                "label": t("awareness.opened", context), "value": String(figures.opened),
                "rate": Self.percent(figures.rate(figures.opened)),
            ],
            [
                "label": t("awareness.clicked", context), "value": String(figures.clicked),
                "rate": Self.percent(figures.rate(figures.clicked)),
            ],
            [
                "label": t("awareness.submitted", context), "value": String(figures.submitted),
                "rate": Self.percent(figures.rate(figures.submitted)),
            ],
            [
                "label": t("awareness.reported", context), "value": String(figures.reported),
                "rate": Self.percent(figures.rate(figures.reported)),
            ],
            [
                "label": t("awareness.reportedFirst", context), "value": String(figures.reportedBeforeClicking),
                "rate": Self.percent(figures.rate(figures.reportedBeforeClicking)),
            ],
        ]
        // Mustache shows a section for any string, even empty: the key is left out when there is no rate.
        return rows.map { row in row.filter { !($0.key == "rate" && ($0.value as? String) == "") } }
    }

    func campaignRow(_ report: CampaignReport, _ context: HygieRequestContext) -> [String: Any] {
        [
            "id": report.id, "name": report.name,
            "status": t("awareness.campaignStatus.\(report.status.replacingOccurrences(of: " ", with: ""))", context),
            "launch": Self.date(report.launchDate),
            "delivered": report.figures.delivered,
            "clickRate": Self.percent(report.figures.rate(report.figures.clicked)),
            "submitRate": Self.percent(report.figures.rate(report.figures.submitted)),
            "reportRate": Self.percent(report.figures.rate(report.figures.reported)),
            "firstReport": Self.minutes(report.figures.timeToFirstReport), "scanner": report.scannerHits,
            "difficulty": report.difficulty > 0 ? String(report.difficulty) + "/5" : "—", "purged": report.purged,
        ]
    }

    func programmeRows(_ programme: Programme, _ context: HygieRequestContext) -> [String: Any] {
        var row: [String: Any] = [
            "retention": programme.retentionMonths, "dueDays": programme.trainingDueDays,
            "ready": programme.informedOn != nil && programme.approver != nil,
        ]
        if let informed = programme.informedOn { row["informedOn"] = informed }
        if let representatives = programme.representativesOn { row["representativesOn"] = representatives }
        if let approver = programme.approver { row["approver"] = approver }
        row["afterClick"] = moduleOptions(selected: programme.trainingAfterClick, context)
        row["afterSubmit"] = moduleOptions(selected: programme.trainingAfterSubmit, context)
        return row
    }

    func moduleOptions(selected: String?, _ context: HygieRequestContext) -> [[String: Any]] {
        TrainingCatalogue.ids.map { id in
            [
                "value": id, "selected": id == selected,
                "label": TrainingCatalogue.module(id, language: context.locale.rawValue)?.title ?? id,
            ]
        }
    }

    func intID(_ context: HygieRequestContext) throws -> Int64 { try context.int64Parameter(what: "page") }

    // MARK: Overview

    func overview(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let overview = try await awareness.overview(in: scope)
        let programme = try await awareness.programme(in: scope)
        let latest = overview.campaigns.last
        var content: [String: Any] = [
            "programme": programmeRows(programme, context),
            "campaigns": overview.campaigns.reversed().map { campaignRow($0, context) },
            "hasCampaigns": !overview.campaigns.isEmpty,
            "training": [
                "assigned": overview.training.assigned, "completed": overview.training.completed,
                "overdue": overview.training.overdue, "completion": Self.percent(overview.training.completionRate),
                "trained": Self.percent(overview.training.trainedShare), "population": overview.training.population,
            ],
            "canLaunch": Self.managers.contains(scope.role),
        ]
        if let latest {
            content["latest"] = ["name": latest.name, "figures": figures(latest.figures, context)]
        }
        if let repeatClickers = overview.repeatClickers {
            content["repeat"] = ["count": repeatClickers]
        }
        content["campaignCount"] = overview.campaigns.count
        return page(
            "awareness", t("nav.awareness", context), active: "awareness", content: content, signedIn: signedIn,
            request: request, context: context)
    }

    func trendChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let campaigns = try await awareness.overview(in: scope).campaigns.filter { $0.figures.delivered > 0 }
        return DetectionWebController.svg(
            AwarenessCharts.trend(
                campaigns.map {
                    (
                        label: String($0.launchDate.utcDay.prefix(7)), click: $0.figures.rate($0.figures.clicked),
                        report: $0.figures.rate($0.figures.reported)
                    )
                }, clickLabel: t("awareness.clickRate", context), reportLabel: t("awareness.reportRate", context),
                title: t("awareness.trend", context)))
    }

    func exportCSV(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let csv = try await awareness.campaignsCSV(in: scope)
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"awareness-campaigns.csv\"",
            ], body: .init(byteBuffer: ByteBuffer(string: csv)))
    }

    // MARK: Campaign

    func campaign(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let id = try intID(context)
        let report = try await awareness.report(id, in: scope)
        let campaign = try await awareness.campaign(id, in: scope)
        var content: [String: Any] = [
            "campaign": campaignRow(report, context), "figures": figures(report.figures, context),
            "raw": [
                "sent": report.raw.sent, "opened": report.raw.opened, "clicked": report.raw.clicked,
                "submitted": report.raw.submittedData,
            ],
            "departments": report.departments.map { department in
                [
                    "name": department.name == "other" ? t("awareness.otherDepartments", context) : department.name,
                    "delivered": department.figures.delivered,
                    "clickRate": Self.percent(department.figures.rate(department.figures.clicked)),
                    "reportRate": Self.percent(department.figures.rate(department.figures.reported)),
                ] as [String: Any]
            },
            "firstReport": Self.minutes(report.figures.timeToFirstReport),
            "medianReport": Self.minutes(report.figures.medianTimeToReport), "targets": report.targets,
            "errors": report.errors, "informedOn": campaign.informedOn, "approver": campaign.approver,
            "template": campaign.template.name, "page": campaign.page.name, "profile": campaign.smtp.name,
            "url": campaign.url, "groups": campaign.groups.joined(separator: ", "),
            "canComplete": Self.managers.contains(scope.role) && campaign.status != "Completed",
            "showPeople": Self.personal.contains(scope.role) && !report.purged,
        ]
        if Self.personal.contains(scope.role) && !report.purged {
            content["results"] = campaign.results.map {
                [
                    "name": "\($0.firstName) \($0.lastName)", "email": $0.email, "department": $0.department,
                    "status": t("awareness.status.\($0.status.replacingOccurrences(of: " ", with: ""))", context),
                    "reported": $0.reported,
                ] as [String: Any]
            }
            content["timeline"] = campaign.timeline.suffix(200).reversed().map {
                [
                    "time": Self.date($0.time), "message": $0.message, "email": $0.email, "scanner": $0.scanner,
                ] as [String: Any]
            }
        }
        return page(
            "awareness_campaign", campaign.name, active: "awareness", content: content, signedIn: signedIn,
            request: request, context: context)
    }

    func funnelChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let report = try await awareness.report(try intID(context), in: scope)
        let figures = report.figures
        return DetectionWebController.svg(
            AwarenessCharts.funnel(
                [
                    (t("awareness.opened", context), figures.rate(figures.opened), false),
                    (t("awareness.clicked", context), figures.rate(figures.clicked), false),
                    (t("awareness.submitted", context), figures.rate(figures.submitted), false),
                    (t("awareness.reported", context), figures.rate(figures.reported), true),
                ], title: t("awareness.funnel", context)))
    }

    func complete(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.managers)
        let id = try intID(context)
        _ = try await awareness.complete(id, in: scope)
        return .redirect("/awareness/campaigns/\(id)?flash=saved")
    }

    // MARK: Launch

    func newCampaign(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await newCampaignPage(request, context, error: nil, status: .ok)
    }

    func newCampaignPage(
        _ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.managers)
        let programme = try await awareness.programme(in: scope)
        var content: [String: Any] = [
            "programme": programmeRows(programme, context),
            "groups": try await awareness.groups(in: scope).map { ["name": $0.name, "count": $0.targets.count] },
            "templates": try await awareness.templates(in: scope).map { ["name": $0.name] },
            "pages": try await awareness.pages(in: scope).map { ["name": $0.name] },
            "profiles": try await awareness.profiles(in: scope).map { ["name": $0.name, "host": $0.host] },
            "url": services.settings.publicURL, "form": context.form,
        ]
        if let error { content["error"] = error }
        return page(
            "awareness_new", t("awareness.newCampaign", context), active: "awareness", content: content,
            signedIn: signedIn, request: request, context: context, status: status)
    }

    static func date(from text: String, time: String = "") -> Date? {
        guard !text.isEmpty else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let clock = time.isEmpty ? "00:00" : time
        return formatter.date(from: "\(text)T\(clock):00Z")
    }

    func launch(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.managers)
        let form = context.form
        return try await services.submitForm(context) {
            let groups = form.keys.filter { $0.hasPrefix("group-") }.sorted().compactMap { form[$0] }
            let input = CampaignInput(
                name: form[field: "name"], groups: groups, template: form[field: "template"],
                page: form[field: "page"], profile: form[field: "profile"], url: form[field: "url"],
                launchDate: Self.date(from: form[field: "launch_day"], time: form[field: "launch_time"]),
                sendByDate: Self.date(from: form[field: "send_by_day"], time: form[field: "send_by_time"]),
                ratePerMinute: Int(form[field: "rate"]))
            let campaign = try await awareness.launch(input, in: scope)
            return .redirect("/awareness/campaigns/\(campaign.id)?flash=saved")
        } redisplay: { error, status in
            try await newCampaignPage(request, context, error: error, status: status)
        }
    }

    // MARK: Preparation

    func setup(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await setupPage(request, context, error: nil, status: .ok)
    }

    func setupPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let programme = try await awareness.programme(in: scope)
        var content: [String: Any] = [
            "programme": programmeRows(programme, context),
            "groups": try await awareness.groups(in: scope).map { group in
                [
                    "id": group.id, "name": group.name, "count": group.targets.count,
                    "departments": Set(group.targets.map(\.department).filter { !$0.isEmpty }).count,
                ] as [String: Any]
            },
            "templates": try await awareness.templates(in: scope).map { template in
                [
                    "id": template.id, "name": template.name, "subject": template.subject,
                    "difficulty": template.difficulty > 0 ? "\(template.difficulty)/5" : "—",
                    "attachments": template.attachments.count,
                ] as [String: Any]
            },
            "pages": try await awareness.pages(in: scope).map { page in
                [
                    "id": page.id, "name": page.name, "captures": page.captureCredentials,
                    "redirect": page.redirectUrl.isEmpty ? t("awareness.phishedPage", context) : page.redirectUrl,
                ] as [String: Any]
            },
            "profiles": try await awareness.profiles(in: scope).map { profile in
                [
                    "id": profile.id, "name": profile.name, "host": profile.host, "security": profile.security,
                    "from": profile.fromAddress, "headers": profile.headers.count,
                ] as [String: Any]
            },
            "canWrite": Self.writers.contains(scope.role), "canManage": Self.managers.contains(scope.role),
        ]
        if let error { content["error"] = error }
        return page(
            "awareness_setup", t("awareness.setup", context), active: "awareness", content: content,
            signedIn: signedIn, request: request, context: context, status: status)
    }

    func saveProgramme(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.managers)
        let form = context.form
        return try await services.submitForm(context) {
            let programme = Programme(
                informedOn: form[field: "informed_on"], representativesOn: form[field: "representatives_on"],
                approver: form[field: "approver"], retentionMonths: Int(form[field: "retention_months"]) ?? 0,
                trainingAfterClick: form[field: "after_click"], trainingAfterSubmit: form[field: "after_submit"],
                trainingDueDays: Int(form[field: "due_days"]) ?? 0)
            _ = try await awareness.setProgramme(programme, in: scope)
            return .redirect("/awareness/setup?flash=saved")
        } redisplay: { error, status in
            try await setupPage(request, context, error: error, status: status)
        }
    }

    func importGroup(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.writers)
        return try await services.submitForm(context) {
            guard let file = context.files["file"], !file.bytes.isEmpty else {
                throw AwarenessError.invalid("choose a CSV file")
            }
            let name = context.form[field: "name"]
            let existing = try await awareness.groups(in: scope).first { $0.name == name }
            _ = try await awareness.importGroup(id: existing?.id, name: name, csv: file.bytes, in: scope)
            return .redirect("/awareness/setup?flash=saved")
        } redisplay: { error, status in
            try await setupPage(request, context, error: error, status: status)
        }
    }

    func saveTemplate(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.writers)
        let form = context.form
        return try await services.submitForm(context) {
            var input = TemplateInput(
                name: form[field: "name"], subject: form[field: "subject"],
                envelopeSender: form[field: "envelope_sender"], text: form[field: "text"], html: form[field: "html"],
                difficulty: Int(form[field: "difficulty"]) ?? 0)
            if let eml = context.files["eml"], !eml.bytes.isEmpty {
                let imported = try EmailImport.read(eml.bytes)
                if input.subject.isEmpty { input.subject = imported.subject }
                if input.text.isEmpty { input.text = imported.text }
                if input.html.isEmpty { input.html = imported.html }
            }
            if let file = context.files["attachment"], !file.bytes.isEmpty {
                input.attachments = [
                    TemplateAttachment(
                        name: file.filename, type: file.contentType, content: Data(file.bytes).base64EncodedString())
                ]
            }
            _ = try await awareness.saveTemplate(input, in: scope)
            return .redirect("/awareness/setup?flash=saved")
        } redisplay: { error, status in
            try await setupPage(request, context, error: error, status: status)
        }
    }

    func savePage(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.writers)
        let form = context.form
        return try await services.submitForm(context) {
            _ = try await awareness.savePage(
                PageInput(
                    name: form[field: "name"], html: form[field: "html"], captureCredentials: form["capture"] == "1",
                    redirectURL: form[field: "redirect_url"]), in: scope)
            return .redirect("/awareness/setup?flash=saved")
        } redisplay: { error, status in
            try await setupPage(request, context, error: error, status: status)
        }
    }

    func saveProfile(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.writers)
        let form = context.form
        return try await services.submitForm(context) {
            var headers: [HeaderEntry] = []
            for line in form[field: "headers"].split(whereSeparator: \.isNewline) {
                guard let colon = line.firstIndex(of: ":") else {
                    throw AwarenessError.invalid("headers: one 'Name: value' per line")
                }
                headers.append(
                    HeaderEntry(
                        key: line[..<colon].trimmingCharacters(in: .whitespaces),
                        value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            _ = try await awareness.saveProfile(
                ProfileInput(
                    name: form[field: "name"], host: form[field: "host"], security: form[field: "security"],
                    username: form[field: "username"], password: form[field: "password"],
                    fromAddress: form[field: "from_address"], ignoreCertErrors: form["ignore_cert_errors"] == "1",
                    headers: headers), in: scope)
            return .redirect("/awareness/setup?flash=saved")
        } redisplay: { error, status in
            try await setupPage(request, context, error: error, status: status)
        }
    }

    func delete(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.writers)
        let id = try intID(context)
        switch context.parameters.get("kind") {
        case "group": try await awareness.deleteGroup(id, in: scope)
        case "template": try await awareness.deleteTemplate(id, in: scope)
        case "page": try await awareness.deletePage(id, in: scope)
        case "profile": try await awareness.deleteProfile(id, in: scope)
        default: throw HygieCoreError.notFound("page")
        }
        return .redirect("/awareness/setup?flash=saved")
    }

    // MARK: Training (security team)

    func training(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await trainingPage(request, context, error: nil, link: nil, status: .ok)
    }

    func trainingPage(
        _ request: Request, _ context: HygieRequestContext, error: String?, link: String?, status: HTTPResponse.Status
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let summary = try await awareness.trainingSummary(in: scope)
        let assignments = try await awareness.assignments(in: scope)
        let groups = try await awareness.groups(in: scope)
        let showPeople = Self.personal.contains(scope.role)
        var content: [String: Any] = [
            "summary": [
                "assigned": summary.assigned, "completed": summary.completed, "overdue": summary.overdue,
                "completion": Self.percent(summary.completionRate), "trained": Self.percent(summary.trainedShare),
                "population": summary.population,
            ],
            "modules": TrainingCatalogue.ids.compactMap { id -> [String: Any]? in
                guard let module = TrainingCatalogue.module(id, language: context.locale.rawValue) else { return nil }
                let figures = summary.modules.first { $0.module == id }
                let assigned = figures?.assigned ?? 0
                return [
                    "id": id, "title": module.title, "summary": module.summary, "minutes": module.minutes,
                    "pass": module.passMark, "questions": module.questions.count, "assigned": assigned,
                    "completed": figures?.completed ?? 0, "overdue": figures?.overdue ?? 0,
                    "late": (figures?.overdue ?? 0) > 0,
                    "progress": assigned > 0 ? (figures?.completed ?? 0) * 100 / assigned : 0,
                ]
            },
            "showPeople": showPeople, "canAssign": Self.managers.contains(scope.role),
            "groups": groups.map { ["id": $0.id, "name": $0.name] },
            "departments": Set(groups.flatMap { $0.targets.map(\.department) }).filter { !$0.isEmpty }.sorted(),
            "moduleOptions": moduleOptions(selected: nil, context),
            "defaultDue": Date(milliseconds: services.clock.now().milliseconds + 14 * 86_400_000).utcDay,
        ]
        if showPeople {
            content["assignments"] = assignments.prefix(500).map {
                [
                    "name": "\($0.firstName) \($0.lastName)", "email": $0.email, "department": $0.department,
                    "module": $0.moduleTitle, "due": $0.dueOn, "overdue": $0.overdue,
                    "reason": t("awareness.reason.\($0.reason)", context),
                    "score": $0.bestScore.map { "\($0) %" } ?? "—", "done": $0.completedAt != nil,
                    "completed": $0.completedAt?.utcDay ?? "",
                ] as [String: Any]
            }
        }
        if let error { content["error"] = error }
        if let link { content["link"] = link }
        return page(
            "awareness_training", t("awareness.trainingTitle", context), active: "awareness", content: content,
            signedIn: signedIn, request: request, context: context, status: status)
    }

    func assign(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.managers)
        let form = context.form
        return try await services.submitForm(context) {
            let target: AssignmentTarget
            if let group = Int64(form[field: "group"]) {
                target = .group(group)
            } else if !form[field: "department"].isEmpty {
                target = .department(form[field: "department"])
            } else {
                throw AwarenessError.invalid("choose a group or a department")
            }
            let count = try await awareness.assign(
                form[field: "module"], to: target, dueOn: form[field: "due_on"], in: scope)
            return .redirect("/awareness/training?flash=\(count > 0 ? "saved" : "nothingNew")")
        } redisplay: { error, status in
            try await trainingPage(request, context, error: error, link: nil, status: status)
        }
    }

    func personalLink(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.managers)
        return try await services.submitForm(context) {
            let token = try await awareness.learnerLink(for: context.form[field: "email"], in: scope)
            let base = services.settings.publicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            return try await trainingPage(
                request, context, error: nil, link: "\(base)/training/t/\(token)", status: .ok)
        } redisplay: { error, status in
            try await trainingPage(request, context, error: error, link: nil, status: status)
        }
    }

    // MARK: Learners' portal

    /// The learner and how to link their pages: by personal link (token in the path) or by session.
    func learner(_ context: HygieRequestContext) async throws -> (Learner, base: String, signedIn: SignedIn?) {
        if let token = context.parameters.get("token") {
            guard let learner = try await awareness.learner(token: token) else {
                throw HygieCoreError.notFound("training link")
            }
            return (learner, "/training/t/\(token)", nil)
        }
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope()
        return (
            Learner(establishment: scope.establishmentID, email: signedIn.session.user.email), "/training/m", signedIn
        )
    }

    func learnerPage(
        _ template: String, title: String, content: [String: Any], signedIn: SignedIn?, request: Request,
        context: HygieRequestContext, status: HTTPResponse.Status = .ok
    ) -> Response {
        if let signedIn {
            return page(
                template, title, active: "training", content: content, signedIn: signedIn, request: request,
                context: context, status: status)
        }
        if let session = context.session {
            // A signed-in browser opening a personal link: forms carry the session's token, which the CSRF check
            // expects whenever a session cookie comes with the request.
            let frame = PageFrame(locale: context.locale, title: title, csrf: session.csrfToken)
            return renderer.page(template, frame: frame, content: content, status: status)
        }
        return AuthWebController(services: services).anonymousPage(
            template, titleKey: "training.title", content: content, context: context, status: status)
    }

    func portal(_ request: Request, context: HygieRequestContext) async throws -> Response {
        var context = context
        let (learner, base, signedIn) = try await learner(context)
        let assignments = try await awareness.assignments(of: learner)
        if signedIn == nil, let language = assignments.first?.language, request.uri.queryParameters.get("lang") == nil {
            context.locale = User.Locale(rawValue: language) ?? .fr
        }
        let content: [String: Any] = [
            "assignments": assignments.map { assignment in
                [
                    "module": assignment.module, "title": assignment.moduleTitle, "due": assignment.dueOn,
                    "overdue": assignment.overdue, "done": assignment.completedAt != nil,
                    "score": assignment.bestScore.map { "\($0) %" } ?? "", "href": "\(base)/\(assignment.module)",
                    "minutes": TrainingCatalogue.module(assignment.module)?.minutes ?? 0,
                ] as [String: Any]
            },
            "hasAssignments": !assignments.isEmpty,
        ]
        return learnerPage(
            "training_portal", title: t("training.title", context), content: content, signedIn: signedIn,
            request: request, context: context)
    }

    func moduleContext(_ context: HygieRequestContext) async throws -> (
        Learner, Assignment, TrainingModule, base: String, signedIn: SignedIn?, locale: User.Locale
    ) {
        let (learner, base, signedIn) = try await learner(context)
        guard let id = context.parameters.get("module"),
            let assignment = try await awareness.assignments(of: learner).first(where: { $0.module == id }),
            let module = TrainingCatalogue.module(id, language: assignment.language)
        else { throw HygieCoreError.notFound("training") }
        return (learner, assignment, module, base, signedIn, User.Locale(rawValue: module.language) ?? .fr)
    }

    static func blocks(_ markdown: String) -> [[String: Any]] {
        func spans(_ spans: [MarkdownSpan]) -> [[String: Any]] {
            spans.map { ["text": $0.text, "strong": $0.strong, "em": $0.emphasis] }
        }
        return Markdown.blocks(markdown).map { block -> [String: Any] in
            switch block {
            case .heading(let level, let content): ["heading": true, "h2": level <= 1, "spans": spans(content)]
            case .paragraph(let content): ["paragraph": true, "spans": spans(content)]
            case .list(let ordered, let items):
                ["list": true, "ordered": ordered, "items": items.map { ["spans": spans($0)] }]
            case .note(let content): ["note": true, "spans": spans(content)]
            }
        }
    }

    func moduleContent(
        _ module: TrainingModule, assignment: Assignment, base: String, result: QuizResult?, answers: [Set<Int>]
    ) -> [String: Any] {
        var content: [String: Any] = [
            "title": module.title, "summary": module.summary, "minutes": module.minutes, "pass": module.passMark,
            "lesson": Self.blocks(module.lesson), "action": "\(base)/\(module.id)", "back": base,
            "done": assignment.completedAt != nil,
            "questions": module.questions.enumerated().map { index, question in
                var row: [String: Any] = [
                    "number": index + 1, "text": question.text, "multiple": question.correct.count > 1,
                    "answers": question.answers.enumerated().map { answer, text in
                        [
                            "name": "q\(index)-\(answer)", "text": text,
                            "checked": index < answers.count && answers[index].contains(answer),
                            "right": result != nil && question.correct.contains(answer),
                        ] as [String: Any]
                    },
                ]
                if let result, index < result.corrections.count {
                    row["corrected"] = true
                    row["ok"] = result.corrections[index].right
                    row["explanation"] = question.explanation
                }
                return row
            },
        ]
        if let certificate = assignment.certificate ?? result?.certificate {
            content["certificate"] = "\(base)/\(module.id)/certificate"
            content["certificateNumber"] = certificate
        }
        if let result {
            content["result"] = ["score": result.score, "passed": result.passed, "pass": result.passMark]
        }
        return content
    }

    func module(_ request: Request, context: HygieRequestContext) async throws -> Response {
        var context = context
        let (_, assignment, module, base, signedIn, locale) = try await moduleContext(context)
        if signedIn == nil { context.locale = locale }
        return learnerPage(
            "training_module", title: module.title,
            content: moduleContent(module, assignment: assignment, base: base, result: nil, answers: []),
            signedIn: signedIn, request: request, context: context)
    }

    func answer(_ request: Request, context: HygieRequestContext) async throws -> Response {
        var context = context
        let (learner, assignment, module, base, signedIn, locale) = try await moduleContext(context)
        if signedIn == nil { context.locale = locale }
        let answers = module.questions.indices.map { index in
            Set(module.questions[index].answers.indices.filter { context.form["q\(index)-\($0)"] == "1" })
        }
        let result = try await awareness.submitQuiz(module.id, answers: answers, learner: learner)
        var updated = assignment
        if result.passed, updated.certificate == nil { updated.certificate = result.certificate }
        return learnerPage(
            "training_module", title: module.title,
            content: moduleContent(module, assignment: updated, base: base, result: result, answers: answers),
            signedIn: signedIn, request: request, context: context)
    }

    func certificate(_ request: Request, context: HygieRequestContext) async throws -> Response {
        var context = context
        let (learner, assignment, module, base, signedIn, locale) = try await moduleContext(context)
        if signedIn == nil { context.locale = locale }
        guard let number = assignment.certificate, let completed = assignment.completedAt else {
            throw HygieCoreError.notFound("certificate")
        }
        let establishment = try await services.tenancy.establishments([learner.establishment]).first?.name ?? ""
        let content: [String: Any] = [
            "name": "\(assignment.firstName) \(assignment.lastName)".trimmingCharacters(in: .whitespaces),
            "email": assignment.email, "module": module.title, "minutes": module.minutes,
            "score": assignment.bestScore ?? 0, "date": completed.utcDay, "number": number,
            "establishment": establishment, "back": "\(base)/\(module.id)",
        ]
        return learnerPage(
            "training_certificate", title: module.title, content: content, signedIn: signedIn, request: request,
            context: context)
    }
}
