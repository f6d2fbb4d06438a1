public import AwarenessCore
import FluentKit
import Foundation
public import HygieCore
import HygieMail
public import HygieStorage
import SQLKit

/// Phishing simulation and training for one instance: every object belongs to an establishment and is reached
/// through a ``TenantScope``; the tracking endpoints find their establishment through the recipient's rid.
public struct AwarenessService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock
    public let configuration: AwarenessConfiguration
    let secrets: SecretBox?
    let tracking: TrackingCache

    /// See campaigns, results and statistics (the DPO reads, as the law asks).
    static let readers: Set<Role> = [.admin, .rssi, .analyst, .dpo]
    /// Prepare groups, templates, pages, profiles and campaigns.
    static let writers: Set<Role> = [.admin, .rssi, .analyst]
    /// Declare the programme, launch and complete campaigns, manage webhooks, see per-person figures.
    static let managers: Set<Role> = [.admin, .rssi]

    public init(
        database: DatabaseService, audit: AuditTrail, clock: any HygieClock,
        configuration: AwarenessConfiguration = AwarenessConfiguration(), secrets: SecretBox? = nil
    ) {
        self.database = database
        self.audit = audit
        self.clock = clock
        self.configuration = configuration
        self.secrets = secrets
        tracking = TrackingCache()
    }

    var sql: any SQLDatabase { database.sql }

    func now() -> Int64 { clock.now().milliseconds }

    func changing<T: Sendable>(
        _ action: String, _ type: String, _ id: String?, _ summary: String, in scope: TenantScope,
        _ body: @Sendable @escaping (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await audit.recording(
            AuditEntry(
                action: action, objectType: type, objectID: id, summary: summary,
                establishmentID: scope.establishmentID),
            by: scope.actor, in: database, body)
    }

    static func text(_ value: String, _ field: String, max: Int = 200, required: Bool = true) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if required && trimmed.isEmpty { throw AwarenessError.invalid("\(field) is required") }
        guard trimmed.count <= max else { throw AwarenessError.invalid("\(field) is longer than \(max) characters") }
        guard !trimmed.contains(where: { $0.isNewline }) || max > 1000 else {
            throw AwarenessError.invalid("\(field) must be on one line")
        }
        return trimmed
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    /// Looks an object up by name in the scope's establishment: GoPhish clients refer to objects by name.
    func id(of table: String, named name: String, in scope: TenantScope, what: String) async throws -> Int64 {
        guard
            let row = try await sql.raw(
                """
                SELECT id FROM \(unsafeRaw: table) WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
                AND name = \(bind: name)
                """
            ).first()
        else { throw AwarenessError.notFound(what) }
        return try row.decode(column: "id", as: Int64.self)
    }

    /// Appends timeline events (`result` nil for campaign-level ones), in groups of 100 rows.
    static func insertEvents(
        _ db: any SQLDatabase, _ events: [(establishment: UUID, result: Int64?, event: TimelineEvent)]
    )
        async throws
    {
        for chunk in stride(from: 0, to: events.count, by: 100) {
            let rows = events[chunk..<min(chunk + 100, events.count)].map { row in
                SQLGroupExpression(
                    SQLList([
                        SQLBind(row.establishment), SQLBind(row.event.campaignId), SQLBind(row.result),
                        SQLBind(row.event.email), SQLBind(row.event.time.milliseconds), SQLBind(row.event.message),
                        SQLBind(row.event.details), SQLBind(row.event.scanner),
                    ]))
            }
            try await db.raw(
                """
                INSERT INTO aw_events (establishment_id, campaign_id, result_id, email, time, message, details, \
                scanner) VALUES \(SQLList(rows))
                """
            ).run()
        }
    }

    /// Throws `notFound(what)` unless `table` has row `id` in the establishment.
    static func requireRow(_ db: any SQLDatabase, _ table: String, id: Int64, establishment: UUID, what: String)
        async throws
    {
        guard
            try await db.raw(
                "SELECT id FROM \(unsafeRaw: table) WHERE id = \(bind: id) AND establishment_id = \(bind: establishment)"
            ).first() != nil
        else { throw AwarenessError.notFound(what) }
    }

    /// The object with `id` among the establishment's, or `notFound(what)`.
    static func one<T: Identifiable>(_ objects: [T], id: T.ID, what: String) throws -> T {
        guard let found = objects.first(where: { $0.id == id }) else { throw AwarenessError.notFound(what) }
        return found
    }

    func requireUnique(_ table: String, name: String, except id: Int64?, in scope: TenantScope, what: String)
        async throws
    {
        if let row = try await sql.raw(
            """
            SELECT id FROM \(unsafeRaw: table) WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            AND name = \(bind: name)
            """
        ).first(), try row.decode(column: "id", as: Int64.self) != id {
            throw AwarenessError.invalid("\(what) with that name already exists")
        }
    }

    func deleteRow(_ table: String, id: Int64, what: String, in scope: TenantScope) async throws {
        try scope.require(Self.writers)
        let est = scope.establishmentID.uuid
        try await changing("awareness.\(what).delete", table, String(id), "Deleted \(what) \(id)", in: scope) { db in
            try await Self.requireRow(db, table, id: id, establishment: est, what: what)
            if table == "aw_groups" {
                try await db.raw(
                    "DELETE FROM aw_targets WHERE group_id = \(bind: id) AND establishment_id = \(bind: est)"
                )
                .run()
            }
            try await db.raw(
                "DELETE FROM \(unsafeRaw: table) WHERE id = \(bind: id) AND establishment_id = \(bind: est)"
            )
            .run()
        }
    }

    // MARK: Programme

    public func programme(in scope: TenantScope) async throws -> Programme {
        try scope.require(Self.readers)
        return try await Self.programme(scope.establishmentID.uuid, on: sql)
    }

    static func programme(_ establishment: UUID, on sql: any SQLDatabase) async throws -> Programme {
        guard
            let row = try await sql.raw("SELECT * FROM aw_programmes WHERE establishment_id = \(bind: establishment)")
                .first()
        else { return Programme() }
        return Programme(
            informedOn: try row.decode(column: "informed_on", as: String?.self),
            representativesOn: try row.decode(column: "representatives_on", as: String?.self),
            approver: try row.decode(column: "approver", as: String?.self),
            retentionMonths: try row.decode(column: "retention_months", as: Int.self),
            trainingAfterClick: try row.decode(column: "training_after_click", as: String?.self),
            trainingAfterSubmit: try row.decode(column: "training_after_submit", as: String?.self),
            trainingDueDays: try row.decode(column: "training_due_days", as: Int.self))
    }

    /// Records the programme's declaration: when staff and their representatives were informed, who approved,
    /// how long per-person results are kept, which training follows a click or a submission.
    public func setProgramme(_ programme: Programme, in scope: TenantScope) async throws -> Programme {
        try scope.require(Self.managers)
        var value = programme
        for (day, field) in [(value.informedOn, "informed_on"), (value.representativesOn, "representatives_on")] {
            if let day, !day.isEmpty, !Self.isDay(day) {
                throw AwarenessError.invalid("\(field) must be a date (YYYY-MM-DD)")
            }
        }
        value.informedOn = value.informedOn.flatMap { $0.isEmpty ? nil : $0 }
        value.representativesOn = value.representativesOn.flatMap { $0.isEmpty ? nil : $0 }
        value.approver = try value.approver.map { try Self.text($0, "approver", required: false) }
            .flatMap { $0.isEmpty ? nil : $0 }
        guard (1...36).contains(value.retentionMonths) else {
            throw AwarenessError.invalid("retention_months must be between 1 and 36")
        }
        for module in [value.trainingAfterClick, value.trainingAfterSubmit].compactMap({ $0 }) where !module.isEmpty {
            guard TrainingCatalogue.ids.contains(module) else {
                throw AwarenessError.invalid("unknown training module \(module)")
            }
        }
        value.trainingAfterClick = value.trainingAfterClick.flatMap { $0.isEmpty ? nil : $0 }
        value.trainingAfterSubmit = value.trainingAfterSubmit.flatMap { $0.isEmpty ? nil : $0 }
        guard (1...90).contains(value.trainingDueDays) else {
            throw AwarenessError.invalid("training_due_days must be between 1 and 90")
        }
        let est = scope.establishmentID.uuid
        let now = now()
        let stored = value
        try await changing(
            "awareness.programme", "aw_programme", est.uuidString,
            "Awareness programme: informed \(stored.informedOn ?? "-"), approver \(stored.approver ?? "-"), "
                + "retention \(stored.retentionMonths) months", in: scope
        ) { db in
            try await db.raw("DELETE FROM aw_programmes WHERE establishment_id = \(bind: est)").run()
            try await db.raw(
                """
                INSERT INTO aw_programmes (establishment_id, informed_on, representatives_on, approver, \
                retention_months, training_after_click, training_after_submit, training_due_days, updated_at) \
                VALUES (\(bind: est), \(bind: stored.informedOn), \(bind: stored.representativesOn), \
                \(bind: stored.approver), \(bind: Int64(stored.retentionMonths)), \(bind: stored.trainingAfterClick), \
                \(bind: stored.trainingAfterSubmit), \(bind: Int64(stored.trainingDueDays)), \(bind: now))
                """
            ).run()
        }
        return value
    }

    static func isDay(_ text: String) -> Bool {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let month = Int(parts[1]), let day = Int(parts[2]), Int(parts[0]) != nil
        else { return false }
        return (1...12).contains(month) && (1...31).contains(day)
    }

    // MARK: Groups

    public func groups(in scope: TenantScope) async throws -> [TargetGroup] {
        try scope.require(Self.readers)
        let est = scope.establishmentID.uuid
        let rows = try await sql.raw(
            "SELECT id, name, modified_at FROM aw_groups WHERE establishment_id = \(bind: est) ORDER BY name"
        ).all()
        let targets = try await sql.raw(
            "SELECT * FROM aw_targets WHERE establishment_id = \(bind: est) ORDER BY id"
        ).all()
        var byGroup: [Int64: [TargetRecord]] = [:]
        for row in targets {
            byGroup[try row.decode(column: "group_id", as: Int64.self), default: []].append(try Self.target(row))
        }
        return try rows.map { row in
            let id = try row.decode(column: "id", as: Int64.self)
            return TargetGroup(
                id: id, name: try row.decode(column: "name", as: String.self),
                modifiedDate: Date(milliseconds: try row.decode(column: "modified_at", as: Int64.self)),
                targets: byGroup[id] ?? [])
        }
    }

    public func group(_ id: Int64, in scope: TenantScope) async throws -> TargetGroup {
        try Self.one(try await groups(in: scope), id: id, what: "group")
    }

    static func target(_ row: any SQLRow) throws -> TargetRecord {
        TargetRecord(
            Target(
                firstName: try row.decode(column: "first_name", as: String.self),
                lastName: try row.decode(column: "last_name", as: String.self),
                email: try row.decode(column: "email", as: String.self),
                position: try row.decode(column: "position", as: String.self),
                department: try row.decode(column: "department", as: String.self),
                role: try row.decode(column: "role", as: String.self),
                language: try row.decode(column: "language", as: String.self)),
            id: try row.decode(column: "id", as: Int64.self))
    }

    /// Creates a group, or replaces its members when `id` is given; all or nothing.
    public func saveGroup(id: Int64? = nil, name: String, targets: [Target], in scope: TenantScope) async throws
        -> TargetGroup
    {
        try scope.require(Self.writers)
        let name = try Self.text(name, "name")
        guard !targets.isEmpty else { throw AwarenessError.invalid("a group needs at least one target") }
        guard targets.count <= TargetList.maximumTargets else {
            throw AwarenessError.invalid("a group has at most \(TargetList.maximumTargets) targets")
        }
        var seen = Set<String>()
        var problems: [String] = []
        for (index, target) in targets.enumerated() {
            if !TargetList.isEmail(target.email) {
                problems.append("target \(index + 1): invalid e-mail \(target.email)")
            }
            if !seen.insert(target.email.lowercased()).inserted {
                problems.append("target \(index + 1): \(target.email) is listed twice")
            }
            for (value, field) in [
                (target.firstName, "first_name"), (target.lastName, "last_name"), (target.position, "position"),
                (target.department, "department"), (target.role, "role"),
            ] where value.count > 200 || value.contains(where: \.isNewline) {
                problems.append("target \(index + 1): \(field) is too long or not on one line")
            }
        }
        guard problems.isEmpty else {
            throw AwarenessError.invalid(problems.prefix(20).joined(separator: "; "))
        }
        try await requireUnique("aw_groups", name: name, except: id, in: scope, what: "a group")
        let est = scope.establishmentID.uuid
        let now = now()
        let saved = try await changing(
            id == nil ? "awareness.group.create" : "awareness.group.update", "aw_group", id.map(String.init),
            "Group \(name): \(targets.count) targets", in: scope
        ) { db -> Int64 in
            let groupID: Int64
            if let id {
                try await Self.requireRow(db, "aw_groups", id: id, establishment: est, what: "group")
                try await db.raw(
                    "UPDATE aw_groups SET name = \(bind: name), modified_at = \(bind: now) WHERE id = \(bind: id)"
                ).run()
                try await db.raw("DELETE FROM aw_targets WHERE group_id = \(bind: id)").run()
                groupID = id
            } else {
                groupID = try await db.raw(
                    """
                    INSERT INTO aw_groups (establishment_id, name, modified_at) VALUES (\(bind: est), \(bind: name), \
                    \(bind: now)) RETURNING id
                    """
                ).first()!.decode(column: "id", as: Int64.self)
            }
            for chunk in stride(from: 0, to: targets.count, by: 200) {
                let rows = targets[chunk..<min(chunk + 200, targets.count)].map { target in
                    SQLList([
                        SQLBind(est), SQLBind(groupID), SQLBind(target.email), SQLBind(target.firstName),
                        SQLBind(target.lastName), SQLBind(target.position), SQLBind(target.department),
                        SQLBind(target.role), SQLBind(target.language),
                    ])
                }
                try await db.raw(
                    """
                    INSERT INTO aw_targets (establishment_id, group_id, email, first_name, last_name, position, \
                    department, role, language) VALUES \(SQLList(rows.map { SQLGroupExpression($0) }))
                    """
                ).run()
            }
            return groupID
        }
        return try await group(saved, in: scope)
    }

    /// Imports a CSV file (GoPhish's columns or French headers) as a new group, or as the new members of one.
    public func importGroup(id: Int64? = nil, name: String, csv: [UInt8], in scope: TenantScope) async throws
        -> TargetGroup
    {
        let targets: [Target]
        do { targets = try TargetList.parse(csv) } catch { throw AwarenessError.invalid(error.description) }
        return try await saveGroup(id: id, name: name, targets: targets, in: scope)
    }

    public func deleteGroup(_ id: Int64, in scope: TenantScope) async throws {
        try await deleteRow("aw_groups", id: id, what: "group", in: scope)
    }

    // MARK: Templates

    public func templates(in scope: TenantScope) async throws -> [EmailTemplate] {
        try scope.require(Self.readers)
        return try await sql.raw(
            "SELECT * FROM aw_templates WHERE establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY name"
        ).all().map(Self.template)
    }

    public func template(_ id: Int64, in scope: TenantScope) async throws -> EmailTemplate {
        try Self.one(try await templates(in: scope), id: id, what: "template")
    }

    static func template(_ row: any SQLRow) throws -> EmailTemplate {
        EmailTemplate(
            id: try row.decode(column: "id", as: Int64.self), name: try row.decode(column: "name", as: String.self),
            subject: try row.decode(column: "subject", as: String.self),
            envelopeSender: try row.decode(column: "envelope_sender", as: String.self),
            text: try row.decode(column: "text", as: String.self),
            html: try row.decode(column: "html", as: String.self),
            attachments: try decode([TemplateAttachment].self, try row.decode(column: "attachments", as: String.self)),
            difficulty: try row.decode(column: "difficulty", as: Int.self),
            modifiedDate: Date(milliseconds: try row.decode(column: "modified_at", as: Int64.self)))
    }

    /// Checks a template: every part parses, the text has a link or the HTML does, attachments are base64.
    static func validate(_ input: TemplateInput) throws -> TemplateInput {
        var value = input
        value.name = try text(input.name, "name")
        value.subject = try text(input.subject, "subject", max: 400)
        value.envelopeSender = try text(input.envelopeSender, "envelope_sender", max: 300, required: false)
        guard !input.text.isEmpty || !input.html.isEmpty else {
            throw AwarenessError.invalid("a template needs a text or an HTML body")
        }
        for (source, kind, field) in [
            (value.subject, MessageTemplate.Kind.text, "subject"), (input.text, .text, "text"),
            (input.html, .html, "html"),
        ] {
            do { _ = try MessageTemplate(source, kind: kind) } catch {
                throw AwarenessError.invalid("\(field): \(error.description)")
            }
        }
        guard (0...5).contains(input.difficulty) else { throw AwarenessError.invalid("difficulty is 0 to 5") }
        var total = 0
        for attachment in input.attachments {
            guard let data = Data(base64Encoded: attachment.content, options: .ignoreUnknownCharacters) else {
                throw AwarenessError.invalid("attachment \(attachment.name): content is not base64")
            }
            total += data.count
            _ = try text(attachment.name, "attachment name")
        }
        guard total <= 10 << 20 else { throw AwarenessError.invalid("attachments weigh more than 10 MiB") }
        return value
    }

    public func saveTemplate(id: Int64? = nil, _ input: TemplateInput, in scope: TenantScope) async throws
        -> EmailTemplate
    {
        try scope.require(Self.writers)
        let value = try Self.validate(input)
        try await requireUnique("aw_templates", name: value.name, except: id, in: scope, what: "a template")
        let est = scope.establishmentID.uuid
        let now = now()
        let attachments = Self.json(value.attachments)
        let saved = try await changing(
            id == nil ? "awareness.template.create" : "awareness.template.update", "aw_template", id.map(String.init),
            "Template \(value.name)", in: scope
        ) { db -> Int64 in
            if let id {
                try await Self.requireRow(db, "aw_templates", id: id, establishment: est, what: "template")
                try await db.raw(
                    """
                    UPDATE aw_templates SET name = \(bind: value.name), subject = \(bind: value.subject), \
                    envelope_sender = \(bind: value.envelopeSender), text = \(bind: value.text), \
                    html = \(bind: value.html), attachments = \(bind: attachments), \
                    difficulty = \(bind: Int64(value.difficulty)), modified_at = \(bind: now) WHERE id = \(bind: id)
                    """
                ).run()
                return id
            }
            return try await db.raw(
                """
                INSERT INTO aw_templates (establishment_id, name, subject, envelope_sender, text, html, attachments, \
                difficulty, modified_at) VALUES (\(bind: est), \(bind: value.name), \(bind: value.subject), \
                \(bind: value.envelopeSender), \(bind: value.text), \(bind: value.html), \(bind: attachments), \
                \(bind: Int64(value.difficulty)), \(bind: now)) RETURNING id
                """
            ).first()!.decode(column: "id", as: Int64.self)
        }
        return try await template(saved, in: scope)
    }

    public func deleteTemplate(_ id: Int64, in scope: TenantScope) async throws {
        try await deleteRow("aw_templates", id: id, what: "template", in: scope)
    }

    // MARK: Landing pages

    public func pages(in scope: TenantScope) async throws -> [LandingPage] {
        try scope.require(Self.readers)
        return try await sql.raw(
            "SELECT * FROM aw_pages WHERE establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY name"
        ).all().map(Self.page)
    }

    public func page(_ id: Int64, in scope: TenantScope) async throws -> LandingPage {
        try Self.one(try await pages(in: scope), id: id, what: "page")
    }

    static func page(_ row: any SQLRow) throws -> LandingPage {
        LandingPage(
            id: try row.decode(column: "id", as: Int64.self), name: try row.decode(column: "name", as: String.self),
            html: try row.decode(column: "html", as: String.self),
            captureCredentials: try row.decode(column: "capture_credentials", as: Bool.self), capturePasswords: false,
            redirectUrl: try row.decode(column: "redirect_url", as: String.self),
            modifiedDate: Date(milliseconds: try row.decode(column: "modified_at", as: Int64.self)))
    }

    public func savePage(id: Int64? = nil, _ input: PageInput, in scope: TenantScope) async throws -> LandingPage {
        try scope.require(Self.writers)
        let name = try Self.text(input.name, "name")
        guard input.html.utf8.count <= MessageTemplate.maximumLength else {
            throw AwarenessError.invalid("the page is larger than 2 MiB")
        }
        do { _ = try MessageTemplate(input.html, kind: .html) } catch {
            throw AwarenessError.invalid("html: \(error.description)")
        }
        let redirect = try Self.text(input.redirectURL, "redirect_url", max: 2000, required: false)
        if !redirect.isEmpty {
            guard let url = URL(string: redirect), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
                throw AwarenessError.invalid("redirect_url must be an http or https URL")
            }
        }
        try await requireUnique("aw_pages", name: name, except: id, in: scope, what: "a landing page")
        let est = scope.establishmentID.uuid
        let now = now()
        let html = input.html
        let capture = input.captureCredentials
        let saved = try await changing(
            id == nil ? "awareness.page.create" : "awareness.page.update", "aw_page", id.map(String.init),
            "Landing page \(name)", in: scope
        ) { db -> Int64 in
            if let id {
                try await Self.requireRow(db, "aw_pages", id: id, establishment: est, what: "page")
                try await db.raw(
                    """
                    UPDATE aw_pages SET name = \(bind: name), html = \(bind: html), \
                    capture_credentials = \(bind: capture), redirect_url = \(bind: redirect), \
                    modified_at = \(bind: now) WHERE id = \(bind: id)
                    """
                ).run()
                return id
            }
            return try await db.raw(
                """
                INSERT INTO aw_pages (establishment_id, name, html, capture_credentials, redirect_url, modified_at) \
                VALUES (\(bind: est), \(bind: name), \(bind: html), \(bind: capture), \(bind: redirect), \
                \(bind: now)) RETURNING id
                """
            ).first()!.decode(column: "id", as: Int64.self)
        }
        return try await page(saved, in: scope)
    }

    public func deletePage(_ id: Int64, in scope: TenantScope) async throws {
        try await deleteRow("aw_pages", id: id, what: "page", in: scope)
    }

    // MARK: Sending profiles

    public func profiles(in scope: TenantScope) async throws -> [SendingProfile] {
        try scope.require(Self.readers)
        return try await sql.raw(
            "SELECT * FROM aw_profiles WHERE establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY name"
        ).all().map(Self.profile)
    }

    public func profile(_ id: Int64, in scope: TenantScope) async throws -> SendingProfile {
        try Self.one(try await profiles(in: scope), id: id, what: "sending profile")
    }

    static func profile(_ row: any SQLRow) throws -> SendingProfile {
        SendingProfile(
            id: try row.decode(column: "id", as: Int64.self), name: try row.decode(column: "name", as: String.self),
            interfaceType: "SMTP", host: try row.decode(column: "host", as: String.self),
            security: try row.decode(column: "security", as: String.self),
            username: try row.decode(column: "username", as: String.self), password: "",
            fromAddress: try row.decode(column: "from_address", as: String.self),
            ignoreCertErrors: try row.decode(column: "ignore_cert_errors", as: Bool.self),
            headers: try decode([HeaderEntry].self, try row.decode(column: "headers", as: String.self)),
            modifiedDate: Date(milliseconds: try row.decode(column: "modified_at", as: Int64.self)))
    }

    /// `host:port` split, with the port SMTP submission uses when none is given.
    static func hostAndPort(_ text: String) throws -> (String, Int) {
        var host = text
        var port = 25
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            guard let value = Int(text[text.index(after: colon)...]), (1...65535).contains(value) else {
                throw AwarenessError.invalid("host: the port after ':' must be a number from 1 to 65535")
            }
            port = value
            host = String(text[..<colon])
        }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard !host.isEmpty, host.count <= 253,
            host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":") })
        else { throw AwarenessError.invalid("host must be a host name or address, with an optional :port") }
        return (host, port)
    }

    /// The security a profile uses when the client says nothing: implicit TLS on 465, plain on loopback relays,
    /// STARTTLS everywhere else.
    public static func security(for host: String, port: Int) -> String {
        if port == 465 { return "tls" }
        if host == "localhost" || host.hasPrefix("127.") || host == "::1" { return "none" }
        return "starttls"
    }

    public func saveProfile(id: Int64? = nil, _ input: ProfileInput, in scope: TenantScope) async throws
        -> SendingProfile
    {
        try scope.require(Self.writers)
        let name = try Self.text(input.name, "name")
        let (hostName, port) = try Self.hostAndPort(input.host.trimmingCharacters(in: .whitespaces))
        let security =
            input.security.flatMap { $0.isEmpty ? nil : $0.lowercased() }
            ?? Self.security(for: hostName, port: port)
        guard ["none", "starttls", "tls"].contains(security) else {
            throw AwarenessError.invalid("security is none, starttls or tls")
        }
        let from = try Self.text(input.fromAddress, "from_address", max: 300)
        guard TargetList.isEmail(Self.address(in: from)) else {
            throw AwarenessError.invalid("from_address must be an e-mail address (or Name <address>)")
        }
        let username = try Self.text(input.username, "username", required: false)
        var headers: [HeaderEntry] = []
        for header in input.headers {
            do {
                let checked = try MailHeader(name: header.key, value: header.value)
                headers.append(HeaderEntry(key: checked.name, value: checked.value))
            } catch { throw AwarenessError.invalid("header \(header.key): \(error)") }
        }
        var sealed: Data?
        if let password = input.password, !password.isEmpty {
            guard let secrets else { throw AwarenessError.invalid("this node has no instance key to keep passwords") }
            sealed = try secrets.seal(Data(password.utf8))
        }
        try await requireUnique("aw_profiles", name: name, except: id, in: scope, what: "a sending profile")
        let est = scope.establishmentID.uuid
        let now = now()
        let host = port == 25 && !input.host.contains(":") ? hostName : "\(hostName):\(port)"
        let headerJSON = Self.json(headers)
        let keepPassword = input.password == nil
        let ignore = input.ignoreCertErrors
        let sealedPassword = sealed
        let saved = try await changing(
            id == nil ? "awareness.profile.create" : "awareness.profile.update", "aw_profile", id.map(String.init),
            "Sending profile \(name) (\(host), \(security))", in: scope
        ) { db -> Int64 in
            if let id {
                try await Self.requireRow(db, "aw_profiles", id: id, establishment: est, what: "sending profile")
                try await db.raw(
                    """
                    UPDATE aw_profiles SET name = \(bind: name), host = \(bind: host), security = \(bind: security), \
                    username = \(bind: username), from_address = \(bind: from), ignore_cert_errors = \(bind: ignore), \
                    headers = \(bind: headerJSON), modified_at = \(bind: now) WHERE id = \(bind: id)
                    """
                ).run()
                if !keepPassword {
                    try await db.raw(
                        "UPDATE aw_profiles SET password_sealed = \(bind: sealedPassword) WHERE id = \(bind: id)"
                    ).run()
                }
                return id
            }
            return try await db.raw(
                """
                INSERT INTO aw_profiles (establishment_id, name, host, security, username, password_sealed, \
                from_address, ignore_cert_errors, headers, modified_at) VALUES (\(bind: est), \(bind: name), \
                \(bind: host), \(bind: security), \(bind: username), \(bind: sealedPassword), \(bind: from), \
                \(bind: ignore), \(bind: headerJSON), \(bind: now)) RETURNING id
                """
            ).first()!.decode(column: "id", as: Int64.self)
        }
        return try await profile(saved, in: scope)
    }

    public func deleteProfile(_ id: Int64, in scope: TenantScope) async throws {
        try await deleteRow("aw_profiles", id: id, what: "profile", in: scope)
    }

    /// The address of `Name <address>`, or the text itself.
    static func address(in text: String) -> String {
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            return String(text[text.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        return text.trimmingCharacters(in: .whitespaces)
    }

    /// The display name of `Name <address>`, or nil.
    static func displayName(in text: String) -> String? {
        guard let open = text.lastIndex(of: "<") else { return nil }
        let name = text[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(
            in: CharacterSet(charactersIn: "\""))
        return name.isEmpty ? nil : name
    }

    // MARK: Webhooks

    public func webhooks(in scope: TenantScope) async throws -> [Webhook] {
        try scope.require(Self.managers)
        return try await sql.raw(
            "SELECT * FROM aw_webhooks WHERE establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY id"
        ).all().map(Self.webhook)
    }

    public func webhook(_ id: Int64, in scope: TenantScope) async throws -> Webhook {
        try Self.one(try await webhooks(in: scope), id: id, what: "webhook")
    }

    static func webhook(_ row: any SQLRow) throws -> Webhook {
        Webhook(
            id: try row.decode(column: "id", as: Int64.self), name: try row.decode(column: "name", as: String.self),
            url: try row.decode(column: "url", as: String.self), secret: "",
            isActive: try row.decode(column: "is_active", as: Bool.self))
    }

    public func saveWebhook(
        id: Int64? = nil, name: String, url: String, secret: String?, isActive: Bool, in scope: TenantScope
    ) async throws -> Webhook {
        try scope.require(Self.managers)
        let name = try Self.text(name, "name")
        let url = try Self.text(url, "url", max: 2000)
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
            parsed.host != nil
        else { throw AwarenessError.invalid("url must be an http or https URL") }
        var sealed: Data?
        if let secret, !secret.isEmpty {
            guard let secrets else { throw AwarenessError.invalid("this node has no instance key to keep secrets") }
            sealed = try secrets.seal(Data(secret.utf8))
        }
        let est = scope.establishmentID.uuid
        let now = now()
        let keepSecret = secret == nil
        let sealedSecret = sealed
        let saved = try await changing(
            id == nil ? "awareness.webhook.create" : "awareness.webhook.update", "aw_webhook", id.map(String.init),
            "Webhook \(name) → \(parsed.host ?? "")", in: scope
        ) { db -> Int64 in
            if let id {
                try await Self.requireRow(db, "aw_webhooks", id: id, establishment: est, what: "webhook")
                try await db.raw(
                    """
                    UPDATE aw_webhooks SET name = \(bind: name), url = \(bind: url), is_active = \(bind: isActive), \
                    modified_at = \(bind: now) WHERE id = \(bind: id)
                    """
                ).run()
                if !keepSecret {
                    try await db.raw(
                        "UPDATE aw_webhooks SET secret_sealed = \(bind: sealedSecret) WHERE id = \(bind: id)"
                    )
                    .run()
                }
                return id
            }
            return try await db.raw(
                """
                INSERT INTO aw_webhooks (establishment_id, name, url, secret_sealed, is_active, modified_at) VALUES \
                (\(bind: est), \(bind: name), \(bind: url), \(bind: sealedSecret), \(bind: isActive), \(bind: now)) \
                RETURNING id
                """
            ).first()!.decode(column: "id", as: Int64.self)
        }
        await tracking.forgetWebhooks(est)
        return try await webhook(saved, in: scope)
    }

    public func deleteWebhook(_ id: Int64, in scope: TenantScope) async throws {
        try scope.require(Self.managers)
        try await deleteRow("aw_webhooks", id: id, what: "webhook", in: scope)
        await tracking.forgetWebhooks(scope.establishmentID.uuid)
    }
}
