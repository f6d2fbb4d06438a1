import ComplianceCore
import Foundation
import Testing

@Suite struct LibraryReaderTests {
    /// Framework URN, nodes, assessable nodes and implementation-group counts of every framework file.
    static let expected: [String: (urn: String, nodes: Int, assessable: Int, groups: [String: Int])] = [
        "annex-nis2-regulation--2024-2690-with-technical-implementation-guidance-by-enisa.yaml": (
            "urn:intuitem:risk:framework:annex-technical-and-methodological-requirements-nis2", 439, 351, [:]
        ),
        "ans-care-domaine2.yaml": ("urn:lulustucru-dsn:risk:framework:ans-care:d2", 17, 13, [:]),
        "ans-hospiconnect-hopen2.yaml": ("urn:lulustucru-dsn:risk:framework:ans-hospiconnect-hopen2", 27, 17, [:]),
        "anssi-guide-hygiene-detail.yaml": (
            "urn:intuitem:risk:framework:anssi-guide-hygiene-detail", 259, 200, ["S": 207, "R": 62]
        ),
        "anssi-guide-hygiene.yaml": ("urn:intuitem:risk:framework:anssi-guide-hygiene", 71, 61, ["S": 39, "R": 22]),
        "anssi-maturite-gestion-crise-1.0.2.yaml": (
            "urn:intuitem:risk:framework:anssi-maturite-gestion-crise-1.0.2", 62, 57, ["S": 31, "O": 26]
        ),
        "anssi-points-de-controle-active-directory.yaml": (
            "urn:intuitem:risk:framework:anssi-points-de-controle-active-directory", 100, 95,
            ["level_1": 37, "level_2": 30, "level_3": 22, "level_4": 6]
        ),
        "gdpr.yaml": ("urn:intuitem:risk:framework:gdpr", 1090, 287, [:]),
        "hds-v2.yaml": ("urn:intuitem:risk:framework:hds-v2023-a", 82, 71, [:]),
        "nis1-rules-fr.yaml": ("urn:intuitem:risk:framework:nis1-rules-fr", 234, 196, [:]),
        "nis2-directive.yaml": ("urn:intuitem:risk:framework:nis2-directive", 17, 13, [:]),
        "nist-csf-2.0.yaml": ("urn:intuitem:risk:framework:nist-csf-2.0", 134, 106, [:]),
        "pgssi-s-1.0.yaml": ("urn:ackwa:risk:framework:pgssi-s-1.0", 443, 336, [:]),
        "recyf.yaml": ("urn:intuitem:risk:framework:recyf", 186, 152, ["EI": 76, "EE": 152]),
    ]

    static func load(_ file: String) throws -> FrameworkLibrary {
        try LibraryReader.read(frameworkFile("ciso-assistant/\(file)"))
    }

    @Test func importsEveryFrameworkFileWithItsTreeAndGroups() throws {
        let files = try cisoAssistantFiles()
        #expect(files.count == 17)
        var frameworks = 0
        for path in files {
            let library = try LibraryReader.read(frameworkFile(path))
            let name = String(path.dropFirst("ciso-assistant/".count))
            guard let expectation = Self.expected[name] else {
                #expect(library.frameworks.isEmpty, "\(name) should hold no framework")
                continue
            }
            frameworks += 1
            let framework = try #require(library.frameworks.first)
            #expect(framework.urn == expectation.urn, "\(name)")
            #expect(framework.nodes.count == expectation.nodes, "\(name)")
            #expect(framework.assessableCount == expectation.assessable, "\(name)")
            var groups: [String: Int] = [:]
            for node in framework.nodes { for group in node.implementationGroups { groups[group, default: 0] += 1 } }
            #expect(groups == expectation.groups, "\(name)")
            #expect(library.version >= 1 && !library.name.isEmpty && library.copyright != nil, "\(name)")
        }
        #expect(frameworks == 14)
    }

    @Test func keepsScalesQuestionsTextAndTranslations() throws {
        let crisis = try #require(try Self.load("anssi-maturite-gestion-crise-1.0.2.yaml").frameworks.first)
        #expect(crisis.minScore == 0 && crisis.maxScore == 3)
        #expect(crisis.scores.map(\.score) == [0, 1, 2, 3])
        #expect(crisis.implementationGroups.map(\.refID) == ["S", "O"])
        let hygiene = try Self.load("anssi-guide-hygiene.yaml")
        #expect(hygiene.translations["en"]?["name"] == "Guideline for a healthy information system")
        #expect(hygiene.dependencies == ["urn:intuitem:risk:library:doc-pol"])
        let first = try #require(hygiene.frameworks.first?.nodes.first { $0.assessable })
        #expect(first.refID == "1" && first.parentURN != nil && first.depth == 2)
        #expect(first.name(in: "en") != first.name)
        let ad = try #require(try Self.load("anssi-points-de-controle-active-directory.yaml").frameworks.first)
        #expect(ad.scoring == .levels)
        #expect(ad.implementationGroups.compactMap(\.level) == [1, 2, 3, 4])
        let enisa = try #require(
            try Self.load("annex-nis2-regulation--2024-2690-with-technical-implementation-guidance-by-enisa.yaml")
                .frameworks.first)
        #expect(enisa.nodes.count(where: { $0.typicalEvidence != nil }) == 159)
        #expect(enisa.nodes.count(where: { $0.annotation != nil }) == 159)
    }

    @Test func resolvesReferenceControlsCaseInsensitivelyAndReportsTheMissingOnes() throws {
        let controls = try Self.load("key-reference-controls.yaml")
        #expect(controls.referenceControls.count == 175)
        #expect(controls.frameworks.isEmpty)
        let known = Set(controls.referenceControls.map(\.urn))
        for file in ["anssi-guide-hygiene.yaml", "anssi-guide-hygiene-detail.yaml", "nist-csf-2.0.yaml", "recyf.yaml"] {
            let framework = try #require(try Self.load(file).frameworks.first)
            #expect(framework.unresolvedReferenceControls(known: known).isEmpty, "\(file)")
        }
        let nis1 = try #require(try Self.load("nis1-rules-fr.yaml").frameworks.first)
        let missing = nis1.unresolvedReferenceControls(known: known)
        #expect(missing.count == 2)
        #expect(missing.allSatisfy { $0.lowercased().contains("mitre") || $0.contains("M102") })
        // The upper-case URNs that do resolve.
        #expect(nis1.nodes.flatMap(\.referenceControls).contains { $0 != $0.lowercased() })
    }

    @Test func importsBothCrosswalksAndEveryMappingResolves() throws {
        let recyf = try #require(try Self.load("recyf.yaml").frameworks.first)
        let annex = try #require(
            try Self.load("annex-nis2-regulation--2024-2690-with-technical-implementation-guidance-by-enisa.yaml")
                .frameworks.first)
        let csf = try #require(try Self.load("nist-csf-2.0.yaml").frameworks.first)
        let byURN = [recyf.urn: recyf, annex.urn: annex, csf.urn: csf]
        let first = try Self.load("mapping-recyf-and-annex-technical-and-methodological-requirements-nis2.yaml")
        let second = try Self.load("mapping-annex-technical-and-methodological-requirements-nis2-and-nist-csf-2.0.yaml")
        #expect(first.mappingSets.first?.mappings.count == 223)
        #expect(second.mappingSets.first?.mappings.count == 2243)
        for set in first.mappingSets + second.mappingSets {
            let source = try #require(byURN[set.sourceFramework])
            let target = try #require(byURN[set.targetFramework])
            #expect(set.unresolved(source: source, target: target).isEmpty, "\(set.urn)")
            #expect(set.mappings.allSatisfy { ($0.strength ?? 0) <= 100 })
        }
        #expect(first.mappingSets[0].mappings[0].relationship == .intersect)
        #expect(first.mappingSets[0].mappings[0].strength == 90)
    }

    @Test(arguments: [
        ("", "empty"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("urn: x\nname: y\n", "has no objects"),
        ("urn: x\nname: y\nobjects: {}\n", "holds no framework"),
        ("name: y\nobjects: {}\n", "library.urn is required"),
        ("urn: x\nname: [1\n", "not valid YAML"),
        ("urn: x\nname: y\nversion: two\nobjects: {}\n", "version must be an integer"),
        ("urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F}\n", "has no requirement_nodes"),
        (
            "urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F, requirement_nodes: [{urn: a, depth: 2, parent_urn: b}]}\n",
            "parent b is not listed before it"
        ),
        (
            "urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F, requirement_nodes: [{urn: a, depth: 1}, {urn: A, depth: 1}]}\n",
            "appears twice"
        ),
        (
            "urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F, requirement_nodes: [{urn: a, depth: 1}, {urn: b, depth: 3, parent_urn: a}]}\n",
            "depth 3 under a parent of depth 1"
        ),
        (
            "urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F, implementation_groups_definition: [{ref_id: S}], requirement_nodes: [{urn: a, depth: 1, implementation_groups: [Z]}]}\n",
            "implementation group Z is not defined"
        ),
        (
            "urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F, min_score: 4, max_score: 1, requirement_nodes: []}\n",
            "min_score 4 above max_score 1"
        ),
        (
            "urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F, requirement_nodes: [{urn: a, depth: 1, hygie: {coverage_min: 1.5}}]}\n",
            "coverage_min must be a share"
        ),
        (
            "urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F, requirement_nodes: [{urn: a, depth: 1, hygie: {indicator: 'x => 3'}}]}\n",
            "indicator binding must read"
        ),
        (
            "urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F, requirement_nodes: [{urn: a, depth: 1, hygie: {evidence_after: '2022-02-30'}}]}\n",
            "evidence_after must be YYYY-MM-DD"
        ),
        (
            "urn: x\nname: y\nobjects:\n  requirement_mapping_sets: [{urn: m, source_framework_urn: a, target_framework_urn: b, requirement_mappings: [{source_requirement_urn: a1, target_requirement_urn: b1, relationship: cousin}]}]\n",
            "unknown relationship cousin"
        ),
        ("urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F, requirement_nodes: 3}\n", "must be a list"),
    ])
    func refusesMalformedLibrariesWithAClearMessage(text: String, message: String) {
        #expect {
            _ = try LibraryReader.read(text)
        } throws: { error in
            (error as? FrameworkError)?.description.contains(message) == true
        }
    }

    @Test func refusesNonUTF8AndOversizedInput() {
        #expect(throws: FrameworkError.self) { try LibraryReader.read(Data([0xFF, 0xFE, 0x00, 0x41])) }
        #expect(throws: FrameworkError.self) { try LibraryReader.read(Data(count: LibraryReader.maximumBytes + 1)) }
    }

    @Test func readsQuestionsInBothShapes() throws {
        let text = """
            urn: x
            name: y
            objects:
              framework:
                urn: f
                name: F
                requirement_nodes:
                - urn: a
                  depth: 1
                  assessable: true
                  questions:
                    urn:q1:
                      type: unique_choice
                      text: Is the plan tested?
                      choices: [{urn: c1, value: 'Yes'}, {urn: c2, value: 'No'}]
                - urn: b
                  depth: 1
                  assessable: true
                  weight: 3
                  questions:
                  - {text: When?, type: date}
            """
        let framework = try #require(try LibraryReader.read(text).frameworks.first)
        #expect(
            framework.nodes[0].questions == [
                Question(urn: "urn:q1", text: "Is the plan tested?", type: "unique_choice", choices: ["Yes", "No"])
            ])
        #expect(framework.nodes[1].questions.first?.type == "date")
        #expect(framework.nodes[1].weight == 3)
    }
}
