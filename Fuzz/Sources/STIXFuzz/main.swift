import STIX

/// Feeds arbitrary bytes to the STIX library. The first byte picks what is fuzzed: a TAXII envelope or bundle
/// (read, each object validated, written back and read again), a pattern (parsed, evaluated over a fixed
/// observation, and its IOCs looked up), an IP address or network, or a timestamp. A crash, a hang or a
/// sanitizer report is a bug; errors are the expected answer to bad input.
let observation: [Observation] = {
    let objects = try! JSONParser.parse(
        #"{"0":{"type":"file","name":"a.docm","size":2048,"hashes":{"SHA-256":"ab"},"parent_directory_ref":"1"},"1":{"type":"directory","path":"C:\\x"},"2":{"type":"ipv4-addr","value":"198.51.100.7"},"3":{"type":"network-traffic","dst_ref":"2","protocols":["tcp","http"]}}"#
    )
    var map: [String: JSONValue] = [:]
    for member in objects.members ?? [] { map[member.key] = member.value }
    return [
        Observation(
            firstObserved: STIXTimestamp(microseconds: 0), lastObserved: STIXTimestamp(microseconds: 1_000_000),
            objects: map),
        Observation(
            firstObserved: STIXTimestamp(microseconds: 5_000_000), lastObserved: STIXTimestamp(microseconds: 6_000_000),
            numberObserved: 3, objects: map),
    ]
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let mode = start.load(as: UInt8.self) % 4
    let bytes = Array(UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self) + 1, count: count - 1))
    switch mode {
    case 0:
        guard let entries = try? STIXBundle.read(bytes) else { return 0 }
        for entry in entries {
            if case .success(let object) = entry.result {
                // A valid object survives a write and a read.
                let again = try! JSONParser.parse(JSONWriter.bytes(object.json))
                precondition(again == object.json, "round trip changed \(object.id)")
                _ = object.tlp
            }
        }
    case 1:
        let text = String(decoding: bytes, as: UTF8.self)
        guard let pattern = try? PatternParser.parse(text) else { return 0 }
        _ = PatternMatcher(pattern).matches(observation)
        if let iocs = IOC.extract(from: pattern) {
            var index = IOCIndex()
            for (ref, ioc) in iocs.enumerated() { index.insert(ioc, ref: Int32(ref)) }
            for ioc in iocs {
                // Every extracted value finds its own indicator again.
                let found: [Int32]
                switch ioc {
                case .ip(let network):
                    found = index.lookup(ip: network.description.split(separator: "/")[0].description)
                case .domain(let text): found = index.lookup(domain: text)
                case .url(let text): found = index.lookup(url: text)
                case .hash(_, let text): found = index.lookup(hash: text)
                case .email(let text): found = index.lookup(email: text)
                }
                precondition(!found.isEmpty, "\(ioc) not found in its own index")
            }
            _ = IOC.extract(from: (try? PatternParser.parse(iocs[0].stixPattern))!)
        }
    case 2:
        let text = String(decoding: bytes, as: UTF8.self)
        if let network = IPNetwork(text) {
            precondition(IPNetwork(network.description) == network, "\(text) does not read back")
            precondition(network.contains(network))
        }
    default:
        let text = String(decoding: bytes, as: UTF8.self)
        if let stamp = STIXTimestamp(text) {
            precondition(
                STIXTimestamp(stamp.taxiiString)?.microseconds == stamp.microseconds, "\(text) does not read back")
        }
    }
    return 0
}
