import ComplianceCore
public import Foundation
import HTTPTypes
import Hummingbird
import HygieCompliance
import HygieCore
public import HygieStorage
import Mustache
import NIOCore

/// Printable assessment reports (HTML, A4) and their PDF through headless Chromium; shared by the pages and
/// the API.
struct ComplianceReports {
    let services: HygieServices
    var compliance: ComplianceService { services.compliance }

    enum Kind: String {
        /// Score summary, chart per theme, non-compliances, action plan, every requirement.
        case full
        /// The declaration checklist: every requirement with its expected and attached evidence.
        case checklist
    }

    /// The print stylesheet: linked from the pages, inlined in documents printed to PDF or saved by the CLI.
    static let stylesheet: String = {
        guard
            let url = Bundle.module.url(forResource: "report", withExtension: "css", subdirectory: "Resources/Static"),
            let data = FileManager.default.contents(atPath: url.path)
        else { return "" }
        return String(decoding: data, as: UTF8.self)
    }()

    /// The report page as a standalone HTML document (no navigation, print stylesheet). `standalone` documents
    /// carry their stylesheet and a Content-Security-Policy forbidding scripts and external resources.
    func html(_ id: UUID, kind: Kind, in scope: TenantScope, locale: User.Locale, standalone: Bool = false)
        async throws -> String
    {
        let detail = try await compliance.detail(id, in: scope)
        let establishment = try await services.tenancy.establishment(in: scope)
        let actions = try await compliance.actions(in: scope, assessment: id)
        let translations = services.renderer.translations
        let t = { (key: String) in translations.string(key, locale) }
        let rows = detail.requirements.filter(\.applies)
        let themeNames = Dictionary(
            detail.themes.map { ($0.urn, "\($0.refID) \($0.name)".trimmingCharacters(in: .whitespaces)) },
            uniquingKeysWith: { first, _ in first })
        func requirement(_ state: RequirementState) -> [String: Any] {
            var row: [String: Any] = [
                "ref": state.node.refID ?? "", "name": state.node.name(in: locale.rawValue) ?? state.node.label,
                "theme": themeNames[state.theme] ?? "",
                "status": t("compliance.status.\(state.outcome.status.rawValue)"),
                "statusClass": ComplianceWebController.statusClass(state.outcome.status),
                "met": state.outcome.status == .compliant, "gap": state.outcome.status.isGap,
                "evidenceState": t("compliance.evidenceState.\(state.evidenceCheck.state.rawValue)"),
                "evidence": state.evidence.map { item -> [String: Any] in
                    var evidence: [String: Any] = ["title": item.title, "effective": item.effectiveOn]
                    if let sha = item.sha256 { evidence["sha256"] = sha }
                    if let link = item.link { evidence["link"] = link }
                    if let until = item.validUntil { evidence["until"] = until }
                    return evidence
                },
            ]
            if let expected = state.node.typicalEvidence { row["expected"] = expected }
            if let comment = state.result.comment { row["comment"] = comment }
            if let justification = state.result.justification { row["justification"] = justification }
            let rules = ComplianceWebController.ruleTexts(state, t)
            if !rules.isEmpty { row["rules"] = rules.joined(separator: " · ") }
            return row
        }
        let chart = ComplianceCharts.themes(
            detail.themes.map { ("\($0.refID) \($0.name)", $0.summary.score) }, title: t("compliance.byTheme"))
        var content: [String: Any] = [
            "title": detail.assessment.title, "establishment": establishment.name,
            "finess": establishment.finess?.value ?? "",
            "framework": detail.framework.name, "provider": detail.framework.provider ?? "",
            "copyright": detail.framework.copyright ?? "", "version": detail.framework.version,
            "status": t("compliance.assessmentStatus.\(detail.assessment.status.rawValue)"),
            "started": DisplayDate.format(detail.assessment.createdAt),
            "generated": DisplayDate.format(services.clock.now()),
            "score": ComplianceCharts.percent(detail.overall.score),
            "progress": ComplianceCharts.percent(detail.overall.progress),
            "counts": ResultStatus.allCases.map {
                ["label": t("compliance.status.\($0.rawValue)"), "value": detail.overall.count($0)] as [String: Any]
            },
            "chart": Data(chart.utf8).base64EncodedString(), "checklist": kind == .checklist,
            "gaps": rows.filter { $0.outcome.status.isGap || $0.outcome.status == .notAssessed }.map(requirement),
            "requirements": rows.map(requirement),
            "actions": actions.map {
                [
                    "title": $0.title, "owner": $0.owner ?? "—", "due": $0.dueOn ?? "—",
                    "status": t("compliance.actionStatus.\($0.status.rawValue)"), "milestone": $0.milestone ?? "",
                    "overdue": $0.overdue,
                ] as [String: Any]
            },
            "frozen": detail.frozen,
            "evidenceCount": Set(rows.flatMap { $0.evidence.map(\.id) }).count,
        ]
        if let level = detail.overall.level { content["level"] = level }
        if standalone { content["css"] = Self.stylesheet }
        if let signed = detail.assessment.signedOffBy {
            content["signedOff"] = "\(signed) — \(DisplayDate.format(detail.assessment.signedOffAt))"
        }
        let object: [String: Any] = [
            "t": translations.catalog(locale), "lang": locale.rawValue, "page": content,
        ]
        return services.renderer.library.render(object, withTemplate: "compliance_report")
            ?? "template compliance_report missing"
    }

    /// The response for `format=html|pdf`.
    func response(_ id: UUID, kind: Kind, format: String, in scope: TenantScope, locale: User.Locale) async throws
        -> Response
    {
        let html = try await html(id, kind: kind, in: scope, locale: locale, standalone: format == "pdf")
        switch format {
        case "pdf":
            let pdf = try await PDFPrinter(chromium: compliance.configuration.chromium).print(html)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/pdf",
                    .contentDisposition:
                        "attachment; filename=\"hygie-\(kind.rawValue)-\(id.uuidString.prefix(8)).pdf\"",
                ], body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
        case "html", "":
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: html)))
        default:
            throw HygieWebError.badRequest("format must be html or pdf")
        }
    }
}

/// Prints an HTML document to an A4 PDF with headless Chromium (`--print-to-pdf`), in a private temporary
/// folder removed afterwards. The report carries a Content-Security-Policy that forbids scripts and every
/// external resource.
struct PDFPrinter {
    let chromium: String?

    static let candidates = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"]

    /// The configured binary, or the first candidate found in PATH.
    func binary() -> String? {
        if let chromium { return FileManager.default.isExecutableFile(atPath: chromium) ? chromium : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in Self.candidates {
            for folder in path.split(separator: ":") {
                let candidate = "\(folder)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    /// At most two Chromium processes print at once on a node (each takes about 100 MB): more requests are
    /// refused with a message rather than queued behind them.
    static let slots = PrintSlots(limit: 2)

    func print(_ html: String) async throws -> Data {
        guard let binary = binary() else {
            throw HygieWebError.unavailable(
                "PDF needs Chromium: install it or set hygie.compliance.chromium (the printable HTML report works without it)"
            )
        }
        guard await Self.slots.acquire() else {
            throw HygieWebError.unavailable("other reports are being printed; try again in a moment")
        }
        do {
            let data = try await run(binary, html)
            await Self.slots.release()
            return data
        } catch {
            await Self.slots.release()
            throw error
        }
    }

    func run(_ binary: String, _ html: String) async throws -> Data {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hygie-pdf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer {
            // try?: a leftover temporary folder is harmless and must not hide the result.
            try? FileManager.default.removeItem(at: folder)
        }
        let input = folder.appendingPathComponent("report.html")
        let output = folder.appendingPathComponent("report.pdf")
        try Data(html.utf8).write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
            "--no-pdf-header-footer", "--user-data-dir=\(folder.path)/profile",
            "--print-to-pdf=\(output.path)", input.absoluteString,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let status: Int32 = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                    do {
                        try process.run()
                    } catch {
                        process.terminationHandler = nil
                        continuation.resume(throwing: error)
                    }
                }
            }
            group.addTask {
                // A Chromium that hangs is stopped after a minute.
                try? await Task.sleep(for: .seconds(60))  // try?: cancelled when the print finishes first.
                return nil
            }
            let first = try await group.next() ?? nil
            if first == nil, process.isRunning { process.terminate() }
            group.cancelAll()
            if let first { return first }
            let last: Int32?? = try await group.next()
            return (last ?? nil) ?? -1
        }
        guard status == 0, let data = FileManager.default.contents(atPath: output.path),
            data.starts(with: Array("%PDF".utf8))
        else {
            throw HygieWebError.unavailable("Chromium could not print the report (exit status \(status))")
        }
        return data
    }
}

/// An assessment's report for the command line: `html` or `pdf`, `full` or `checklist`.
public func complianceReport(
    services: HygieServices, assessment: UUID, kind: String, format: String, scope: TenantScope, language: String
) async throws -> Data {
    guard let kind = ComplianceReports.Kind(rawValue: kind) else {
        throw HygieWebError.badRequest("kind must be full or checklist")
    }
    let reports = ComplianceReports(services: services)
    let html = try await reports.html(
        assessment, kind: kind, in: scope, locale: User.Locale(rawValue: language) ?? .fr, standalone: true)
    guard format == "pdf" else { return Data(html.utf8) }
    return try await PDFPrinter(chromium: services.compliance.configuration.chromium).print(html)
}

/// Counts the PDF prints running on this node.
actor PrintSlots {
    let limit: Int
    private var busy = 0

    init(limit: Int) { self.limit = limit }

    func acquire() -> Bool {
        guard busy < limit else { return false }
        busy += 1
        return true
    }

    func release() { busy = max(0, busy - 1) }
}
