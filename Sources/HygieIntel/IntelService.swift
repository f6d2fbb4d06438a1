import Crypto
import FluentKit
public import Foundation
public import HygieCore
public import HygieStorage
import SQLKit
public import STIX

/// Settings of the intel module. Keys: `hygie.intel.maxContentLength` (bytes, default 10 MiB: the largest
/// TAXII envelope or bundle accepted), `hygie.intel.pageLimit` (largest page, default 1000).
public struct IntelConfiguration: Sendable, Hashable {
    public var maxContentLength: Int
    public var pageLimit: Int

    public init(maxContentLength: Int = 10 * 1024 * 1024, pageLimit: Int = 1000) {
        self.maxContentLength = maxContentLength
        self.pageLimit = pageLimit
    }
}

/// Collections, machine accounts, sharing groups and grants of an establishment (managed with a
/// ``TenantScope``), and access to STIX content for a principal (``IntelPrincipal``).
public struct IntelService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock
    public let configuration: IntelConfiguration
    let store: ObjectStore
    /// Protects the secrets of remote feeds (nil: feeds cannot hold secrets).
    let secrets: SecretBox?

    static let readers: Set<Role> = [.admin, .rssi, .analyst, .auditor]
    static let writers: Set<Role> = [.admin, .rssi, .analyst]
    static let managers: Set<Role> = [.admin, .rssi]

    public init(
        database: DatabaseService, audit: AuditTrail, clock: any HygieClock,
        configuration: IntelConfiguration = IntelConfiguration(), secrets: SecretBox? = nil
    ) {
        self.secrets = secrets
        self.database = database
        self.audit = audit
        self.clock = clock
        self.configuration = configuration
        store = ObjectStore(database: database, audit: audit, clock: clock)
    }

    var sql: any SQLDatabase { database.sql }

    /// Runs `body` in a transaction with an audit entry.
    func changing<T: Sendable>(
        _ entry: AuditEntry, by actor: Actor, _ body: @Sendable @escaping (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await audit.recording(entry, by: actor, in: database, body)
    }

    // MARK: Principals

    /// The principal for a member of an establishment (pages, REST API, CLI).
    public func principal(for scope: TenantScope) -> IntelPrincipal {
        // Members of the owning establishment see everything it holds, RED included (named recipients are
        // its own staff); what leaves goes through accounts and exports, which are capped.
        IntelPrincipal(
            kind: .member(scope.role), establishmentID: scope.establishmentID, maxTLP: .red,
            name: scope.actor.displayName, actor: scope.actor)
    }

    /// Checks HTTP Basic credentials of a machine account. Returns nil for an unknown user, a wrong secret or a
    /// disabled account (the caller cannot tell which).
    public func authenticate(username: String, secret: String, requestID: String?, sourceAddress: String?) async throws
        -> IntelPrincipal?
    {
        guard let row = try await sql.raw("SELECT * FROM intel_accounts WHERE username = \(bind: username)").first()
        else { return nil }
        let stored = try row.decode(column: "secret_hash", as: String.self)
        guard constantTimeEquals(stored, secret.sha256Hex) else { return nil }
        return try await principal(accountRow: row, requestID: requestID, sourceAddress: sourceAddress)
    }

    /// Checks a Bearer secret of a machine account.
    public func authenticate(bearer secret: String, requestID: String?, sourceAddress: String?) async throws
        -> IntelPrincipal?
    {
        guard secret.hasPrefix(Self.secretPrefix),
            let row = try await sql.raw(
                "SELECT * FROM intel_accounts WHERE secret_hash = \(bind: secret.sha256Hex)"
            ).first()
        else { return nil }
        return try await principal(accountRow: row, requestID: requestID, sourceAddress: sourceAddress)
    }

    func principal(accountRow row: any SQLRow, requestID: String?, sourceAddress: String?) async throws
        -> IntelPrincipal?
    {
        let account = try Self.account(row)
        guard !account.disabled else { return nil }
        let now = clock.milliseconds
        if (account.lastUsedAt.map { now - $0.milliseconds } ?? .max) > 60_000 {
            // At most one write a minute per account, not one per request.
            try await sql.raw("UPDATE intel_accounts SET last_used_at = \(bind: now) WHERE id = \(bind: account.id)")
                .run()
        }
        let actor = Actor(
            userID: nil, displayName: "\(account.organisation) (TAXII account \(account.username))",
            establishmentID: account.establishmentID, role: .partner, channel: "taxii", requestID: requestID,
            sourceAddress: sourceAddress)
        return IntelPrincipal(
            kind: .account(account.id), establishmentID: account.establishmentID,
            maxTLP: min(account.maxTLP, .amberStrict),
            name: actor.displayName, actor: actor)
    }

    static let secretPrefix = "hyx_"

    // MARK: Collections

    /// Every collection the principal may read or write, in a stable order (owner, then title).
    public func collections(for principal: IntelPrincipal) async throws -> [CollectionAccess] {
        var rights: [UUID: (read: Bool, write: Bool)] = [:]
        switch principal.kind {
        case .account(let accountID):
            // One query: TAXII asks this on every request.
            let rows = try await sql.raw(
                """
                SELECT c.*, g.can_read AS grant_read, g.can_write AS grant_write FROM intel_grants g \
                JOIN intel_collections c ON c.id = g.collection_id WHERE g.account_id = \(bind: accountID) \
                OR g.group_id IN (SELECT group_id FROM intel_sharing_group_members WHERE member_account_id = \(bind: accountID)) \
                ORDER BY c.establishment_id, c.title
                """
            ).all()
            var collections: [IntelCollection] = []
            for row in rows {
                let collection = try Self.collection(row)
                let current = rights[collection.id]
                let read = try row.decode(column: "grant_read", as: Bool.self)
                let write = try row.decode(column: "grant_write", as: Bool.self)
                if current == nil { collections.append(collection) }
                rights[collection.id] = ((current?.read ?? false) || read, (current?.write ?? false) || write)
            }
            return collections.map {
                CollectionAccess(
                    collection: $0, canRead: rights[$0.id]?.read ?? false, canWrite: rights[$0.id]?.write ?? false)
            }
        case .member(let role):
            let own = principal.establishmentID.uuid
            let rows = try await sql.raw(
                """
                SELECT c.id, c.establishment_id FROM intel_collections c JOIN core_establishments owner \
                ON owner.id = c.establishment_id, core_establishments me WHERE me.id = \(bind: own) AND (\
                c.establishment_id = \(bind: own) OR c.distribution = 'nation' \
                OR (c.distribution = 'ght' AND owner.group_id IS NOT NULL AND owner.group_id = me.group_id) \
                OR (c.distribution = 'region' AND owner.region_id IS NOT NULL AND owner.region_id = me.region_id) \
                OR (c.distribution = 'group' AND c.sharing_group_id IN (SELECT group_id FROM intel_sharing_group_members \
                WHERE member_establishment_id = \(bind: own))))
                """
            ).all()
            var ids: [UUID] = []
            for row in rows {
                let id = try row.decode(column: "id", as: UUID.self)
                let isOwn = try row.decode(column: "establishment_id", as: UUID.self) == own
                let read = Self.readers.contains(role) || role == .coordinator
                rights[id] = (read, isOwn && Self.writers.contains(role))
                ids.append(id)
            }
            return try await loadCollections(ids: ids).compactMap {
                let right = rights[$0.id] ?? (false, false)
                return right.read || right.write
                    ? CollectionAccess(collection: $0, canRead: right.read, canWrite: right.write) : nil
            }
        }
    }

    /// One collection with the principal's rights; not found when the principal has no right on it
    /// (TAXII: a collection you can neither read nor write does not exist for you).
    public func collection(_ id: UUID, for principal: IntelPrincipal) async throws -> CollectionAccess {
        guard let access = try await collections(for: principal).first(where: { $0.collection.id == id }) else {
            throw HygieCoreError.notFound("collection")
        }
        return access
    }

    func loadCollections(ids: [UUID]) async throws -> [IntelCollection] {
        guard !ids.isEmpty else { return [] }
        // The object count is a column kept by the store: TAXII reads this on every request.
        let rows = try await sql.raw(
            "SELECT * FROM intel_collections WHERE id IN (\(binds: ids)) ORDER BY establishment_id, title"
        ).all()
        return try rows.map(Self.collection)
    }

    static func collection(_ row: any SQLRow) throws -> IntelCollection {
        IntelCollection(
            id: try row.decode(column: "id", as: UUID.self),
            establishmentID: .init(try row.decode(column: "establishment_id", as: UUID.self)),
            title: try row.decode(column: "title", as: String.self),
            description: try row.decode(column: "description", as: String?.self),
            alias: try row.decode(column: "alias", as: String?.self),
            defaultTLP: TLP(rawValue: try row.decode(column: "default_tlp", as: String.self)) ?? .amber,
            distribution: Distribution(rawValue: try row.decode(column: "distribution", as: String.self))
                ?? .establishment,
            sharingGroupID: try row.decode(column: "sharing_group_id", as: UUID?.self),
            objectCount: Int(try row.decode(column: "object_count", as: Int64.self)),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }

    /// Creates a collection of the scope's establishment.
    public func createCollection(
        title: String, description: String?, alias: String?, defaultTLP: TLP, distribution: Distribution,
        sharingGroupID: UUID?, id: UUID = UUID(), in scope: TenantScope
    ) async throws -> IntelCollection {
        try scope.require(Self.managers)
        let title = try Validate.text(title, field: "title", max: 200)
        let description = try description.map {
            try Validate.text($0, field: "description", max: 2000, allowEmpty: true)
        }
        let alias = try alias.flatMap { $0.isEmpty ? nil : try Self.slug($0, field: "alias") }
        if distribution == .group, sharingGroupID == nil {
            throw ValidationError(field: "sharing_group", message: "choose the sharing group", key: "required")
        }
        if let sharingGroupID { _ = try await sharingGroup(sharingGroupID, in: scope) }
        let establishment = scope.establishmentID.uuid
        let now = clock.milliseconds
        try await changing(
            AuditEntry(
                action: "intel.collection.create", objectType: "collection", objectID: id.uuidString,
                summary:
                    "Created collection \(title) (\(defaultTLP.label) by default, shared: \(distribution.rawValue))"),
            by: scope.actor
        ) { sql in
            let clash = try await sql.raw(
                "SELECT id FROM intel_collections WHERE establishment_id = \(bind: establishment) AND title = \(bind: title)"
            ).all()
            guard clash.isEmpty else { throw HygieCoreError.conflict("a collection named \(title) exists") }
            try await sql.raw(
                """
                INSERT INTO intel_collections (id, establishment_id, title, description, alias, default_tlp, distribution, \
                sharing_group_id, added_clock, object_count, created_at) VALUES (\(bind: id), \(bind: establishment), \
                \(bind: title), \(bind: description), \(bind: alias), \(bind: defaultTLP.rawValue), \
                \(bind: distribution.rawValue), \(bind: distribution == .group ? sharingGroupID : nil), \(bind: Int64(0)), \
                \(bind: Int64(0)), \(bind: now))
                """
            ).run()
            try await ObjectStore.bumpRevision(sql)
        }
        return try await ownCollection(id, in: scope)
    }

    /// A collection of the scope's establishment (for its managers).
    public func ownCollection(_ id: UUID, in scope: TenantScope) async throws -> IntelCollection {
        try scope.require(Self.readers)
        guard let collection = try await loadCollections(ids: [id]).first,
            collection.establishmentID == scope.establishmentID
        else { throw HygieCoreError.notFound("collection") }
        return collection
    }

    public func deleteCollection(_ id: UUID, in scope: TenantScope) async throws {
        try scope.require(Self.managers)
        let collection = try await ownCollection(id, in: scope)
        try await changing(
            AuditEntry(
                action: "intel.collection.delete", objectType: "collection", objectID: id.uuidString,
                summary: "Deleted collection \(collection.title) and its \(collection.objectCount) objects"),
            by: scope.actor
        ) { sql in
            try await sql.raw(
                "DELETE FROM intel_objects WHERE establishment_id = \(bind: scope.establishmentID.uuid) AND collection_id = \(bind: id)"
            ).run()
            try await sql.raw("DELETE FROM intel_status WHERE collection_id = \(bind: id)").run()
            try await sql.raw("DELETE FROM intel_grants WHERE collection_id = \(bind: id)").run()
            try await sql.raw("DELETE FROM intel_collections WHERE id = \(bind: id)").run()
            try await ObjectStore.bumpRevision(sql)
        }
    }

    static func slug(_ value: String, field: String) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces).lowercased()
        guard (3...64).contains(trimmed.count),
            trimmed.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
        else { throw ValidationError(field: field, message: "3 to 64 letters, digits, '.', '-' or '_'", key: "slug") }
        return trimmed
    }

    // MARK: Accounts

    /// Creates a machine account; the secret is returned once (only its hash is kept).
    public func createAccount(username: String, organisation: String, maxTLP: TLP, in scope: TenantScope) async throws
        -> (IntelAccount, secret: String)
    {
        try scope.require(Self.managers)
        let username = try Self.slug(username, field: "username")
        let organisation = try Validate.text(organisation, field: "organisation", max: 200)
        guard maxTLP != .red else {
            throw ValidationError(
                field: "max_tlp", message: "TLP:RED is for named people and never leaves through TAXII", key: "tlpRed")
        }
        let id = UUID()
        let secret = Self.secretPrefix + SecureRandom.token(bytes: 32)
        let now = clock.milliseconds
        let establishment = scope.establishmentID.uuid
        try await changing(
            AuditEntry(
                action: "intel.account.create", objectType: "intel_account", objectID: id.uuidString,
                summary: "Created TAXII account \(username) for \(organisation) (up to \(maxTLP.label))"),
            by: scope.actor
        ) { sql in
            let clash = try await sql.raw("SELECT id FROM intel_accounts WHERE username = \(bind: username)").all()
            guard clash.isEmpty else { throw HygieCoreError.conflict("the username \(username) is taken") }
            try await sql.raw(
                """
                INSERT INTO intel_accounts (id, establishment_id, username, organisation, secret_hash, secret_prefix, \
                max_tlp, disabled, created_at) VALUES (\(bind: id), \(bind: establishment), \(bind: username), \
                \(bind: organisation), \(bind: secret.sha256Hex), \(bind: String(secret.prefix(10))), \
                \(bind: maxTLP.rawValue), \(bind: false), \(bind: now))
                """
            ).run()
        }
        return (try await account(id, in: scope), secret)
    }

    public func accounts(in scope: TenantScope) async throws -> [IntelAccount] {
        try scope.require(Self.managers)
        return try await sql.raw(
            "SELECT * FROM intel_accounts WHERE establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY username"
        ).all().map(Self.account)
    }

    public func account(_ id: UUID, in scope: TenantScope) async throws -> IntelAccount {
        try scope.require(Self.managers)
        guard
            let row = try await sql.raw(
                "SELECT * FROM intel_accounts WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)"
            ).first()
        else { throw HygieCoreError.notFound("account") }
        return try Self.account(row)
    }

    /// Disables (or re-enables) an account: its requests are refused at once.
    public func setAccountDisabled(_ id: UUID, disabled: Bool, in scope: TenantScope) async throws {
        let account = try await account(id, in: scope)
        try await changing(
            AuditEntry(
                action: disabled ? "intel.account.disable" : "intel.account.enable", objectType: "intel_account",
                objectID: id.uuidString,
                summary: "\(disabled ? "Disabled" : "Enabled") TAXII account \(account.username)"),
            by: scope.actor
        ) { sql in
            try await sql.raw("UPDATE intel_accounts SET disabled = \(bind: disabled) WHERE id = \(bind: id)").run()
        }
    }

    static func account(_ row: any SQLRow) throws -> IntelAccount {
        IntelAccount(
            id: try row.decode(column: "id", as: UUID.self),
            establishmentID: .init(try row.decode(column: "establishment_id", as: UUID.self)),
            username: try row.decode(column: "username", as: String.self),
            organisation: try row.decode(column: "organisation", as: String.self),
            secretPrefix: try row.decode(column: "secret_prefix", as: String.self),
            maxTLP: TLP(rawValue: try row.decode(column: "max_tlp", as: String.self)) ?? .green,
            disabled: try row.decode(column: "disabled", as: Bool.self),
            lastUsedAt: try row.decode(column: "last_used_at", as: Int64?.self).map(Date.init(milliseconds:)),
            createdAt: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }

    // MARK: Sharing groups and grants

    public func createSharingGroup(
        name: String, description: String?, establishments: [Establishment.ID], accounts: [UUID], in scope: TenantScope
    ) async throws -> SharingGroup {
        try scope.require(Self.managers)
        let name = try Validate.text(name, field: "name", max: 200)
        let description = try description.map {
            try Validate.text($0, field: "description", max: 2000, allowEmpty: true)
        }
        let id = UUID()
        let now = clock.milliseconds
        let establishment = scope.establishmentID.uuid
        try await changing(
            AuditEntry(
                action: "intel.group.create", objectType: "sharing_group", objectID: id.uuidString,
                summary:
                    "Created sharing group \(name) (\(establishments.count) establishments, \(accounts.count) accounts)"
            ),
            by: scope.actor
        ) { sql in
            let clash = try await sql.raw(
                "SELECT id FROM intel_sharing_groups WHERE establishment_id = \(bind: establishment) AND name = \(bind: name)"
            ).all()
            guard clash.isEmpty else { throw HygieCoreError.conflict("a sharing group named \(name) exists") }
            try await sql.raw(
                """
                INSERT INTO intel_sharing_groups (id, establishment_id, name, description, created_at) VALUES \
                (\(bind: id), \(bind: establishment), \(bind: name), \(bind: description), \(bind: now))
                """
            ).run()
            for member in Set(establishments) {
                let known = try await sql.raw("SELECT id FROM core_establishments WHERE id = \(bind: member.uuid)")
                    .all()
                guard !known.isEmpty else { throw HygieCoreError.notFound("establishment") }
                try await sql.raw(
                    """
                    INSERT INTO intel_sharing_group_members (establishment_id, group_id, member_establishment_id) \
                    VALUES (\(bind: establishment), \(bind: id), \(bind: member.uuid))
                    """
                ).run()
            }
            for member in Set(accounts) {
                let known = try await sql.raw("SELECT id FROM intel_accounts WHERE id = \(bind: member)").all()
                guard !known.isEmpty else { throw HygieCoreError.notFound("account") }
                try await sql.raw(
                    """
                    INSERT INTO intel_sharing_group_members (establishment_id, group_id, member_account_id) \
                    VALUES (\(bind: establishment), \(bind: id), \(bind: member))
                    """
                ).run()
            }
        }
        return try await sharingGroup(id, in: scope)
    }

    public func sharingGroups(in scope: TenantScope) async throws -> [SharingGroup] {
        try scope.require(Self.readers)
        let rows = try await sql.raw(
            "SELECT id FROM intel_sharing_groups WHERE establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY name"
        ).all()
        var groups: [SharingGroup] = []
        for row in rows {
            groups.append(try await sharingGroup(try row.decode(column: "id", as: UUID.self), in: scope))
        }
        return groups
    }

    public func sharingGroup(_ id: UUID, in scope: TenantScope) async throws -> SharingGroup {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                """
                SELECT * FROM intel_sharing_groups WHERE id = \(bind: id) AND establishment_id = \(bind: scope.establishmentID.uuid)
                """
            ).first()
        else { throw HygieCoreError.notFound("sharing group") }
        let members = try await sql.raw(
            "SELECT member_establishment_id, member_account_id FROM intel_sharing_group_members WHERE group_id = \(bind: id)"
        ).all()
        return SharingGroup(
            id: id, establishmentID: scope.establishmentID, name: try row.decode(column: "name", as: String.self),
            description: try row.decode(column: "description", as: String?.self),
            memberEstablishments: try members.compactMap {
                try $0.decode(column: "member_establishment_id", as: UUID?.self).map(Establishment.ID.init)
            },
            memberAccounts: try members.compactMap { try $0.decode(column: "member_account_id", as: UUID?.self) })
    }

    /// Sets an account's or a sharing group's rights on a collection. With both rights false the collection
    /// stays listed for the grantee but cannot be used (access suspended); `revoke` removes it altogether.
    public func grant(
        collection collectionID: UUID, account: UUID?, group: UUID?, canRead: Bool, canWrite: Bool,
        revoke: Bool = false,
        in scope: TenantScope
    ) async throws {
        try scope.require(Self.managers)
        guard (account == nil) != (group == nil) else {
            throw ValidationError(field: "grantee", message: "choose an account or a sharing group", key: "required")
        }
        let collection = try await ownCollection(collectionID, in: scope)
        var grantee = ""
        if let account {
            // Accounts of other establishments can be granted (a hub's or a peer's account) if they exist.
            guard let row = try await sql.raw("SELECT username FROM intel_accounts WHERE id = \(bind: account)").first()
            else {
                throw HygieCoreError.notFound("account")
            }
            grantee = "account " + (try row.decode(column: "username", as: String.self))
        }
        if let group { grantee = "sharing group " + (try await sharingGroup(group, in: scope)).name }
        let establishment = scope.establishmentID.uuid
        let rights =
            revoke
            ? "no longer see it"
            : [canRead ? "read" : nil, canWrite ? "write" : nil].compactMap { $0 }.joined(separator: "+")
        try await changing(
            AuditEntry(
                action: "intel.grant", objectType: "collection", objectID: collectionID.uuidString,
                summary:
                    "Collection \(collection.title): \(grantee) may \(rights.isEmpty ? "see it but not use it" : rights)"
            ),
            by: scope.actor
        ) { sql in
            let who: SQLQueryString =
                account != nil
                ? "account_id = \(bind: account) AND group_id IS NULL"
                : "group_id = \(bind: group) AND account_id IS NULL"
            try await sql.raw("DELETE FROM intel_grants WHERE collection_id = \(bind: collectionID) AND \(who)").run()
            if !revoke {
                try await sql.raw(
                    """
                    INSERT INTO intel_grants (establishment_id, collection_id, account_id, group_id, can_read, can_write) \
                    VALUES (\(bind: establishment), \(bind: collectionID), \(bind: account), \(bind: group), \(bind: canRead), \
                    \(bind: canWrite))
                    """
                ).run()
            }
        }
    }

    public func grants(collection collectionID: UUID, in scope: TenantScope) async throws -> [CollectionGrant] {
        _ = try await ownCollection(collectionID, in: scope)
        return try await sql.raw("SELECT * FROM intel_grants WHERE collection_id = \(bind: collectionID)").all().map {
            CollectionGrant(
                collectionID: collectionID, accountID: try $0.decode(column: "account_id", as: UUID?.self),
                groupID: try $0.decode(column: "group_id", as: UUID?.self),
                canRead: try $0.decode(column: "can_read", as: Bool.self),
                canWrite: try $0.decode(column: "can_write", as: Bool.self))
        }
    }
}
