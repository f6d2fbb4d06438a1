import Foundation
import HygieCore
import HygiePrivacy
import HygieStorage
import PrivacyCore

/// The EHR part of `hygie demo`: Valbrune's care context (8 wards, intensive care, emergency, lab, imaging,
/// pharmacy, coding, admissions) and its last week of record accesses from the synthetic hospital generator,
/// with a few planted inappropriate accesses; analysed, two incidents decided by the privacy officer (one
/// inappropriate, with its case; one legitimate), the others waiting in the queue. Every name is fictional.
enum DemoPrivacy {
    static func seed(boot: Bootstrap, scope: TenantScope, now: Date) async throws -> String {
        let privacy = boot.privacy
        var settings = SyntheticHospital.Settings()
        settings.seed = 2026
        settings.units = 8
        settings.days = 7
        settings.plants = 2
        // The week that ended last midnight (wall clock of Paris in winter).
        let today = Instant(seconds: Int64(now.timeIntervalSince1970), offset: 3600)
        settings.start = Instant(seconds: Int64(today.localDay - 7) * 86_400).isoDate
        let hospital = SyntheticHospital(settings)
        _ = try await privacy.importContext(
            .departments, Array(ContextExport.departments(hospital.departments).utf8), in: scope)
        _ = try await privacy.importContext(.staff, Array(ContextExport.staff(hospital.staff).utf8), in: scope)
        _ = try await privacy.importContext(.patients, Array(ContextExport.patients(hospital.patients).utf8), in: scope)
        _ = try await privacy.importContext(
            .encounters, Array(ContextExport.encounters(hospital.encounters).utf8), in: scope)
        _ = try await privacy.importContext(
            .careEvents, Array(ContextExport.careEvents(hospital.careEvents).utf8), in: scope)
        var events: [AccessEvent] = []
        hospital.accesses { events.append($0) }
        var stored = 0
        for start in stride(from: 0, to: events.count, by: 20_000) {
            stored += try await privacy.ingest(Array(events[start..<min(start + 20_000, events.count)]), in: scope)
                .accepted
        }
        try await privacy.analyzeBacklog(rounds: .max)
        let officer = TenantScope(
            establishmentID: scope.establishmentID, role: .dpo,
            actor: Actor.system("hygie demo (DPO Marc Lefèvre)", channel: "cli"))
        let queue = try await privacy.incidents(status: .open, in: officer)
        if let family = queue.first(where: { $0.patterns.contains(.sameAddress) || $0.patterns.contains(.sameSurname) })
        {
            _ = try await privacy.decide(
                family.id, .inappropriate,
                notes: "Entretien avec l'agent et son cadre : consultation du dossier d'un proche, sans lien avec ses "
                    + "fonctions. Rappel écrit des règles, information de la direction des soins.",
                openCase: true, in: officer)
        }
        if let vague = queue.last(where: { $0.patterns == [.noCareRelationship] }) {
            _ = try await privacy.decide(
                vague.id, .legitimate,
                notes: "Avis demandé oralement par l'unité de soins (consultation non tracée dans le DPI).",
                openCase: false, in: officer)
        }
        let stats = try await privacy.statistics(months: 1, in: scope)
        return "\(stored) record accesses over a week, \(stats.explained) explained by a care relationship, "
            + "\(stats.flagged) flagged in \(queue.count) incidents (two decided)"
    }
}
