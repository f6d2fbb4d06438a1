import Benchmark
import Foundation
import Sigma

/// Sigma engine benchmarks over the SigmaHQ Windows rules of `../shared/data/sigma` (extracted once) and the
/// regression events replicated with varied values among benign noise (`scripts/make-hunt-corpus.py`; set
/// HYGIE_HUNT_CORPUS to a generated file, else 20,000 events are generated here from the regression samples).
enum SigmaBench {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/data/sigma").path

    /// Windows rules of the SigmaHQ tarball, extracted into a temporary folder.
    static let windowsRules: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sigma-bench-rules").path
        try? FileManager.default.removeItem(atPath: directory)
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-xzf", shared + "/sigmahq-rules-8eaafff.tar.gz", "-C", directory]
        try! tar.run()
        tar.waitUntilExit()
        // Keep rules whose logsource is Windows.
        let kept = directory + "-windows"
        try? FileManager.default.removeItem(atPath: kept)
        try! FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true)
        for file in try! RuleLoader.ruleFiles([directory]) {
            let text = try! String(contentsOfFile: file, encoding: .utf8)
            if text.range(of: #"\n\s+product: windows"#, options: .regularExpression) != nil {
                let target = kept + "/" + file.replacingOccurrences(of: "/", with: "_")
                try! FileManager.default.copyItem(atPath: file, toPath: target)
            }
        }
        return kept
    }()

    static let events: [String] = {
        if let corpus = ProcessInfo.processInfo.environment["HYGIE_HUNT_CORPUS"] {
            return try! String(contentsOfFile: corpus, encoding: .utf8).split(separator: "\n").prefix(200_000)
                .map(String.init)
        }
        var samples: [String] = []
        for file in try! FileManager.default.contentsOfDirectory(atPath: shared + "/samples").sorted() {
            samples += try! String(contentsOfFile: shared + "/samples/" + file, encoding: .utf8)
                .split(separator: "\n").map(String.init)
        }
        let noise =
            #"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"WS-%d.chu.local","Image":"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe","CommandLine":"\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --id=%d","ParentImage":"C:\\Windows\\explorer.exe","User":"CHU\\user%d","IntegrityLevel":"Medium","Company":"Google LLC","SystemTime":"2026-11-02T07:00:00.000Z"}"#
        return (0..<20_000).map { index in
            index % 50 == 0
                ? samples[index / 50 % samples.count]
                : noise.replacingOccurrences(of: "%d", with: String(index))
        }
    }()
}

func sigmaBenchmarks() {
    Benchmark("Sigma: load and compile SigmaHQ Windows rules", configuration: .init(maxDuration: .seconds(10))) {
        benchmark in
        let directory = SigmaBench.windowsRules
        let mapping = try LogsourceMapping.builtIn()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let loaded = try RuleLoader.load([directory])
            blackHole(RuleSet(rules: loaded.rules, diagnostics: loaded.diagnostics, mapping: mapping))
        }
    }

    Benchmark(
        "Sigma: evaluate 10,000 Windows JSON events against SigmaHQ Windows rules",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(15))
    ) { benchmark in
        let loaded = try RuleLoader.load([SigmaBench.windowsRules])
        let set = RuleSet(rules: loaded.rules, diagnostics: loaded.diagnostics, mapping: try LogsourceMapping.builtIn())
        let matcher = Matcher(ruleSet: set)
        let event = matcher.makeEvent()
        let lines = SigmaBench.events.map { Array($0.utf8) }
        // Warm up: every event kind seen and learnt.
        for line in lines.prefix(5_000) {
            line.withUnsafeBufferPointer { bytes in
                if (try? JSONEventParser.parse(bytes, into: event)) != nil { matcher.forEachMatch(event) { _ in } }
            }
        }
        let batch = lines[5_000..<15_000]
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for line in batch {
                line.withUnsafeBufferPointer { bytes in
                    if (try? JSONEventParser.parse(bytes, into: event)) != nil {
                        matcher.forEachMatch(event) { blackHole($0) }
                    }
                }
            }
        }
    }
}
