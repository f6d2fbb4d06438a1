import Foundation
import Testing

@testable import HygieDetection

@Suite struct SpoolTests {
    func directory() -> String {
        let path = NSTemporaryDirectory() + "hygie-spool-\(UUID().uuidString)"
        return path
    }

    func record(_ text: String) -> SpoolRecord {
        SpoolRecord(
            format: .json, establishmentID: UUID(), sourceID: UUID(), receivedAt: 1_700_000_000_000,
            data: Array(text.utf8))
    }

    @Test func appendedRecordsAreReadBackAcrossSegmentsAndReopening() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let records = (0..<20).map { record("{\"n\":\($0)}") }
        // The first process's spool is closed (its lock released) before the second opens it.
        let (read, nodeID) = try {
            let spool = try Spool(directory: path, segmentBytes: 256, policy: .always)
            for chunk in stride(from: 0, to: 20, by: 5) { try spool.append(Array(records[chunk..<(chunk + 5)])) }
            return (try spool.read(from: spool.startPosition, maxRecords: 100), spool.nodeID)
        }()
        let reopened = try Spool(directory: path, segmentBytes: 256)
        let again = try reopened.read(from: reopened.startPosition, maxRecords: 100)

        #expect(read.records == records)
        #expect(again.records == records)
        #expect(reopened.nodeID == nodeID)
        #expect(read.next.segment > 1)
    }

    @Test func aTornTailIsCutAtStartUp() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try {
            let spool = try Spool(directory: path, policy: .never)
            try spool.append([record("{\"a\":1}"), record("{\"a\":2}")])
        }()
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: path).first { $0.hasSuffix(".seg") })
        // A crash in the middle of a write leaves half a record.
        let handle = try #require(FileHandle(forWritingAtPath: path + "/" + segment))
        handle.seekToEndOfFile()
        handle.write(Data([0x40, 0, 0, 0, 1, 2, 3]))
        try handle.close()

        let reopened = try Spool(directory: path)
        try reopened.append([record("{\"a\":3}")])
        let read = try reopened.read(from: reopened.startPosition, maxRecords: 10)

        #expect(reopened.recovered == 1)
        #expect(
            read.records.map { String(decoding: $0.data, as: UTF8.self) } == ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"])
        #expect(read.corrupt == 0)
    }

    @Test func theQuotaRefusesWholeBatchesUntilSegmentsAreReleased() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let spool = try Spool(directory: path, quotaBytes: 1000, segmentBytes: 300, policy: .never)
        var accepted = 0
        var refused = false
        for index in 0..<40 {
            do {
                try spool.append([record("{\"padding\":\"\(String(repeating: "x", count: 40))\",\"n\":\(index)}")])
                accepted += 1
            } catch SpoolError.full {
                refused = true
                break
            }
        }
        #expect(refused)
        #expect(spool.usedBytes <= 1000)

        let all = try spool.read(from: spool.startPosition, maxRecords: 100)
        spool.release(before: all.next)

        #expect(all.records.count == accepted)
        #expect(spool.usedBytes < 1000)
        try spool.append([record("{\"after\":true}")])
    }

    @Test func corruptRecordsAreCountedNotReturned() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let spool = try Spool(directory: path, segmentBytes: 100, policy: .never)
        try spool.append([record("{\"first\":\"segment one, long enough to rotate\"}")])
        try spool.append([record("{\"second\":\"segment two\"}")])
        // Flip a payload byte of the first (closed) segment.
        let first = path + "/" + String(format: "%020lld.seg", 1)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: first))
        bytes[bytes.count - 3] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: first))

        let read = try spool.read(from: spool.startPosition, maxRecords: 10)

        #expect(read.corrupt == 1)
        #expect(read.records.map { String(decoding: $0.data, as: UTF8.self) } == ["{\"second\":\"segment two\"}"])
    }

    @Test func oneProcessOrSpoolAtATime() throws {
        let path = directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try Spool(directory: path)

        #expect(throws: SpoolError.self) { try Spool(directory: path) }
        _ = first
    }

    @Test(arguments: ["always", "never", "interval", "interval:50"]) func syncPoliciesParse(_ text: String) {
        #expect(SpoolSyncPolicy(text) != nil)
    }

    @Test(arguments: ["sometimes", "interval:0", "interval:x", ""]) func badSyncPoliciesAreRefused(_ text: String) {
        #expect(SpoolSyncPolicy(text) == nil)
    }
}

@Suite struct IngestFramingTests {
    func split(_ text: String) throws -> [String] {
        try JSONFraming.split(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func ndjsonAndArraysGiveOneRecordPerObject() throws {
        #expect(try split("{\"a\":1}\n{\"b\":\"x}\"}\r\n\n") == ["{\"a\":1}", "{\"b\":\"x}\"}"])
        #expect(try split(" [ {\"a\":[1,{\"c\":2}]} , {\"b\":2} ] ") == ["{\"a\":[1,{\"c\":2}]}", "{\"b\":2}"])
    }

    @Test(arguments: [
        "", "[]", "{\"a\":1", "[{\"a\":1},", "{\"a\":1} trailing", "42", "[{\"a\":1}] x", "{\"a\":\"\u{01}\"}",
    ])
    func malformedBodiesAreRefused(_ text: String) {
        #expect(throws: DetectionError.self) { try split(text) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: DetectionError.self) { try JSONFraming.split([0x7B, 0x22, 0xFF, 0x22, 0x7D]) }
    }

    @Test func gzipBodiesAreInflatedWithALimit() throws {
        // `printf '{"a":1}\n' | gzip -n | xxd -i`
        let gz: [UInt8] = [
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xab, 0x56, 0x4a, 0x54, 0xb2, 0x32, 0xac,
            0xe5, 0x02, 0x00, 0x46, 0xa3, 0xe8, 0x74, 0x08, 0x00, 0x00, 0x00,
        ]
        #expect(try IngestService.gunzip(gz, limit: 100) == Array("{\"a\":1}\n".utf8))
        #expect(throws: DetectionError.self) { try IngestService.gunzip(gz, limit: 4) }
        #expect(throws: DetectionError.self) { try IngestService.gunzip(Array(gz.prefix(15)), limit: 100) }
        #expect(throws: DetectionError.self) { try IngestService.gunzip(Array("not gzip".utf8), limit: 100) }
    }

    @Test func senderPatternsMatchAddressesNetworksAndCertificates() throws {
        let network = try #require(SenderPattern("10.20.0.0/16"))
        let single = try #require(SenderPattern("::ffff:192.168.1.7"))
        let certificate = try #require(SenderPattern("cn:fw01.valbrune.example"))

        #expect(network.matches(address: SenderPattern.bytes("10.20.3.4"), certificate: nil))
        #expect(!network.matches(address: SenderPattern.bytes("10.21.3.4"), certificate: nil))
        #expect(single.matches(address: SenderPattern.bytes("192.168.1.7"), certificate: nil))
        #expect(certificate.matches(address: nil, certificate: "FW01.valbrune.example"))
        #expect(SenderPattern("10.0.0.0/40") == nil)
        #expect(SenderPattern("not an address") == nil)
    }
}

@Suite struct JSONWriterTests {
    @Test func escapesAndKeepsJSONMessagesAsObjects() throws {
        let text = JSONWriter.object([("a\"b", "line\n\t\u{01}é\\"), ("message", "{\"Image\":\"x\"}"), ("n", "{")])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])

        #expect(object["a\"b"] as? String == "line\n\t\u{01}é\\")
        #expect((object["message"] as? [String: String])?["Image"] == "x")
        #expect(object["n"] as? String == "{")
        #expect(JSONWriter.array(["x", "\"y\""]) == #"["x","\"y\""]"#)
    }
}
