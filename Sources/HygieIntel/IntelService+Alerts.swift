import Crypto
public import Foundation
public import HygieCore
import HygieStorage
import SQLKit
public import STIX

/// Indicators that arrive with a coordinator's broadcast alert: they join detection like any other content (a
/// collection of the establishment, *Alertes du hub*), and the sightings already recorded for the same values
/// tell whether the establishment has seen them.
extension IntelService {
    /// The title of the collection that receives broadcast indicators.
    public static let hubAlertsTitle = "Alertes du hub"

    /// Adds a broadcast's indicators to the establishment's hub-alerts collection (created on first use). The
    /// indicator ids derive from the broadcast and the pattern: receiving the same broadcast again adds nothing.
    public func addBroadcastIndicators(
        _ patterns: [String], broadcast uid: String, title: String, tlp: TLP, published: Date,
        for establishment: Establishment.ID
    ) async throws -> AddStatus? {
        guard !patterns.isEmpty else { return nil }
        let scope = Self.federationScope(establishment)
        let collectionID = try await ensureCollection(
            Self.derivedID("hub-alerts:\(establishment.uuid.uuidString)"), title: Self.hubAlertsTitle,
            description: "Indicateurs des alertes diffusées par le hub de coordination.", alias: "hub-alerts", tlp: tlp,
            in: scope)
        let time = STIXTimestamp(published).stixString
        let objects: [[String: Any]] = patterns.map { pattern in
            [
                "type": "indicator", "spec_version": "2.1",
                "id": "indicator--\(Self.derivedID("\(uid)|\(pattern)").uuidString.lowercased())",
                "created": time, "modified": time, "valid_from": time, "name": title, "pattern": pattern,
                "pattern_type": "stix", "indicator_types": ["malicious-activity"],
                "labels": ["hub-broadcast"], "object_marking_refs": [tlp.markingDefinitionID],
                "external_references": [["source_name": "hygie-hub", "external_id": uid]],
            ]
        }
        let bundle = try JSONSerialization.data(
            withJSONObject: [
                "type": "bundle", "id": "bundle--\(UUID().uuidString.lowercased())", "objects": objects,
            ], options: [.sortedKeys])
        return try await importContent(Array(bundle), format: .stix, into: collectionID, in: scope)
    }

    /// For each set of `observables`, how many times its values were seen in the establishment's logs, whichever
    /// collection the matching indicator came from (the sightings are read once).
    public func sightingCounts(of observables: [Set<IOC>], for establishment: Establishment.ID) async throws -> [Int] {
        var totals = Array(repeating: 0, count: observables.count)
        guard observables.contains(where: { !$0.isEmpty }) else { return totals }
        let rows = try await sql.raw(
            """
            SELECT s.count, o.body FROM intel_sightings s JOIN intel_objects o ON o.collection_id = s.collection_id \
            AND o.stix_id = s.indicator_id AND o.is_latest = \(bind: true) \
            WHERE s.establishment_id = \(bind: establishment.uuid) LIMIT 5000
            """
        ).all()
        for row in rows {
            let body = try row.decode(column: "body", as: String.self)
            guard let object = try? JSONParser.parse(Array(body.utf8)), case .string(let text)? = object["pattern"],
                let pattern = try? PatternParser.parse(text), let found = IOC.extract(from: pattern)
            else { continue }
            let count = Int(try row.decode(column: "count", as: Int64.self))
            for (position, wanted) in observables.enumerated() where found.contains(where: wanted.contains) {
                totals[position] += count
            }
        }
        return totals
    }

    /// A stable UUID from a text (the first 128 bits of its SHA-256, version bits set).
    static func derivedID(_ text: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Data(text.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
