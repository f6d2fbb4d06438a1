import Benchmark
import Foundation
import HygieIntel
import STIX

/// One million indicators (addresses, CIDR ranges, domains, URLs, SHA-256 hashes), all visible to one
/// establishment, built once.
let establishment = UUID()
let millionIndicators: IndicatorSnapshot = {
    var random = SystemRandomNumberGenerator()
    var indicators: [(entry: IndicatorEntry, iocs: [IOC])] = []
    indicators.reserveCapacity(1_000_000)
    for n in 0..<1_000_000 {
        let ioc: IOC
        switch n % 10 {
        case 0, 1, 2:
            // Public addresses only (the warning list drops private ones).
            ioc = .ip(IPNetwork(ipv4: UInt32.random(in: 0x2D00_0000...0x5F00_0000, using: &random)))
        case 3:
            ioc = .ip(
                IPNetwork(
                    ipv4: UInt32.random(in: 0x2D00_0000...0x5F00_0000, using: &random),
                    prefixLength: n % 20 == 3 ? 24 : 28))
        case 4, 5, 6: ioc = .domain("c2-\(n).bad-\(n % 977).example")
        case 7: ioc = .url("https://files-\(n).bad.example/payload/\(n).bin")
        default: ioc = .hash(algorithm: "SHA-256", value: String(format: "%064x", n))
        }
        indicators.append(
            (
                IndicatorEntry(
                    stixID: "indicator--\(n)", collectionID: establishment, ownerID: establishment, name: "IOC \(n)",
                    tlp: .amber,
                    confidence: nil, validFrom: 0, validUntil: nil, ioc: ioc.description), [ioc]
            ))
    }
    return IndicatorSnapshot.build(indicators: indicators, establishment: establishment)
}()

/// Log events as the detection worker sees them: two addresses, a queried domain, a URL and a file hash;
/// about one in a hundred hits an indicator.
struct LogEvent {
    var source: String
    var destination: String
    var domain: String
    var url: String
    var hash: String
}

let sampleEvents: [LogEvent] = (0..<10_000).map { n in
    let hit = n % 100 == 0
    // Strings made from bytes, as the event parsers make them (String(format:) may give a non-native string).
    func native(_ text: String) -> String { String(decoding: Array(text.utf8), as: UTF8.self) }
    return LogEvent(
        source: native("10.12.\(n % 250).\(n % 200 + 1)"),
        destination: native("\(45 + n % 40).\(n % 255).\((n * 7) % 255).\((n * 13) % 255)"),
        domain: native(hit ? "c2-\(n * 10 + 4).bad-\((n * 10 + 4) % 977).example" : "www.site-\(n).example.org"),
        url: native("https://cdn-\(n % 300).example.net/assets/app-\(n).js"),
        hash: native(String(format: "%064x", hit ? n * 10 + 8 : 5_000_000 + n)))
}

func stixBenchmarks() {
    Benchmark(
        "IOC matcher: 1 event (5 values) against 1,000,000 indicators",
        // The snapshot is built during the warm-up iteration (a global, initialised once), never measured.
        configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 1, scalingFactor: .kilo,
            maxDuration: .seconds(10))
    ) { benchmark in
        let snapshot = millionIndicators
        let events = sampleEvents
        var hits = 0
        for iteration in benchmark.scaledIterations {
            let event = events[iteration % events.count]
            hits += snapshot.match(.ip, event.source, establishment: establishment, now: 1).count
            hits += snapshot.match(.ip, event.destination, establishment: establishment, now: 1).count
            hits += snapshot.match(.domain, event.domain, establishment: establishment, now: 1).count
            hits += snapshot.match(.url, event.url, establishment: establishment, now: 1).count
            hits += snapshot.match(.hash, event.hash, establishment: establishment, now: 1).count
        }
        blackHole(hits)
    }

    let pattern =
        "[domain-name:value = 'c2.evil.example'] OR [ipv4-addr:value = '198.51.100.7'] OR [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']"
    Benchmark("STIX pattern parse + IOC extraction") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(IOC.extract(from: try PatternParser.parse(pattern)))
        }
    }

    let envelope = Array(
        ("{\"objects\":["
            + (0..<100).map { n in
                #"{"type":"indicator","spec_version":"2.1","id":"indicator--\#(String(format: "%08d", n))-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"IOC \#(n)","pattern":"[ipv4-addr:value = '203.0.113.\#(n)']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}"#
            }.joined(separator: ",") + "]}").utf8)
    Benchmark("TAXII envelope of 100 indicators: read and validate") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try STIXBundle.read(envelope))
        }
    }
}
