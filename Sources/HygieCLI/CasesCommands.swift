import ArgumentParser
import Foundation
import MailTriage

/// `hygie cases …`: reported e-mails and incident cases.
struct CasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cases", abstract: "Reported e-mails and incident cases.", subcommands: [Triage.self])

    struct Triage: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Triage reported e-mails (.eml or .msg files) offline and print the verdicts.",
            discussion: """
                Each file is read as a report: a message forwarded as attachment (or in Microsoft's report format) \
                is split and its original triaged; any other message is triaged itself. Nothing is stored and no \
                threat intelligence is asked (the server does both). Links are shown defanged.
                """)
        @Argument(help: "Files (.eml, .msg, or pasted headers).") var files: [String]
        @Option(name: .customLong("own-domain"), help: "The establishment's mail domain (repeatable).")
        var ownDomains: [String] = []
        @Option(name: .customLong("protected-domain"), help: "Another domain phishers imitate (repeatable).")
        var protectedDomains: [String] = []
        @Option(help: "Output: text or json (one object per original message).") var format = "text"
        @Option(help: "Triage every file this many times (for measurements).") var `repeat` = 1
        @Flag(help: "Print messages per second, bytes per second, CPU time and peak memory.") var stats = false

        func validate() throws {
            guard ["text", "json"].contains(format) else { throw ValidationError("--format is text or json") }
            guard (1...100_000).contains(`repeat`) else { throw ValidationError("--repeat is 1 to 100000") }
        }

        func run() throws {
            let settings = TriageSettings(ownDomains: ownDomains, protectedDomains: protectedDomains)
            var inputs: [(String, [UInt8])] = []
            var failed = false
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    printError("\(file): cannot read the file")
                    failed = true
                    continue
                }
                inputs.append((file, Array(data)))
            }
            let started = Date()
            let cpuStarted = cpuSeconds()
            var messages = 0
            var bytes = 0
            for round in 0..<`repeat` {
                for (file, data) in inputs {
                    let envelope: MailMessage
                    do {
                        envelope = try ReportedMail.read(data)
                    } catch {
                        if round == 0 {
                            printError("\(file): \(error.description)")
                            failed = true
                        }
                        continue
                    }
                    let report = ReportedMail(envelope)
                    for original in report.originals {
                        let analysis = MailAnalysis(original, settings: settings)
                        let verdict = analysis.verdict()
                        messages += 1
                        bytes += data.count
                        if round == 0 { show(file, report, analysis, verdict) }
                    }
                }
            }
            if stats {
                let elapsed = Date().timeIntervalSince(started)
                let cpu = cpuSeconds() - cpuStarted
                printError(
                    String(
                        format: "stats: %d messages (%.1f MB) in %.3f s — %.0f messages/s, %.1f MB/s, CPU %.3f s, "
                            + "peak RSS %.0f MB", messages, Double(bytes) / 1_048_576, elapsed,
                        Double(messages) / max(elapsed, 1e-9), Double(bytes) / 1_048_576 / max(elapsed, 1e-9), cpu,
                        Double(peakResidentBytes()) / 1_048_576))
            }
            if failed { throw ExitCode.failure }
        }

        func show(
            _ file: String, _ report: ReportedMail, _ analysis: MailAnalysis,
            _ verdict: (verdict: Verdict, score: Int, reasons: [TriageReason])
        ) {
            if format == "json" {
                let object = TriageOutput(
                    file: file, reportCategory: report.category?.rawValue, inlineForward: report.inline,
                    verdict: verdict.verdict.rawValue, score: verdict.score, reasons: verdict.reasons,
                    analysis: analysis)
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                if let data = try? encoder.encode(object) { print(String(decoding: data, as: UTF8.self)) }
                return
            }
            print("\(file): \(verdict.verdict.rawValue) (score \(verdict.score))")
            print("  subject: \(analysis.subject)")
            print("  from: \(analysis.from.map { "\($0.name) <\($0.address)>" } ?? "-")")
            if let category = report.category { print("  reported as: \(category.rawValue)") }
            if report.inline { print("  no attached message: triaged as is (an inline forward has lost its headers)") }
            let auth = analysis.authentication
            print(
                "  authentication: spf=\(auth.spf ?? "-") dkim=\(auth.dkim ?? "-") dmarc=\(auth.dmarc ?? "-")"
                    + (auth.compauth.map { " compauth=\($0)" } ?? "") + " origin=\(analysis.originIP ?? "-")")
            for reason in verdict.reasons { print("  +\(reason.points) \(reason.code): \(reason.detail)") }
            for url in analysis.urls.prefix(20) {
                let flags = url.flags.map(\.rawValue).sorted().joined(separator: ",")
                print("  link: \(URLExtractor.defang(url.target))\(flags.isEmpty ? "" : " [\(flags)]")")
            }
            for attachment in analysis.attachments {
                let flags = attachment.flags.map(\.rawValue).sorted().joined(separator: ",")
                print(
                    "  attachment: \(attachment.filename) \(attachment.detectedType) \(attachment.size) B "
                        + "sha256=\(attachment.sha256)\(flags.isEmpty ? "" : " [\(flags)]")")
            }
            for defect in analysis.defects.prefix(10) { print("  defect: \(defect)") }
        }
    }
}

/// The JSON line `hygie cases triage --format json` prints for each original message.
struct TriageOutput: Encodable {
    var file: String
    var reportCategory: String?
    var inlineForward: Bool
    var verdict: String
    var score: Int
    var reasons: [TriageReason]
    var analysis: MailAnalysis
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// User plus system CPU time of this process, in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
}
