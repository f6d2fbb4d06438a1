import FederationCore
import Foundation
import HygieCore
import HygieFederation
import HygieStorage

/// `hygie demo --hub`: the regional agency's instance as a hub. The demo hospital and clinic (tenants of the same
/// instance) join it and push their real figures; a few dozen fictional establishments bring a year of history;
/// two alerts are broadcast, one of them about the FortiGate the hospital exposes, which it answers by itself.
enum DemoHub {
    static func seed(
        boot: Bootstrap, identity: IdentityService, agency: TenantScope, hospital: TenantScope, clinic: TenantScope,
        establishments: Int = 36
    ) async throws -> String {
        let member = boot.member(identity: identity)
        for (label, scope) in [("Centre hospitalier de Valbrune", hospital), ("Clinique des Tilleuls", clinic)] {
            let enrolment = try await boot.hub.createEnrolment(label: label, in: agency)
            _ = try await member.join(hub: MemberService.localHub, token: enrolment.token, in: scope)
        }
        let report = try await HubSimulation(hub: boot.hub, database: boot.database, clock: SystemClock()).run(
            establishments: establishments, days: 365, seed: 7, in: agency)
        _ = try await boot.hub.publish(
            BroadcastDraft(
                title: "FortiOS SSL-VPN : exécution de code à distance exploitée (CVE-2024-21762)",
                summary: "Exploitation active. Mettre à jour FortiOS (7.2.7 ou plus), à défaut désactiver le VPN SSL, "
                    + "puis rechercher les indicateurs ci-joints dans les journaux du pare-feu.",
                severity: "critical", tlp: "amber", references: ["CVE-2024-21762"],
                productLines: ["fortinet fortios >= 7.2.0 < 7.2.7", "fortinet fortios >= 7.0.0 < 7.0.14"],
                indicatorLines: ["198.51.100.23", "fortigate-patch[.]example"],
                answerBy: Date().addingTimeInterval(2 * 86_400)), in: agency)
        for scope in [hospital, clinic] { _ = try await member.push(in: scope) }
        let answer = try await member.alerts(in: hospital).first { $0.broadcast.title.hasPrefix("FortiOS") }?.answer
        return "the agency runs the regional hub: \(report.establishments + 2) members (\(report.establishments) "
            + "fictional with a year of daily snapshots, plus Valbrune and Tilleuls pushing their own figures), "
            + "\(report.declarations) declaration copies, 2 broadcast alerts (Valbrune answered the FortiOS one by "
            + "itself: \(answer?.status.rawValue ?? "not yet"))"
    }
}
