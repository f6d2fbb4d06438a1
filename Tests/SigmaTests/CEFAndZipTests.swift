import Foundation
import Testing

@testable import Sigma

@Suite struct CEFParserTests {
    func parse(_ line: String, syslog: Bool = false) throws -> Event {
        let registry = FieldRegistry()
        for name in ["deviceVendor", "signatureId", "severity", "src", "cs1", "Rule", "msg", "act", "host", "app"] {
            _ = registry.intern(name)
        }
        let event = Event(registry: registry)
        event.recordsFields = true
        var text = line
        try text.withUTF8 { bytes in
            if syslog {
                try SyslogParser.parse(bytes, into: event, year: 2026)
            } else {
                try CEFParser.parse(bytes, into: event)
            }
        }
        return event
    }

    @Test func readsHeaderExtensionsEscapesAndLabels() throws {
        let event = try parse(
            #"CEF:0|Security\|Corp|threatmanager|1.0|100|worm stopped|10|src=10.0.0.1 cs1Label=Rule cs1=Block a\=b msg=two words\nnext act=blocked"#
        )

        #expect(event.string("deviceVendor") == "Security|Corp")
        #expect(event.string("signatureId") == "100")
        #expect(event.string("severity") == "10")
        #expect(event.string("src") == "10.0.0.1")
        #expect(event.string("cs1") == "Block a=b")
        #expect(event.string("Rule") == "Block a=b")
        #expect(event.string("msg") == "two words\nnext")
        #expect(event.string("act") == "blocked")
        #expect(event.recordedFields.contains { $0.key == "cs1Label" && $0.value == "Rule" })
    }

    @Test func readsCEFInsideSyslog() throws {
        let event = try parse(
            "<134>Sep 19 08:26:10 fw01 CEF:0|Fortinet|FortiGate|7.2|0001|deny|5|src=192.168.1.7 act=deny", syslog: true)

        #expect(event.string("host") == "fw01")
        #expect(event.string("deviceVendor") == "Fortinet")
        #expect(event.string("src") == "192.168.1.7")
    }

    @Test(arguments: ["CEF:0|only|three", "CEF:", "not cef at all"])
    func refusesShortHeaders(_ line: String) {
        #expect(throws: EventParseError.self) { try parse(line) }
    }

    @Test func keepsMalformedCEFInSyslogAsMessage() throws {
        let event = try parse("<13>Jan  1 00:00:00 host app: CEF:0|broken", syslog: true)

        #expect(event.string("app") == "app")
        #expect(event.string("deviceVendor") == nil)
    }
}

@Suite struct ZipArchiveTests {
    /// A two-entry archive (one deflated, one stored) written by Python's zipfile.
    static let sample: [UInt8] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus-sigma/zip")
        return Array((try? Data(contentsOf: url))?.dropFirst() ?? Data())
    }()

    @Test func readsDeflatedAndStoredEntries() throws {
        let archive = try ZipArchive(bytes: Self.sample)

        #expect(archive.entries.map(\.path) == ["rules/a.yml", "rules/b.txt"])
        #expect(String(decoding: archive.entries[0].data, as: UTF8.self).hasPrefix("title: A"))
        #expect(archive.entries[1].data == Array("stored".utf8))
    }

    @Test func skipsEntriesNotIncluded() throws {
        let archive = try ZipArchive(bytes: Self.sample, include: { $0.hasSuffix(".yml") })

        #expect(archive.entries.map(\.path) == ["rules/a.yml"])
    }

    @Test func refusesOversizedEntries() {
        #expect(throws: ZipError.self) { try ZipArchive(bytes: Self.sample, maxEntrySize: 10) }
    }

    @Test func refusesCorruptArchives() {
        var flipped = Self.sample
        flipped[45] ^= 0xFF  // inside the first entry's deflated data
        let truncated = Array(Self.sample.prefix(Self.sample.count / 2))
        for bytes in [flipped, truncated, Array("PK not a zip".utf8), []] {
            #expect(throws: ZipError.self) { try ZipArchive(bytes: bytes) }
        }
    }
}
