import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygiePrivacy
import HygieStorage
import NIOCore
import PrivacyCore

/// *Confidentialité DPI*: the monitoring board (explained and flagged accesses per day, explanations, patterns,
/// decisions, context, imports and settings), the privacy officer's queue, an incident with its flagged accesses
/// and the decision, and the patient's "who accessed my record" report.
struct PrivacyWebController: PageController {
    let services: HygieServices
    var privacy: PrivacyService { services.privacy }
    static let readers: Set<Role> = [.admin, .rssi, .dpo, .auditor]
    static let managers: Set<Role> = [.admin, .rssi, .dpo]
    static let officers: Set<Role> = [.dpo]

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/privacy", use: board)
        router.get("/privacy/daily.svg", use: dailyChart)
        router.post("/privacy/import", use: importFile)
        router.post("/privacy/analyze", use: analyze)
        router.post("/privacy/settings", use: saveSettings)
        router.get("/privacy/incidents", use: queue)
        router.get("/privacy/incidents/:id", use: incident)
        router.post("/privacy/incidents/:id", use: decide)
        router.get("/privacy/incidents/:id/export", use: export)
        router.get("/privacy/patients", use: patientReport)
        router.post("/privacy/patients/reveal", use: reveal)
    }

    func patterns(_ list: [AccessPattern], _ context: HygieRequestContext) -> [[String: Any]] {
        list.map {
            ["code": $0.rawValue, "label": t("privacy.pattern.\($0.rawValue)", context), "strong": $0.weight >= 65]
        }
    }

    static func scoreClass(_ score: Int) -> String {
        score >= 80 ? "critical" : score >= 60 ? "high" : score >= 40 ? "medium" : "low"
    }

    // MARK: Board

    func board(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await boardPage(request, context, error: nil, status: .ok)
    }

    func boardPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.readers)
        let stats = try await privacy.statistics(months: 12, in: scope)
        let settings = try await privacy.settings(in: scope)
        let explainedShare =
            stats.accesses == 0
            ? "—" : String(format: "%.1f %%", 100 * Double(stats.explained) / Double(stats.accesses))
        func share(_ count: Int) -> String {
            stats.explained == 0 ? "" : String(format: "%.1f %%", 100 * Double(count) / Double(stats.explained))
        }
        var content: [String: Any] = [
            "stats": [
                "accesses": stats.accesses, "explainedShare": explainedShare, "flagged": stats.flagged,
                "open": stats.incidentsByStatus["open"] ?? 0, "emergency": stats.emergency, "pending": stats.pending,
                "cases": stats.casesOpened,
            ],
            "explanations": Explanation.allCases.map {
                [
                    "label": t("privacy.explanation.\($0.rawValue)", context),
                    "count": stats.byExplanation[$0.rawValue] ?? 0,
                    "share": share(stats.byExplanation[$0.rawValue] ?? 0),
                ]
            },
            "patterns": AccessPattern.allCases.map {
                ["label": t("privacy.pattern.\($0.rawValue)", context), "count": stats.byPattern[$0.rawValue] ?? 0]
            },
            "decisions": PrivacyIncidentStatus.allCases.map {
                [
                    "label": t("privacy.status.\($0.rawValue)", context),
                    "count": stats.incidentsByStatus[$0.rawValue] ?? 0,
                ]
            },
            "months": stats.months.reversed().map {
                [
                    "month": $0.period, "accesses": $0.accesses, "explained": $0.explained, "flagged": $0.flagged,
                    "emergency": $0.emergency,
                ]
            },
            "hasMonths": !stats.months.isEmpty,
            "context": ContextKind.allCases.map {
                [
                    "kind": $0.rawValue, "label": t("privacy.context.\($0.rawValue)", context),
                    "count": stats.context[$0.rawValue] ?? 0,
                ]
            },
            "isOfficer": Self.officers.contains(scope.role),
            "canManage": Self.managers.contains(scope.role),
            "settings": [
                "officeStart": settings.analysis.officeStart / 3600, "officeEnd": settings.analysis.officeEnd / 3600,
                "afterEncounterDays": settings.analysis.afterEncounter / 86_400,
                "attendingDays": settings.analysis.afterEncounterAttending / 86_400,
                "recordWide": settings.analysis.recordWideRoles.joined(separator: ", "),
                "onCall": settings.analysis.onCallRoles.joined(separator: ", "),
                "retention": settings.retentionDays,
            ],
        ]
        if let error { content["error"] = error }
        return page(
            "privacy", t("nav.privacy", context), active: "privacy", content: content, signedIn: signedIn,
            request: request, context: context, status: status)
    }

    /// Accesses of the last 30 days, explained and flagged.
    func dailyChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.readers)
        let stats = try await privacy.statistics(months: 2, in: scope)
        let byDay = Dictionary(stats.days.map { ($0.period, $0) }, uniquingKeysWith: { first, _ in first })
        let today = Instant(seconds: Int64(services.clock.now().timeIntervalSince1970), offset: 3600).localDay
        let columns = (0..<30).reversed().map { back -> (label: String, counts: [String: Int]) in
            let day = Instant(seconds: Int64(today - back) * 86_400).isoDate
            guard let entry = byDay[day] else { return (String(day.suffix(5)), [:]) }
            return (
                String(day.suffix(5)),
                [
                    "explained": entry.explained, "flagged": entry.flagged,
                    "pending": entry.accesses - entry.explained - entry.flagged,
                ]
            )
        }
        let series = [
            StackedBars.Series(key: "explained", colour: "#2e7d5b", label: t("privacy.explained", context)),
            StackedBars.Series(key: "flagged", colour: "#c0392b", label: t("privacy.flagged", context)),
            StackedBars.Series(key: "pending", colour: "#9aa5b1", label: t("privacy.pending", context)),
        ]
        return DetectionWebController.svg(
            StackedBars.svg(columns, series: series, title: t("privacy.chartTitle", context), labelEvery: 3))
    }

    func importFile(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.managers)
        return try await services.submitForm(context) {
            guard let file = context.files["file"], !file.bytes.isEmpty else {
                throw PrivacyError.invalid(t("privacy.chooseFile", context))
            }
            let kind = context.form["kind"] ?? ""
            let message: String
            if let contextKind = ContextKind(rawValue: kind) {
                let result = try await privacy.importContext(contextKind, file.bytes, in: scope)
                message = "\(result.rows) \(t("privacy.context.\(contextKind.rawValue)", context))"
            } else if kind == "adt" {
                let result = try await privacy.importADT(file.bytes, in: scope)
                message = "\(result.rows) ADT"
            } else if kind == "accesses" {
                let map = context.form["map"].flatMap { $0.isEmpty ? nil : $0 }
                let result = try await privacy.ingestCSV(file.bytes, mapping: map, in: scope)
                message = "\(result.accepted) \(t("privacy.accessesWord", context))"
            } else if kind == "fhir" {
                let result = try await privacy.ingestFHIR(
                    file.bytes,
                    ndjson: !file.bytes.starts(with: [UInt8(ascii: "{")]) || file.filename.hasSuffix("ndjson"),
                    in: scope)
                message = "\(result.result.accepted) \(t("privacy.accessesWord", context))"
            } else {
                throw PrivacyError.invalid(t("privacy.chooseKind", context))
            }
            return .redirect(
                "/privacy?flash=\(message.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "saved")")
        } redisplay: { error, status in
            try await boardPage(request, context, error: error, status: status)
        }
    }

    func analyze(_ request: Request, context: HygieRequestContext) async throws -> Response {
        _ = try await services.signedIn(context).requireScope(Self.managers)
        try await privacy.analyzeBacklog()
        return .redirect("/privacy?flash=saved")
    }

    func saveSettings(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.managers)
        return try await services.submitForm(context) {
            var settings = try await privacy.settings(in: scope)
            func hours(_ key: String) throws -> Int {
                guard let value = Int(context.form[key] ?? ""), (0...24).contains(value) else {
                    throw PrivacyError.invalid(t("privacy.badHours", context))
                }
                return value
            }
            func days(_ key: String) throws -> Int64 {
                guard let value = Int64(context.form[key] ?? ""), (0...365).contains(value) else {
                    throw PrivacyError.invalid(t("privacy.badDays", context))
                }
                return value
            }
            settings.analysis.officeStart = try hours("office_start") * 3600
            settings.analysis.officeEnd = try hours("office_end") * 3600
            settings.analysis.afterEncounter = try days("after_encounter") * 86_400
            settings.analysis.afterEncounterAttending = try days("attending") * 86_400
            func roles(_ key: String) -> [String] {
                (context.form[key] ?? "").split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces).lowercased()
                }
                .filter { !$0.isEmpty }
            }
            settings.analysis.recordWideRoles = roles("record_wide")
            settings.analysis.onCallRoles = roles("on_call")
            settings.retentionDays = Int(context.form["retention"] ?? "") ?? settings.retentionDays
            _ = try await privacy.updateSettings(settings, in: scope)
            return .redirect("/privacy?flash=saved")
        } redisplay: { error, status in
            try await boardPage(request, context, error: error, status: status)
        }
    }

    // MARK: Queue and incidents

    func incidentRow(_ incident: PrivacyIncident, _ context: HygieRequestContext) -> [String: Any] {
        var row: [String: Any] = [
            "id": incident.id, "user": incident.userName.isEmpty ? incident.userID : incident.userName,
            "userID": incident.userID, "department": incident.userDepartment, "role": incident.userRole,
            "score": incident.score, "scoreClass": Self.scoreClass(incident.score), "flags": incident.flags,
            "patterns": patterns(incident.patterns, context),
            "period": "\(DisplayDate.format(incident.firstAt)) → \(DisplayDate.format(incident.lastAt))",
            "status": t("privacy.status.\(incident.status.rawValue)", context), "open": incident.status == .open,
        ]
        if let caseID = incident.caseID { row["caseID"] = caseID }
        return row
    }

    /// The analyser's reasons (English, as the command line prints them) in the reader's language.
    static func reason(_ text: String, _ locale: String) -> String {
        guard locale == "fr" else { return text }
        let fixed = [
            "the user opened their own record": "l'utilisateur a ouvert son propre dossier",
            "before the user's hire date": "avant la date d'embauche de l'utilisateur",
            "after the user's employment ended": "après la fin du contrat de l'utilisateur",
            "the patient lives at the user's address": "le patient habite à l'adresse de l'utilisateur",
            "the patient shares the user's family name": "le patient porte le nom de famille de l'utilisateur",
            "the patient works in the user's unit": "le patient travaille dans l'unité de l'utilisateur",
            "the patient is a member of staff": "le patient fait partie du personnel",
            "the record is restricted (VIP or confidential)": "dossier restreint (VIP ou confidentiel)",
            "the patient died before this access": "le patient était décédé au moment de l'accès",
            "emergency access (break-glass) without justification":
                "accès d'urgence (bris de glace) sans justification",
            "outside office hours": "hors des heures de bureau",
            "outside the user's shift": "en dehors du poste de l'utilisateur",
        ]
        if let french = fixed[text] { return french }
        if let unit = text.firstMatch(of: /^no stay, order or appointment links unit (.*) to the patient$/)?.1 {
            return "aucun séjour, demande ni rendez-vous ne relie l'unité \(unit) au patient"
        }
        if let user = text.firstMatch(of: /^user (.*) is not in the staff directory$/)?.1 {
            return "l'utilisateur \(user) n'est pas dans l'annuaire du personnel"
        }
        if let match = text.firstMatch(
            of: /^(\d+) records opened that day, (\d+) without explanation \(peers' median (\d+)\)$/)
        {
            return
                "\(match.1) dossiers ouverts ce jour-là, dont \(match.2) sans explication (médiane des pairs : \(match.3))"
        }
        return text
    }

    func queue(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.officers)
        let filter = request.uri.queryParameters.get("status").map { String($0) } ?? "open"
        let status = PrivacyIncidentStatus(rawValue: filter)
        let incidents = try await privacy.incidents(status: filter == "all" ? nil : (status ?? .open), in: scope)
        return page(
            "privacy_incidents", t("privacy.queue", context), active: "privacy",
            content: [
                "incidents": incidents.map { incidentRow($0, context) }, "hasIncidents": !incidents.isEmpty,
                "filters": (["all"] + PrivacyIncidentStatus.allCases.map(\.rawValue)).map {
                    [
                        "value": $0, "current": $0 == filter,
                        "label": $0 == "all" ? t("privacy.all", context) : t("privacy.status.\($0)", context),
                    ]
                },
            ], signedIn: signedIn, request: request, context: context)
    }

    func incident(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await incidentPage(request, context, error: nil, status: .ok)
    }

    func incidentPage(_ request: Request, _ context: HygieRequestContext, error: String?, status: HTTPResponse.Status)
        async throws -> Response
    {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.officers)
        let detail = try await privacy.incident(try context.int64Parameter(what: "incident"), in: scope)
        var content: [String: Any] = [
            "incident": incidentRow(detail.incident, context),
            "notes": detail.incident.decisionNotes, "decidedBy": detail.incident.decidedBy,
            "decidedAt": DisplayDate.format(detail.incident.decidedAt), "decided": detail.incident.status != .open,
            "explained": detail.explainedSameDays,
            "flags": detail.flags.map { flag -> [String: Any] in
                var row: [String: Any] = [
                    "time": flag.wallClock.replacingOccurrences(of: "T", with: " "), "patient": flag.patientKey,
                    "patterns": patterns(flag.patterns, context),
                    "reasons": flag.reasons.map { Self.reason($0, context.locale.rawValue) }, "score": flag.score,
                    "scoreClass": Self.scoreClass(flag.score), "emergency": flag.emergency, "action": flag.action,
                ]
                if !flag.justification.isEmpty { row["justification"] = flag.justification }
                return row
            },
            "decisions": [PrivacyIncidentStatus.legitimate, .interview, .inappropriate].map {
                [
                    "value": $0.rawValue, "label": t("privacy.status.\($0.rawValue)", context),
                    "selected": $0 == detail.incident.status,
                ]
            },
        ]
        if let error { content["error"] = error }
        return page(
            "privacy_incident", "\(t("privacy.incident", context)) \(detail.incident.id)", active: "privacy",
            content: content, signedIn: signedIn, request: request, context: context, status: status)
    }

    func decide(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.officers)
        let id = try context.int64Parameter(what: "incident")
        return try await services.submitForm(context) {
            guard let status = PrivacyIncidentStatus(rawValue: context.form["status"] ?? ""), status != .open else {
                throw PrivacyError.invalid(t("privacy.chooseDecision", context))
            }
            _ = try await privacy.decide(
                id, status, notes: context.form["notes"] ?? "", openCase: context.form["open_case"] == "on",
                language: context.locale.rawValue, in: scope)
            return .redirect("/privacy/incidents/\(id)?flash=saved")
        } redisplay: { error, status in
            try await incidentPage(request, context, error: error, status: status)
        }
    }

    func export(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.officers)
        let id = try context.int64Parameter(what: "incident")
        let file = try await privacy.export(id, in: scope)
        let data = try JSONResponse.encoder.encode(file)
        return .evidenceFile(named: "incident-dpi-\(id).json", sha256: Data(data).sha256Hex, data)
    }

    // MARK: Patients

    func patientReport(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.officers)
        var content: [String: Any] = [:]
        if let id = request.uri.queryParameters.get("patient_id").map({ String($0) }), !id.isEmpty {
            do {
                let (key, lines) = try await privacy.accesses(ofPatient: id, in: scope)
                content["patientID"] = id
                content["key"] = key
                content["hasLines"] = !lines.isEmpty
                content["lines"] = lines.map { line -> [String: Any] in
                    [
                        "time": line.wallClock.replacingOccurrences(of: "T", with: " "),
                        "user": line.userName.isEmpty ? line.userID : line.userName, "userID": line.userID,
                        "role": line.role, "department": line.department, "emergency": line.emergency,
                        "flagged": line.status == "flagged",
                        "why": line.status == "explained"
                            ? t("privacy.explanation.\(line.explanation)", context)
                            : t("privacy.access.\(line.status)", context),
                    ]
                }
                content["count"] = lines.count
                content["users"] = Set(lines.map(\.userID)).count
            } catch let error as PrivacyError {
                content["error"] = error.publicMessage
            }
        }
        return page(
            "privacy_patient", t("privacy.patientReport", context), active: "privacy", content: content,
            signedIn: signedIn, request: request, context: context)
    }

    func reveal(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.officers)
        let key = context.form["key"] ?? ""
        let patient = try await privacy.reidentify(key, in: scope)
        let back = context.form["back"].flatMap { $0.hasPrefix("/privacy/") ? $0 : nil } ?? "/privacy/incidents"
        return page(
            "privacy_identity", t("privacy.identity", context), active: "privacy",
            content: [
                "key": key, "back": back, "id": patient.id, "name": "\(patient.givenName) \(patient.familyName)",
                "birthDate": patient.birthDate, "address": "\(patient.address), \(patient.postalCode) \(patient.city)",
                "restricted": patient.restricted, "deceased": patient.deceased?.isoDate ?? "",
            ], signedIn: signedIn, request: request, context: context)
    }
}
