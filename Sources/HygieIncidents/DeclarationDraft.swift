public import Foundation
import HygieCore
public import HygieStorage
import SQLKit
import STIX

/// A declaration pre-filled from its case, in the order and words of the regulator's form (DOMAIN.md §3). Values
/// come from the establishment's entity fields, the case's times, status and observables, and the fields the team
/// filled on the case; an empty value is a question still to answer.
public struct DeclarationDraft: Sendable, Hashable, Codable {
    public struct Field: Sendable, Hashable, Codable {
        public var key: String
        public var label: String
        public var value: String
    }

    public struct Section: Sendable, Hashable, Codable {
        public var title: String
        public var fields: [Field]
    }

    public var regime: String
    public var recipient: String
    public var caseID: Int64
    public var caseTitle: String
    public var dueAt: Date?
    public var sections: [Section]

    /// Questions still without an answer.
    public var missing: [String] { sections.flatMap(\.fields).filter { $0.value.isEmpty }.map(\.label) }

    static let layout: [Regime: [(String, [(String, String)])]] = {
        let entity: (String, [(String, String)]) = (
            "Structure et déclarant",
            [
                ("entity.name", "Établissement"), ("entity.finess_ej", "FINESS juridique"),
                ("entity.finess_et", "FINESS géographique"), ("entity.siret", "SIRET"), ("entity.type", "Type"),
                ("entity.ght", "GHT"), ("entity.region", "Région"), ("entity.director", "Directeur"),
                ("entity.rssi", "RSSI"), ("entity.dpo", "DPO"), ("case.declarant", "Déclarant"),
            ]
        )
        let iocs: (String, String) = ("case.iocs", "Indicateurs de compromission (TLP ≤ AMBER)")
        return [
            .certSante: [
                entity,
                (
                    "Détection et périmètre",
                    [
                        ("case.occurred_at", "Date de survenue"), ("case.detected_at", "Date de détection"),
                        ("case.aware_at", "Date de prise de connaissance"), ("case.description", "Description"),
                        ("sites", "Sites concernés"), ("units", "Services concernés"),
                        ("applications", "Applications et systèmes (DPI, PACS, laboratoire…)"),
                        ("suppliers", "Prestataires concernés"), ("case.status", "État de la prise en charge"),
                    ]
                ),
                (
                    "Impacts",
                    [
                        ("care_impact", "Impact sur la prise en charge des patients"),
                        ("degraded_from", "Mode dégradé depuis"), ("degraded_to", "Mode dégradé jusqu'à"),
                        ("cancelled_care", "Soins déprogrammés"), ("transfers", "Transferts de patients"),
                        ("patient_harm", "Atteinte à des patients"), ("data_impact", "Impact sur les données (C/I/D)"),
                        ("persons_count", "Nombre de personnes concernées"),
                    ]
                ),
                (
                    "Causes",
                    [
                        ("vector", "Vecteur d'attaque"), ("cve", "Vulnérabilités (CVE)"), iocs,
                        ("actions", "Mesures prises"),
                    ]
                ),
            ],
            .cnil: [
                entity,
                (
                    "La violation",
                    [
                        ("case.aware_at", "Date de prise de connaissance"),
                        ("case.occurred_at", "Date de la violation"),
                        ("case.description", "Nature de la violation"), ("data_categories", "Catégories de données"),
                        ("person_categories", "Catégories de personnes"),
                        ("persons_count", "Nombre approximatif de personnes"),
                        ("records_count", "Nombre approximatif d'enregistrements"), ("encrypted", "Données chiffrées"),
                        ("exfiltration", "Exfiltration avérée"),
                    ]
                ),
                (
                    "Conséquences et mesures",
                    [
                        ("consequences", "Conséquences probables"), ("actions", "Mesures prises ou envisagées"),
                        ("notice_persons", "Information des personnes"),
                    ]
                ),
            ],
            .nis2Warning: [
                entity,
                (
                    "Alerte précoce (24 h)",
                    [
                        ("case.aware_at", "Prise de connaissance"), ("case.description", "Description"),
                        ("malicious", "Acte illicite ou malveillant suspecté"),
                        ("cross_border", "Impact transfrontière"),
                    ]
                ),
            ],
            .nis2Notification: [
                entity,
                (
                    "Notification (72 h)",
                    [
                        ("case.aware_at", "Prise de connaissance"), ("case.severity", "Gravité"),
                        ("care_impact", "Impact"), ("case.status", "État"), iocs, ("actions", "Mesures prises"),
                    ]
                ),
            ],
            .nis2Final: [
                entity,
                (
                    "Rapport final",
                    [
                        ("case.description", "Description détaillée"), ("root_cause", "Cause première"),
                        ("actions", "Mesures d'atténuation appliquées et en cours"),
                        ("cross_border", "Impact transfrontière"), ("case.lessons", "Retour d'expérience"),
                    ]
                ),
            ],
        ]
    }()

    /// The draft of one declaration of a case.
    public static func make(
        _ regime: Regime, case detail: CaseDetail, entity: [String: String], dueAt: Date?
    ) -> DeclarationDraft {
        let incident = detail.incident
        let formatter = ISO8601DateFormatter()
        func value(_ key: String) -> String {
            if key.hasPrefix("entity.") { return entity[String(key.dropFirst(7))] ?? "" }
            switch key {
            case "case.declarant": return incident.createdBy
            case "case.occurred_at": return incident.occurredAt.map(formatter.string) ?? ""
            case "case.detected_at": return incident.detectedAt.map(formatter.string) ?? ""
            case "case.aware_at": return incident.awareAt.map(formatter.string) ?? ""
            case "case.description": return incident.description
            case "case.status": return incident.status.rawValue
            case "case.severity": return incident.severity.rawValue
            case "case.lessons": return incident.lessons
            case "case.iocs":
                return detail.observables.filter { $0.ioc && $0.tlp <= .amber }.map { "\($0.kind) \($0.value)" }
                    .joined(separator: "\n")
            default: return incident.fields[key] ?? ""
            }
        }
        return DeclarationDraft(
            regime: regime.rawValue, recipient: regime.recipient, caseID: incident.id, caseTitle: incident.title,
            dueAt: dueAt,
            sections: (layout[regime] ?? []).map { section in
                Section(
                    title: section.0,
                    fields: section.1.map { Field(key: $0.0, label: $0.1, value: value($0.0)) })
            })
    }

    /// The draft as JSON (sorted keys, ISO dates): what is hashed when it is marked sent.
    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Array((try? encoder.encode(self)) ?? Data())
    }
}

extension CaseService {
    /// The pre-filled draft of one of the establishment's declarations.
    public func draft(_ declarationID: Int64, in scope: TenantScope) async throws -> DeclarationDraft {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                """
                SELECT * FROM inc_declarations WHERE id = \(bind: declarationID) \
                AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).first()
        else { throw IncidentsError.notFound("declaration") }
        let declaration = try Self.declaration(row)
        let detail = try await detail(declaration.caseID, in: scope)
        let regimes = try await storedRegimes(scope.establishmentID.uuid, sql)
        // The establishment's own record answers what the regimes leave blank.
        var entity = regimes.entity
        if let row = try await sql.raw(
            "SELECT name, finess FROM core_establishments WHERE id = \(bind: scope.establishmentID.uuid)"
        ).first() {
            if (entity["name"] ?? "").isEmpty { entity["name"] = try row.decode(column: "name", as: String.self) }
            if (entity["finess_ej"] ?? "").isEmpty, let finess = try row.decode(column: "finess", as: String?.self) {
                entity["finess_ej"] = finess
            }
        }
        return DeclarationDraft.make(declaration.regime, case: detail, entity: entity, dueAt: declaration.dueAt)
    }
}
