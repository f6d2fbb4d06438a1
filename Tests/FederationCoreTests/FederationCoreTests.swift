import Foundation
import Testing

@testable import FederationCore

@Suite struct SnapshotTests {
    static func snapshot() -> Snapshot {
        Snapshot(
            snapshotID: "s-1", takenAt: Date(timeIntervalSince1970: 1_795_000_000),
            establishment: .init(name: "CH Valbrune", finess: "999000017", kind: "ch"),
            indicators: [.init(key: "awareness.trained-12m", value: 72.5, basis: 800, measuredAt: Date())],
            compliance: [
                .init(
                    urn: "urn:care:d2", name: "CaRE D2", score: 61.5, progress: 77, level: nil, status: "in_progress",
                    themes: [.init(ref: "1", name: "Gouvernance", score: 80)])
            ])
    }

    @Test func aWellFormedSnapshotPassesAndRoundTrips() throws {
        let snapshot = Self.snapshot()
        try snapshot.validate()
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        let data = try encoder.encode(snapshot)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"snapshot_id\"") && text.contains("\"taken_at\"") && text.contains("\"measured_at\""))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        #expect(try decoder.decode(Snapshot.self, from: data).compliance == snapshot.compliance)
    }

    @Test func refusesWhatDoesNotFitTheShape() {
        var cases: [Snapshot] = []
        var bad = Self.snapshot()
        bad.establishment.finess = "12345"
        cases.append(bad)
        bad = Self.snapshot()
        bad.indicators[0].value = .nan
        cases.append(bad)
        bad = Self.snapshot()
        bad.indicators[0].key = "Jean Dupont"
        cases.append(bad)
        bad = Self.snapshot()
        bad.compliance[0].score = 150
        cases.append(bad)
        bad = Self.snapshot()
        bad.establishment.name = "CH\nValbrune"
        cases.append(bad)
        bad = Self.snapshot()
        bad.snapshotID = ""
        cases.append(bad)
        bad = Self.snapshot()
        bad.indicators = Array(repeating: bad.indicators[0], count: 201)
        cases.append(bad)
        for snapshot in cases {
            #expect(throws: FederationError.self) { try snapshot.validate() }
        }
    }

    @Test func aRedCaseTitleNeverTravels() {
        let copy = DeclarationCopy(
            uid: "e:1", regime: "cnil", status: "draft", dueAt: nil, sentAt: nil, reference: "",
            incidentType: "data_leak",
            severity: "high", significant: false, personalData: true, nis2: false, awareAt: nil, title: "Fuite du DPI",
            tlp: "red")
        #expect(throws: FederationError.self) { try copy.validate() }
        var amber = copy
        amber.tlp = "amber"
        #expect(throws: Never.self) { try amber.validate() }
        var untitled = copy
        untitled.title = nil
        #expect(throws: Never.self) { try untitled.validate() }
    }
}

@Suite struct RequestSignerTests {
    let body = Array(#"{"snapshot_id":"s-1"}"#.utf8)
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    @Test func aSignedRequestVerifies() throws {
        let signature = RequestSigner.signature(
            secret: "k", method: "post", path: "/federation/v1/snapshots", timestamp: 1_795_000_000, body: body)
        #expect(signature.count == 64)
        try RequestSigner.verify(
            secret: "k", method: "POST", path: "/federation/v1/snapshots", timestamp: "1795000100",
            signature: RequestSigner.signature(
                secret: "k", method: "POST", path: "/federation/v1/snapshots", timestamp: 1_795_000_100, body: body),
            body: body, now: now)
    }

    @Test func tamperedStaleOrForeignRequestsAreRefused() {
        let signature = RequestSigner.signature(
            secret: "k", method: "POST", path: "/federation/v1/snapshots", timestamp: 1_795_000_000, body: body)
        let attempts: [(String, String, String?, String?, [UInt8], Date)] = [
            ("other", "/federation/v1/snapshots", "1795000000", signature, body, now),
            ("k", "/federation/v1/declarations", "1795000000", signature, body, now),
            ("k", "/federation/v1/snapshots", "1795000000", signature, body + [0x20], now),
            ("k", "/federation/v1/snapshots", "1795000000", signature, body, now.addingTimeInterval(301)),
            ("k", "/federation/v1/snapshots", nil, signature, body, now),
            ("k", "/federation/v1/snapshots", "1795000000", "00", body, now),
            ("k", "/federation/v1/snapshots", "soon", signature, body, now),
        ]
        for (secret, path, timestamp, given, payload, at) in attempts {
            #expect(throws: FederationError.self) {
                try RequestSigner.verify(
                    secret: secret, method: "POST", path: path, timestamp: timestamp, signature: given, body: payload,
                    now: at)
            }
        }
    }

    @Test func hubsAreReachedOverHTTPS() {
        #expect(RequestSigner.checkHubURL("https://hub.ars.example") == nil)
        #expect(RequestSigner.checkHubURL("http://127.0.0.1:8080") == nil)
        #expect(RequestSigner.checkHubURL("http://hub.ars.example") != nil)
        #expect(RequestSigner.checkHubURL("hub.ars.example") != nil)
    }
}
