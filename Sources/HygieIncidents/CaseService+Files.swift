import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import SQLKit

/// A file attached to a case.
public struct CaseFile: Sendable, Hashable, Identifiable {
    public var id: Int64
    public var name: String
    public var contentType: String
    public var size: Int
    public var sha256: String
    public var uploadedBy: String
    public var createdAt: Date
}

extension CaseService {
    /// Largest file attached to a case.
    public static let maximumFileBytes = 30 << 20

    /// Attaches a file (kept with its SHA-256; served only as a download).
    public func attach(
        _ caseID: Int64, name: String, contentType: String, data: [UInt8], in scope: TenantScope
    ) async throws -> CaseFile {
        try scope.require(Self.handlers)
        guard !data.isEmpty else { throw IncidentsError.invalid("the file is empty") }
        guard data.count <= Self.maximumFileBytes else {
            throw IncidentsError.tooLarge("the file is larger than \(Self.maximumFileBytes >> 20) MiB")
        }
        // Only the last path component, without control characters or quotes.
        let base = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let cleaned = String(
            base.filter { !$0.isNewline && $0 != "\"" && $0.unicodeScalars.allSatisfy { $0.value >= 0x20 } }.prefix(200)
        )
        let fileName = cleaned.isEmpty ? "file" : cleaned
        _ = try await incident(caseID, in: scope)
        let digest = Self.sha256(data)
        let establishment = scope.establishmentID.uuid
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        let type = String(contentType.prefix(100))
        let id = try await changing("case.file", caseID, "case \(caseID): file \(fileName) attached", in: scope) { db in
            let row = try await db.raw(
                """
                INSERT INTO inc_case_files (establishment_id, case_id, name, content_type, size, sha256, data, \
                uploaded_by, created_at) VALUES (\(bind: establishment), \(bind: caseID), \(bind: fileName), \
                \(bind: type), \(bind: Int64(data.count)), \(bind: digest), \(bind: Data(data)), \(bind: actor), \
                \(bind: ms)) RETURNING id
                """
            ).first()
            try await Self.event(
                db, caseID, establishment: establishment, at: ms, actor: actor, kind: "file",
                "\(fileName) (\(data.count) bytes, SHA-256 \(digest))")
            return try row?.decode(column: "id", as: Int64.self) ?? 0
        }
        return CaseFile(
            id: id, name: fileName, contentType: type, size: data.count, sha256: digest, uploadedBy: actor,
            createdAt: Date(milliseconds: ms))
    }

    public func files(_ caseID: Int64, in scope: TenantScope) async throws -> [CaseFile] {
        try scope.require(Self.readers)
        return try await sql.raw(
            """
            SELECT id, name, content_type, size, sha256, uploaded_by, created_at FROM inc_case_files \
            WHERE case_id = \(bind: caseID) AND establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY id
            """
        ).all().map { row in
            CaseFile(
                id: try row.decode(column: "id", as: Int64.self), name: try row.decode(column: "name", as: String.self),
                contentType: try row.decode(column: "content_type", as: String.self),
                size: Int(try row.decode(column: "size", as: Int64.self)),
                sha256: try row.decode(column: "sha256", as: String.self),
                uploadedBy: try row.decode(column: "uploaded_by", as: String.self),
                createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
        }
    }

    /// A file's bytes, for a download; the access is written to the audit trail.
    public func file(_ fileID: Int64, in scope: TenantScope) async throws -> (CaseFile, [UInt8]) {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                """
                SELECT * FROM inc_case_files WHERE id = \(bind: fileID) \
                AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).first()
        else { throw IncidentsError.notFound("file") }
        let file = CaseFile(
            id: fileID, name: try row.decode(column: "name", as: String.self),
            contentType: try row.decode(column: "content_type", as: String.self),
            size: Int(try row.decode(column: "size", as: Int64.self)),
            sha256: try row.decode(column: "sha256", as: String.self),
            uploadedBy: try row.decode(column: "uploaded_by", as: String.self),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
        let caseID = try row.decode(column: "case_id", as: Int64.self)
        let data = try row.decode(column: "data", as: Data.self)
        try await audit.record(
            AuditEntry(
                action: "case.file.download", objectType: "case", objectID: "\(caseID)",
                summary: "file \(file.name) of case \(caseID) downloaded", establishmentID: scope.establishmentID),
            by: scope.actor, on: database.db)
        return (file, Array(data))
    }

    /// Splits observables off into a new case (same type, severity, TLP, PAP and awareness): they move, both
    /// cases link to each other, both timelines say so.
    public func split(_ caseID: Int64, observables: [Int64], title: String, in scope: TenantScope) async throws
        -> CaseDetail
    {
        try scope.require(Self.handlers)
        let source = try await detail(caseID, in: scope)
        let moving = source.observables.filter { observables.contains($0.id) }
        guard !moving.isEmpty else { throw IncidentsError.invalid("choose the observables to split off") }
        let incident = source.incident
        let created = try await open(
            CaseInput(
                title: title, description: "Séparé du dossier #\(caseID).", type: incident.type,
                severity: incident.severity, tlp: incident.tlp, pap: incident.pap, occurredAt: incident.occurredAt,
                detectedAt: incident.detectedAt, awareAt: incident.awareAt), source: "case:\(caseID)", in: scope)
        let newID = created.incident.id
        let establishment = scope.establishmentID.uuid
        let ms = clock.now().milliseconds
        let actor = scope.actor.displayName
        try await changing(
            "case.split", caseID, "case \(caseID): \(moving.count) observables split into \(newID)", in: scope
        ) {
            db in
            for observable in moving {
                try await Self.insertObservable(
                    db, caseID: newID, establishment: establishment, kind: observable.kind, value: observable.value,
                    ioc: observable.ioc, sighted: observable.sighted, tlp: observable.tlp, note: observable.note, at: ms
                )
                try await db.raw(
                    "DELETE FROM inc_observables WHERE id = \(bind: observable.id) AND case_id = \(bind: caseID)"
                ).run()
            }
            for (from, to, title) in [(caseID, newID, created.incident.title), (newID, caseID, incident.title)] {
                try await db.raw(
                    """
                    INSERT INTO inc_case_links (establishment_id, case_id, kind, ref, title, created_at) VALUES \
                    (\(bind: establishment), \(bind: from), 'case', \(bind: String(to)), \(bind: title), \(bind: ms))
                    """
                ).run()
                try await Self.event(
                    db, from, establishment: establishment, at: ms, actor: actor, kind: "split",
                    from == caseID
                        ? "\(moving.count) observables split into case \(newID)" : "split from case \(caseID)")
            }
        }
        return try await detail(newID, in: scope)
    }
}
