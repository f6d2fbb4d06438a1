import ComplianceCore
import Foundation
import HygieCore
import HygieMail
import HygieStorage
import HygieTestSupport
import SQLKit
import Testing

@testable import HygieCompliance

let frameworksData: String = {
    if let shared = ProcessInfo.processInfo.environment["HYGIE_SHARED_DATA"] {
        return (shared as NSString).appendingPathComponent("frameworks")
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.deletingLastPathComponent().appendingPathComponent("shared/data/frameworks").path
}()

func frameworkData(_ relative: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: (frameworksData as NSString).appendingPathComponent(relative)))
}

/// An indicator source with values set by the test, standing in for a module.
final class FakeIndicators: IndicatorSource, @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Double] = [:]
    let clock: ManualClock

    init(clock: ManualClock) { self.clock = clock }

    func set(_ key: String, _ value: Double?) {
        lock.withLock { values[key] = value }
    }

    var indicators: [IndicatorDefinition] {
        [
            IndicatorDefinition(
                key: "vuln.kev-overdue-exposed", unit: .count, higherIsBetter: false, titleFR: "KEV", titleEN: "KEV"),
            IndicatorDefinition(
                key: "awareness.trained-12m", unit: .percent, higherIsBetter: true, titleFR: "Formés",
                titleEN: "Trained"),
        ]
    }

    func measure(_ key: String, for establishment: Establishment.ID) async throws -> IndicatorMeasurement? {
        lock.withLock { values[key] }.map {
            IndicatorMeasurement(key: key, value: $0, measuredAt: clock.now(), basis: 10)
        }
    }
}

struct ComplianceWorld {
    let services: TestServices
    let compliance: ComplianceService
    let indicators: FakeIndicators
    let establishment: Establishment
    let scope: TenantScope

    static func make(_ db: DatabaseService) async throws -> ComplianceWorld {
        let services = try TestServices(database: db)
        let indicators = FakeIndicators(clock: services.clock)
        let compliance = ComplianceService(
            database: db, audit: services.audit, clock: services.clock, indicatorSources: [indicators])
        try await compliance.installBuiltins()
        let (establishment, scope) = try await services.makeEstablishment("CH Vauban")
        return ComplianceWorld(
            services: services, compliance: compliance, indicators: indicators, establishment: establishment,
            scope: scope)
    }

    func framework(_ refID: String) async throws -> FrameworkSummary {
        try await compliance.findFramework(refID)
    }

    func urn(_ framework: FrameworkSummary, _ refID: String) async throws -> String {
        let tree = try await compliance.framework(framework.id)
        return try #require(tree.nodes.first { $0.refID == refID }).urn
    }

    /// A member of the establishment with `role`, and their scope.
    func member(_ role: Role, _ name: String) async throws -> TenantScope {
        let adminScope = try await services.identity.scope(for: establishment.id, actor: TestServices.cli)
        let member = try await services.identity.addMember(
            NewUser(
                email: "\(name)@vauban.example", displayName: name, password: TestServices.password, role: role.rawValue
            ),
            in: adminScope)
        let actor = Actor(
            userID: member.user.id, displayName: member.user.email, establishmentID: nil, role: .staff,
            channel: "session", requestID: nil, sourceAddress: "127.0.0.1")
        return try await services.identity.scope(for: establishment.id, actor: actor)
    }
}

@Suite struct ComplianceServiceTests {
    @Test(arguments: TestDatabase.enabled)
    func importsEveryLibraryAndResolvesControlsAndMappings(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ComplianceWorld.make(db)
            let builtins = try await world.compliance.frameworks()
            #expect(builtins.count == 5 && builtins.allSatisfy(\.builtin))
            // Reference controls first, then frameworks, then crosswalks, as their dependencies require.
            let folder = (frameworksData as NSString).appendingPathComponent("ciso-assistant")
            let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }
                .sorted { (Self.order($0), $0) < (Self.order($1), $1) }
            var reports: [String: LibraryImportReport] = [:]
            for file in files {
                reports[file] = try await world.compliance.importLibrary(
                    try frameworkData("ciso-assistant/\(file)"), origin: file, by: TestServices.cli)
            }
            let frameworks = try await world.compliance.frameworks()
            #expect(frameworks.count == 5 + 14)
            #expect(reports["key-reference-controls.yaml"]?.referenceControls == 175)
            // Only the two MITRE ATT&CK mitigations of the NIS1 rules stay unresolved.
            #expect(reports["nis1-rules-fr.yaml"]?.warnings.count == 2)
            for (file, report) in reports where file != "nis1-rules-fr.yaml" {
                #expect(report.warnings.isEmpty, "\(file): \(report.warnings)")
            }
            #expect(
                reports["mapping-recyf-and-annex-technical-and-methodological-requirements-nis2.yaml"]?.mappings == 446)
            let recyf = try await world.framework("ReCyF")
            #expect(recyf.nodes == 186 && recyf.assessable == 152)
            let tree = try await world.compliance.framework(recyf.id)
            let mapped = try await world.compliance.mappings(
                of: try #require(tree.nodes.first { $0.refID == "1.1" }).urn)
            #expect(
                mapped.contains { $0.urn.hasSuffix(":12.4.2") && $0.relationship == "intersect" && $0.strength == 90 })
            // The same version again changes nothing; the GDPR is still there once.
            let again = try await world.compliance.importLibrary(
                try frameworkData("ciso-assistant/gdpr.yaml"), origin: "gdpr.yaml", by: TestServices.cli)
            #expect(again.outcome == "unchanged")
            #expect(try await world.compliance.frameworks().count == 19)
            // OSCAL catalog.
            let catalog = try await world.compliance.importLibrary(
                try frameworkData("oscal/basic-catalog.json"), origin: "basic-catalog.json", by: TestServices.cli)
            #expect(catalog.nodes == 8)
            await #expect(throws: ComplianceError.self) {
                try await world.compliance.importLibrary(
                    try frameworkData("oscal/NIST_SP-800-53_rev5_MODERATE-baseline_profile.json"), origin: "p",
                    by: TestServices.cli)
            }
            // Only the instance administrator changes the shared catalogue; a broken file changes nothing.
            await #expect(throws: HygieCoreError.self) {
                try await world.compliance.importLibrary(Data("urn: x".utf8), origin: "x", by: world.scope.actor)
            }
            await #expect(throws: ComplianceError.self) {
                try await world.compliance.importLibrary(
                    Data("urn: x\nname: [".utf8), origin: "x", by: TestServices.cli)
            }
            #expect(try await world.compliance.frameworks().count == 20)
        }
    }

    static func order(_ file: String) -> Int {
        file.hasPrefix("key-") ? 0 : file.hasPrefix("mapping-") ? 2 : 1
    }

    @Test(arguments: TestDatabase.enabled)
    func careDomain2SelfAssessmentFromStartToSignOff(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ComplianceWorld.make(db)
            let c = world.compliance
            let care = try await world.framework("CaRE-D2")
            let units = [
                ScopeUnit(id: "mco", name: "Hôpital Vauban (MCO)", weight: 600),
                ScopeUnit(id: "ssr", name: "Site de Bellevue (SSR)", weight: 250),
                ScopeUnit(id: "ehpad", name: "EHPAD Les Tilleuls", weight: 150),
            ]
            let assessment = try await c.createAssessment(
                framework: care.id, title: "CaRE D2 — dossier 2026", units: units, dueOn: "2026-12-31", in: world.scope)
            var detail = try await c.detail(assessment.id, in: world.scope)
            #expect(detail.requirements.count == 13 && detail.overall.progress == 0 && detail.overall.score == 0)
            #expect(detail.themes.map(\.refID) == ["P", "O1", "O2", "O3", "O4"])

            // p1: a PSSI reviewed before 16 July 2022 does not count; a later review does.
            let p1 = try await world.urn(care, "p1")
            _ = try await c.updateResult(assessment.id, requirement: p1, Self.status(.compliant), in: world.scope)
            _ = try await c.addEvidence(
                NewEvidence(
                    title: "PSSI 2021", filename: "pssi-2021.pdf", contentType: "application/pdf",
                    content: Data("%PDF old".utf8), effectiveOn: "2021-05-10"),
                attachTo: assessment.id, requirement: p1, in: world.scope)
            detail = try await c.detail(assessment.id, in: world.scope)
            var state = try #require(detail.requirements.first { $0.node.urn == p1 })
            #expect(state.evidenceCheck.state == .stale && state.outcome.status == .partial)
            let pssi = try await c.addEvidence(
                NewEvidence(
                    title: "PSSI revue 2024", filename: "../../pssi.pdf", contentType: "application/pdf; x=1",
                    content: Data("%PDF new".utf8), effectiveOn: "2024-03-01"),
                attachTo: assessment.id, requirement: p1, in: world.scope)
            #expect(pssi.filename == "pssi.pdf" && pssi.contentType == "application/pdf")
            #expect(pssi.sha256 == Data("%PDF new".utf8).sha256Hex)
            detail = try await c.detail(assessment.id, in: world.scope)
            state = try #require(detail.requirements.first { $0.node.urn == p1 })
            #expect(state.evidenceCheck.state == .valid && state.outcome.status == .compliant)

            // o1.c: plans cover the MCO only (60 %), then MCO and EHPAD (75 % ≥ 66 %).
            let o1c = try await world.urn(care, "o1.c")
            var update = ResultUpdate()
            update.coveredUnits = ["mco"]
            _ = try await c.updateResult(assessment.id, requirement: o1c, update, in: world.scope)
            detail = try await c.detail(assessment.id, in: world.scope)
            state = try #require(detail.requirements.first { $0.node.urn == o1c })
            #expect(state.coverage == 0.6 && state.outcome.status == .partial && state.outcome.origin == .coverage)
            update.coveredUnits = ["mco", "ehpad"]
            _ = try await c.updateResult(assessment.id, requirement: o1c, update, in: world.scope)
            update.coveredUnits = ["nowhere"]
            await #expect(throws: ValidationError.self) {
                try await c.updateResult(assessment.id, requirement: o1c, update, in: world.scope)
            }

            // o3.a binds to the Active Directory level measured by an AD assessment: level 3 is enough.
            let o3a = try await world.urn(care, "o3.a")
            detail = try await c.detail(assessment.id, in: world.scope)
            #expect(detail.requirements.first { $0.node.urn == o3a }?.measurement == nil)
            let adFramework = try await world.framework("ANSSI-AD")
            let ad = try await c.createAssessment(framework: adFramework.id, title: "AD 2026", in: world.scope)
            for (ref, status) in [("L1", ResultStatus.compliant), ("L2", .compliant), ("L3", .nonCompliant)] {
                _ = try await c.updateResult(
                    ad.id, requirement: try await world.urn(adFramework, ref), Self.status(status), in: world.scope)
            }
            #expect(try await c.detail(ad.id, in: world.scope).overall.level == 3)
            detail = try await c.detail(assessment.id, in: world.scope)
            state = try #require(detail.requirements.first { $0.node.urn == o3a })
            #expect(
                state.measurement?.value == 3 && state.outcome.status == .compliant
                    && state.outcome.origin == .indicator)

            // Not applicable needs a justification.
            let o3d = try await world.urn(care, "o3.d")
            await #expect(throws: ValidationError.self) {
                try await c.updateResult(assessment.id, requirement: o3d, Self.status(.notApplicable), in: world.scope)
            }
            var excluded = Self.status(.notApplicable)
            excluded.justification = "Sauvegardes supervisées par le GHT"
            _ = try await c.updateResult(assessment.id, requirement: o3d, excluded, in: world.scope)
            let o4 = try await world.urn(care, "o4")
            _ = try await c.updateResult(assessment.id, requirement: o4, Self.status(.nonCompliant), in: world.scope)
            detail = try await c.detail(assessment.id, in: world.scope)
            #expect(detail.overall.count(.compliant) == 3)
            #expect(detail.overall.applicable == 12)
            // 3 compliant of 12 applicable (weights 1).
            #expect(detail.overall.score == 3.0 / 12.0)

            // Comments, action plan from the gaps.
            let auditor = try await world.member(.auditor, "auditrice")
            _ = try await c.addComment("Joindre le PV de restauration", to: assessment.id, requirement: o4, in: auditor)
            #expect(try await c.comments(of: assessment.id, requirement: o4, in: world.scope).count == 1)
            await #expect(throws: HygieCoreError.self) {
                try await c.updateResult(assessment.id, requirement: o4, Self.status(.compliant), in: auditor)
            }
            let planned = try await c.planActions(for: assessment.id, in: world.scope)
            #expect(planned.contains { $0.requirementURN == o4 && $0.priority == .high && $0.dueOn == "2026-12-31" })
            #expect(try await c.planActions(for: assessment.id, in: world.scope).isEmpty)

            // Review and sign-off freeze the assessment.
            await #expect(throws: HygieCoreError.self) { try await c.signOff(assessment.id, in: auditor) }
            _ = try await c.submitForReview(assessment.id, in: world.scope)
            let closed = try await c.signOff(assessment.id, in: auditor)
            #expect(closed.status == .closed && closed.signedOffBy == "auditrice@vauban.example")
            let frozen = try await c.detail(assessment.id, in: world.scope)
            #expect(frozen.frozen && frozen.overall == detail.overall)
            await #expect(throws: HygieCoreError.self) {
                try await c.updateResult(assessment.id, requirement: o4, Self.status(.compliant), in: world.scope)
            }
            // Changing the AD level later does not alter what was signed.
            _ = try await c.updateResult(
                ad.id, requirement: try await world.urn(adFramework, "L1"), Self.status(.nonCompliant), in: world.scope)
            #expect(
                try await c.detail(assessment.id, in: world.scope).requirements.first { $0.node.urn == o3a }?.outcome
                    .status == .compliant)

            // A second assessment compared with the first.
            let next = try await c.createAssessment(
                framework: care.id, title: "CaRE D2 — 2027", units: units, in: world.scope)
            _ = try await c.updateResult(next.id, requirement: o4, Self.status(.compliant), in: world.scope)
            let comparison = try await c.compare(assessment.id, next.id, in: world.scope)
            #expect(comparison.rows.first { $0.refID == "o4" }?.change == 1)
            #expect(comparison.rows.first { $0.refID == "p1" }?.change == -1)

            // Exports.
            let report = try await c.report(assessment.id, in: world.scope, establishmentName: "CH Vauban")
            #expect(report.requirements.count == 13 && report.closed != nil)
            #expect(report.requirements.first { $0.refID == "p1" }?.evidence.count == 2)
            let csv = report.csv()
            #expect(csv.contains("o1.c;") && csv.contains("75.0 %"))
        }
    }

    static func status(_ status: ResultStatus) -> ResultUpdate {
        var update = ResultUpdate()
        update.status = status
        return update
    }

    @Test(arguments: TestDatabase.enabled)
    func liveIndicatorsFromModulesDecideBoundRequirements(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ComplianceWorld.make(db)
            let c = world.compliance
            let nis2 = try await world.framework("NIS2-21")
            let assessment = try await c.createAssessment(framework: nis2.id, title: "NIS2", in: world.scope)
            let e = try await world.urn(nis2, "21.2.e")
            let g = try await world.urn(nis2, "21.2.g")
            _ = try await c.updateResult(assessment.id, requirement: e, Self.status(.compliant), in: world.scope)
            // No value yet: the assessor's answer stands.
            var detail = try await c.detail(assessment.id, in: world.scope)
            #expect(detail.requirements.first { $0.node.urn == e }?.outcome == RequirementOutcome(status: .compliant))
            world.indicators.set("vuln.kev-overdue-exposed", 2)
            world.indicators.set("awareness.trained-12m", 85)
            detail = try await c.detail(assessment.id, in: world.scope)
            let stateE = try #require(detail.requirements.first { $0.node.urn == e })
            #expect(stateE.outcome.status == .nonCompliant && stateE.measurement?.value == 2)
            #expect(stateE.measurement?.measuredAt == world.services.clock.now())
            #expect(detail.requirements.first { $0.node.urn == g }?.outcome.status == .compliant)
            // The catalogue lists every module's indicators and the module's own AD level.
            let keys = c.indicatorCatalog.map(\.key)
            #expect(keys == ["awareness.trained-12m", "compliance.ad-level", "vuln.kev-overdue-exposed"])
            let readings = try await c.readings(in: world.scope)
            #expect(readings.first { $0.definition.key == "vuln.kev-overdue-exposed" }?.measurement?.value == 2)
            #expect(readings.first { $0.definition.key == "compliance.ad-level" }?.measurement == nil)
            // Stored values serve the daily score when modules are not asked again.
            world.indicators.set("vuln.kev-overdue-exposed", 0)
            let stored = try await c.compute(detail.assessment, measure: false)
            #expect(stored.requirements.first { $0.node.urn == e }?.outcome.status == .nonCompliant)
            let kept = try await c.storedMeasurements(["vuln.kev-overdue-exposed"], for: world.scope.establishmentID)
            #expect(kept["vuln.kev-overdue-exposed"]?.value == 2)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func assessmentsEvidenceAndPlansStayInTheirEstablishment(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ComplianceWorld.make(db)
            let c = world.compliance
            let (_, other) = try await world.services.makeEstablishment("Clinique des Tilleuls")
            let care = try await world.framework("CaRE-D2")
            let assessment = try await c.createAssessment(framework: care.id, title: "CaRE", in: world.scope)
            let evidence = try await c.addEvidence(
                NewEvidence(title: "Plan", link: "https://intranet.example/plan", effectiveOn: "2026-01-10"),
                in: world.scope)
            let action = try await c.createAction(ActionInput(title: "Tester la restauration"), in: world.scope)
            await #expect(throws: HygieCoreError.self) { try await c.detail(assessment.id, in: other) }
            await #expect(throws: HygieCoreError.self) { try await c.evidence(evidence.id, in: other) }
            await #expect(throws: HygieCoreError.self) { try await c.evidenceContent(evidence.id, in: other) }
            await #expect(throws: HygieCoreError.self) { try await c.action(action.id, in: other) }
            #expect(try await c.assessments(in: other).isEmpty)
            #expect(try await c.evidenceLibrary(in: other).isEmpty)
            await #expect(throws: HygieCoreError.self) {
                try await c.attachEvidence(
                    evidence.id, to: assessment.id, requirement: try await world.urn(care, "p1"), in: other)
            }
            let staff = try await world.member(.staff, "infirmier")
            await #expect(throws: HygieCoreError.self) { try await c.assessments(in: staff) }
            // Bad input is refused with the field named.
            await #expect(throws: ValidationError.self) {
                try await c.addEvidence(
                    NewEvidence(title: "x", link: "javascript:alert(1)", effectiveOn: "2026-01-01"), in: world.scope)
            }
            await #expect(throws: ValidationError.self) {
                try await c.addEvidence(NewEvidence(title: "x", effectiveOn: "2026-02-30"), in: world.scope)
            }
            await #expect(throws: ValidationError.self) {
                try await c.addEvidence(
                    NewEvidence(title: "x", effectiveOn: "2026-03-01", validUntil: "2026-01-01"), in: world.scope)
            }
            await #expect(throws: ValidationError.self) {
                try await c.createAssessment(framework: care.id, title: "x", groups: ["EE"], in: world.scope)
            }
            await #expect(throws: ValidationError.self) {
                try await c.createAssessment(
                    framework: care.id, title: "x",
                    units: [ScopeUnit(id: "a", name: "A", weight: 1), ScopeUnit(id: "a", name: "B", weight: 1)],
                    in: world.scope)
            }
            await #expect(throws: ValidationError.self) {
                try await c.createAction(
                    ActionInput(title: "x", startOn: "2026-05-01", dueOn: "2026-04-01"), in: world.scope)
            }
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func recurringAuditsRemindOnceAndMoveOnWhenDone(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ComplianceWorld.make(db)
            let c = world.compliance
            // The clock reads 2026-09-21.
            let exercise = try await c.createSchedule(
                ScheduleInput(
                    title: "Exercice de crise cyber", kind: .crisisExercise, intervalMonths: 12, nextDue: "2026-10-15",
                    remindDays: 30, ownerEmail: "rssi@vauban.example"), in: world.scope)
            let restore = try await c.createSchedule(
                ScheduleInput(
                    title: "Test de restauration", kind: .restoreTest, intervalMonths: 3, nextDue: "2026-08-31",
                    ownerEmail: "rssi@vauban.example"), in: world.scope)
            _ = try await c.createSchedule(
                ScheduleInput(
                    title: "Revue des comptes", kind: .accountReview, intervalMonths: 12, nextDue: "2027-06-30"),
                in: world.scope)
            #expect(restore.overdue && restore.daysLeft == -21)
            let due = try await c.dueReminders()
            #expect(Set(due.map(\.schedule.id)) == [exercise.id, restore.id])
            #expect(try await c.dueReminders().isEmpty)
            let mail = ComplianceService.reminder(for: restore, to: "rssi@vauban.example")
            #expect(mail.subject.contains("En retard"))
            #expect(mail.text.contains("2026-08-31"))
            let moved = try await c.recordRun(
                restore.id, doneOn: "2026-09-20", note: "Restauration du DPI en préproduction", evidenceID: nil,
                in: world.scope)
            #expect(moved.lastDone == "2026-09-20" && moved.nextDue == "2026-12-20" && !moved.overdue)
            #expect(try await c.runs(of: restore.id, in: world.scope).count == 1)
            await #expect(throws: ValidationError.self) {
                try await c.recordRun(restore.id, doneOn: "2027-01-01", note: nil, evidenceID: nil, in: world.scope)
            }
            await #expect(throws: ValidationError.self) {
                try await c.createSchedule(
                    ScheduleInput(title: "x", kind: .other, intervalMonths: 0, nextDue: "2026-10-01"), in: world.scope)
            }
            #expect(DayStamp("2026-01-31")!.addingMonths(1).description == "2026-02-28")
            #expect(DayStamp("2027-12-15")!.addingMonths(3).description == "2028-03-15")
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func fleetViewShowsTheRegionsScoresAndTrend(_ database: TestDatabase) async throws {
        try await database.withDatabase { db in
            let world = try await ComplianceWorld.make(db)
            let c = world.compliance
            let tenancy = world.services.tenancy
            let region = try await tenancy.createRegion(name: "Val de Lune", code: "VDL", by: TestServices.cli)
            let elsewhere = try await tenancy.createRegion(name: "Autre", code: "AUT", by: TestServices.cli)
            func establishment(_ name: String, kind: String, region: Region.ID) async throws -> TenantScope {
                let created = try await tenancy.createEstablishment(
                    .init(name: name, finess: nil, kind: kind, groupID: nil, regionID: region.uuid.uuidString),
                    by: TestServices.cli)
                return try await world.services.identity.scope(for: created.id, actor: TestServices.cli)
            }
            let agency = try await establishment("ARS Val de Lune", kind: "authority", region: region.id)
            let north = try await establishment("CH Nord", kind: "ch", region: region.id)
            _ = try await establishment("CH Sud", kind: "ch", region: region.id)
            let far = try await establishment("CH Lointain", kind: "ch", region: elsewhere.id)
            let care = try await world.framework("CaRE-D2")
            let p1 = try await world.urn(care, "p1")
            for scope in [north, far] {
                let assessment = try await c.createAssessment(framework: care.id, title: "CaRE", in: scope)
                _ = try await c.updateResult(assessment.id, requirement: p1, Self.status(.partial), in: scope)
            }
            _ = try await c.dailyRecord()
            world.services.clock.advance(by: 7 * 86_400)
            let northAssessment = try #require(try await c.assessments(in: north).first)
            _ = try await c.updateResult(
                northAssessment.id, requirement: try await world.urn(care, "o4"), Self.status(.compliant), in: north)
            _ = try await c.dailyRecord()
            let coordinatorMember = try await world.services.identity.addMember(
                NewUser(
                    email: "coord@ars.example", displayName: "Coordination", password: TestServices.password,
                    role: "coordinator"),
                in: agency)
            let coordinator = try await world.services.identity.scope(
                for: agency.establishmentID,
                actor: Actor(
                    userID: coordinatorMember.user.id, displayName: "coord@ars.example", establishmentID: nil,
                    role: .staff,
                    channel: "session", requestID: nil, sourceAddress: nil))
            let fleet = try await c.fleet(framework: care.id, in: coordinator)
            #expect(fleet.rows.map(\.establishment) == ["CH Nord", "CH Sud"])
            let northRow = try #require(fleet.rows.first)
            // p1 partial (0.5) and o4 compliant but without its required evidence, so partial too: 1 of 13.
            #expect(northRow.score == 1.0 / 13 && northRow.themes.count == 5)
            #expect(northRow.themes[0] == 0.25 && northRow.themes[4] == 0.5)
            let expectedTrend: [Double?] = [0.5 / 13, 1.0 / 13]
            #expect(Array(northRow.trend.suffix(2)) == expectedTrend)
            #expect(fleet.rows[1].score == nil && fleet.rows[1].assessmentID == nil)
            await #expect(throws: HygieCoreError.self) { try await c.fleet(framework: care.id, in: world.scope) }
        }
    }
}
