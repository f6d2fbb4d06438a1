import FluentKit
public import Foundation
import HygieCore
public import HygieIntel
public import HygieStorage
import SQLKit
public import STIX

/// An observable to attach when a case is opened from something else (an alert, a finding).
public struct ObservableInput: Sendable, Hashable {
    public var kind: String
    public var value: String
    public var ioc: Bool
    public var sighted: Bool

    public init(kind: String, value: String, ioc: Bool = false, sighted: Bool = true) {
        self.kind = kind
        self.value = value
        self.ioc = ioc
        self.sighted = sighted
    }
}

extension CaseService {
    /// Opens a case from another module's object (`source` = `alert:<id>`, `finding:<id>`): the object is
    /// linked and its observables attached. An object already linked to a case opens that case instead (one
    /// case per source, as TheHive's `source` + `sourceRef`).
    public func open(
        _ input: CaseInput, source: String, link: CaseLink, observables: [ObservableInput], in scope: TenantScope
    ) async throws -> CaseDetail {
        try scope.require(Self.linkedOpeners)
        if let existing = try await linkedCase(kind: link.kind, ref: link.ref, in: scope) {
            return try await detail(existing, in: scope)
        }
        let detail = try await create(input, source: source, in: scope)
        let caseID = detail.incident.id
        let establishment = scope.establishmentID.uuid
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        try await changing("case.link", caseID, "case \(caseID): \(link.kind) \(link.ref) linked", in: scope) { db in
            try await db.raw(
                """
                INSERT INTO inc_case_links (establishment_id, case_id, kind, ref, title, created_at) VALUES \
                (\(bind: establishment), \(bind: caseID), \(bind: link.kind), \(bind: link.ref), \
                \(bind: String(link.title.prefix(300))), \(bind: ms))
                """
            ).run()
            for observable in observables.prefix(100) where !observable.value.isEmpty {
                try await Self.insertObservable(
                    db, caseID: caseID, establishment: establishment, kind: observable.kind,
                    value: String(observable.value.prefix(2_000)), ioc: observable.ioc, sighted: observable.sighted,
                    tlp: .amber, note: "\(link.kind) \(link.ref)", at: ms)
            }
            try await Self.event(
                db, caseID, establishment: establishment, at: ms, actor: actor, kind: "link",
                "\(link.kind) \(link.title) linked; \(observables.count) observables")
        }
        return try await self.detail(caseID, in: scope)
    }

    /// The open (not merged) case an object is linked to, if any.
    func linkedCase(kind: String, ref: String, in scope: TenantScope) async throws -> Int64? {
        try await sql.raw(
            """
            SELECT l.case_id FROM inc_case_links l JOIN inc_cases c ON c.id = l.case_id \
            WHERE l.establishment_id = \(bind: scope.establishmentID.uuid) AND l.kind = \(bind: kind) \
            AND l.ref = \(bind: ref) AND c.merged_into IS NULL ORDER BY l.case_id LIMIT 1
            """
        ).first().map { try $0.decode(column: "case_id", as: Int64.self) }
    }

    /// Adds a note to the timeline.
    public func note(_ caseID: Int64, _ text: String, in scope: TenantScope) async throws -> CaseDetail {
        try scope.require(Self.handlers)
        let text = try Self.text(text, "note", max: 4_000, required: true)
        _ = try await incident(caseID, in: scope)
        let establishment = scope.establishmentID.uuid
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        try await changing("case.note", caseID, "case \(caseID): note", in: scope) { db in
            try await Self.event(db, caseID, establishment: establishment, at: ms, actor: actor, kind: "note", text)
        }
        return try await detail(caseID, in: scope)
    }

    /// Shares the case's indicators (observables flagged IOC, at or below `tlp`) as STIX indicators in one of the
    /// establishment's collections, in one click; returns how many. A case at PAP:RED shares nothing: its
    /// information does not leave the team.
    public func shareIndicators(
        _ caseID: Int64, collection: UUID, tlp: TLP, intel: IntelService, in scope: TenantScope
    ) async throws -> Int {
        try scope.require(Self.handlers)
        let detail = try await detail(caseID, in: scope)
        guard detail.incident.pap != .red else {
            throw IncidentsError.invalid("the case is PAP:RED: its information does not leave the team")
        }
        let shared = detail.observables.filter {
            $0.ioc && $0.tlp <= tlp && $0.kind != "filename" && $0.kind != "account"
        }
        guard !shared.isEmpty else {
            throw IncidentsError.invalid("no indicator to share at TLP:\(tlp.rawValue.uppercased()) or below")
        }
        func field(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        let name = "Dossier #\(caseID) — \(detail.incident.title)"
        var csv = "type,value,name,description,tlp,valid_from,valid_until,confidence,labels\n"
        for observable in shared {
            csv +=
                [
                    field(observable.kind), field(observable.value), field(name), field(observable.note),
                    field(observable.tlp.rawValue), "", "", "70", field("hygie-case"),
                ].joined(separator: ",") + "\n"
        }
        let status = try await intel.importContent(Array(csv.utf8), format: .csv, into: collection, in: scope)
        let establishment = scope.establishmentID.uuid
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        let ids = shared.map(\.id)
        try await changing("case.share", caseID, "case \(caseID): \(shared.count) indicators shared", in: scope) { db in
            try await db.raw(
                """
                UPDATE inc_observables SET shared_at = \(bind: ms) WHERE case_id = \(bind: caseID) \
                AND establishment_id = \(bind: establishment) AND id IN (\(SQLList(ids.map { SQLBind($0) })))
                """
            ).run()
            try await Self.event(
                db, caseID, establishment: establishment, at: ms, actor: actor, kind: "sharing",
                "\(shared.count) indicators shared at TLP:\(tlp.rawValue.uppercased()) (\(status.successCount) stored, "
                    + "\(status.failureCount) refused)")
        }
        return shared.count
    }
}
