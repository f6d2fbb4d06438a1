import Testing

@testable import VulnCore

@Suite struct InventoryTests {
    @Test func nmapReportGivesOneHostAndItsOpenService() throws {
        let assets = try NmapXML.parse(try dataFile("nmap/nmap_sample_localhost.xml"))
        #expect(assets.count == 1)
        let host = try #require(assets.first)
        #expect(host.hostname == "localhost" && host.addresses == ["127.0.0.1"])
        #expect(
            host.services == [
                InventoryService(
                    port: 18080, transport: "tcp", name: "http", product: "SimpleHTTPServer", version: "0.6")
            ])
        #expect(host.components.count == 1)
        #expect(host.components.first?.cpe?.description == "cpe:2.3:a:python:simplehttpserver:0.6:*:*:*:*:*:*:*")
        #expect(host.components.first?.source == .nmap)
    }

    @Test func nmapFillsTheVersionAndReadsMACs() throws {
        let xml = """
            <?xml version="1.0"?><nmaprun><host><status state="up"/>
            <address addr="10.2.0.15" addrtype="ipv4"/><address addr="00:09:fb:12:34:56" addrtype="mac" vendor="Philips Medical Systems"/>
            <ports><port protocol="tcp" portid="104"><state state="open"/><service name="dicom" product="Orthanc" version="1.12.1"><cpe>cpe:/a:orthanc-server:orthanc</cpe></service></port></ports>
            </host><host><status state="down"/><address addr="10.2.0.16" addrtype="ipv4"/></host></nmaprun>
            """
        let assets = try NmapXML.parse(Array(xml.utf8))
        #expect(assets.count == 1)
        #expect(assets[0].macs == ["00:09:FB:12:34:56"] && assets[0].manufacturer == "Philips Medical Systems")
        #expect(assets[0].components.first?.cpe?.description == "cpe:2.3:a:orthanc-server:orthanc:1.12.1:*:*:*:*:*:*:*")
    }

    @Test func brokenXMLIsRefused() {
        for xml in [
            "", "<nmaprun>", "<nmaprun><host></nmaprun>", "<other/>", "<nmaprun a=b/>", "not xml",
            String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100),
        ] {
            #expect(throws: InventoryError.self, "\(xml.prefix(30))") { try NmapXML.parse(Array(xml.utf8)) }
        }
    }

    @Test func cycloneDXDeviceWithFDASupportProperties() throws {
        let json = """
            {"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"device","name":"Alaris 8015 PC Unit","version":"12.1.2",
              "manufacturer":{"name":"BD"},"properties":[{"name":"fda:end-of-support","value":"2028-12-31"}]}},
             "components":[
               {"type":"operating-system","name":"Windows CE","version":"6.0","supplier":{"name":"Microsoft"},
                "cpe":"cpe:2.3:o:microsoft:windows_ce:6.0:*:*:*:*:*:*:*",
                "properties":[{"name":"fda:support-level","value":"unsupported"},{"name":"fda:end-of-support","value":"2018-04-10"}]},
               {"type":"library","name":"openssl","version":"1.0.2k","purl":"pkg:generic/openssl@1.0.2k",
                "components":[{"type":"library","name":"zlib","version":"1.2.11"}]}]}
            """
        let asset = try SBOM.parse(Array(json.utf8))
        #expect(asset.kind == .medicalDevice && asset.manufacturer == "BD" && asset.firmware == "12.1.2")
        #expect(asset.endOfSupport == "2028-12-31")
        #expect(asset.components.map(\.name) == ["Windows CE", "openssl", "zlib"])
        #expect(asset.components[0].supportLevel == "unsupported" && asset.components[0].endOfSupport == "2018-04-10")
        #expect(asset.components[0].cpe?.productKey == "microsoft:windows_ce")
        #expect(throws: InventoryError.self) {
            try SBOM.parse(Array(#"{"bomFormat":"CycloneDX","specVersion":"1.2"}"#.utf8))
        }
        #expect(throws: InventoryError.self) {
            try SBOM.parse(Array(#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["#.utf8))
        }
        #expect(throws: InventoryError.self) { try SBOM.parse(Array(#"{"hello":1}"#.utf8)) }
    }

    @Test func spdxDocumentDescribesTheDevice() throws {
        let json = """
            {"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"pacs-sbom","documentDescribes":["SPDXRef-pacs"],
             "packages":[
               {"SPDXID":"SPDXRef-pacs","name":"Vue PACS","versionInfo":"12.2.8","supplier":"Organization: Philips","primaryPackagePurpose":"DEVICE"},
               {"SPDXID":"SPDXRef-log4j","name":"log4j-core","versionInfo":"2.14.1","supplier":"Organization: Apache",
                "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
                                {"referenceCategory":"SECURITY","referenceType":"cpe23Type","referenceLocator":"cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*"}],
                "annotations":[{"comment":"support-level=security-only; end-of-support=2025-06-30"}]}],
             "relationships":[]}
            """
        let asset = try SBOM.parse(Array(json.utf8))
        #expect(asset.name == "Vue PACS" && asset.manufacturer == "Philips" && asset.kind == .medicalDevice)
        #expect(asset.components.count == 1)
        let log4j = asset.components[0]
        #expect(log4j.cpe?.productKey == "apache:log4j" && log4j.supportLevel == "security-only")
        #expect(log4j.keys.contains("pkg:maven:org.apache.logging.log4j:log4j-core"))
        #expect(throws: InventoryError.self) { try SBOM.parse(Array(#"{"spdxVersion":"SPDX-3.0"}"#.utf8)) }
    }

    @Test func csvWithFrenchHeadersAndOneRowPerSoftware() throws {
        let csv = """
            Nom;Type;Adresse IP;Fabricant;Modèle;Service;Exposé Internet;Impact patient;Éditeur;Logiciel;Version
            PACS-01;Serveur;10.1.0.10;Philips;Vue PACS;Imagerie;non;high;Philips;Vue PACS;12.2.8.400
            PACS-01;Serveur;10.1.0.10;Philips;Vue PACS;Imagerie;non;high;Microsoft;Windows Server 2016;1607
            POMPE-12;biomédical;10.3.1.12;B. Braun;Space;Réanimation;non;catastrophic;;;
            """
        let assets = try InventoryCSV.parse(Array(csv.utf8))
        #expect(assets.count == 2)
        #expect(assets[0].kind == .server && assets[0].internetExposed == false && assets[0].department == "Imagerie")
        #expect(assets[0].components.map(\.name) == ["Vue PACS", "Windows Server 2016"])
        #expect(
            assets[1].kind == .medicalDevice && assets[1].components.isEmpty && assets[1].safetyImpact == "catastrophic"
        )
    }

    @Test func csvColumnMappingAndErrors() throws {
        let csv = "Equipment,Risk zone,Soft,Ver\nfw-edge,dmz,FortiOS,7.2.6\n"
        let mapping = try InventoryCSV.mapping(["name=Equipment", "zone=Risk zone", "product=Soft", "version=Ver"])
        let assets = try InventoryCSV.parse(Array(csv.utf8), mapping: mapping)
        #expect(assets.first?.zone == "dmz" && assets.first?.components.first?.version == "7.2.6")
        #expect(throws: InventoryError.self) { try InventoryCSV.mapping(["colour=Equipment"]) }
        #expect(throws: InventoryError.self) { try InventoryCSV.parse(Array(csv.utf8), mapping: [.name: "Missing"]) }
        #expect(throws: InventoryError.self) { try InventoryCSV.parse(Array("a,b\n1,2\n".utf8)) }
        #expect(throws: InventoryError.self) { try InventoryCSV.parse(Array("name,type\nx,spaceship\n".utf8)) }
        #expect(throws: InventoryError.self) { try InventoryCSV.parse(Array("name,cpe\nx,cpe:2.3:bad\n".utf8)) }
        #expect(throws: InventoryError.self) { try InventoryCSV.parse(Array("name,type\n\"x,server\n".utf8)) }
        #expect(throws: InventoryError.self) { try InventoryCSV.parse([]) }
        // A 2 MiB field is refused, not kept.
        let huge = "name,notes\nx," + String(repeating: "A", count: 2 << 20) + "\n"
        #expect(throws: InventoryError.self) { try InventoryCSV.parse(Array(huge.utf8)) }
        #expect(throws: InventoryError.self) {
            try NmapXML.parse(Array(("<nmaprun a=\"" + String(repeating: "x", count: 1 << 20)).utf8))
        }
    }

    @Test func packageURLs() throws {
        let purl = try #require(PackageURL("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar"))
        #expect(
            purl.ecosystem == "Maven" && purl.osvName == "org.apache.logging.log4j:log4j-core"
                && purl.version == "2.14.1")
        #expect(PackageURL("pkg:npm/%40angular/core@1.0")?.osvName == "@angular/core")
        #expect(PackageURL("pkg:") == nil && PackageURL("http://x") == nil && PackageURL("pkg:npm") == nil)
    }
}
