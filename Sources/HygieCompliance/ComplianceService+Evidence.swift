import ComplianceCore
import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
import SQLKit

extension ComplianceService {
    // MARK: Evidence

    /// Stores a piece of evidence (a file kept with its SHA-256, a link, or a dated declaration) and, when
    /// given, attaches it to a requirement of an assessment. One piece can serve several requirements.
    public func addEvidence(
        _ input: NewEvidence, attachTo assessmentID: UUID? = nil, requirement urn: String? = nil, in scope: TenantScope
    ) async throws -> EvidenceItem {
        try scope.require(Self.writers)
        let title = try Self.text(input.title, field: "title", max: 300)
        let effective = try Self.validDay(input.effectiveOn, field: "effective_on")
        if let until = input.validUntil {
            guard try Self.validDay(until, field: "valid_until") >= effective else {
                throw ValidationError(field: "valid_until", message: "must not be before the effective date")
            }
        }
        var link: String?
        if let raw = input.link?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
            guard raw.count <= 2000, let url = URL(string: raw),
                ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                url.host != nil
            else {
                throw ValidationError(field: "link", message: "must be an http(s) address", key: "url")
            }
            link = raw
        }
        if let content = input.content, content.count > configuration.maxUploadBytes {
            throw ComplianceError.tooLarge(limit: configuration.maxUploadBytes)
        }
        let filename = input.content == nil ? nil : Self.safeFilename(input.filename ?? "evidence")
        let owner = try input.owner.flatMap { try Self.optionalText($0, field: "owner", max: 200) }
        if let assessmentID {
            guard let urn else {
                throw ValidationError(field: "requirement", message: "is required to attach evidence")
            }
            try await requireOpenRequirement(assessmentID, urn, in: scope)
        }
        let item = EvidenceItem(
            id: UUID(), title: title, link: link, filename: filename,
            contentType: input.content == nil ? nil : Self.contentType(input.contentType),
            size: input.content?.count, sha256: input.content?.sha256Hex, effectiveOn: effective.description,
            validUntil: input.validUntil, owner: owner, createdBy: scope.actor.displayName, createdAt: clock.now())
        let content = input.content
        try await changing(
            AuditEntry(
                action: "compliance.evidence.add", objectType: "comp_evidence", objectID: item.id.uuidString,
                summary: "Added evidence \(title)\(item.sha256.map { " (sha256 \($0))" } ?? "")"), by: scope.actor
        ) { db in
            try await db.insert(into: "comp_evidence")
                .columns(
                    "id", "establishment_id", "title", "link", "filename", "content_type", "size", "sha256", "content",
                    "effective_on", "valid_until", "owner", "created_by", "created_at"
                )
                .values(
                    SQLBind(item.id), SQLBind(scope.establishmentID.uuid), SQLBind(item.title), SQLBind(item.link),
                    SQLBind(item.filename), SQLBind(item.contentType), SQLBind(item.size), SQLBind(item.sha256),
                    SQLBind(content), SQLBind(item.effectiveOn), SQLBind(item.validUntil), SQLBind(item.owner),
                    SQLBind(item.createdBy), SQLBind(item.createdAt.milliseconds)
                ).run()
            if let assessmentID, let urn {
                try await Self.link(item.id, assessmentID, urn, establishment: scope.establishmentID.uuid, on: db)
            }
        }
        return item
    }

    /// Attaches existing evidence to a requirement.
    public func attachEvidence(
        _ evidenceID: UUID, to assessmentID: UUID, requirement urn: String, in scope: TenantScope
    )
        async throws
    {
        try scope.require(Self.writers)
        let item = try await evidence(evidenceID, in: scope)
        try await requireOpenRequirement(assessmentID, urn, in: scope)
        try await changing(
            AuditEntry(
                action: "compliance.evidence.attach", objectType: "comp_assessment", objectID: assessmentID.uuidString,
                summary: "Attached evidence \(item.title) to \(urn)"), by: scope.actor
        ) { db in
            try await Self.link(evidenceID, assessmentID, urn, establishment: scope.establishmentID.uuid, on: db)
        }
    }

    public func detachEvidence(
        _ evidenceID: UUID, from assessmentID: UUID, requirement urn: String, in scope: TenantScope
    )
        async throws
    {
        try scope.require(Self.writers)
        let item = try await evidence(evidenceID, in: scope)
        try await requireOpenRequirement(assessmentID, urn, in: scope)
        try await changing(
            AuditEntry(
                action: "compliance.evidence.detach", objectType: "comp_assessment", objectID: assessmentID.uuidString,
                summary: "Detached evidence \(item.title) from \(urn)"), by: scope.actor
        ) { db in
            try await db.raw(
                """
                DELETE FROM comp_evidence_links WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
                AND evidence_id = \(bind: evidenceID) AND assessment_id = \(bind: assessmentID) \
                AND requirement_urn = \(bind: urn)
                """
            ).run()
        }
    }

    static func link(_ evidence: UUID, _ assessment: UUID, _ urn: String, establishment: UUID, on db: any SQLDatabase)
        async throws
    {
        try await db.insert(into: "comp_evidence_links")
            .columns("establishment_id", "evidence_id", "assessment_id", "requirement_urn")
            .values(SQLBind(establishment), SQLBind(evidence), SQLBind(assessment), SQLBind(urn))
            .ignoringConflicts(with: ["establishment_id", "assessment_id", "requirement_urn", "evidence_id"]).run()
    }

    func requireOpenRequirement(_ assessmentID: UUID, _ urn: String, in scope: TenantScope) async throws {
        let assessment = try await assessment(assessmentID, in: scope)
        guard assessment.status != .closed else { throw HygieCoreError.conflict("the assessment is closed") }
        let framework = try await framework(assessment.frameworkID)
        guard framework.nodes.contains(where: { $0.urn == urn && $0.assessable }) else {
            throw HygieCoreError.notFound("requirement \(urn)")
        }
    }

    /// The establishment's evidence library, newest first.
    public func evidenceLibrary(in scope: TenantScope, limit: Int = 500) async throws -> [EvidenceItem] {
        try scope.require(Self.readers)
        return try await sql.raw(
            """
            SELECT id, title, link, filename, content_type, size, sha256, effective_on, valid_until, owner, created_by, \
            created_at FROM comp_evidence WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            ORDER BY created_at DESC, id LIMIT \(bind: limit)
            """
        ).all().map(Self.evidenceItem)
    }

    public func evidence(_ id: UUID, in scope: TenantScope) async throws -> EvidenceItem {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                """
                SELECT id, title, link, filename, content_type, size, sha256, effective_on, valid_until, owner, created_by, \
                created_at FROM comp_evidence WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).first()
        else { throw HygieCoreError.notFound("evidence") }
        return try Self.evidenceItem(row)
    }

    /// The stored file of a piece of evidence; reading it is written to the audit trail.
    public func evidenceContent(_ id: UUID, in scope: TenantScope) async throws -> (EvidenceItem, Data) {
        let item = try await evidence(id, in: scope)
        guard
            let content = try await sql.raw(
                "SELECT content FROM comp_evidence WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()?.decode(column: "content", as: Data?.self)
        else { throw HygieCoreError.notFound("evidence file") }
        try await changing(
            AuditEntry(
                action: "compliance.evidence.download", objectType: "comp_evidence", objectID: id.uuidString,
                summary: "Downloaded evidence \(item.title)"), by: scope.actor
        ) { _ in }
        return (item, content)
    }

    static func evidenceItem(_ row: any SQLRow) throws -> EvidenceItem {
        EvidenceItem(
            id: try row.decode(column: "id", as: UUID.self),
            title: try row.decode(column: "title", as: String.self),
            link: try row.decode(column: "link", as: String?.self),
            filename: try row.decode(column: "filename", as: String?.self),
            contentType: try row.decode(column: "content_type", as: String?.self),
            size: try row.decode(column: "size", as: Int?.self),
            sha256: try row.decode(column: "sha256", as: String?.self),
            effectiveOn: try row.decode(column: "effective_on", as: String.self),
            validUntil: try row.decode(column: "valid_until", as: String?.self),
            owner: try row.decode(column: "owner", as: String?.self),
            createdBy: try row.decode(column: "created_by", as: String.self),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }

    /// A file name without directories or control characters, at most 200 characters.
    static func safeFilename(_ name: String) -> String {
        let base = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? "evidence"
        let cleaned = String(
            base.unicodeScalars.filter { $0.value >= 0x20 && $0 != "\"" && $0.value != 0x7F }.map(Character.init))
        let trimmed = cleaned.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty || trimmed == "." || trimmed == ".." ? "evidence" : String(trimmed.prefix(200))
    }

    /// Only a plain `type/subtype` is kept; anything else is served as bytes.
    static func contentType(_ value: String?) -> String {
        guard let value = value?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased(),
            value.count <= 100, value.split(separator: "/").count == 2,
            value.allSatisfy({ $0.isLetter || $0.isNumber || "/.+-".contains($0) })
        else { return "application/octet-stream" }
        return value
    }

    // MARK: Comments

    public func addComment(_ body: String, to assessmentID: UUID, requirement urn: String, in scope: TenantScope)
        async throws -> AssessmentComment
    {
        try scope.require(Self.commenters)
        let text = try Self.text(body, field: "comment", max: 4000)
        let assessment = try await assessment(assessmentID, in: scope)
        let framework = try await framework(assessment.frameworkID)
        guard framework.nodes.contains(where: { $0.urn == urn }) else {
            throw HygieCoreError.notFound("requirement \(urn)")
        }
        let comment = AssessmentComment(
            id: UUID(), requirementURN: urn, author: scope.actor.displayName, body: text, createdAt: clock.now())
        try await changing(
            AuditEntry(
                action: "compliance.comment.add", objectType: "comp_assessment", objectID: assessmentID.uuidString,
                summary: "Commented on \(urn)"), by: scope.actor
        ) { db in
            try await db.insert(into: "comp_comments")
                .columns("id", "establishment_id", "assessment_id", "requirement_urn", "author", "body", "created_at")
                .values(
                    SQLBind(comment.id), SQLBind(scope.establishmentID.uuid), SQLBind(assessmentID), SQLBind(urn),
                    SQLBind(comment.author), SQLBind(comment.body), SQLBind(comment.createdAt.milliseconds)
                ).run()
        }
        return comment
    }

    public func comments(of assessmentID: UUID, requirement urn: String, in scope: TenantScope) async throws
        -> [AssessmentComment]
    {
        try scope.require(Self.readers)
        return try await sql.raw(
            """
            SELECT * FROM comp_comments WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            AND assessment_id = \(bind: assessmentID) AND requirement_urn = \(bind: urn) ORDER BY created_at
            """
        ).all().map { row in
            AssessmentComment(
                id: try row.decode(column: "id", as: UUID.self),
                requirementURN: try row.decode(column: "requirement_urn", as: String.self),
                author: try row.decode(column: "author", as: String.self),
                body: try row.decode(column: "body", as: String.self),
                createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
        }
    }
}
