import STIX

public enum AssetKind: String, Sendable, Codable, CaseIterable {
    case server
    case workstation
    case network
    case medicalDevice = "medical_device"
    case iot
    case other

    /// Reads the kinds people write in spreadsheets (`Serveur`, `biomédical`, `switch`…).
    public init?(loose text: String) {
        let value = ProductKey.normalise(text)
        if let exact = AssetKind(rawValue: value) {
            self = exact
            return
        }
        switch value {
        case "serveur", "srv", "vm", "virtual_machine": self = .server
        case "poste", "poste_de_travail", "pc", "laptop", "desktop", "portable", "ordinateur": self = .workstation
        case "reseau", "switch", "router", "routeur", "firewall", "pare_feu", "wifi", "access_point", "vpn":
            self = .network
        case "medical", "biomedical", "dispositif_medical", "dm", "medical_device", "modality", "modalite", "iomt":
            self = .medicalDevice
        case "objet_connecte", "camera", "printer", "imprimante", "badge", "bms", "gtb": self = .iot
        default: return nil
        }
    }
}

/// Where a component's identity and version came from: declared ones are trusted more than banners.
public enum ComponentSource: String, Sendable, Codable, CaseIterable {
    case declared
    case csv
    case sbom
    case nmap
}

public struct InventoryComponent: Sendable, Equatable {
    public var name: String
    public var vendor: String
    public var version: String
    public var cpe: CPE?
    public var purl: String?
    public var source: ComponentSource
    /// FDA premarket guidance: the manufacturer's support level and end-of-support date of a component.
    public var supportLevel: String?
    public var endOfSupport: String?

    public init(
        name: String, vendor: String = "", version: String = "", cpe: CPE? = nil, purl: String? = nil,
        source: ComponentSource, supportLevel: String? = nil, endOfSupport: String? = nil
    ) {
        self.name = name
        self.vendor = vendor
        self.version = version
        self.cpe = cpe
        self.purl = purl
        self.source = source
        self.supportLevel = supportLevel
        self.endOfSupport = endOfSupport
    }

    /// The version to compare: the declared one, else the CPE's.
    public var effectiveVersion: String? {
        if !version.isEmpty { return version }
        return cpe?.versionText
    }

    /// Index keys this component can be found under.
    public var keys: [String] {
        var result: Set<String> = []
        if let cpe, let key = ProductKey.make(cpe: cpe) { result.insert(key) }
        if !vendor.isEmpty, let key = ProductKey.make(vendor: vendor, product: name) { result.insert(key) }
        if let purl, let package = PackageURL(purl) {
            result.insert(ProductKey.package(ecosystem: package.ecosystem, name: package.osvName))
        }
        return result.sorted()
    }
}

/// A network service seen by a scanner.
public struct InventoryService: Sendable, Equatable {
    public var port: Int
    public var transport: String
    public var name: String
    public var product: String
    public var version: String
}

/// An asset as an import file describes it, before it meets the inventory.
public struct InventoryAsset: Sendable {
    public var name: String
    public var kind: AssetKind?
    public var hostname: String?
    public var addresses: [String] = []
    public var macs: [String] = []
    public var serial: String?
    public var manufacturer: String?
    public var model: String?
    public var firmware: String?
    public var operatingSystem: String?
    public var department: String?
    public var location: String?
    public var zone: String?
    public var internetExposed: Bool?
    public var criticality: String?
    public var safetyImpact: String?
    public var endOfSupport: String?
    public var protocols: [String] = []
    public var components: [InventoryComponent] = []
    public var services: [InventoryService] = []

    public init(name: String) { self.name = name }
}

public struct InventoryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: purl

/// A package URL (`pkg:type/namespace/name@version`), enough to find OSV records.
public struct PackageURL: Sendable, Equatable {
    public var type: String
    public var namespace: String?
    public var name: String
    public var version: String?

    public init?(_ text: String) {
        guard text.hasPrefix("pkg:"), text.count <= 2048 else { return nil }
        var rest = Substring(text.dropFirst(4))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        if let question = rest.firstIndex(of: "?") { rest = rest[..<question] }
        if let at = rest.lastIndex(of: "@") {
            version = String(rest[rest.index(after: at)...]).removingPercentEncoding
            rest = rest[..<at]
        }
        let parts = rest.split(separator: "/").map { String($0).removingPercentEncoding }
        guard parts.count >= 2, !parts[0].isEmpty, !parts[parts.count - 1].isEmpty else { return nil }
        type = parts[0].lowercased()
        name = parts[parts.count - 1]
        namespace = parts.count > 2 ? parts[1..<(parts.count - 1)].joined(separator: "/") : nil
    }

    /// The OSV ecosystem of this package type.
    public var ecosystem: String {
        switch type {
        case "pypi": return "PyPI"
        case "npm": return "npm"
        case "maven": return "Maven"
        case "golang": return "Go"
        case "cargo": return "crates.io"
        case "gem": return "RubyGems"
        case "nuget": return "NuGet"
        case "composer": return "Packagist"
        case "deb": return namespace?.lowercased() == "ubuntu" ? "Ubuntu" : "Debian"
        case "rpm": return "Red Hat"
        default: return type
        }
    }

    /// The package name as OSV writes it (`group:artifact` for Maven, `namespace/name` for npm and Go).
    public var osvName: String {
        guard let namespace, !namespace.isEmpty else { return name }
        switch type {
        case "maven": return namespace + ":" + name
        case "npm", "golang", "composer": return namespace + "/" + name
        default: return name
        }
    }
}

extension String {
    var removingPercentEncoding: String {
        guard contains("%") else { return self }
        var out: [UInt8] = []
        let bytes = Array(utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
            {
                out.append(value)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

// MARK: XML (enough for nmap)

/// A small XML reader: elements, attributes and text; declarations, comments, DOCTYPE and processing
/// instructions skipped; bounded depth.
struct XMLElement {
    var name: String
    var attributes: [String: String]
    var children: [XMLElement]
    var text: String

    func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
}

struct XMLReader {
    let bytes: [UInt8]
    var index = 0

    static func parse(_ bytes: [UInt8]) throws(InventoryError) -> XMLElement {
        var reader = XMLReader(bytes: bytes)
        reader.skipProlog()
        guard reader.index < bytes.count, bytes[reader.index] == UInt8(ascii: "<") else {
            throw InventoryError("not an XML document")
        }
        return try reader.element(depth: 0)
    }

    func error(_ message: String) -> InventoryError { InventoryError("XML: \(message) at byte \(index)") }

    mutating func skipSpace() {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
        {
            index += 1
        }
    }

    func starts(with text: String) -> Bool {
        let pattern = Array(text.utf8)
        return index + pattern.count <= bytes.count && Array(bytes[index..<(index + pattern.count)]) == pattern
    }

    mutating func skip(past text: String) {
        let pattern = Array(text.utf8)
        while index < bytes.count, !starts(with: text) { index += 1 }
        index = min(bytes.count, index + pattern.count)
    }

    /// Skips a byte order mark, the XML declaration, comments, DOCTYPE and processing instructions.
    mutating func skipProlog() {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        while true {
            skipSpace()
            if starts(with: "<?") {
                skip(past: "?>")
            } else if starts(with: "<!--") {
                skip(past: "-->")
            } else if starts(with: "<!") {
                skip(past: ">")
            } else {
                return
            }
        }
    }

    mutating func name() throws(InventoryError) -> String {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 || byte == UInt8(ascii: ">")
                || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
            {
                break
            }
            index += 1
        }
        guard index > start else { throw error("expected a name") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func element(depth: Int) throws(InventoryError) -> XMLElement {
        guard depth < 64 else { throw error("elements nested too deeply") }
        index += 1  // <
        let tag = try name()
        var element = XMLElement(name: tag, attributes: [:], children: [], text: "")
        while true {
            skipSpace()
            guard index < bytes.count else { throw error("unterminated <\(tag)>") }
            if starts(with: "/>") {
                index += 2
                return element
            }
            if bytes[index] == UInt8(ascii: ">") {
                index += 1
                break
            }
            let key = try name()
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                throw error("attribute \(key) without value")
            }
            index += 1
            skipSpace()
            guard index < bytes.count, bytes[index] == 0x22 || bytes[index] == 0x27 else {
                throw error("attribute \(key) value is not quoted")
            }
            let quote = bytes[index]
            index += 1
            let start = index
            while index < bytes.count, bytes[index] != quote { index += 1 }
            guard index < bytes.count else { throw error("unterminated attribute \(key)") }
            element.attributes[key] = XMLReader.decode(bytes[start..<index])
            index += 1
        }
        var text: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("<\(tag)> is never closed") }
            if starts(with: "</") {
                index += 2
                let closing = try name()
                guard closing == tag else { throw error("</\(closing)> closes <\(tag)>") }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
                    throw error("malformed closing tag")
                }
                index += 1
                element.text = XMLReader.decode(text[...]).trimmingWhitespace
                return element
            }
            if starts(with: "<!--") {
                skip(past: "-->")
            } else if starts(with: "<![CDATA[") {
                index += 9
                let start = index
                skip(past: "]]>")
                text += bytes[start..<max(start, index - 3)]
            } else if starts(with: "<?") {
                skip(past: "?>")
            } else if bytes[index] == UInt8(ascii: "<") {
                element.children.append(try self.element(depth: depth + 1))
            } else {
                text.append(bytes[index])
                index += 1
            }
        }
    }

    static func decode(_ raw: ArraySlice<UInt8>) -> String {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var text = String(decoding: raw, as: UTF8.self)
        for (entity, value) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&apos;", "'")] {
            text = text.replacingAll(entity, with: value)
        }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[amp...]
            if after.hasPrefix("&#"), let semicolon = after.firstIndex(of: ";"),
                after.distance(from: after.startIndex, to: semicolon) < 12
            {
                let body = after[after.index(after.startIndex, offsetBy: 2)..<semicolon]
                let value = body.hasPrefix("x") ? UInt32(body.dropFirst(), radix: 16) : UInt32(body)
                if let value, let scalar = Unicode.Scalar(value) {
                    out.unicodeScalars.append(scalar)
                    rest = after[after.index(after: semicolon)...]
                    continue
                }
            }
            if after.hasPrefix("&amp;") {
                out += "&"
                rest = after.dropFirst(5)
                continue
            }
            out += "&"
            rest = after.dropFirst()
        }
        return out + rest
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.range(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Index>? {
        guard let first = target.first else { return nil }
        var index = startIndex
        while let found = self[index...].firstIndex(of: first) {
            if self[found...].hasPrefix(target) {
                return found..<self.index(found, offsetBy: target.count)
            }
            index = self.index(after: found)
        }
        return nil
    }
}

// MARK: nmap

public enum NmapXML {
    /// Hosts that are up, with their open services; service and OS CPEs become components.
    public static func parse(_ bytes: [UInt8]) throws(InventoryError) -> [InventoryAsset] {
        let root = try XMLReader.parse(bytes)
        guard root.name == "nmaprun" else { throw InventoryError("not an nmap XML report (root is <\(root.name)>)") }
        var assets: [InventoryAsset] = []
        for host in root.all("host") where host.child("status")?.attributes["state"] ?? "up" == "up" {
            let addresses = host.all("address")
            let ips = addresses.filter { ($0.attributes["addrtype"] ?? "ipv4") != "mac" }.compactMap {
                $0.attributes["addr"]
            }
            let macs = addresses.filter { $0.attributes["addrtype"] == "mac" }.compactMap {
                $0.attributes["addr"]?.uppercased()
            }
            let hostname = host.child("hostnames")?.all("hostname").first?.attributes["name"]
            var asset = InventoryAsset(name: hostname ?? ips.first ?? macs.first ?? "host")
            asset.hostname = hostname
            asset.addresses = ips
            asset.macs = macs
            if let vendor = addresses.first(where: { $0.attributes["addrtype"] == "mac" })?.attributes["vendor"] {
                asset.manufacturer = vendor
            }
            for port in host.child("ports")?.all("port") ?? [] where port.child("state")?.attributes["state"] == "open"
            {
                let service = port.child("service")
                let product = service?.attributes["product"] ?? ""
                let version = service?.attributes["version"] ?? ""
                asset.services.append(
                    InventoryService(
                        port: Int(port.attributes["portid"] ?? "") ?? 0,
                        transport: port.attributes["protocol"] ?? "tcp",
                        name: service?.attributes["name"] ?? "", product: product, version: version))
                for cpeElement in service?.all("cpe") ?? [] {
                    guard var cpe = try? CPE(parsing: cpeElement.text) else { continue }
                    if cpe.versionText == nil, !version.isEmpty, cpe.part.text == "a" {
                        cpe = cpe.with(version: version)
                    }
                    let component = InventoryComponent(
                        name: product.isEmpty ? CPE.unescaped(cpe.product.text) : product,
                        vendor: CPE.unescaped(cpe.vendor.text), version: cpe.versionText ?? "", cpe: cpe, source: .nmap)
                    if !asset.components.contains(component) { asset.components.append(component) }
                }
            }
            // The best OS guess, when nmap is confident.
            if let match = host.child("os")?.all("osmatch").first, Int(match.attributes["accuracy"] ?? "0") ?? 0 >= 95 {
                asset.operatingSystem = match.attributes["name"]
                for osclass in match.all("osclass") {
                    for element in osclass.all("cpe") {
                        guard let cpe = try? CPE(parsing: element.text) else { continue }
                        let component = InventoryComponent(
                            name: CPE.unescaped(cpe.product.text), vendor: CPE.unescaped(cpe.vendor.text),
                            version: cpe.versionText ?? "", cpe: cpe, source: .nmap)
                        if !asset.components.contains(component) { asset.components.append(component) }
                    }
                }
            }
            assets.append(asset)
        }
        return assets
    }
}

// MARK: SBOMs

public enum SBOM {
    /// A CycloneDX 1.4–1.6 or SPDX 2.2/2.3 JSON document: the device it describes and its components.
    public static func parse(_ bytes: [UInt8]) throws(InventoryError) -> InventoryAsset {
        let document: JSONValue
        do { document = try JSONParser.parse(bytes) } catch { throw InventoryError("SBOM: invalid JSON (\(error))") }
        if document.text("bomFormat") == "CycloneDX" { return try cycloneDX(document) }
        if document.text("spdxVersion") != nil { return try spdx(document) }
        throw InventoryError("not a CycloneDX (bomFormat) or SPDX (spdxVersion) JSON document")
    }

    static func property(_ value: JSONValue, _ names: [String]) -> String? {
        for property in value["properties"]?.list ?? [] {
            guard let name = property.text("name")?.lowercased() else { continue }
            if names.contains(where: { name.hasSuffix($0) }) { return property.text("value") }
        }
        return nil
    }

    static let supportNames = ["support-level", "support_level", "supportlevel", "level-of-support", "support:level"]
    static let endNames = [
        "end-of-support", "end_of_support", "endofsupport", "support:end", "end-of-support-date", "eos", "end-of-life",
    ]

    static func cycloneDX(_ document: JSONValue) throws(InventoryError) -> InventoryAsset {
        let spec = document.text("specVersion") ?? ""
        guard ["1.4", "1.5", "1.6"].contains(spec) else {
            throw InventoryError(
                "CycloneDX \(spec.isEmpty ? "without specVersion" : spec): versions 1.4 to 1.6 are supported")
        }
        let subject = document["metadata"]?["component"]
        var asset = InventoryAsset(name: subject?.text("name") ?? "SBOM")
        asset.manufacturer =
            subject?["manufacturer"]?.text("name") ?? subject?["supplier"]?.text("name")
            ?? document["metadata"]?["manufacture"]?.text("name") ?? document["metadata"]?["supplier"]?.text("name")
        asset.model = subject?.text("name")
        asset.firmware = subject?.text("version")
        asset.serial = subject.flatMap { property($0, ["serial", "serial-number", "serialnumber"]) }
        if let type = subject?.text("type"), type == "device" { asset.kind = .medicalDevice }
        asset.endOfSupport = subject.flatMap { property($0, endNames) }
        var queue = document["components"]?.list ?? []
        var seen = 0
        while !queue.isEmpty {
            let item = queue.removeFirst()
            seen += 1
            guard seen <= 200_000 else { throw InventoryError("SBOM: more than 200,000 components") }
            queue += item["components"]?.list ?? []
            guard let name = item.text("name") else { continue }
            var component = InventoryComponent(
                name: name,
                vendor: item["supplier"]?.text("name") ?? item["manufacturer"]?.text("name") ?? item.text("publisher")
                    ?? item.text("group") ?? "", version: item.text("version") ?? "", source: .sbom)
            if let text = item.text("cpe") { component.cpe = try? CPE(parsing: text) }
            component.purl = item.text("purl")
            component.supportLevel = property(item, supportNames)
            component.endOfSupport = property(item, endNames)
            asset.components.append(component)
        }
        return asset
    }

    static func spdx(_ document: JSONValue) throws(InventoryError) -> InventoryAsset {
        let version = document.text("spdxVersion") ?? ""
        guard version == "SPDX-2.3" || version == "SPDX-2.2" else {
            throw InventoryError("\(version): SPDX 2.2 and 2.3 JSON are supported")
        }
        var asset = InventoryAsset(name: document.text("name") ?? "SBOM")
        let described = Set(document["documentDescribes"]?.list.compactMap(\.stringValue) ?? [])
        let relationships = document["relationships"]?.list ?? []
        let describedIDs = described.union(
            relationships.filter { $0.text("relationshipType") == "DESCRIBES" }.compactMap {
                $0.text("relatedSpdxElement")
            })
        for package in document["packages"]?.list ?? [] {
            guard let name = package.text("name") else { continue }
            let supplier = (package.text("supplier") ?? package.text("originator") ?? "")
                .replacingAll("Organization: ", with: "").replacingAll("Person: ", with: "")
            let version = package.text("versionInfo") ?? ""
            if let id = package.text("SPDXID"), describedIDs.contains(id) {
                asset.name = name
                asset.model = name
                asset.firmware = version
                asset.manufacturer = supplier.isEmpty || supplier == "NOASSERTION" ? nil : supplier
                if package.text("primaryPackagePurpose") == "DEVICE" { asset.kind = .medicalDevice }
                asset.endOfSupport = package.text("validUntilDate").map { String($0.prefix(10)) }
                continue
            }
            var component = InventoryComponent(
                name: name, vendor: supplier == "NOASSERTION" ? "" : supplier, version: version, source: .sbom)
            for reference in package["externalRefs"]?.list ?? [] {
                let type = reference.text("referenceType") ?? ""
                guard let locator = reference.text("referenceLocator") else { continue }
                if type == "cpe23Type" || type == "cpe22Type" {
                    component.cpe = component.cpe ?? (try? CPE(parsing: locator))
                }
                if type == "purl" { component.purl = locator }
            }
            component.endOfSupport = package.text("validUntilDate").map { String($0.prefix(10)) }
            for annotation in package["annotations"]?.list ?? [] {
                let comment = annotation.text("comment") ?? ""
                for (key, value) in comment.split(separator: ";").compactMap(pair) {
                    if supportNames.contains(key) { component.supportLevel = value }
                    if endNames.contains(key) { component.endOfSupport = value }
                }
            }
            asset.components.append(component)
        }
        return asset
    }

    static func pair(_ text: Substring) -> (String, String)? {
        let pieces = text.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace }
        guard pieces.count == 2 else { return nil }
        return (pieces[0].lowercased(), pieces[1])
    }
}
