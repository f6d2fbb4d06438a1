import ArgumentParser
import Foundation
import PrivacyCore

/// The context files of an offline analysis.
struct ContextFiles: ParsableArguments {
    @Option(help: "Staff directory (staff.csv).") var staff: String
    @Option(help: "Patients (patients.csv).") var patients: String
    @Option(help: "Stays and visits (encounters.csv).") var encounters: String
    @Option(name: .customLong("care-events"), help: "Orders, consults, appointments (care_events.csv).")
    var careEvents: String?
    @Option(help: "Units (departments.csv).") var departments: String?
    @Option(
        name: .customLong("utc-offset"),
        help: "Wall-clock offset for times written without one (e.g. +01:00; FHIR instants carry their own).")
    var utcOffset = "+01:00"

    var offset: Int32 {
        get throws {
            guard let offset = PrivacyOfflineCommand.offset(utcOffset) else {
                throw ValidationError("--utc-offset is ±HH:MM, e.g. +01:00")
            }
            return offset
        }
    }

    func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(path): cannot read the file")
        }
        return Array(data)
    }

    func load() throws -> HospitalContext {
        let offset = try offset
        do {
            let departments = try self.departments.map { try ContextCSV.departments(read($0)) } ?? []
            let staff = try ContextCSV.staff(read(self.staff), offset: offset)
            let patients = try ContextCSV.patients(read(self.patients), offset: offset)
            let encounters = try ContextCSV.encounters(read(self.encounters), offset: offset)
            let care = try careEvents.map { try ContextCSV.careEvents(read($0), offset: offset) } ?? []
            return HospitalContext(
                departments: departments, staff: staff, patients: patients, encounters: encounters, careEvents: care)
        } catch let error as PrivacyInputError {
            throw ValidationError(error.problems.prefix(20).joined(separator: "\n"))
        }
    }
}

enum PrivacyOfflineCommand {
    static func offset(_ text: String) -> Int32? {
        guard let instant = Instant(iso: "2000-01-01T00:00:00" + text) else { return nil }
        return instant.offset
    }

    /// The JSON line printed for each flagged access.
    struct FlagLine: Encodable {
        var eventId: String
        var time: String
        var user: String
        var userDepartment: String
        var patient: String
        var patterns: [String]
        var score: Int
        var reasons: [String]
        var incident: String
        var emergency: Bool
    }

    static func line(_ flag: FlaggedAccess) -> FlagLine {
        FlagLine(
            eventId: flag.event.id, time: flag.event.time.iso, user: flag.event.user,
            userDepartment: flag.userDepartment, patient: flag.event.patient, patterns: flag.patterns.map(\.rawValue),
            score: flag.score, reasons: flag.reasons, incident: flag.incident, emergency: flag.event.emergency)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

extension PrivacyCommand {
    struct Analyze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Analyse a period of EHR accesses offline: explain each by a care relationship, flag the rest.",
            discussion: """
                Prints one line per flagged access (jsonl: event_id, time, user, user_department, patient, patterns, \
                score, reasons, incident, emergency) and a summary on standard error. Nothing is stored: the \
                server does the same on imported accesses and keeps only pseudonymised flags.
                """)
        @Option(
            name: .customLong("audit-events"), help: "FHIR AuditEvents: NDJSON (.gz too), a JSON array or a Bundle.")
        var auditEvents: [String] = []
        @Option(name: .customLong("access-csv"), help: "EHR access export (CSV).") var accessCSV: [String] = []
        @Option(help: "Columns of the CSV export: time=…,user=…,patient=…[,id=…,action=…,emergency=…,justification=…].")
        var map: String?
        @OptionGroup var context: ContextFiles
        @Option(help: "Output: jsonl (one flagged access per line), text, or none.") var format = "jsonl"
        @Flag(name: .customLong("skip-invalid"), help: "Report invalid records on standard error and go on.")
        var skipInvalid = false
        @Flag(help: "Print events per second (reading and evaluating apart), CPU time and peak memory.")
        var stats = false

        func validate() throws {
            guard ["jsonl", "text", "none"].contains(format) else {
                throw ValidationError("--format is jsonl, text or none")
            }
            guard !auditEvents.isEmpty || !accessCSV.isEmpty else {
                throw ValidationError("give --audit-events or --access-csv")
            }
        }

        func run() throws {
            let started = Date()
            let contextStarted = Date()
            let hospital = try context.load()
            let contextSeconds = Date().timeIntervalSince(contextStarted)
            let offset = try context.offset
            var analyzer = AccessAnalyzer(context: hospital, settings: AnalysisSettings())
            var batch: [AccessEvent] = []
            batch.reserveCapacity(4096)
            var evaluating: Duration = .zero
            let clock = ContinuousClock()
            func flush() {
                let start = clock.now
                for event in batch { analyzer.evaluate(event) }
                evaluating += clock.now - start
                batch.removeAll(keepingCapacity: true)
            }
            var bytes = 0
            do {
                for path in auditEvents {
                    let read = try AccessInput.auditEvents(
                        path: path, defaultOffset: offset, skipInvalid: skipInvalid,
                        onInvalid: { number, problem in printError("\(path): record \(number): \(problem)") }
                    ) { event in
                        batch.append(event)
                        if batch.count == 4096 { flush() }
                    }
                    bytes += read.bytes
                    if read.ignored > 0 { printError("\(path): \(read.ignored) AuditEvents record no patient access") }
                }
                for path in accessCSV {
                    for event in try AccessInput.csv(context.read(path), mapping: map, defaultOffset: offset) {
                        batch.append(event)
                        if batch.count == 4096 { flush() }
                    }
                }
            } catch let error as PrivacyInputError {
                throw ValidationError(error.problems.prefix(20).joined(separator: "\n"))
            }
            flush()
            let finishStart = clock.now
            let flags = analyzer.finish()
            evaluating += clock.now - finishStart
            let summary = analyzer.summary
            let output = FileHandle.standardOutput
            var buffer = Data()
            for flag in flags {
                switch format {
                case "jsonl":
                    buffer.append(try PrivacyOfflineCommand.encoder.encode(PrivacyOfflineCommand.line(flag)))
                    buffer.append(0x0A)
                case "text":
                    let patterns = flag.patterns.map(\.rawValue).joined(separator: ",")
                    buffer.append(
                        Data(
                            "\(flag.event.time.iso) \(flag.event.user) → \(flag.event.patient) score \(flag.score) [\(patterns)] \(flag.reasons.joined(separator: "; "))\n"
                                .utf8))
                default: break
                }
                if buffer.count > 1 << 16 {
                    output.write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            output.write(buffer)
            let explanations = summary.byExplanation.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            let patterns = summary.byPattern.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            printError(
                "summary: \(summary.events) accesses, \(summary.explained) explained (\(explanations.joined(separator: ", "))), "
                    + "\(summary.flagged) flagged in \(summary.incidents) incidents (\(patterns.joined(separator: ", ")))"
                    + (summary.unknownUsers > 0 ? ", \(summary.unknownUsers) by users missing from the staff file" : "")
                    + (summary.unknownPatients > 0
                        ? ", \(summary.unknownPatients) to patients missing from the patient file" : ""))
            if stats {
                let elapsed = Date().timeIntervalSince(started)
                let evaluate = Double(evaluating.components.seconds) + Double(evaluating.components.attoseconds) / 1e18
                let counts = hospital.counts
                printError(
                    String(
                        format: "stats: context %d staff, %d patients, %d encounters, %d care events loaded in %.2f s; "
                            + "%d events (%.1f MB) in %.2f s — %.0f events/s end to end, %.0f events/s evaluated "
                            + "(%.2f s evaluating); CPU %.2f s; peak RSS %.0f MB",
                        counts.staff, counts.patients, counts.encounters, counts.careEvents, contextSeconds,
                        summary.events, Double(bytes) / 1_048_576, elapsed, Double(summary.events) / max(elapsed, 1e-9),
                        Double(summary.events) / max(evaluate, 1e-9), evaluate, cpuSeconds(),
                        Double(peakResidentBytes()) / 1_048_576))
            }
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a labelled synthetic hospital: context files, a period of AuditEvents, and labels.csv.",
            discussion: """
                Files: departments.csv, staff.csv, patients.csv, encounters.csv, care_events.csv, \
                audit_events.ndjson and labels.csv (event_id, patterns of each planted inappropriate access). \
                The same seed gives the same files. Measure with `hygie privacy evaluate DIR`.
                """)
        @Option(help: "Directory to write (created).") var out: String
        @Option(help: "Seed.") var seed: UInt64 = 1
        @Option(help: "Clinical units (wards); 12 is a 300-bed hospital.") var units = 12
        @Option(help: "Days of accesses.") var days = 7
        @Option(help: "First day (YYYY-MM-DD).") var start = "2026-11-16"
        @Option(help: "Planted accesses per pattern.") var plants = 25
        @Option(help: "Record views per legitimate access (raises volume, not relationships).") var intensity = 1
        @Option(name: .customLong("unrecorded-rate"), help: "Share of legitimate accesses with no recorded reason.")
        var unrecordedRate = 0.0005

        func validate() throws {
            guard (1...600).contains(units), (1...60).contains(days), (1...1000).contains(plants),
                (1...100).contains(intensity), (0...0.5).contains(unrecordedRate)
            else {
                throw ValidationError(
                    "--units 1–600, --days 1–60, --plants 1–1000, --intensity 1–100, --unrecorded-rate 0–0.5")
            }
            guard Instant(iso: start) != nil else { throw ValidationError("--start is YYYY-MM-DD") }
        }

        func run() throws {
            var settings = SyntheticHospital.Settings()
            settings.seed = seed
            settings.units = units
            settings.days = days
            settings.start = start
            settings.plants = plants
            settings.intensity = intensity
            settings.unrecordedRate = unrecordedRate
            let hospital = SyntheticHospital(settings)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            func write(_ name: String, _ text: String) throws {
                try Data(text.utf8).write(to: URL(fileURLWithPath: out).appendingPathComponent(name))
            }
            try write("departments.csv", ContextExport.departments(hospital.departments))
            try write("staff.csv", ContextExport.staff(hospital.staff))
            try write("patients.csv", ContextExport.patients(hospital.patients))
            try write("encounters.csv", ContextExport.encounters(hospital.encounters))
            try write("care_events.csv", ContextExport.careEvents(hospital.careEvents))
            let labels = hospital.planted.map { plant in
                [plant.event.id, plant.labels.sorted().map(\.rawValue).joined(separator: ";")].joined(separator: ",")
            }
            try write("labels.csv", (["event_id,patterns"] + labels).joined(separator: "\n") + "\n")
            let path = URL(fileURLWithPath: out).appendingPathComponent("audit_events.ndjson").path
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ValidationError("\(path): cannot write")
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw ValidationError("\(path): cannot write")
            }
            var buffer = Data()
            var count = 0
            hospital.accesses { event in
                buffer.append(contentsOf: ContextExport.auditEvent(event).utf8)
                buffer.append(0x0A)
                count += 1
                if buffer.count > 1 << 20 {
                    handle.write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            handle.write(buffer)
            try handle.close()
            print(
                "\(out): \(hospital.departments.count) units, \(hospital.staff.count) staff, "
                    + "\(hospital.patients.count) patients, \(hospital.encounters.count) encounters, "
                    + "\(hospital.careEvents.count) care events, \(count) accesses of which \(hospital.planted.count) planted"
            )
        }
    }

    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure precision and recall on a generated hospital, against naive single rules.",
            discussion: "DIR holds the files of `hygie privacy generate`. Prints two Markdown tables.")
        @Argument(help: "Directory written by `hygie privacy generate`.") var dir: String

        func run() throws {
            let base = URL(fileURLWithPath: dir)
            func path(_ name: String) -> String { base.appendingPathComponent(name).path }
            let files = try ContextFiles.parse([
                "--staff", path("staff.csv"), "--patients", path("patients.csv"), "--encounters",
                path("encounters.csv"),
                "--care-events", path("care_events.csv"), "--departments", path("departments.csv"),
            ])
            let hospital = try files.load()
            guard let labelBytes = FileManager.default.contents(atPath: path("labels.csv")) else {
                throw ValidationError("\(path("labels.csv")): cannot read the file")
            }
            var labels: [String: Set<AccessPattern>] = [:]
            let table = try CSVTable(Array(labelBytes), what: "labels.csv")
            try table.require(["event_id", "patterns"])
            try table.forEach { row throws(PrivacyInputError) in
                let patterns = row["patterns"].split(separator: ";").compactMap { AccessPattern(rawValue: String($0)) }
                labels[row["event_id"]] = Set(patterns)
            }
            var analyzer = AccessAnalyzer(context: hospital)
            var naive = NaiveRules(context: hospital)
            _ = try AccessInput.auditEvents(path: path("audit_events.ndjson"), defaultOffset: files.offset) { event in
                analyzer.evaluate(event)
                naive.evaluate(event)
            }
            var predicted: [String: Set<AccessPattern>] = [:]
            for flag in analyzer.finish() { predicted[flag.event.id] = Set(flag.patterns) }
            let summary = analyzer.summary
            print(
                "\(summary.events) accesses, \(labels.count) planted; \(summary.explained) explained, "
                    + "\(summary.flagged) flagged in \(summary.incidents) incidents\n")
            print(Evaluation(predicted: predicted, labels: labels).table(title: "Explain first, then flag (Hygie)"))
            print()
            print(Evaluation(predicted: naive.finish(), labels: labels).table(title: "Naive single rules"))
        }
    }
}
