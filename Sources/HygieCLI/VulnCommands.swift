import ArgumentParser
import Foundation
import HygieCore
import HygieStorage
import HygieVulnerabilities
import STIX
import VulnCore

/// `hygie vuln …`: vulnerability data, matching and the inventory.
struct VulnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vuln", abstract: "Vulnerability assessment: inventory, vulnerability data, matching, findings.",
        subcommands: [
            Import.self, Refresh.self, Inventory.self, Match.self, Report.self, Assets.self, Findings.self, Update.self,
            VersionCompare.self, CVSSCommand.self,
        ])

    /// Runs `body` with the database open and the schema ready.
    static func run(_ common: CommonOptions, _ body: (Bootstrap) async throws -> Void) async throws {
        let boot = try Bootstrap(configuration: try await common.load())
        try await boot.withDatabase {
            try await boot.prepareSchema()
            try await body(boot)
        }
    }

    static func printReport(_ report: ImportReport) {
        print(
            "\(report.kind): \(report.records) read, \(report.created) new, \(report.updated) updated, \(report.skipped) skipped"
                + (report.detail.map { " (\($0))" } ?? ""))
        for warning in report.warnings.prefix(20) { print("  warning: \(warning)") }
        if report.warnings.count > 20 { print("  … \(report.warnings.count - 20) more warnings") }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import vulnerability data (shared by every establishment) from files or directories.",
            discussion: """
                Kinds: nvd (NVD CVE API 2.0 JSON), cve5 (CVE JSON 5 records, one per file or JSON lines), osv, \
                csaf (CSAF 2.0 advisories such as CISA ICSMA), kev (CISA KEV JSON or CSV), epss (FIRST EPSS CSV). \
                Files may be gzip-compressed; directories are walked. All or nothing: a file that does not parse \
                leaves the catalogue unchanged. Then run `hygie vuln match --all` (serve does it every night).
                """)
        @OptionGroup var common: CommonOptions
        @Option(help: "nvd, cve5, osv, csaf, kev or epss.") var kind: String
        @Argument(help: "Files or directories.") var paths: [String]
        @Flag(help: "Print the time taken and the records per second.") var stats = false

        func run() async throws {
            guard let kind = VulnDataKind(rawValue: kind) else {
                throw ValidationError("unknown kind \(kind) (nvd, cve5, osv, csaf, kev, epss)")
            }
            try await VulnCommand.run(common) { boot in
                let started = Date()
                let report = try await boot.vuln.importData(
                    kind, paths: paths, by: .system("hygie cli", channel: "cli"))
                VulnCommand.printReport(report)
                if stats {
                    let seconds = Date().timeIntervalSince(started)
                    print(
                        String(
                            format: "stats: %.2f s, %.0f records/s", seconds,
                            Double(report.records) / max(seconds, 0.001)))
                }
            }
        }
    }

    struct Refresh: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the KEV catalog, EPSS scores and NVD's changes now (what the nightly job does).",
            discussion: """
                URLs from hygie.vuln.kevURL, hygie.vuln.epssURL and hygie.vuln.nvdURL (empty: no NVD); NVD's \
                changes since the last refresh (the last 7 days the first time), 6 s between requests without \
                hygie.vuln.nvdAPIKey. Then run `hygie vuln match --all`.
                """)
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                for report in try await boot.vuln.refresh(by: .system("hygie cli", channel: "cli")) {
                    VulnCommand.printReport(report)
                }
            }
        }
    }

    struct Inventory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import assets from a CSV, an nmap XML report (-sV) or a CycloneDX/SPDX JSON SBOM.",
            discussion: """
                Assets already known by serial number, MAC, hostname or address are updated, not duplicated. \
                CSV columns are recognised by their usual names (nom, type, adresse IP, fabricant, modèle, \
                service, exposé internet, criticité, impact patient, éditeur, logiciel, version, cpe…) or named \
                with --map field=Header.
                """)
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "csv, nmap or sbom (default: from the file name).") var kind: String?
        @Option(name: .customLong("map"), help: "CSV column mapping field=Header (repeat).") var mapping: [String] = []
        @Argument var file: String

        func run() async throws {
            let name = file.lowercased()
            let guessed = kind ?? (name.hasSuffix(".xml") ? "nmap" : name.hasSuffix(".json") ? "sbom" : "csv")
            guard let kind = InventoryKind(rawValue: guessed) else {
                throw ValidationError("unknown kind \(guessed) (csv, nmap, sbom)")
            }
            let bytes = try VulnCommand.read(file)
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                let report = try await boot.vuln.importInventory(
                    kind, bytes: bytes, mapping: mapping, origin: (file as NSString).lastPathComponent, in: scope)
                VulnCommand.printReport(report)
            }
        }
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read \(path)")
        }
        return Array(data)
    }

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    struct Match: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Match CPE names against an NVD file, or an establishment's inventory against the catalogue.",
            discussion: """
                With --nvd FILE --cpe CPE…: matches one asset's CPE names against the CVE records of an NVD \
                API 2.0 JSON file and prints the matches (no database). Strict NVD semantics by default: every attribute of a cpeMatch criterion must be a superset of \
                the asset's (NISTIR 7696), versions must fall in the criterion's range, and AND configurations \
                need the platform too. --loose adds matches where the asset's version is unknown ("product" \
                confidence). With --establishment or --all: brings findings up to date.
                """)
        @OptionGroup var common: CommonOptions
        @Option(help: "NVD CVE API 2.0 JSON file (a response with vulnerabilities[], or one CVE object).")
        var nvd: String?
        @Option(name: .customLong("cpe"), help: "A CPE 2.3 name (or a CPE 2.2 URI) of the asset; repeat for each.")
        var cpes: [String] = []
        @Option(name: .shortAndLong, help: "Match this establishment's inventory against the catalogue instead.")
        var establishment: String?
        @Flag(help: "Match every establishment's inventory against the catalogue.")
        var all = false
        @Flag(help: "Print the time taken.") var stats = false
        @Option(help: "text or json (an array of {cve, cpe, criteria, confidence, reason}).")
        var format: Format = .text
        @Flag(help: "Also report product-name-only matches (asset version unknown).")
        var loose = false

        func run() async throws {
            guard let nvd else {
                guard all || establishment != nil else {
                    throw ValidationError("give --nvd FILE --cpe CPE…, or --establishment X, or --all")
                }
                try await VulnCommand.run(common) { boot in
                    var targets: [TenantScope] = []
                    if let establishment {
                        targets = [try await EstablishmentOption.scope(establishment, boot)]
                    } else {
                        for item in try await boot.tenancy.establishments(visibleTo: User.ID(), isInstanceAdmin: true) {
                            targets.append(try await EstablishmentOption.scope(item.id.uuidString, boot))
                        }
                    }
                    for scope in targets {
                        let report = try await boot.vuln.match(in: scope)
                        print(
                            "\(scope.establishmentID.uuidString): \(report.assets) assets, \(report.components) components, "
                                + "\(report.matches) matches, \(report.opened) new, \(report.reopened) reopened, \(report.fixed) fixed"
                                + (stats
                                    ? String(
                                        format: " in %.2f s (index and matching %.2f s)", report.seconds,
                                        report.matchingSeconds)
                                    : ""))
                    }
                }
                return
            }
            guard !cpes.isEmpty else { throw ValidationError("give at least one --cpe") }
            var names: [CPE] = []
            for text in cpes {
                do { names.append(try CPE(parsing: text)) } catch { throw CLIError("invalid --cpe: \(error)") }
            }
            let records: [VulnerabilityRecord]
            do { records = try NVDFeed.parse(try VulnCommand.read(nvd)) } catch let error as VulnDataError {
                throw CLIError("\(nvd): \(error)")
            }
            let findings = records.flatMap { $0.match(cpes: names, loose: loose) }
            switch format {
            case .json:
                let array = JSONValue.array(
                    findings.map { finding in
                        .object([
                            .init("cve", .string(finding.cve)), .init("cpe", .string(finding.cpe.description)),
                            .init("criteria", .string(finding.criteria.description)),
                            .init("confidence", .string(finding.confidence.rawValue)),
                            .init("reason", .string(finding.reason)),
                        ])
                    })
                print(JSONWriter.string(array))
            case .text:
                if findings.isEmpty { print("no match among \(records.count) records") }
                for finding in findings {
                    print(
                        [finding.cve, finding.confidence.rawValue, finding.cpe.description, finding.reason].joined(
                            separator: "\t"))
                }
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The establishment's vulnerability report: figures and the findings to fix first.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "text, json or csv (csv: every active finding).") var format: String = "text"

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                if format == "csv" {
                    print(try await boot.vuln.exportCSV(FindingFilter(), in: scope), terminator: "")
                    return
                }
                let summary = try await boot.vuln.summary(in: scope)
                let top = try await boot.vuln.findings(FindingFilter(), in: scope)
                if format == "json" {
                    let priorities = SSVC.Decision.allCases.map {
                        JSONValue.Member($0.rawValue, .number(String(summary.openByPriority[$0] ?? 0)))
                    }
                    let document = JSONValue.object([
                        .init("assets", .number(String(summary.assets))),
                        .init("medical_devices", .number(String(summary.medicalDevices))),
                        .init("internet_exposed", .number(String(summary.internetExposed))),
                        .init("kev_on_exposed_assets", .number(String(summary.kevOnExposed))),
                        .init("overdue", .number(String(summary.overdue))),
                        .init("open_by_priority", .object(priorities)),
                        .init(
                            "mean_days_to_remediate",
                            summary.meanDaysToRemediate.map { .number(String(format: "%.1f", $0)) } ?? .null),
                        .init("findings", .array(top.items.prefix(50).map(VulnCommand.json))),
                    ])
                    print(JSONWriter.string(document))
                    return
                }
                print(
                    "Assets: \(summary.assets) (\(summary.medicalDevices) medical devices, \(summary.internetExposed) internet-exposed, \(summary.unsupported) out of vendor support)"
                )
                print("Known-exploited vulnerabilities on internet-exposed assets: \(summary.kevOnExposed)")
                print(
                    "Open findings: "
                        + SSVC.Decision.allCases.reversed().map { "\($0.cisaLabel) \(summary.openByPriority[$0] ?? 0)" }
                        .joined(separator: ", ")
                        + "; overdue \(summary.overdue)")
                if let days = summary.meanDaysToRemediate {
                    print(String(format: "Mean time to remediate: %.1f days", days))
                }
                print("")
                for finding in top.items.prefix(20) { VulnCommand.printFinding(finding) }
                if top.total > 20 { print("… \(top.total - 20) more (hygie vuln findings)") }
            }
        }
    }

    static func printFinding(_ finding: Finding) {
        print(
            [
                finding.id.uuidString.lowercased(), finding.priority.cisaLabel, finding.recordID ?? finding.severity,
                finding.assetName ?? "-", finding.status.rawValue, "due \(finding.dueOn)", finding.kev ? "KEV" : "",
                finding.title,
            ].joined(separator: "\t"))
    }

    static func json(_ finding: Finding) -> JSONValue {
        .object([
            .init("id", .string(finding.id.uuidString.lowercased())),
            .init("cve", finding.recordID.map(JSONValue.string) ?? .null),
            .init("title", .string(finding.title)), .init("asset", finding.assetName.map(JSONValue.string) ?? .null),
            .init("priority", .string(finding.priority.rawValue)), .init("status", .string(finding.status.rawValue)),
            .init("due_on", .string(finding.dueOn)), .init("kev", .bool(finding.kev)),
            .init("confidence", .string(finding.confidence.rawValue)), .init("reason", .string(finding.reason)),
            .init("why", .string(finding.explanation(french: false))),
        ])
    }

    struct Assets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The inventory, riskiest first.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "server, workstation, network, medical_device, iot or other.") var kind: String?

        func run() async throws {
            let kind = try self.kind.map { text in
                guard let value = AssetKind(rawValue: text) else { throw ValidationError("unknown kind \(text)") }
                return value
            }
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                for asset in try await boot.vuln.assets(in: scope, kind: kind) {
                    print(
                        [
                            asset.id.uuidString.lowercased(), asset.name, asset.kind.rawValue,
                            asset.addresses.joined(separator: " "),
                            [asset.manufacturer, asset.model, asset.firmware].compactMap { $0 }.joined(separator: " "),
                            asset.internetExposed ? "internet" : (asset.zone ?? ""),
                            String(format: "risk %.0f", asset.risk),
                        ].joined(separator: "\t"))
                }
            }
        }
    }

    struct Findings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Findings, most urgent first.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Comma-separated statuses (default open,in_progress).") var status: String?
        @Option(help: "immediate, outOfCycle, scheduled or defer.") var priority: String?
        @Flag(help: "Only known-exploited vulnerabilities.") var kev = false
        @Flag(help: "Only internet-exposed assets.") var exposed = false
        @Flag(help: "Only past their deadline.") var overdue = false
        @Flag(help: "Include product-name-only matches.") var possible = false
        @Option(help: "text or json.") var format: Format = .text

        func run() async throws {
            var filter = FindingFilter()
            if let status {
                filter.statuses = Set(
                    try status.split(separator: ",").map { text in
                        guard let value = FindingStatus(rawValue: String(text)) else {
                            throw ValidationError("unknown status \(text)")
                        }
                        return value
                    })
            }
            if let priority {
                guard let value = SSVC.Decision(rawValue: priority) else {
                    throw ValidationError("unknown priority \(priority)")
                }
                filter.priority = value
            }
            filter.kevOnly = kev
            filter.internetExposedOnly = exposed
            filter.overdueOnly = overdue
            filter.includeProductMatches = possible
            filter.limit = 1_000
            try await VulnCommand.run(common) { boot in
                let result = try await boot.vuln.findings(filter, in: try await target.scope(boot))
                if format == .json {
                    print(JSONWriter.string(.array(result.items.map(VulnCommand.json))))
                } else {
                    result.items.forEach(VulnCommand.printFinding)
                }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a finding: status, assignee, deadline or a comment (each change is kept in its timeline)."
        )
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument var id: String
        @Option(help: "open, in_progress, mitigated, risk_accepted, false_positive or fixed.") var status: String?
        @Option(help: "Why (required to accept a risk, mark a false positive or a mitigation).") var note: String?
        @Option var assignee: String?
        @Option(help: "New deadline YYYY-MM-DD.") var due: String?
        @Option(help: "With risk_accepted: until YYYY-MM-DD.") var until: String?

        func run() async throws {
            guard let uuid = UUID(uuidString: id) else { throw ValidationError("not a finding id: \(id)") }
            let status = try self.status.map { text in
                guard let value = FindingStatus(rawValue: text) else { throw ValidationError("unknown status \(text)") }
                return value
            }
            try await VulnCommand.run(common) { boot in
                let finding = try await boot.vuln.update(
                    uuid,
                    FindingUpdate(
                        status: status, note: note, assignee: assignee.map { Optional($0) }, dueOn: due,
                        acceptedUntil: until),
                    in: try await target.scope(boot))
                VulnCommand.printFinding(finding)
            }
        }
    }

    struct VersionCompare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "version-compare", abstract: "Compare two versions: prints -1, 0 or 1.",
            discussion: """
                Schemes: deb (dpkg), rpm (rpmvercmp), semver, pep440, generic (vendor strings: letter \
                suffixes and hotfixes sort after the base version). No database.
                """)
        @Argument var a: String
        @Argument var b: String
        @Option(help: "deb, rpm, semver, pep440 or generic.")
        var scheme: String = "generic"

        func run() async throws {
            let known = [
                "deb": VersionScheme.deb, "rpm": .rpm, "semver": .semver, "pep440": .pep440, "generic": .generic,
            ]
            guard let scheme = known[scheme.lowercased()] else {
                throw ValidationError("unknown scheme \(scheme) (deb, rpm, semver, pep440, generic)")
            }
            do {
                print(try Versions.compare(a, b, scheme: scheme))
            } catch {
                throw CLIError(error.message)
            }
        }
    }

    struct CVSSCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cvss", abstract: "Score a CVSS 3.0, 3.1 or 4.0 vector. No database.")
        @Argument var vector: String

        func run() async throws {
            do {
                let scores = try CVSS.evaluate(vector)
                var parts = ["base \(scores.base)"]
                if let temporal = scores.temporal { parts.append("temporal \(temporal)") }
                if let environmental = scores.environmental { parts.append("environmental \(environmental)") }
                print(
                    "CVSS \(scores.version)\t" + parts.joined(separator: "\t")
                        + "\t\(scores.effective) \(scores.severity)")
            } catch {
                throw CLIError(error.message)
            }
        }
    }
}
