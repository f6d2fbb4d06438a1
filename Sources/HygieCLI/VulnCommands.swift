import ArgumentParser
import Foundation
import STIX
import VulnCore

/// `hygie vuln …`: vulnerability data, matching and the inventory.
struct VulnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vuln", abstract: "Vulnerability assessment: inventory, vulnerability data, matching, findings.",
        subcommands: [Match.self, VersionCompare.self, CVSSCommand.self])

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read \(path)")
        }
        return Array(data)
    }

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    struct Match: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Match one asset's CPE names against the CVE records of an NVD API 2.0 JSON file.",
            discussion: """
                Strict NVD semantics by default: every attribute of a cpeMatch criterion must be a superset of \
                the asset's (NISTIR 7696), versions must fall in the criterion's range, and AND configurations \
                need the platform too. --loose adds matches where the asset's version is unknown ("product" \
                confidence). No database.
                """)
        @Option(help: "NVD CVE API 2.0 JSON file (a response with vulnerabilities[], or one CVE object).")
        var nvd: String
        @Option(name: .customLong("cpe"), help: "A CPE 2.3 name (or a CPE 2.2 URI) of the asset; repeat for each.")
        var cpes: [String]
        @Option(help: "text or json (an array of {cve, cpe, criteria, confidence, reason}).")
        var format: Format = .text
        @Flag(help: "Also report product-name-only matches (asset version unknown).")
        var loose = false

        func run() async throws {
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
