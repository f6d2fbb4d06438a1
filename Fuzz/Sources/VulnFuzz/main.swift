import VulnCore

/// Feeds arbitrary bytes to the vulnerability library. The first byte picks the parser: CPE names, version
/// comparison (every scheme), version statements, CVSS vectors, nmap XML, SBOMs, inventory CSV, NVD, CVE JSON 5,
/// CSAF, OSV or KEV documents. A crash, a hang or a sanitizer report is a bug; errors answer bad input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let mode = start.load(as: UInt8.self) % 12
    let bytes = Array(UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self) + 1, count: count - 1))
    let text = String(decoding: bytes, as: UTF8.self)
    switch mode {
    case 0:
        guard let cpe = try? CPE(parsing: text) else { return 0 }
        // A parsed name prints as a name that parses to itself.
        let again = try! CPE(parsing: cpe.description)
        precondition(again == cpe, "CPE round trip changed \(cpe)")
        _ = cpe.matches(again)
    case 1:
        let parts = text.split(separator: "\n", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return 0 }
        for scheme in VersionScheme.allCases {
            guard let order = Versions.compareIfValid(parts[0], parts[1], scheme: scheme) else { continue }
            // Antisymmetric, and every valid version equals itself.
            precondition(
                Versions.compareIfValid(parts[1], parts[0], scheme: scheme) == -order, "\(scheme) not antisymmetric")
            precondition(Versions.compareIfValid(parts[0], parts[0], scheme: scheme) == 0, "\(scheme) not reflexive")
        }
    case 2:
        if let statement = VersionStatement.parse(text, scheme: .generic) { _ = statement.contains("1.2.3") }
        _ = CSAFFormat.parseVersions(text)
    case 3: _ = try? CVSS.evaluate(text)
    case 4: _ = try? NmapXML.parse(bytes)
    case 5: _ = try? SBOM.parse(bytes)
    case 6: _ = try? InventoryCSV.parse(bytes)
    case 7:
        guard let records = try? NVDFeed.parse(bytes) else { return 0 }
        let probe = try! CPE(parsing: "cpe:2.3:a:vendor:product:1.0:*:*:*:*:*:*:*")
        for record in records { _ = record.match(cpes: [probe], loose: true) }
    case 8:
        guard let record = try? CVERecordFormat.parse(bytes) else { return 0 }
        _ = VulnerabilityIndex(records: [record]).match(
            [InventoryComponent(name: "product", vendor: "vendor", version: "1.0", source: .declared)], loose: true)
    case 9: _ = try? CSAFFormat.parse(bytes)
    case 10: _ = try? OSVFormat.parse(bytes)
    default: _ = try? KEVCatalog.parse(bytes)
    }
    return 0
}
