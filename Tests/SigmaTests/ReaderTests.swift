import Foundation
import RecordInput
import Testing

@testable import Sigma

@Suite struct ReaderTests {
    static let fields = [
        "Image", "CommandLine", "EventID", "Channel", "Provider_Name", "SystemTime", "Computer",
        "SourceName", "Data", "Event.EventData.Image", "timestamp", "host", "app", "pid", "facility", "severity",
        "message", "msgid", "user", "src", "exe", "type", "log_format", "Unicode", "Guid", "UserID",
    ]

    func event() -> Event {
        let registry = FieldRegistry()
        for name in Self.fields { registry.intern(name) }
        return Event(registry: registry)
    }

    func parseJSON(_ text: String) throws -> Event {
        let event = event()
        var copy = text
        try copy.withUTF8 { try JSONEventParser.parse($0, into: event) }
        return event
    }

    @Test func flatAndNestedJSON() throws {
        let flat = try parseJSON(
            #"{"Image":"C:\\a.exe","EventID":4688,"Data":["x","y"],"Unicode":"caf\u00e9 \ud83d\ude00"}"#)
        #expect(flat.string("Image") == "C:\\a.exe")
        #expect(flat.string("EventID") == "4688")
        #expect(flat.strings(flat.registry.id(of: "Data")!) == ["x", "y"])
        #expect(flat.string("Unicode") == "café 😀")
        let nested = try parseJSON(
            ##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{G}"}},"EventID":{"#attributes":{"Qualifiers":0},"#text":1},"TimeCreated":{"#attributes":{"SystemTime":"2026-01-01T00:00:00Z"}},"Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"Image":"C:\\b.exe","Source Name":"Real-Time Protection"}}}"##
        )
        #expect(nested.string("Provider_Name") == "Microsoft-Windows-Sysmon")
        #expect(nested.string("Guid") == "{G}")
        #expect(nested.string("EventID") == "1")
        #expect(nested.string("SystemTime") == "2026-01-01T00:00:00Z")
        #expect(nested.string("UserID") == "S-1-5-18")
        #expect(nested.string("Image") == "C:\\b.exe")
        #expect(nested.string("Event.EventData.Image") == "C:\\b.exe")
        #expect(nested.string("SourceName") == "Real-Time Protection")
    }

    @Test func malformedJSONIsAnErrorNotACrash() {
        let bad = [
            "", "   ", "[1,2]", "{", "{\"a\"", "{\"a\":}", "{\"a\":1,}", "{\"a\":tru}", "{\"a\":\"\\x\"}",
            "{\"a\":\"\\ud800\"}", "{\"a\":\"unterminated}", "{\"a\":1} trailing", "{\"a\":[1,2}",
            String(repeating: "{\"a\":", count: 100) + "1" + String(repeating: "}", count: 100), "{\"a\":-}",
            "{\"a\":\"\\u12\"}", "{1:2}", "\u{0}",
        ]
        for text in bad {
            #expect(throws: EventParseError.self, "\(text.prefix(30))") { try parseJSON(text) }
        }
    }

    @Test func windowsXML() throws {
        let xml = """
            <Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625}'/><EventID>4688</EventID><TimeCreated SystemTime='2026-03-01T10:00:00.000Z'/><Channel>Security</Channel><Computer>WS-01</Computer></System><EventData><Data Name='NewProcessName'>C:\\Windows\\System32\\whoami.exe</Data><Data Name='CommandLine'>whoami /all &amp;&amp; echo &lt;done&gt;</Data><Data Name='Empty'/><Data>unnamed</Data></EventData><RenderingInfo Culture='fr-FR'><Message>ignored</Message></RenderingInfo></Event>
            """
        let registry = FieldRegistry()
        for name in Self.fields + ["NewProcessName", "Empty", "Message"] { registry.intern(name) }
        let event = Event(registry: registry)
        var copy = xml
        try copy.withUTF8 { try WindowsXMLParser.parse($0, into: event) }
        #expect(event.string("Provider_Name") == "Microsoft-Windows-Security-Auditing")
        #expect(event.string("EventID") == "4688")
        #expect(event.string("SystemTime") == "2026-03-01T10:00:00.000Z")
        #expect(event.string("Channel") == "Security")
        #expect(event.string("NewProcessName") == "C:\\Windows\\System32\\whoami.exe")
        #expect(event.string("CommandLine") == "whoami /all && echo <done>")
        #expect(event.string("Empty") == "")
        #expect(event.string("Data") == "unnamed")
        #expect(event.string("Message") == nil)
        for bad in ["<Event><System>", "<Event></System>", "<Event a=b></Event>", "<Event><!-- x", "<>", "<Event>"] {
            var text = bad
            #expect(throws: EventParseError.self, "\(bad)") {
                try text.withUTF8 { try WindowsXMLParser.parse($0, into: event) }
            }
        }
    }

    func parseSyslog(_ line: String) throws -> Event {
        let event = event()
        var copy = line
        try copy.withUTF8 { try SyslogParser.parse($0, into: event, year: 2026) }
        return event
    }

    @Test func syslogFormats() throws {
        let rfc5424 = try parseSyslog(
            #"<34>1 2026-11-29T03:12:39.123Z srv-dpi-01 sshd 4242 ID47 [origin user="alice" src="10.0.0.5"] Failed password for alice"#
        )
        #expect(rfc5424.string("facility") == "auth")
        #expect(rfc5424.string("severity") == "crit")
        #expect(rfc5424.string("host") == "srv-dpi-01")
        #expect(rfc5424.string("app") == "sshd")
        #expect(rfc5424.string("pid") == "4242")
        #expect(rfc5424.string("msgid") == "ID47")
        #expect(rfc5424.string("user") == "alice")
        #expect(rfc5424.string("src") == "10.0.0.5")
        #expect(rfc5424.string("message") == "Failed password for alice")
        #expect(rfc5424.string("timestamp") == "2026-11-29T03:12:39.123Z")

        let rfc3164 = try parseSyslog("<38>Nov  9 22:14:15 pacs-gw sudo[311]: alice : TTY=pts/0 ; COMMAND=/bin/sh")
        #expect(rfc3164.string("facility") == "auth")
        #expect(rfc3164.string("host") == "pacs-gw")
        #expect(rfc3164.string("app") == "sudo")
        #expect(rfc3164.string("pid") == "311")
        #expect(rfc3164.string("timestamp") == "2026-11-09T22:14:15.000Z")
        #expect(rfc3164.string("message")?.hasPrefix("alice : TTY") == true)

        // /var/log/auth.log: no priority.
        let authLog = try parseSyslog("Nov 29 03:12:39 srv-lab sshd[99]: Accepted publickey for root")
        #expect(
            authLog.string("host") == "srv-lab" && authLog.string("app") == "sshd" && authLog.string("facility") == nil)

        // No host, tag only.
        let noHost = try parseSyslog("<13>Nov 29 03:12:39 kernel: eth0 link up")
        #expect(noHost.string("app") == "kernel" && noHost.string("host") == nil)

        // JSON inside the message.
        let json = try parseSyslog(
            #"<14>1 2026-11-29T03:12:39Z edr agent - - - {"Image":"C:\\a.exe","CommandLine":"a"}"#)
        #expect(json.string("Image") == "C:\\a.exe")

        // auditd records.
        let audit = try parseSyslog(
            #"type=EXECVE msg=audit(1764386000.123:42): argc=2 a0="cat" a1="/etc/shadow" exe="/usr/bin/cat""#)
        #expect(audit.string("type") == "EXECVE" && audit.string("exe") == "/usr/bin/cat")
        #expect(audit.string("log_format") == "auditd")
        #expect(audit.string("timestamp")?.hasPrefix("2025-11-29") == true)

        #expect(throws: EventParseError.self) { try parseSyslog("") }
        #expect(throws: EventParseError.self) { try parseSyslog("<1>1 2026-01-01T00:00:00Z h a p m [x a=unquoted] m") }
        // Garbage never crashes; it becomes a message (found by fuzzing: a negative priority).
        #expect(try parseSyslog("<999>???").string("message") != nil)
        #expect(try parseSyslog("<-4>1 20=\"b\" h app").string("severity") == nil)
    }

    @Test func dates() throws {
        #expect(DateParts("2026-11-29T03:12:39Z")?.epochSeconds == 1_795_921_959)
        #expect(DateParts("2026-11-29 03:12:39.500")?.epochSeconds == 1_795_921_959.5)
        #expect(DateParts("2026-11-29T04:12:39+01:00")?.epochSeconds == 1_795_921_959)
        #expect(DateParts("2026-11-29")?.epochSeconds == 1_795_910_400)
        for bad in ["2026-13-01", "2026-11-29T25:00", "yesterday", "2026-11-29T03:12:39Zjunk", ""] {
            #expect(DateParts(bad) == nil, "\(bad)")
        }
        #expect(DateParts.iso8601(1_795_921_959.25) == "2026-11-29T03:12:39.250Z")
    }

    // MARK: Files

    func write(_ name: String, _ data: Data) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("readers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    func hunt(_ paths: [String], jobs: Int = 1, from: Double? = nil, to: Double? = nil) throws -> (
        [HuntDetection], HuntStatistics
    ) {
        let set = ruleSet(FilterAndMappingTests.processRule)
        var detections: [HuntDetection] = []
        let stats = try Hunter(ruleSet: set, jobs: jobs, from: from, to: to).run(inputs: paths) { detections += $0 }
        return (detections, stats)
    }

    static func sysmon(_ image: String, _ second: Int) -> String {
        #"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"\#(image)","SystemTime":"\#(DateParts.iso8601(1_790_000_000 + Double(second)))","Computer":"WS-1"}"#
    }

    @Test func inputShapes() throws {
        let lines = (0..<5).map { Self.sysmon($0 % 2 == 0 ? "C:\\\\whoami.exe" : "C:\\\\notepad.exe", $0) }
        let jsonl = try write("a.jsonl", Data(lines.joined(separator: "\r\n").utf8))
        let array = try write("b.json", Data(("[\n" + lines.joined(separator: ",\n") + "\n]").utf8))
        let pretty = try write(
            "c.json", Data(lines.map { $0.replacingOccurrences(of: ",", with: ",\n  ") }.joined(separator: "\n").utf8))
        let gzip = try write("d.jsonl.gz", try gzipped(Data(lines.joined(separator: "\n").utf8)))
        let xml = try write(
            "e.xml",
            Data(
                """
                <?xml version="1.0"?><Events><Event><System><EventID>1</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel></System><EventData><Data Name="Image">C:\\whoami.exe</Data></EventData></Event>
                <Event><System><EventID>1</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel></System><EventData><Data Name="Image">C:\\calc.exe</Data></EventData></Event></Events>
                """.utf8))
        for path in [jsonl, array, pretty, gzip] {
            let (detections, stats) = try hunt([path])
            #expect(stats.events == 5, "\(path)")
            #expect(detections.map(\.record) == [1, 3, 5], "\(path)")
            #expect(stats.parseErrors == 0)
        }
        let (xmlDetections, xmlStats) = try hunt([xml])
        #expect(xmlStats.events == 2 && xmlDetections.count == 1)
        // Several inputs, several threads: same detections in input order.
        let (single, _) = try hunt([jsonl, gzip, xml])
        let (parallel, _) = try hunt([jsonl, gzip, xml], jobs: 3)
        #expect(single.map { "\($0.input)#\($0.record)" } == parallel.map { "\($0.input)#\($0.record)" })
        #expect(single.first?.author == nil && single.first?.title == "Whoami" && single.first?.host == "WS-1")
        #expect(single.first?.matched == [MatchedField(field: "Image", value: "C:\\whoami.exe")])
        // Time window.
        let (windowed, windowStats) = try hunt([jsonl], from: 1_790_000_001, to: 1_790_000_003)
        #expect(windowed.map(\.record) == [3])
        #expect(windowStats.outOfRange == 2)
    }

    @Test func brokenInputsAreCountedNotFatal() throws {
        let mixed = try write("m.jsonl", Data((Self.sysmon("C:\\\\whoami.exe", 1) + "\n{broken\n\n[1]\n").utf8))
        let (detections, stats) = try hunt([mixed])
        #expect(detections.count == 1)
        #expect(stats.parseErrors == 2)
        #expect(stats.errorSamples.first?.contains("record 2") == true)
        let corrupt = try write("x.gz", Data([0x1F, 0x8B, 0x08, 0x00, 0xFF, 0xFF, 0xFF]))
        #expect(throws: InputError.self) { try hunt([corrupt]) }
        #expect(throws: InputError.self) { try hunt(["/nonexistent/file.jsonl"]) }
    }

    func gzipped(_ data: Data) throws -> Data {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gz-\(UUID().uuidString)").path
        try data.write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-f", path]
        try process.run()
        process.waitUntilExit()
        return try Data(contentsOf: URL(fileURLWithPath: path + ".gz"))
    }
}
