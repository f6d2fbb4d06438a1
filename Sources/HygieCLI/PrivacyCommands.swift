import ArgumentParser
import Foundation
import HygieCore
import HygiePrivacy
import PrivacyCore

struct PrivacyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy", abstract: "EHR access monitoring: explained accesses, flags and the DPO's reviews.",
        discussion: """
            analyze, generate and evaluate work offline on files. The other commands work on an establishment's \
            stored data; the review commands (incidents, show, decide, patient) act as its privacy officer (dpo) \
            and are written to the audit trail.
            """,
        subcommands: [
            Analyze.self, Generate.self, Evaluate.self, Import.self, Ingest.self, Process.self, Incidents.self,
            Show.self, Decide.self, Patient.self, Stats.self,
        ])

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(path): cannot read the file")
        }
        return Array(data)
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Import context: departments, staff, patients, encounters, care_events, vip, staff_patients (CSV) or adt (HL7 v2)."
        )
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "departments, staff, patients, encounters, care_events, vip, staff_patients or adt.")
        var kind: String
        @Argument(help: "The file.") var file: String

        func run() async throws {
            guard kind == "adt" || ContextKind(rawValue: kind) != nil else {
                throw ValidationError(
                    "kind is departments, staff, patients, encounters, care_events, vip, staff_patients or adt")
            }
            let bytes = try PrivacyCommand.read(file)
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                let result =
                    kind == "adt"
                    ? try await boot.privacy.importADT(bytes, in: scope)
                    : try await boot.privacy.importContext(ContextKind(rawValue: kind)!, bytes, in: scope)
                print(
                    "\(result.kind): \(result.rows) rows imported, \(result.requeued) flagged accesses to analyse again"
                )
            }
        }
    }

    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store accesses: FHIR AuditEvents (NDJSON, JSON, Bundle) or an EHR CSV export (--map).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "The file (.ndjson, .json or .csv).") var file: String
        @Option(help: "Columns of a CSV export: time=…,user=…,patient=….") var map: String?

        func run() async throws {
            let bytes = try PrivacyCommand.read(file)
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot)
                let result: IngestResult
                if file.lowercased().hasSuffix(".csv") {
                    result = try await boot.privacy.ingestCSV(bytes, mapping: map, in: scope)
                } else {
                    do {
                        result = try await boot.privacy.ingestFHIR(
                            bytes, ndjson: !file.lowercased().hasSuffix(".json"), in: scope
                        ).result
                    } catch let error as FHIRError {
                        throw CLIError(error.description)
                    }
                }
                print(
                    "\(result.accepted) accesses stored, \(result.duplicates) already received, \(result.ignored) without a patient"
                )
            }
        }
    }

    struct Process: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Analyse the stored accesses now (the server does it every minute).")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                print("\(try await boot.privacy.analyzeBacklog(rounds: .max)) accesses analysed")
            }
        }
    }

    struct Incidents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The review queue, highest score first.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "open, legitimate, inappropriate or interview (default: all, open first).") var status: String?

        func run() async throws {
            let status = try status.map {
                guard let value = PrivacyIncidentStatus(rawValue: $0) else {
                    throw ValidationError("unknown status \($0)")
                }
                return value
            }
            try await VulnCommand.run(common) { boot in
                for incident in try await boot.privacy.incidents(
                    status: status, in: try await target.scope(boot, role: .dpo))
                {
                    print(
                        "\(incident.id)\t\(incident.score)\t\(incident.status.rawValue)\t\(incident.userID)\t"
                            + "\(incident.userName)\t\(incident.userDepartment)\t\(incident.flags)\t"
                            + incident.patterns.map(\.rawValue).joined(separator: ","))
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An incident and its flagged accesses (audited).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Incident id.") var id: Int64
        @Flag(help: "The incident file as JSON, patients re-identified.") var export = false

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let scope = try await target.scope(boot, role: .dpo)
                if export {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    encoder.dateEncodingStrategy = .iso8601
                    print(
                        String(
                            decoding: try encoder.encode(try await boot.privacy.export(id, in: scope)), as: UTF8.self))
                    return
                }
                let detail = try await boot.privacy.incident(id, in: scope)
                let incident = detail.incident
                print(
                    "incident \(incident.id): \(incident.userID) \(incident.userName) (\(incident.userRole), \(incident.userDepartment))"
                )
                print("  score \(incident.score), \(incident.status.rawValue), \(incident.flags) flagged accesses")
                for flag in detail.flags {
                    print(
                        "  \(flag.wallClock) \(flag.patientKey) score \(flag.score) "
                            + "[\(flag.patterns.map(\.rawValue).joined(separator: ","))] \(flag.reasons.joined(separator: "; "))"
                    )
                }
            }
        }
    }

    struct Decide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record the privacy officer's decision.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Incident id.") var id: Int64
        @Argument(help: "legitimate, inappropriate or interview.") var decision: String
        @Option(help: "Notes (required for inappropriate).") var notes = ""
        @Flag(name: .customLong("open-case"), help: "Open an incident case (inappropriate only).") var openCase = false

        func run() async throws {
            guard let status = PrivacyIncidentStatus(rawValue: decision), status != .open else {
                throw ValidationError("decision is legitimate, inappropriate or interview")
            }
            try await VulnCommand.run(common) { boot in
                let detail = try await boot.privacy.decide(
                    id, status, notes: notes, openCase: openCase, in: try await target.scope(boot, role: .dpo))
                print(
                    "incident \(id): \(detail.incident.status.rawValue)"
                        + (detail.incident.caseID.map { ", case \($0) opened" } ?? ""))
            }
        }
    }

    struct Patient: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who accessed a patient's record, when and on what grounds (audited).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Patient identifier (IPP).") var patientID: String

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let (key, lines) = try await boot.privacy.accesses(
                    ofPatient: patientID, in: try await target.scope(boot, role: .dpo))
                print("patient \(patientID) (\(key)): \(lines.count) accesses")
                for line in lines {
                    print(
                        "\(line.wallClock)\t\(line.userID)\t\(line.userName)\t\(line.role)\t\(line.department)\t"
                            + "\(line.status)\(line.explanation.isEmpty ? "" : ":\(line.explanation)")"
                            + (line.emergency ? "\tbreak-glass" : ""))
                }
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Monthly statistics (for the CNIL), as JSON.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Months back.") var months = 12

        func run() async throws {
            try await VulnCommand.run(common) { boot in
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                let stats = try await boot.privacy.statistics(months: months, in: try await target.scope(boot))
                print(String(decoding: try encoder.encode(stats), as: UTF8.self))
            }
        }
    }
}
