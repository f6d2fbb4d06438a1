import ArgumentParser
import Foundation
import RecordInput
import Sigma
import Yams

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `hygie hunt`: runs Sigma rules over log files.
struct HuntCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hunt",
        abstract: "Run Sigma rules over log files (JSON lines/arrays, Windows event XML, syslog; gzip allowed).",
        discussion: """
            Exit status: 0 no detection, 1 at least one detection, 2 error (no usable rule, unreadable input),
            64 invalid command line.

            Every detection shows the rule's author, as the Detection Rule License of SigmaHQ rules requires.
            """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json, jsonl, csv
    }

    enum FormatChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, jsonl, json, xml, syslog
    }

    @Argument(help: "Sigma rule files or directories (searched for .yml/.yaml).")
    var rules: [String] = []

    @Option(name: [.short, .long], parsing: .upToNextOption, help: "Log files or directories to read.")
    var input: [String] = []

    @Flag(name: .long, help: "Add Hygie's own hospital rules.")
    var builtin = false

    @Option(name: .long, help: "Output: table, json, jsonl or csv.")
    var format: OutputFormat = .table

    @Option(name: .customLong("input-format"), help: "Input shape: auto, jsonl, json, xml or syslog.")
    var inputFormat: FormatChoice = .auto

    @Option(name: .customLong("min-level"), help: "Lowest rule level kept: informational, low, medium, high, critical.")
    var minLevel: String?

    @Option(
        name: .long, help: "Keep rules with one of these tags (comma-separated, e.g. attack.t1059,attack.execution).")
    var tags: String?

    @Option(
        name: .long, help: "Skip events before this time (ISO 8601 date or date-time, UTC unless an offset is given).")
    var from: String?

    @Option(name: .long, help: "Skip events after this time.")
    var to: String?

    @Option(name: .long, help: "Logsource mapping file (repeatable); its entries replace the built-in ones.")
    var mapping: [String] = []

    @Option(name: .long, help: "YAML file giving values of %placeholders% (name: [values]) for the expand modifier.")
    var placeholders: String?

    @Option(name: .long, help: "Worker threads (default: number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(name: .long, help: "Print run statistics as one JSON object on standard error.")
    var stats = false

    @Flag(name: .long, help: "No progress bar, no rule-loading report.")
    var quiet = false

    func validate() throws {
        if rules.isEmpty && !builtin { throw ValidationError("give rule files or directories, or --builtin") }
        if input.isEmpty { throw ValidationError("give log files with --input") }
        if jobs < 1 || jobs > 256 { throw ValidationError("--jobs must be between 1 and 256") }
        if let minLevel, SigmaLevel(name: minLevel) == nil {
            throw ValidationError("--min-level must be informational, low, medium, high or critical")
        }
        if let from, Self.parseTime(from) == nil {
            throw ValidationError("--from: \"\(from)\" is not an ISO 8601 time")
        }
        if let to, Self.parseTime(to) == nil { throw ValidationError("--to: \"\(to)\" is not an ISO 8601 time") }
    }

    static func parseTime(_ text: String) -> Double? { DateParts(text)?.epochSeconds }

    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("hygie hunt: \(message)\n".utf8))
        return ExitCode(2)
    }

    func run() throws {
        let loadStarted = Date()
        var mappingTable: LogsourceMapping
        do {
            mappingTable = try LogsourceMapping.builtIn()
            for path in mapping {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw fail("cannot read mapping file \(path)")
                }
                mappingTable.merge(try LogsourceMapping.parse(text, file: path))
            }
        } catch let error as LogsourceMapping.MappingError {
            throw fail(error.message)
        }
        var placeholderValues: [String: [String]] = [:]
        if let placeholders {
            do {
                placeholderValues = try Self.readPlaceholders(placeholders)
            } catch {
                throw fail("\(placeholders): \(error)")
            }
        }
        var rulePaths = rules
        if builtin {
            guard let directory = RuleLoader.builtInRulesDirectory else { throw fail("built-in rules are missing") }
            rulePaths.append(directory)
        }
        let loaded: (rules: [SigmaRule], diagnostics: [RuleDiagnostic], files: Int)
        do {
            loaded = try RuleLoader.load(rulePaths)
        } catch {
            throw fail("\(error)")
        }
        let options = RuleSetOptions(
            minimumLevel: minLevel.flatMap(SigmaLevel.init(name:)),
            tags: (tags ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            },
            placeholders: placeholderValues)
        let ruleSet = RuleSet(
            rules: loaded.rules, diagnostics: loaded.diagnostics, mapping: mappingTable, options: options)
        let loadSeconds = Date().timeIntervalSince(loadStarted)
        if !quiet {
            for diagnostic in ruleSet.diagnostics {
                FileHandle.standardError.write(Data("skipped \(diagnostic)\n".utf8))
            }
            let reasons = ruleSet.skippedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            var line =
                "rules: \(ruleSet.loadedCount) loaded from \(loaded.files) files, \(ruleSet.diagnostics.count) skipped"
            if !reasons.isEmpty { line += " (\(reasons.joined(separator: ", ")))" }
            if ruleSet.deselected > 0 { line += ", \(ruleSet.deselected) left out by --min-level/--tags" }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        if ruleSet.loadedCount == 0 && ruleSet.deselected == 0 { throw fail("no usable rule") }

        let inputs: [String]
        do {
            inputs = try expandPaths(input, missing: "input") { _ in true }
        } catch {
            throw fail("\(error)")
        }

        let hunter = Hunter(
            ruleSet: ruleSet, jobs: jobs, from: from.flatMap(Self.parseTime), to: to.flatMap(Self.parseTime),
            format: inputFormat == .auto ? nil : InputFormat(rawValue: inputFormat.rawValue))
        let output = DetectionWriter(format: format)
        let progress = ProgressBar(enabled: !quiet && isatty(2) != 0)
        let statistics: HuntStatistics
        do {
            statistics = try hunter.run(
                inputs: inputs, progress: { done, total in progress.update(done, total) },
                emit: { output.write($0) })
        } catch {
            progress.clear()
            output.finish(summary: !quiet)
            throw fail("\(error)")
        }
        progress.clear()
        output.finish(summary: !quiet)
        if !quiet {
            for sample in statistics.errorSamples {
                FileHandle.standardError.write(Data("unreadable record: \(sample)\n".utf8))
            }
            if statistics.parseErrors > statistics.errorSamples.count {
                FileHandle.standardError.write(Data("\(statistics.parseErrors) unreadable records in all\n".utf8))
            }
        }
        if stats {
            let figures: [(String, String)] = [
                ("events", String(statistics.events)),
                ("rules_loaded", String(ruleSet.loadedCount)),
                ("rules_skipped", String(ruleSet.diagnostics.count)),
                (
                    "skipped_by_reason",
                    "{"
                        + ruleSet.skippedByReason.sorted { $0.key < $1.key }.map {
                            "\(JSONText.quote($0.key)):\($0.value)"
                        }.joined(separator: ",") + "}"
                ),
                ("detections", String(statistics.detections)),
                ("correlation_hits", String(statistics.correlationHits)),
                ("parse_errors", String(statistics.parseErrors)),
                ("out_of_range", String(statistics.outOfRange)),
                ("bytes", String(statistics.bytes)),
                ("seconds", JSONText.number(statistics.seconds)),
                ("load_seconds", JSONText.number(loadSeconds)),
                (
                    "events_per_second",
                    JSONText.number(statistics.seconds > 0 ? Double(statistics.events) / statistics.seconds : 0)
                ),
                ("cpu_seconds", JSONText.number(statistics.cpuSeconds)),
                ("peak_memory_mb", JSONText.number(statistics.peakMemoryMB)),
                ("jobs", String(jobs)),
                ("event_kinds", String(statistics.eventKinds)),
                (
                    "rules_evaluated_per_event",
                    JSONText.number(
                        statistics.events > 0 ? Double(statistics.evaluations) / Double(statistics.events) : 0)
                ),
            ]
            let object = "{" + figures.map { "\(JSONText.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}\n"
            FileHandle.standardError.write(Data(object.utf8))
        }
        if statistics.detections > 0 { throw ExitCode(1) }
    }

    static func readPlaceholders(_ path: String) throws -> [String: [String]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let node = try Yams.compose(yaml: text), case .mapping(let map) = node else {
            throw ValidationError("a placeholders file maps names to lists of values")
        }
        var result: [String: [String]] = [:]
        for (key, value) in map {
            guard let name = key.string else { continue }
            switch value {
            case .scalar(let scalar): result[name] = [scalar.string]
            case .sequence(let items): result[name] = items.compactMap(\.string)
            default: throw ValidationError("placeholder \(name) must be a value or a list")
            }
        }
        return result
    }
}

/// Minimal JSON text helpers for streaming output.
enum JSONText {
    static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        return String(format: "%.3f", value)
    }
}

/// Writes detections as they come (JSON lines, CSV, JSON) or at the end (table), then a summary per rule and level.
final class DetectionWriter {
    let format: HuntCommand.OutputFormat
    var count = 0
    var table: [HuntDetection] = []
    var perRule: [String: (title: String, level: SigmaLevel, author: String, count: Int)] = [:]
    var perLevel: [SigmaLevel: Int] = [:]
    var buffer = ""

    init(format: HuntCommand.OutputFormat) {
        self.format = format
        switch format {
        case .json: buffer = "["
        case .csv: buffer = "rule_id,title,level,author,tags,timestamp,host,input,record,matched\n"
        default: break
        }
    }

    func write(_ detections: [HuntDetection]) {
        for detection in detections {
            let key = detection.ruleID
            var entry = perRule[key] ?? (detection.title, detection.level, detection.author ?? "", 0)
            entry.count += 1
            perRule[key] = entry
            perLevel[detection.level, default: 0] += 1
            switch format {
            case .table: table.append(detection)
            case .jsonl: buffer += json(detection) + "\n"
            case .json: buffer += (count == 0 ? "\n" : ",\n") + json(detection)
            case .csv:
                let fields = [
                    detection.ruleID, detection.title, detection.level.name, detection.author ?? "",
                    detection.tags.joined(separator: " "), detection.timestamp ?? "", detection.host ?? "",
                    detection.input, String(detection.record),
                    detection.matched.map { "\($0.field)=\($0.value)" }.joined(separator: "; "),
                ]
                buffer += fields.map(csv).joined(separator: ",") + "\n"
            }
            count += 1
            if buffer.utf8.count > 1 << 16 { flush() }
        }
    }

    func flush() {
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }

    func json(_ detection: HuntDetection) -> String {
        var parts = [
            "\"rule_id\":\(JSONText.quote(detection.ruleID))",
            "\"title\":\(JSONText.quote(detection.title))",
            "\"level\":\(JSONText.quote(detection.level.name))",
            "\"author\":\(detection.author.map(JSONText.quote) ?? "null")",
            "\"tags\":[\(detection.tags.map(JSONText.quote).joined(separator: ","))]",
            "\"timestamp\":\(detection.timestamp.map(JSONText.quote) ?? "null")",
            "\"host\":\(detection.host.map(JSONText.quote) ?? "null")",
            "\"input\":\(JSONText.quote(detection.input))",
            "\"record\":\(detection.record)",
            "\"kind\":\(JSONText.quote(detection.kind.rawValue))",
        ]
        parts.append(
            "\"matched\":{"
                + detection.matched.map { "\(JSONText.quote($0.field)):\(JSONText.quote($0.value))" }.joined(
                    separator: ",")
                + "}")
        return "{" + parts.joined(separator: ",") + "}"
    }

    func csv(_ field: String) -> String {
        if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return field
    }

    func finish(summary: Bool) {
        switch format {
        case .json: buffer += count == 0 ? "]\n" : "\n]\n"
        case .table: buffer += renderTable()
        default: break
        }
        flush()
        guard summary else { return }
        var lines: [String] = []
        if count == 0 {
            lines.append("No detection.")
        } else {
            lines.append("Detections by rule:")
            for (id, entry) in perRule.sorted(by: {
                ($0.value.level, $0.value.count) > ($1.value.level, $1.value.count)
            }) {
                lines.append(
                    "  \(String(entry.count).leftPad(7))  \(entry.level.name.padding(13))  \(entry.title)  [\(id)]"
                        + (entry.author.isEmpty ? "" : "  by \(entry.author)"))
            }
            lines.append(
                "Detections by level: "
                    + SigmaLevel.allCases.reversed().compactMap { level in
                        perLevel[level].map { "\(level.name) \($0)" }
                    }.joined(separator: ", ") + " — \(count) in all")
        }
        let text = lines.joined(separator: "\n") + "\n"
        // The summary goes with the table; machine formats keep stdout clean.
        if format == .table {
            FileHandle.standardOutput.write(Data(text.utf8))
        } else {
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    func renderTable() -> String {
        guard !table.isEmpty else { return "" }
        let headers = ["TIME", "LEVEL", "RULE", "AUTHOR", "HOST", "MATCHED"]
        let rows = table.map { detection -> [String] in
            [
                detection.timestamp ?? "-", detection.level.name, detection.title, detection.author ?? "-",
                detection.host ?? "-",
                detection.matched.map { "\($0.field)=\($0.value)" }.joined(separator: " ").truncated(120),
            ]
        }
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < 5 {
                widths[index] = min(60, max(widths[index], cell.count))
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index < 5 ? cell.truncated(widths[index]).padding(widths[index]) : cell
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n") + "\n\n"
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    func truncated(_ width: Int) -> String { count <= width ? self : String(prefix(max(0, width - 1))) + "…" }
}

/// A one-line progress bar on standard error, redrawn at most five times a second.
final class ProgressBar {
    let enabled: Bool
    var last = Date.distantPast
    let started = Date()
    var drawn = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.2 else { return }
        last = now
        let fraction = min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(done) / max(0.001, now.timeIntervalSince(started)) / 1_048_576
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let text = String(
            format: "\r%@ %3.0f%%  %.1f/%.1f MiB  %.1f MiB/s", bar, fraction * 100, Double(done) / 1_048_576,
            Double(total) / 1_048_576, rate)
        FileHandle.standardError.write(Data(text.utf8))
        drawn = true
    }

    func clear() {
        guard drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
        drawn = false
    }
}
