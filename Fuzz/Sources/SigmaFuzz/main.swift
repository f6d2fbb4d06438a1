import Sigma

/// Feeds arbitrary bytes to the Sigma engine. The first byte picks what is fuzzed: rule documents (loaded,
/// compiled and run on a fixed event), JSON events, Windows XML events, syslog lines or CEF records (run against a
/// fixed rule set), zip archives, or a rule and an event separated by a NUL byte. A crash, a hang or a sanitizer
/// report is a bug; refusals
/// and parse errors are the expected answer to bad input.
let fixedRules = """
    title: Fixed
    logsource: {product: windows, category: process_creation}
    detection:
        selection:
            CommandLine|contains|all: [' -enc ', 'bypass']
        keywords: ['mimikatz']
        filter: {Image|re: '^C:\\\\Windows\\\\'}
        net: {DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10']}
        b64: {CommandLine|base64offset|contains: 'http://'}
        dash: {CommandLine|windash|contains: ' -w hidden'}
        num: {Count|gt: 5}
        ref: {Image|fieldref: ParentImage}
        hour: {UtcTime|hour|gte: 20}
        condition: (selection or keywords or 1 of net or b64 or dash or num or ref or hour) and not filter
    ---
    title: Count
    name: fixed
    logsource: {product: windows, service: security}
    detection: {selection: {EventID: 4625}, condition: selection}
    ---
    title: Correlated
    correlation: {type: value_count, rules: [fixed], group-by: [Computer], timespan: 5m, condition: {field: User, gte: 2}}
    """
let mapping = try! LogsourceMapping.builtIn()
let fixedSet = RuleSet(rules: RuleLoader.parse(fixedRules, file: "fixed.yml").rules, mapping: mapping)
nonisolated(unsafe) let fixedMatcher = Matcher(ruleSet: fixedSet)
nonisolated(unsafe) let fixedEvent = fixedMatcher.makeEvent()
let sampleEvent =
    #"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\a.exe","CommandLine":"powershell -enc bypass","UtcTime":"2026-01-01 21:00:00.000","Count":"7","DestinationIp":"10.1.1.1"}"#

func run(_ set: RuleSet, _ event: String) {
    let matcher = Matcher(ruleSet: set)
    let buffer = matcher.makeEvent()
    var copy = event
    copy.withUTF8 { bytes in
        guard (try? JSONEventParser.parse(bytes, into: buffer)) != nil else { return }
        matcher.forEachMatch(buffer) { _ in }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let mode = start.load(as: UInt8.self) % 7
    let bytes = UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self) + 1, count: count - 1)
    switch mode {
    case 0:
        let parsed = RuleLoader.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.yml")
        let set = RuleSet(rules: parsed.rules, diagnostics: parsed.diagnostics, mapping: mapping)
        run(set, sampleEvent)
        _ = CorrelationEngine(ruleSet: set).run()
    case 1:
        if (try? JSONEventParser.parse(bytes, into: fixedEvent)) != nil {
            fixedMatcher.forEachMatch(fixedEvent) { _ in }
        }
    case 2:
        if (try? WindowsXMLParser.parse(bytes, into: fixedEvent)) != nil {
            fixedMatcher.forEachMatch(fixedEvent) { _ in }
        }
    case 3:
        if (try? SyslogParser.parse(bytes, into: fixedEvent, year: 2026)) != nil {
            fixedMatcher.forEachMatch(fixedEvent) { _ in }
        }
    case 4:
        if (try? CEFParser.parse(bytes, into: fixedEvent)) != nil {
            fixedMatcher.forEachMatch(fixedEvent) { _ in }
        }
    case 5:
        _ = try? ZipArchive(bytes: Array(bytes), maxEntrySize: 1 << 20, maxTotalSize: 4 << 20)
    default:
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false)
        _ = try? ConditionParser.parse(String(parts[0]))
        _ = DateParts(String(parts[0]))
        let parsed = RuleLoader.parse(String(parts[0]), file: "fuzz.yml")
        let set = RuleSet(rules: parsed.rules, mapping: mapping)
        if parts.count == 2 { run(set, String(parts[1])) }
    }
    return 0
}
