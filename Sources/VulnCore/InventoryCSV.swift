import RecordInput

/// Inventory spreadsheets: one row per asset or per (asset, software) pair; columns found by their
/// usual French or English names, or named explicitly (`field=Header`).
public enum InventoryCSV {
    public enum Field: String, Sendable, CaseIterable {
        case name, kind, hostname, address, mac, serial, manufacturer, model, firmware
        case operatingSystem = "os"
        case department, location, zone, internet, criticality, safety
        case endOfSupport = "end_of_support"
        case protocols, vendor, product, version, cpe, purl

        /// Headers (normalised) recognised without a mapping.
        var aliases: [String] {
            switch self {
            case .name: return ["name", "nom", "asset", "actif", "equipement", "device_name"]
            case .kind: return ["type", "kind", "categorie", "category", "asset_type"]
            case .hostname: return ["hostname", "host", "fqdn", "nom_dns", "nom_d_hote"]
            case .address: return ["ip", "address", "ip_address", "adresse", "adresse_ip", "ipv4"]
            case .mac: return ["mac", "mac_address", "adresse_mac"]
            case .serial: return ["serial", "serial_number", "numero_de_serie", "n_serie", "sn"]
            case .manufacturer: return ["manufacturer", "fabricant", "constructeur", "marque"]
            case .model: return ["model", "modele"]
            case .firmware: return ["firmware", "micrologiciel", "firmware_version"]
            case .operatingSystem: return ["os", "operating_system", "systeme", "systeme_d_exploitation"]
            case .department: return ["department", "service", "pole", "unite", "departement"]
            case .location: return ["location", "localisation", "site", "batiment", "emplacement"]
            case .zone: return ["zone", "network_zone", "vlan", "zone_reseau", "segment"]
            case .internet:
                return ["internet", "exposed", "internet_exposed", "expose_internet", "exposition_internet"]
            case .criticality: return ["criticality", "criticite", "importance"]
            case .safety: return ["safety", "patient_safety", "safety_impact", "impact_patient", "securite_patient"]
            case .endOfSupport: return ["end_of_support", "eos", "fin_de_support", "end_of_life", "eol", "fin_de_vie"]
            case .protocols: return ["protocols", "protocoles", "protocol"]
            case .vendor: return ["vendor", "editeur", "software_vendor"]
            case .product: return ["product", "produit", "software", "logiciel", "application"]
            case .version: return ["version", "software_version", "version_logiciel"]
            case .cpe: return ["cpe", "cpe23", "cpe_2_3"]
            case .purl: return ["purl", "package_url"]
            }
        }
    }

    /// Parses `field=Header` pairs given on a command line or in a form.
    public static func mapping(_ pairs: [String]) throws(InventoryError) -> [Field: String] {
        var result: [Field: String] = [:]
        for pair in pairs {
            let pieces = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace }
            guard pieces.count == 2, let field = Field(rawValue: pieces[0]) else {
                throw InventoryError(
                    "mapping \(pair): expected field=Header with a field among "
                        + Field.allCases.map(\.rawValue).joined(separator: ", "))
            }
            result[field] = pieces[1]
        }
        return result
    }

    public static func parse(_ bytes: [UInt8], mapping: [Field: String] = [:]) throws(InventoryError)
        -> [InventoryAsset]
    {
        let rows: [[String]]
        do { rows = try CSV.rows(bytes, what: "inventory CSV") } catch { throw InventoryError(error.message) }
        guard let header = rows.first else { throw InventoryError("inventory CSV: the file is empty") }
        let normalised = header.map { ProductKey.normalise($0) }
        var columns: [Field: Int] = [:]
        for field in Field.allCases {
            if let wanted = mapping[field] {
                guard
                    let column = header.firstIndex(where: { $0.trimmingWhitespace == wanted })
                        ?? normalised.firstIndex(of: ProductKey.normalise(wanted))
                else { throw InventoryError("inventory CSV: no column named \"\(wanted)\" for \(field.rawValue)") }
                columns[field] = column
            } else if let column = normalised.firstIndex(where: { field.aliases.contains($0) }) {
                columns[field] = column
            }
        }
        guard columns[.name] != nil || columns[.hostname] != nil || columns[.address] != nil || columns[.serial] != nil
        else {
            throw InventoryError(
                "inventory CSV: no column identifies the asset (name, hostname, address or serial); columns are "
                    + header.joined(separator: ", "))
        }
        var assets: [InventoryAsset] = []
        var byKey: [String: Int] = [:]
        for (offset, row) in rows.dropFirst().enumerated() {
            if row.allSatisfy({ $0.trimmingWhitespace.isEmpty }) { continue }
            let line = offset + 2
            func value(_ field: Field) -> String? {
                guard let column = columns[field], column < row.count else { return nil }
                let text = row[column].trimmingWhitespace
                return text.isEmpty ? nil : text
            }
            let name = value(.name) ?? value(.hostname) ?? value(.address) ?? value(.serial)
            guard let name else { throw InventoryError("inventory CSV: line \(line) names no asset") }
            let key = [value(.serial), value(.hostname), value(.address), value(.name)].compactMap { $0 }.first!
                .lowercased()
            var asset: InventoryAsset
            if let index = byKey[key] { asset = assets[index] } else { asset = InventoryAsset(name: name) }
            if let text = value(.kind) {
                guard let kind = AssetKind(loose: text) else {
                    throw InventoryError(
                        "inventory CSV: line \(line): unknown type \"\(text)\" (server, workstation, network, medical_device, iot, other)"
                    )
                }
                asset.kind = kind
            }
            asset.hostname = value(.hostname) ?? asset.hostname
            if let address = value(.address) {
                for item in address.split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "|" }).map(String.init)
                where !asset.addresses.contains(item) {
                    asset.addresses.append(item)
                }
            }
            if let mac = value(.mac)?.uppercased().replacingAll("-", with: ":"), !asset.macs.contains(mac) {
                asset.macs.append(mac)
            }
            asset.serial = value(.serial) ?? asset.serial
            asset.manufacturer = value(.manufacturer) ?? asset.manufacturer
            asset.model = value(.model) ?? asset.model
            asset.firmware = value(.firmware) ?? asset.firmware
            asset.operatingSystem = value(.operatingSystem) ?? asset.operatingSystem
            asset.department = value(.department) ?? asset.department
            asset.location = value(.location) ?? asset.location
            asset.zone = value(.zone) ?? asset.zone
            if let text = value(.internet) {
                guard let flag = InventoryCSV.bool(text) else {
                    throw InventoryError("inventory CSV: line \(line): internet exposure \"\(text)\" is not yes/no")
                }
                asset.internetExposed = flag
            }
            asset.criticality = value(.criticality) ?? asset.criticality
            asset.safetyImpact = value(.safety) ?? asset.safetyImpact
            asset.endOfSupport = value(.endOfSupport) ?? asset.endOfSupport
            if let text = value(.protocols) {
                asset.protocols = Array(
                    Set(
                        asset.protocols
                            + text.split(whereSeparator: { $0 == "," || $0 == ";" || $0 == " " || $0 == "|" })
                            .map { String($0).uppercased() })
                ).sorted()
            }
            var cpe: CPE?
            if let text = value(.cpe) {
                do { cpe = try CPE(parsing: text) } catch {
                    throw InventoryError("inventory CSV: line \(line): \(error.message)")
                }
            }
            let product = value(.product)
            if product != nil || cpe != nil || value(.purl) != nil {
                let component = InventoryComponent(
                    name: product ?? cpe.map { CPE.unescaped($0.product.text) } ?? PackageURL(value(.purl)!)?.name
                        ?? "",
                    vendor: value(.vendor) ?? cpe.map { CPE.unescaped($0.vendor.text) } ?? "",
                    version: value(.version) ?? cpe?.versionText ?? "", cpe: cpe, purl: value(.purl), source: .csv)
                if !asset.components.contains(component) { asset.components.append(component) }
            }
            if let index = byKey[key] {
                assets[index] = asset
            } else {
                byKey[key] = assets.count
                assets.append(asset)
            }
        }
        return assets
    }

    static func bool(_ text: String) -> Bool? {
        switch ProductKey.normalise(text) {
        case "yes", "y", "oui", "o", "true", "1", "x", "expose", "exposed": return true
        case "no", "n", "non", "false", "0", "", "interne", "internal": return false
        default: return nil
        }
    }
}
