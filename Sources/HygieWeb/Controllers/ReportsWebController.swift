import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieIncidents
import HygieStorage
import MailTriage
import NIOCore

/// The staff's *Signaler* page (every member, on a phone too) and the security team's triage queue: reports
/// with verdicts and reasons, the analysis of a reported e-mail (authentication, hops, links shown defanged,
/// attachments with hashes, look-alike domains, threat-intelligence matches), the campaign's other reports,
/// the decision form, and the triage settings.
struct ReportsWebController: PageController {
    let services: HygieServices
    var reports: ReportService { services.reports }
    static let analysts: Set<Role> = [.admin, .rssi, .analyst]
    static let managers: Set<Role> = [.admin, .rssi]

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/report", use: reportForm)
        router.post("/report", use: submit)
        router.get("/reports", use: queue)
        router.get("/reports/daily.svg", use: dailyChart)
        router.post("/reports/settings", use: saveSettings)
        router.get("/reports/:id", use: detail)
        router.get("/reports/:id/message", use: message)
        router.post("/reports/:id/decide", use: decide)
        router.post("/reports/:id/close", use: close)
    }

    // MARK: Staff

    func reportForm(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await formPage(request, context, error: nil, status: .ok)
    }

    func formPage(
        _ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        _ = try signedIn.requireScope()
        var content: [String: Any] = [
            "kinds": ReportKind.allCases.map { kind in
                [
                    "value": kind.rawValue, "label": t("reports.kind.\(kind.rawValue)", context),
                    "help": t("reports.kindHelp.\(kind.rawValue)", context),
                    "checked": kind.rawValue == (context.form["kind"] ?? "email"),
                ] as [String: Any]
            },
            "maxMB": reports.maximumMessageBytes >> 20,
        ]
        if let error { content["error"] = error }
        if let description = context.form["description"], !description.isEmpty { content["description"] = description }
        return page(
            "report_new", t("nav.report", context), active: "report", content: content, signedIn: signedIn,
            request: request, context: context, status: status)
    }

    func submit(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope()
        return try await services.submitForm(context) {
            guard let kind = ReportKind(rawValue: context.form["kind"] ?? "") else {
                throw IncidentsError.invalid("choose what you are reporting")
            }
            var message: [UInt8]?
            if let file = context.files["message"], !file.bytes.isEmpty {
                message = file.bytes
            } else if let pasted = context.form["headers"], !pasted.trimmingCharacters(in: .whitespaces).isEmpty {
                message = Array(pasted.replacingOccurrences(of: "\r\n", with: "\n").utf8)
            }
            let user = signedIn.session.user
            let reporter = Reporter(
                email: user.email, name: user.displayName, userID: user.id, language: context.locale.rawValue)
            let stored = try await reports.submit(
                ReportSubmission(
                    kind: kind, channel: .web, reporter: reporter, description: context.form["description"] ?? "",
                    message: kind == .email ? message : nil), in: scope)
            let results: [[String: Any]] = stored.map { report in
                var row: [String: Any] = ["subject": report.subject.isEmpty ? "—" : report.subject]
                switch report.verdict {
                case .simulation?: row["simulation"] = true
                case .malicious?: row["malicious"] = true
                case .safe?: row["safe"] = true
                default: row["pending"] = true
                }
                return row
            }
            return page(
                "report_sent", t("nav.report", context), active: "report",
                content: ["results": results, "email": kind == .email], signedIn: signedIn, request: request,
                context: context)
        } redisplay: { error, status in
            try await formPage(request, context, error: error, status: status)
        }
    }

    // MARK: Queue

    func verdictLabel(_ verdict: Verdict?, _ context: HygieRequestContext) -> String {
        verdict.map { t("reports.verdict.\($0.rawValue)", context) } ?? t("reports.verdict.none", context)
    }

    func row(_ report: Report, _ context: HygieRequestContext) -> [String: Any] {
        [
            "id": report.id, "kind": t("reports.kind.\(report.kind.rawValue)", context),
            "subject": report.subject.isEmpty ? String(report.description.prefix(80)) : report.subject,
            "sender": report.sender,
            "reporter": report.reporterName.isEmpty ? report.reporterEmail : report.reporterName,
            "verdict": verdictLabel(report.verdict, context), "verdictClass": report.verdict?.rawValue ?? "none",
            "score": report.score, "open": report.status == .open, "created": Self.date(report.createdAt),
            "channel": t("reports.channel.\(report.channel.rawValue)", context),
            "clustered": report.clusterID != nil, "decided": !report.decidedBy.isEmpty,
        ]
    }

    func queue(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await queuePage(request, context, error: nil, status: .ok)
    }

    func queuePage(
        _ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status
    ) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.analysts)
        let filter = request.uri.queryParameters.get("status").map { String($0) } ?? "open"
        let list = try await reports.reports(in: scope, status: ReportStatus(rawValue: filter), limit: 300)
        let all = try await reports.reports(in: scope, limit: 1_000)
        var content: [String: Any] = [
            "reports": list.map { row($0, context) }, "hasReports": !list.isEmpty,
            "filters": ["open", "closed", "all"].map {
                ["value": $0, "label": t("reports.filter.\($0)", context), "current": $0 == filter]
            },
            "counts": [
                "open": all.filter { $0.status == .open }.count,
                "malicious": all.filter { $0.verdict == .malicious }.count,
                "simulation": all.filter { $0.verdict == .simulation }.count,
                "total": all.count,
            ],
        ]
        if Self.managers.contains(scope.role) {
            let settings = try await reports.settings(in: scope)
            content["settings"] = [
                "domains": settings.protectedDomains.joined(separator: "\n"),
                "addresses": settings.reportAddresses.joined(separator: "\n"), "notify": settings.notifyReporters,
            ]
        }
        if let error { content["error"] = error }
        return page(
            "reports", t("nav.reports", context), active: "reports", content: content, signedIn: signedIn,
            request: request, context: context, status: status)
    }

    func dailyChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.analysts)
        let now = services.clock.now()
        let start = Date(
            timeIntervalSince1970: (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400 - 29 * 86_400)
        let recent = try await reports.reports(in: scope, limit: 1_000).filter { $0.createdAt >= start }
        var days: [(label: String, counts: [String: Int])] = []
        for offset in 0..<30 {
            let day = start.addingTimeInterval(Double(offset) * 86_400).utcDay
            var counts: [String: Int] = [:]
            for report in recent where report.createdAt.utcDay == day {
                counts[report.kind == .email ? (report.verdict?.rawValue ?? "suspicious") : "other", default: 0] += 1
            }
            days.append((String(day.suffix(5)), counts))
        }
        let series = zip(["malicious", "suspicious", "simulation", "safe", "other"], StackedBars.palette).map {
            StackedBars.Series(key: $0.0, colour: $0.1, label: t("reports.verdict.\($0.0)", context))
        }
        return DetectionWebController.svg(
            StackedBars.svg(days, series: series, title: t("reports.chartTitle", context), labelEvery: 5))
    }

    func saveSettings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.managers)
        return try await services.submitForm(context) {
            func lines(_ key: String) -> [String] {
                (context.form[key] ?? "").split(whereSeparator: { $0 == "\n" || $0 == "," || $0 == "\r" }).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }.filter { !$0.isEmpty }
            }
            try await reports.updateSettings(
                ReportSettings(
                    protectedDomains: lines("domains"), reportAddresses: lines("addresses"),
                    notifyReporters: context.form["notify"] == "on"), in: scope)
            return .redirect("/reports?flash=saved")
        } redisplay: { error, status in
            try await queuePage(request, context, error: error, status: status)
        }
    }

    // MARK: Detail

    func id(_ context: HygieRequestContext) throws -> Int64 { try context.int64Parameter(what: "report") }

    func detail(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.analysts)
        let detail = try await reports.detail(try id(context), in: scope)
        let report = detail.report
        var content: [String: Any] = row(report, context)
        content["reasons"] = report.reasons.map {
            ["points": $0.points, "label": reasonLabel($0.code, context), "detail": $0.detail]
        }
        content["hasReasons"] = !report.reasons.isEmpty
        content["description"] = report.description
        content["reporterEmail"] = report.reporterEmail
        content["intel"] = report.intelHits.sorted { $0.key < $1.key }.map {
            ["observable": $0.key, "match": $0.value]
        }
        content["hasIntel"] = !report.intelHits.isEmpty
        content["cluster"] = detail.cluster.map { row($0, context) }
        content["hasCluster"] = !detail.cluster.isEmpty
        content["hasMessage"] = report.hasMessage
        content["automatic"] = verdictLabel(report.automaticVerdict, context)
        content["isEmail"] = report.kind == .email
        if let caseID = report.caseID { content["caseID"] = caseID }
        content["caseTypes"] = [
            IncidentType.phishing, .compromisedAccount, .ransomware, .dataLeak, .lostDevice, .other,
        ].map {
            ["value": $0.rawValue, "label": t("cases.type.\($0.rawValue)", context)]
        }
        if !report.note.isEmpty { content["note"] = report.note }
        if !report.decidedBy.isEmpty {
            content["decision"] = ["by": report.decidedBy, "at": Self.date(report.decidedAt)]
        }
        if !report.category.isEmpty { content["category"] = t("reports.category.\(report.category)", context) }
        if !report.simulationRID.isEmpty { content["rid"] = report.simulationRID }
        content["verdicts"] = [Verdict.malicious, .safe, .simulation].map {
            [
                "value": $0.rawValue, "label": t("reports.verdict.\($0.rawValue)", context),
                "selected": $0 == report.verdict,
            ]
        }
        if let analysis = detail.analysis { content["analysis"] = analysisView(analysis, context) }
        return page(
            "report_detail", "\(t("nav.reports", context)) #\(report.id)", active: "reports", content: content,
            signedIn: signedIn, request: request, context: context)
    }

    func reasonLabel(_ code: String, _ context: HygieRequestContext) -> String {
        let key = "reports.reason.\(code)"
        let label = t(key, context)
        return label == key ? code : label
    }

    func analysisView(_ analysis: MailAnalysis, _ context: HygieRequestContext) -> [String: Any] {
        let auth = analysis.authentication
        var view: [String: Any] = [
            "from": analysis.from.map { $0.name.isEmpty ? $0.address : "\($0.name) <\($0.address)>" } ?? "—",
            "replyTo": analysis.replyTo.map(\.address).joined(separator: ", "),
            "returnPath": analysis.returnPath?.address ?? "",
            "messageID": analysis.messageID ?? "", "date": Self.date(analysis.date),
            "origin": analysis.originIP ?? "—",
            "auth": [
                ["name": "SPF", "value": auth.spf ?? "—", "bad": Self.failed(auth.spf)],
                ["name": "DKIM", "value": auth.dkim ?? "—", "bad": Self.failed(auth.dkim)],
                ["name": "DMARC", "value": auth.dmarc ?? "—", "bad": Self.failed(auth.dmarc)],
                ["name": "compauth", "value": auth.compauth ?? "—", "bad": Self.failed(auth.compauth)],
            ],
            "authserv": auth.authservID ?? t("reports.microsoftForm", context),
            "hops": analysis.hops.reversed().map {
                ["from": $0.from, "by": $0.by, "ips": $0.ips.joined(separator: ", "), "date": Self.date($0.date)]
            },
            "links": analysis.urls.prefix(100).map { url in
                [
                    "target": URLExtractor.defang(url.target),
                    "shown": url.text ?? "",
                    "host": url.displayHost,
                    "flags": url.flags.map { t("reports.linkFlag.\($0.rawValue)", context) }.sorted().joined(
                        separator: ", "),
                ]
            },
            "attachments": analysis.attachments.map { attachment in
                [
                    "name": attachment.filename, "type": attachment.detectedType, "declared": attachment.declaredType,
                    "size": attachment.size, "sha256": attachment.sha256, "sha1": attachment.sha1,
                    "md5": attachment.md5,
                    "flags": attachment.flags.map { t("reports.fileFlag.\($0.rawValue)", context) }.sorted()
                        .joined(separator: ", "),
                    "entries": attachment.archiveEntries.prefix(20).joined(separator: ", "),
                ] as [String: Any]
            },
            "lookalikes": analysis.lookalikes.map {
                [
                    "domain": $0.domain, "imitates": $0.imitates,
                    "kind": t("reports.lookalike.\($0.kind.rawValue)", context),
                ]
            },
            "defects": analysis.defects.prefix(20).map { ["text": $0] },
        ]
        view["hasHops"] = !analysis.hops.isEmpty
        view["hasLinks"] = !analysis.urls.isEmpty
        view["hasAttachments"] = !analysis.attachments.isEmpty
        view["hasLookalikes"] = !analysis.lookalikes.isEmpty
        view["hasDefects"] = !analysis.defects.isEmpty
        return view
    }

    static func failed(_ result: String?) -> Bool {
        ["fail", "softfail", "permerror", "hardfail"].contains(result ?? "")
    }

    func message(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.analysts)
        let id = try id(context)
        let bytes = try await reports.message(id, in: scope)
        // Served as a download only: the browser must never render a hostile message.
        return .evidenceFile(named: "report-\(id).eml", Data(bytes))
    }

    func decide(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.analysts)
        let id = try id(context)
        guard let verdict = Verdict(rawValue: context.form["verdict"] ?? "") else {
            throw HygieWebError.badRequest("choose a verdict")
        }
        _ = try await reports.decide(
            id, verdict: verdict, note: context.form["note"] ?? "", cluster: context.form["cluster"] == "on", in: scope)
        return .redirect("/reports/\(id)?flash=saved")
    }

    func close(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.analysts)
        let id = try id(context)
        try await reports.close(id, note: context.form["note"] ?? "", in: scope)
        return .redirect("/reports/\(id)?flash=saved")
    }
}
