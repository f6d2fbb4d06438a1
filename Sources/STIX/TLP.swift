import Foundation

/// Traffic Light Protocol levels (FIRST TLP 2.0), ordered from the most to the least shareable.
///
/// TLP 1.0 markings (`WHITE`, `GREEN`, `AMBER`, `RED`) are read as their 2.0 equivalents.
public enum TLP: String, Sendable, Codable, CaseIterable, Comparable, Hashable {
    case clear
    case green
    case amber
    case amberStrict = "amber+strict"
    case red

    public var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (lhs: TLP, rhs: TLP) -> Bool { lhs.rank < rhs.rank }

    /// `TLP:AMBER+STRICT`
    public var label: String { "TLP:" + rawValue.uppercased() }

    /// Accepts `amber+strict`, `AMBER+STRICT`, `TLP:AMBER`, `white` (TLP 1.0) and the like.
    public init?(name: String) {
        var text = name.lowercased().trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("tlp:") { text.removeFirst(4) }
        if text == "white" { text = "clear" }
        if text == "amber-strict" || text == "amber strict" { text = "amber+strict" }
        self.init(rawValue: text)
    }

    /// The extension that carries TLP 2.0 in a STIX marking definition.
    public static let extensionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

    /// The marking-definition ids OASIS publishes for TLP 2.0 (cti-stix-common-objects).
    public var markingDefinitionID: String {
        switch self {
        case .clear: return "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
        case .green: return "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
        case .amber: return "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
        case .amberStrict: return "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
        case .red: return "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
        }
    }

    /// TLP 1.0 marking-definition ids defined in STIX 2.1 section 7.2.1.4.
    static let tlp1: [String: TLP] = [
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": .clear,
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": .green,
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": .amber,
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": .red,
    ]

    static let byMarkingID: [String: TLP] = {
        var table = tlp1
        for level in TLP.allCases { table[level.markingDefinitionID] = level }
        return table
    }()

    /// The TLP level a marking-definition id stands for, if it is one of the published TLP markings.
    public init?(markingDefinitionID: String) {
        guard let level = Self.byMarkingID[markingDefinitionID] else { return nil }
        self = level
    }

    /// The strictest TLP among an object's `object_marking_refs` (nil when it carries none).
    public static func strictest(in markingRefs: [String]) -> TLP? {
        markingRefs.compactMap { TLP(markingDefinitionID: $0) }.max()
    }

    /// The STIX marking-definition object for this level, as OASIS publishes it.
    public var markingDefinition: JSONValue {
        .object([
            .init("type", .string("marking-definition")),
            .init("spec_version", .string("2.1")),
            .init("id", .string(markingDefinitionID)),
            .init("created", .string("2022-10-01T00:00:00.000Z")),
            .init("name", .string(label)),
            .init(
                "extensions",
                .object([
                    .init(
                        Self.extensionID,
                        .object([
                            .init("extension_type", .string("property-extension")),
                            .init("tlp_2_0", .string(rawValue)),
                        ]))
                ])),
        ])
    }
}
