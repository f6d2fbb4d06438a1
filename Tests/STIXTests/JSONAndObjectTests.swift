import Testing

@testable import STIX

@Suite struct JSONParserTests {
    @Test func keepsMemberOrderAndNumberLiterals() throws {
        let text = #"{"b":1.0,"a":[true,false,null,-0.5e3,12345678901234567890],"c":"é\n\u00e9\ud83d\ude00"}"#
        let value = try JSONParser.parse(text)
        #expect(value.members?.map(\.key) == ["b", "a", "c"])
        #expect(value["b"] == .number("1.0"))
        #expect(value["a"]?.arrayValue?[4] == .number("12345678901234567890"))
        #expect(value["c"]?.stringValue == "é\né😀")
        // Writing back and reading again gives the same value.
        #expect(try JSONParser.parse(JSONWriter.bytes(value)) == value)
    }

    @Test(arguments: [
        ("", "unexpected end"), ("{", "expected a member name"), (#"{"a":1,}"#, "expected a member name"),
        (#"{"a":1}x"#, "unexpected text"), (#"{"a":1,"a":2}"#, "duplicate member"), ("[01]", "leading zero"),
        ("[1.]", "digit expected"), (#"["\x"]"#, "invalid escape"), (#"["\ud800"]"#, "unpaired surrogate"),
        ("[tru]", "invalid literal"), ("[\"a\u{01}\"]", "control character"),
    ])
    func refusesMalformedJSON(input: String, message: String) {
        #expect {
            try JSONParser.parse(input)
        } throws: { error in
            (error as? JSONParseError)?.message.contains(message) == true
        }
    }

    @Test func refusesInvalidUTF8() {
        for bad: [UInt8] in [
            [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xFF, 0x22],
        ] {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(bad) }
        }
    }

    @Test func refusesDeepNestingWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect {
            try JSONParser.parse(deep)
        } throws: { error in
            (error as? JSONParseError)?.message.contains("nesting deeper") == true
        }
    }

    @Test func envelopeElementsKeepTheirExactBytes() throws {
        let text = #"{"more":false, "objects": [ {"id" : "x--1",  "type":"x"} ,{"a":1.50}]}"#
        let bytes = Array(text.utf8)
        let (_, elements) = try JSONParser.parseTopLevelArrayMember(bytes, key: "objects")
        #expect(elements.count == 2)
        #expect(String(decoding: bytes[elements[0].range], as: UTF8.self) == #"{"id" : "x--1",  "type":"x"}"#)
        #expect(String(decoding: bytes[elements[1].range], as: UTF8.self) == #"{"a":1.50}"#)
    }
}

@Suite struct TimestampTests {
    @Test func parsesAndFormatsRFC3339UTC() throws {
        let stamp = try #require(STIXTimestamp("2024-02-29T23:59:58.123456789Z"))
        #expect(stamp.taxiiString == "2024-02-29T23:59:58.123456Z")
        #expect(stamp.stixString == "2024-02-29T23:59:58.123Z")
        #expect(try #require(STIXTimestamp("1970-01-01T00:00:00Z")).microseconds == 0)
        #expect(try #require(STIXTimestamp("2016-01-01T00:00:00.5Z")) < stamp)
    }

    @Test(arguments: [
        "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00",
        "2024-01-01T00:00:00+01:00", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00.Z", "yesterday",
    ])
    func refusesInvalidTimestamps(text: String) {
        #expect(STIXTimestamp(text) == nil)
    }
}

@Suite struct STIXObjectTests {
    static let indicator = """
        {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "created":"2026-01-01T00:00:00.000Z","modified":"2026-01-02T00:00:00.000Z","name":"C2",
         "pattern":"[domain-name:value = 'c2.example.net'] OR [ipv4-addr:value = '198.51.100.7']",
         "pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z",
         "object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],
         "x_hygie_custom":{"kept":[1.0,"as is"]}}
        """

    @Test func validIndicatorKeepsCustomPropertiesAndReadsItsTLP() throws {
        let object = try STIXObject(json: JSONParser.parse(Self.indicator))
        #expect(object.type == "indicator")
        #expect(object.version?.stixString == "2026-01-02T00:00:00.000Z")
        #expect(object.tlp == .amber)
        #expect(object.json["x_hygie_custom"]?["kept"]?.arrayValue?.first == .number("1.0"))
    }

    @Test(
        arguments: [
            ("pattern", nil, "missing required property 'pattern'"),
            ("pattern", "[file:hashes.'SHA-256' = 'x' AND]", "invalid STIX pattern"),
            ("id", "indicator--not-a-uuid", "invalid id"),
            ("id", "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "invalid id"),
            ("modified", "2025-01-01T00:00:00Z", "earlier than 'created'"),
            ("created", "2026-01-01", "not an RFC 3339"),
            ("spec_version", "2.0", "spec_version"),
            ("confidence", "high", "confidence"),
            ("created_by_ref", "someone", "STIX identifier"),
        ] as [(String, String?, String)])
    func refusesInvalidObjects(key: String, value: String?, message: String) throws {
        var json = try JSONParser.parse(Self.indicator)
        json = value.map { json.setting(key, .string($0)) } ?? json.removing(key)
        #expect {
            try STIXObject(json: json)
        } throws: { error in
            (error as? STIXError)?.message.contains(message) == true
        }
    }

    @Test func observablesNeedNoDatesAndBundlesReportEachObject() throws {
        let bundle = """
            {"type":"bundle","id":"bundle--0b7b3e55-1e4e-4e8d-9c68-1a0c6f1d9a55","objects":[
              {"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"},
              {"type":"indicator","spec_version":"2.1","id":"indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
               "created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
              {"spec_version":"2.1"}
            ]}
            """
        let entries = try STIXBundle.read(Array(bundle.utf8))
        #expect(entries.count == 3)
        #expect((try? entries[0].result.get())?.version == nil)
        #expect(entries[1].claimedID == "indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
        #expect((try? entries[1].result.get()) == nil)
        #expect((try? entries[2].result.get()) == nil)
        #expect(throws: STIXError.self) { try STIXBundle.read(Array(#"{"objects": {}}"#.utf8)) }
        #expect(throws: STIXError.self) { try STIXBundle.read(Array(#"{"type":"indicator"}"#.utf8)) }
        #expect(throws: STIXError.self) { try STIXBundle.read(Array("not json".utf8)) }
    }

    @Test func tlpNamesAndMarkings() {
        #expect(TLP(name: "TLP:AMBER+STRICT") == .amberStrict)
        #expect(TLP(name: "white") == .clear)
        #expect(
            TLP.strictest(in: [
                TLP.green.markingDefinitionID, "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
            ]) == .red)
        #expect(TLP.green < TLP.amber && TLP.amberStrict < TLP.red)
        #expect((try? STIXObject(json: TLP.amber.markingDefinition))?.tlp == .clear)
    }
}
