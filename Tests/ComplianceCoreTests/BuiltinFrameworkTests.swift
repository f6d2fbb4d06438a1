import ComplianceCore
import Testing

@Suite struct BuiltinFrameworkTests {
    func framework(_ urn: String) throws -> Framework {
        try #require(try BuiltinFrameworks.all().flatMap(\.frameworks).first { $0.urn == urn })
    }

    @Test func everyBuiltinFrameworkLoadsWithItsOwnerAndLicence() throws {
        let libraries = try BuiltinFrameworks.all()
        #expect(libraries.count == 5)
        for library in libraries {
            #expect(library.packager == "hygie")
            #expect(library.provider != nil && library.copyright?.contains("Hygie") == true)
            #expect(library.translations["en"]?["name"] != nil)
            for node in library.frameworks.flatMap(\.nodes) where node.assessable {
                #expect(node.translations["en"]?["name"] != nil, "\(node.urn) has no English name")
            }
        }
    }

    @Test func anssiHygieneGuideHas42MeasuresInTenThemes() throws {
        let guide = try framework("urn:hygie:risk:framework:anssi-hygiene")
        #expect(guide.assessableCount == 42)
        #expect(guide.nodes.filter { $0.depth == 1 }.count == 10)
        #expect(guide.nodes.filter(\.assessable).map { Int($0.refID ?? "") } == Array(1...42).map(Optional.some))
        #expect(guide.nodes.count { Scoring.applies($0, selected: ["s"]) && $0.assessable } == 39)
        #expect(guide.nodes.contains { $0.rules.indicator?.indicator == "vuln.kev-overdue-exposed" })
    }

    @Test func careDomain2Has13ItemsWithTheirRules() throws {
        let care = try framework("urn:hygie:risk:framework:care-d2")
        #expect(care.assessableCount == 13)
        #expect(
            care.nodes.filter(\.assessable).compactMap(\.refID) == [
                "p1", "p2", "o1.a", "o1.b", "o1.c", "o1.d", "o2.a", "o2.b", "o3.a", "o3.b", "o3.c", "o3.d", "o4",
            ])
        let byRef = Dictionary(uniqueKeysWithValues: care.nodes.compactMap { node in node.refID.map { ($0, node) } })
        #expect(byRef["p1"]?.rules.evidenceAfter == "2022-07-16")
        #expect(byRef["o2.a"]?.rules.evidenceAfter == "2022-07-16")
        #expect(byRef["o1.c"]?.rules.coverageMinimum == 0.66)
        #expect(byRef["o1.d"]?.rules.minimumEvidence == 1)
        #expect(
            byRef["o3.a"]?.rules.indicator
                == IndicatorBinding(indicator: "compliance.ad-level", comparison: .atLeast, threshold: 3))
        #expect(byRef["o4"]?.rules.minimumEvidence == 1)
    }

    @Test func nis2HospiConnectAndActiveDirectory() throws {
        let nis2 = try framework("urn:hygie:risk:framework:nis2-art21")
        #expect(nis2.nodes.filter(\.assessable).compactMap(\.refID) == "abcdefghij".map { "21.2.\($0)" })
        let hospiconnect = try framework("urn:hygie:risk:framework:hospiconnect")
        let consent = hospiconnect.nodes.filter { $0.rules.indicator?.indicator == "ehr.dmp-consent-rate" }
        #expect(consent.map { $0.rules.indicator!.threshold } == [75, 90])
        #expect(consent.map(\.implementationGroups) == [["y2027"], ["y2028"]])
        let users = hospiconnect.nodes.compactMap { $0.rules.indicator }.filter {
            $0.indicator == "ehr.dmp-consulting-users"
        }
        #expect(users.map(\.threshold) == [40, 60])
        let ad = try framework("urn:hygie:risk:framework:anssi-ad-levels")
        #expect(ad.scoring == .levels)
        #expect(ad.implementationGroups.compactMap(\.level) == [1, 2, 3, 4])
    }
}
