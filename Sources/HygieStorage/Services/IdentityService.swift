import Crypto
public import FluentKit
import Foundation
import HummingbirdBcrypt
public import HygieCore
import NIOPosix
import SQLKit

/// Accounts, memberships, passwords, the TOTP second factor, sessions, API tokens and login throttling.
///
/// Every method that changes something writes its audit event in the same transaction.
public struct IdentityService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock
    let secrets: SecretBox
    let policy: PasswordPolicy
    public let settings: IdentitySettings
    /// bcrypt work factor: 12 in production, lower in tests.
    let bcryptCost: UInt8

    public init(
        database: DatabaseService, audit: AuditTrail, clock: any HygieClock, secrets: SecretBox,
        policy: PasswordPolicy, settings: IdentitySettings, bcryptCost: UInt8 = 12
    ) {
        self.database = database
        self.audit = audit
        self.clock = clock
        self.secrets = secrets
        self.policy = policy
        self.settings = settings
        self.bcryptCost = bcryptCost
    }

    // MARK: First start

    public func hasAnyUser() async throws -> Bool {
        try await UserModel.query(on: database.db).count() > 0
    }

    /// A one-time link token to create the first admin, valid one day; nil once any user exists. Every call
    /// invalidates earlier unused tokens.
    public func issueSetupToken() async throws -> String? {
        let now = clock.now()
        return try await database.transaction { db in
            guard try await UserModel.query(on: db).count() == 0 else { return nil }
            try await SetupTokenModel.query(on: db).filter(\.$usedAt == nil).set(\.$usedAt, to: now).update()
            let token = SecureRandom.token()
            let model = SetupTokenModel()
            model.id = UUID()
            model.tokenHash = token.sha256Hex
            model.createdAt = now
            model.expiresAt = now.addingTimeInterval(86_400)
            try await model.create(on: db)
            return token
        }
    }

    /// Whether `token` can still be used to create the first admin.
    public func isValidSetupToken(_ token: String) async throws -> Bool {
        try await SetupTokenModel.query(on: database.db).filter(\.$tokenHash == token.sha256Hex)
            .filter(\.$usedAt == nil).filter(\.$expiresAt > clock.now()).first() != nil
    }

    /// Creates the first instance administrator with a setup token.
    public func completeSetup(token: String, user input: NewUser, actor: Actor) async throws -> User {
        let now = clock.now()
        let prepared = try await prepareUser(input, instanceAdmin: true)
        return try await database.transaction { db in
            guard
                let setup = try await SetupTokenModel.query(on: db).filter(\.$tokenHash == token.sha256Hex)
                    .filter(\.$usedAt == nil).filter(\.$expiresAt > now).first(),
                try await UserModel.query(on: db).count() == 0
            else { throw HygieCoreError.forbidden("this setup link is no longer valid") }
            setup.usedAt = now
            try await setup.save(on: db)
            try await prepared.create(on: db)
            let user = Self.user(prepared)
            try await audit.record(
                AuditEntry(
                    action: "user.create", objectType: "user", objectID: user.id.uuidString,
                    summary: "Created first administrator \(user.email) with the setup link"),
                by: actorFor(user, base: actor), on: db)
            return user
        }
    }

    /// Creates an instance administrator from the command line (`hygie create-admin`).
    public func createInstanceAdmin(_ input: NewUser, by actor: Actor) async throws -> User {
        let prepared = try await prepareUser(input, instanceAdmin: true)
        return try await database.transaction { db in
            if try await UserModel.query(on: db).filter(\.$email == prepared.email).first() != nil {
                throw HygieCoreError.conflict("a user with this e-mail exists")
            }
            try await prepared.create(on: db)
            let user = Self.user(prepared)
            try await audit.record(
                AuditEntry(
                    action: "user.create", objectType: "user", objectID: user.id.uuidString,
                    summary: "Created administrator \(user.email)"),
                by: actor, on: db)
            return user
        }
    }

    // MARK: Users and memberships

    /// Creates a user in the scope's establishment, or gives an existing user (same e-mail) a role there.
    public func addMember(_ input: NewUser, in scope: TenantScope) async throws -> Member {
        try scope.require([.admin, .rssi])
        guard let role = Role(rawValue: input.role) else {
            throw ValidationError(field: "role", message: "unknown role", key: "unknownChoice")
        }
        guard scope.role.canGrant(role) || scope.actor.isInstanceAdmin else {
            throw HygieCoreError.forbidden("you cannot grant the role \(role.rawValue)")
        }
        let email = try Validate.email(input.email)
        let departmentID = try Validate.optionalID(input.departmentID, field: "department", as: Department.ID.self)
        let existing = try await UserModel.query(on: database.db).filter(\.$email == email).first()
        let prepared = existing == nil ? try await prepareUser(input, instanceAdmin: false) : nil
        let now = clock.now()
        return try await database.transaction { db in
            if let departmentID, try await DepartmentModel.find(departmentID.uuid, in: scope, on: db) == nil {
                throw ValidationError(field: "department", message: "unknown department", key: "unknownReference")
            }
            let userModel: UserModel
            if let found = try await UserModel.query(on: db).filter(\.$email == email).first() {
                userModel = found
                if try await MembershipModel.scoped(scope, on: db).filter(\.$userID == found.id!).first() != nil {
                    throw HygieCoreError.conflict("this user is already a member")
                }
            } else if let prepared {
                try await prepared.create(on: db)
                userModel = prepared
                try await audit.record(
                    AuditEntry(
                        action: "user.create", objectType: "user", objectID: prepared.id?.uuidString,
                        summary: "Created user \(email)", establishmentID: scope.establishmentID),
                    by: scope.actor, on: db)
            } else {
                throw HygieCoreError.conflict("the user was created meanwhile; try again")
            }
            let membership = MembershipModel()
            membership.id = UUID()
            membership.establishmentID = scope.establishmentID.uuid
            membership.userID = userModel.id!
            membership.role = role.rawValue
            membership.departmentID = departmentID?.uuid
            membership.createdAt = now
            try await membership.create(on: db)
            try await audit.record(
                AuditEntry(
                    action: "membership.create", objectType: "user", objectID: userModel.id?.uuidString,
                    summary: "Granted role \(role.rawValue) to \(email)", establishmentID: scope.establishmentID),
                by: scope.actor, on: db)
            return Member(user: Self.user(userModel), role: role, departmentID: departmentID)
        }
    }

    public func members(in scope: TenantScope) async throws -> [Member] {
        let db = database.db
        let memberships = try await MembershipModel.scoped(scope, on: db).all()
        if memberships.isEmpty { return [] }
        let users = try await UserModel.query(on: db).filter(\.$id ~~ memberships.map(\.userID)).all()
        let byID = Dictionary(uniqueKeysWithValues: users.map { ($0.id!, $0) })
        return memberships.compactMap { membership in
            byID[membership.userID].map {
                Member(
                    user: Self.user($0), role: Role(rawValue: membership.role) ?? .staff,
                    departmentID: membership.departmentID.map(Department.ID.init))
            }
        }.sorted { $0.user.displayName.localizedCaseInsensitiveCompare($1.user.displayName) == .orderedAscending }
    }

    /// One member of the scope's establishment; `notFound` for a user who is not a member there.
    public func member(_ userID: User.ID, in scope: TenantScope) async throws -> Member {
        let db = database.db
        guard let membership = try await MembershipModel.scoped(scope, on: db).filter(\.$userID == userID.uuid).first(),
            let user = try await UserModel.find(userID.uuid, on: db)
        else { throw HygieCoreError.notFound("user") }
        return Member(
            user: Self.user(user), role: Role(rawValue: membership.role) ?? .staff,
            departmentID: membership.departmentID.map(Department.ID.init))
    }

    public func changeRole(of userID: User.ID, to roleName: String, in scope: TenantScope) async throws -> Member {
        try scope.require([.admin, .rssi])
        guard let role = Role(rawValue: roleName) else {
            throw ValidationError(field: "role", message: "unknown role", key: "unknownChoice")
        }
        guard scope.role.canGrant(role) || scope.actor.isInstanceAdmin else {
            throw HygieCoreError.forbidden("you cannot grant the role \(role.rawValue)")
        }
        return try await database.transaction { db in
            guard
                let membership = try await MembershipModel.scoped(scope, on: db).filter(\.$userID == userID.uuid)
                    .first(),
                let user = try await UserModel.find(userID.uuid, on: db)
            else { throw HygieCoreError.notFound("user") }
            try requireAuthority(over: membership, in: scope)
            let previous = membership.role
            membership.role = role.rawValue
            try await membership.save(on: db)
            if role.requiresMFA && !user.totpEnabled {
                // A role that needs MFA takes effect at the next sign-in, which will ask for enrolment.
                try await SessionModel.query(on: db).filter(\.$userID == user.id!).delete()
            }
            try await audit.record(
                AuditEntry(
                    action: "membership.role-change", objectType: "user", objectID: userID.uuidString,
                    summary: "Changed role of \(user.email) from \(previous) to \(role.rawValue)",
                    establishmentID: scope.establishmentID),
                by: scope.actor, on: db)
            return Member(
                user: Self.user(user), role: role, departmentID: membership.departmentID.map(Department.ID.init))
        }
    }

    public func removeMember(_ userID: User.ID, in scope: TenantScope) async throws {
        try scope.require([.admin, .rssi])
        try await database.transaction { db in
            guard
                let membership = try await MembershipModel.scoped(scope, on: db).filter(\.$userID == userID.uuid)
                    .first()
            else { throw HygieCoreError.notFound("user") }
            try requireAuthority(over: membership, in: scope)
            try await membership.delete(on: db)
            try await APITokenModel.scoped(scope, on: db).filter(\.$userID == userID.uuid).filter(\.$revokedAt == nil)
                .set(\.$revokedAt, to: clock.now()).update()
            try await audit.record(
                AuditEntry(
                    action: "membership.delete", objectType: "user", objectID: userID.uuidString,
                    summary: "Removed a member and revoked their tokens", establishmentID: scope.establishmentID),
                by: scope.actor, on: db)
        }
    }

    /// An RSSI manages the roles it can grant; only the instance admin touches `admin`, `coordinator` and
    /// `partner` members (and instance administrators).
    func requireAuthority(over membership: MembershipModel, in scope: TenantScope) throws {
        guard !scope.actor.isInstanceAdmin else { return }
        guard let current = Role(rawValue: membership.role), scope.role.canGrant(current) else {
            throw HygieCoreError.forbidden("you cannot change a member with this role")
        }
    }

    public func user(_ id: User.ID) async throws -> User? {
        try await UserModel.find(id.uuid, on: database.db).map(Self.user)
    }

    /// The user's memberships, establishment by establishment.
    public func memberships(of userID: User.ID) async throws -> [Membership] {
        try await MembershipModel.query(on: database.db).filter(\.$userID == userID.uuid).all().map {
            Membership(
                userID: userID, establishmentID: .init($0.establishmentID), role: Role(rawValue: $0.role) ?? .staff,
                departmentID: $0.departmentID.map(Department.ID.init))
        }
    }

    /// The strongest role the user holds anywhere (decides whether MFA is mandatory).
    func requiresMFA(_ user: UserModel, on db: any Database) async throws -> Bool {
        if user.isInstanceAdmin { return true }
        let roles = try await MembershipModel.query(on: db).filter(\.$userID == user.id!).all().compactMap {
            Role(rawValue: $0.role)
        }
        return roles.contains(where: \.requiresMFA)
    }

    /// Proves that `actor` may work in `establishmentID`; `notFound` otherwise (no hint that it exists).
    public func scope(for establishmentID: Establishment.ID, actor: Actor) async throws -> TenantScope {
        guard let userID = actor.userID else {
            guard actor.isInstanceAdmin, try await EstablishmentModel.find(establishmentID.uuid, on: database.db) != nil
            else { throw HygieCoreError.notFound("establishment") }
            return TenantScope(
                establishmentID: establishmentID, role: .admin, actor: actor.with(establishmentID, role: .admin))
        }
        let db = database.db
        if let membership = try await MembershipModel.query(on: db).filter(\.$userID == userID.uuid)
            .filter(\.$establishmentID == establishmentID.uuid).first(),
            let role = Role(rawValue: membership.role)
        {
            return TenantScope(
                establishmentID: establishmentID, role: role, actor: actor.with(establishmentID, role: role))
        }
        if actor.isInstanceAdmin, try await EstablishmentModel.find(establishmentID.uuid, on: db) != nil {
            return TenantScope(
                establishmentID: establishmentID, role: .admin, actor: actor.with(establishmentID, role: .admin))
        }
        throw HygieCoreError.notFound("establishment")
    }

    /// The same proof as ``scope(for:actor:)``, from the actor's memberships already loaded with
    /// ``memberships(of:)`` (pages load them for the establishment switcher): one query fewer per page.
    public func scope(for establishmentID: Establishment.ID, actor: Actor, memberships: [Membership]) async throws
        -> TenantScope
    {
        if let membership = memberships.first(where: {
            $0.establishmentID == establishmentID && $0.userID == actor.userID
        }) {
            return TenantScope(
                establishmentID: establishmentID, role: membership.role,
                actor: actor.with(establishmentID, role: membership.role))
        }
        return try await scope(for: establishmentID, actor: actor)
    }

    public func setLocale(_ locale: User.Locale, for userID: User.ID) async throws {
        try await UserModel.query(on: database.db).filter(\.$id == userID.uuid).set(\.$locale, to: locale.rawValue)
            .update()
    }

    public func changePassword(userID: User.ID, current: String, new: String, actor: Actor) async throws {
        guard let model = try await UserModel.find(userID.uuid, on: database.db) else {
            throw HygieCoreError.notFound("user")
        }
        guard await verifyPassword(current, hash: model.passwordHash) else {
            throw ValidationError(
                field: "current_password", message: "is not your current password", key: "currentPassword")
        }
        try policy.check(new, context: [model.email, model.displayName])
        let hash = await hashPassword(new)
        let now = clock.now()
        try await database.transaction { db in
            try await UserModel.query(on: db).filter(\.$id == userID.uuid).set(\.$passwordHash, to: hash).set(
                \.$updatedAt, to: now
            ).update()
            try await audit.record(
                AuditEntry(
                    action: "user.password-change", objectType: "user", objectID: userID.uuidString,
                    summary: "Changed own password"),
                by: actor, on: db)
        }
    }

    // MARK: Login

    /// Checks e-mail and password, with throttling per account and per source address.
    /// - Returns: the user; the caller then opens a session that still needs the second factor when
    ///   ``requiresSecondFactor(_:)`` says so.
    /// - Throws: `unauthorized` for a wrong pair (same message whatever was wrong), `tooManyRequests` when
    ///   throttled.
    public func authenticate(email rawEmail: String, password: String, actor: Actor) async throws -> User {
        let email = rawEmail.trimmingCharacters(in: .whitespacesAndNewlines).lowercased().prefix(254)
        let accountKey = "account:\(email)"
        let addressKey = "address:\(actor.sourceAddress ?? "unknown")"
        try await checkThrottle(accountKey: accountKey, addressKey: addressKey)
        let model = try await UserModel.query(on: database.db).filter(\.$email == String(email)).first()
        // SECURITY: run bcrypt even for an unknown e-mail so that timing does not reveal which accounts exist.
        let ok = await verifyPassword(password, hash: model?.passwordHash ?? Self.dummyHash)
        guard let model, ok, !model.disabled else {
            let home = try await homeEstablishment(of: model?.id)
            try await recordFailure(
                keys: [accountKey, addressKey],
                event: AuditEntry(
                    action: "auth.login.failed", objectType: "user", objectID: model?.id?.uuidString,
                    summary: "Failed sign-in for \(email)", establishmentID: home), actor: actor)
            throw HygieCoreError.unauthorized("wrong e-mail or password")
        }
        return Self.user(model)
    }

    /// The establishment a user's sign-in events belong to (their oldest membership), so that its RSSI sees
    /// them in the establishment's audit trail; nil for unknown accounts and members of none.
    func homeEstablishment(of userID: UUID?, on db: (any Database)? = nil) async throws -> Establishment.ID? {
        guard let userID else { return nil }
        return try await MembershipModel.query(on: db ?? database.db).filter(\.$userID == userID).sort(\.$createdAt)
            .first().map { Establishment.ID($0.establishmentID) }
    }

    /// Whether this user must pass a second factor (every role but staff).
    public func requiresSecondFactor(_ user: User) async throws -> Bool {
        guard let model = try await UserModel.find(user.id.uuid, on: database.db) else { return true }
        return try await requiresMFA(model, on: database.db)
    }

    func checkThrottle(accountKey: String, addressKey: String) async throws {
        let since = clock.now().addingTimeInterval(-settings.throttleWindow)
        let db = database.db
        for (key, limit) in [
            (accountKey, settings.maxFailuresPerAccount), (addressKey, settings.maxFailuresPerAddress),
        ] {
            let failures = try await LoginAttemptModel.query(on: db).filter(\.$subject == key)
                .filter(\.$createdAt >= since).filter(\.$succeeded == false).sort(\.$createdAt).all()
            if failures.count >= limit, let oldest = failures.first {
                let retry = Int(
                    oldest.createdAt.addingTimeInterval(settings.throttleWindow).timeIntervalSince(clock.now()).rounded(
                        .up))
                throw HygieCoreError.tooManyRequests(retryAfterSeconds: max(retry, 1))
            }
        }
    }

    /// Records a failed attempt against the account and the address (what ``checkThrottle`` counts), with its
    /// audit event.
    func recordFailure(keys: [String], event: AuditEntry, actor: Actor) async throws {
        let now = clock.now()
        try await database.transaction { db in
            for key in keys {
                let attempt = LoginAttemptModel()
                attempt.id = UUID()
                attempt.subject = key
                attempt.succeeded = false
                attempt.createdAt = now
                try await attempt.create(on: db)
            }
            try await audit.record(event, by: actor, on: db)
        }
    }

    // MARK: Second factor

    /// Starts (or restarts) TOTP enrolment: a new secret, stored sealed, not active until confirmed.
    public func beginTOTPEnrolment(userID: User.ID) async throws -> TOTPEnrolment {
        guard let model = try await UserModel.find(userID.uuid, on: database.db) else {
            throw HygieCoreError.notFound("user")
        }
        guard !model.totpEnabled else { throw HygieCoreError.conflict("two-factor authentication is already enabled") }
        let secret = SecureRandom.bytes(20)
        model.totpSecret = try secrets.seal(secret)
        model.totpLastStep = 0
        try await model.save(on: database.db)
        let totp = TOTP(secret: secret)
        return TOTPEnrolment(
            secret: Base32.encode(secret), uri: totp.provisioningURI(account: model.email, issuer: settings.totpIssuer))
    }

    /// The `otpauth://` URI of an enrolment not yet confirmed (drawn as a QR code), or nil.
    public func pendingTOTPURI(userID: User.ID) async throws -> String? {
        guard let model = try await UserModel.find(userID.uuid, on: database.db), !model.totpEnabled,
            let sealed = model.totpSecret
        else { return nil }
        return TOTP(secret: try secrets.open(sealed)).provisioningURI(account: model.email, issuer: settings.totpIssuer)
    }

    /// Confirms enrolment with a first code; returns ten single-use recovery codes, shown once.
    public func confirmTOTPEnrolment(userID: User.ID, code: String, actor: Actor) async throws -> [String] {
        let now = clock.now()
        return try await database.transaction { db in
            guard let model = try await UserModel.find(userID.uuid, on: db), let sealed = model.totpSecret else {
                throw HygieCoreError.conflict("start the enrolment again")
            }
            guard !model.totpEnabled else {
                throw HygieCoreError.conflict("two-factor authentication is already enabled")
            }
            let totp = TOTP(secret: try secrets.open(sealed))
            guard let step = totp.matchingStep(for: code, at: now, after: model.totpLastStep) else {
                throw ValidationError(
                    field: "code", message: "this code is not valid; check your device's clock", key: "totpCode")
            }
            model.totpEnabled = true
            model.totpLastStep = step
            model.updatedAt = now
            try await model.save(on: db)
            let codes = try await replaceRecoveryCodes(userID: model.id!, on: db)
            try await audit.record(
                AuditEntry(
                    action: "auth.mfa.enable", objectType: "user", objectID: userID.uuidString,
                    summary: "Enabled two-factor authentication",
                    establishmentID: try await homeEstablishment(of: userID.uuid, on: db)),
                by: actor, on: db)
            return codes
        }
    }

    /// Checks a TOTP code or a recovery code. Failures count towards the account's throttle.
    public func verifySecondFactor(userID: User.ID, code: String, actor: Actor) async throws {
        guard let model = try await UserModel.find(userID.uuid, on: database.db) else {
            throw HygieCoreError.notFound("user")
        }
        let accountKey = "account:\(model.email)"
        let addressKey = "address:\(actor.sourceAddress ?? "unknown")"
        try await checkThrottle(accountKey: accountKey, addressKey: addressKey)
        let now = clock.now()
        let trimmed = code.trimmingCharacters(in: .whitespacesAndNewlines)
        let accepted: Bool = try await database.transaction { db in
            guard let model = try await UserModel.find(userID.uuid, on: db), model.totpEnabled,
                let sealed = model.totpSecret
            else { return false }
            if trimmed.count == 6 {
                let totp = TOTP(secret: try secrets.open(sealed))
                guard let step = totp.matchingStep(for: trimmed, at: now, after: model.totpLastStep) else {
                    return false
                }
                // SECURITY: remembering the step refuses a replay of the same code, even within its window.
                model.totpLastStep = step
                try await model.save(on: db)
                return true
            }
            let hash = trimmed.lowercased().replacingOccurrences(of: "-", with: "").sha256Hex
            guard
                let recovery = try await RecoveryCodeModel.query(on: db).filter(\.$userID == userID.uuid)
                    .filter(\.$codeHash == hash).filter(\.$usedAt == nil).first()
            else { return false }
            recovery.usedAt = now
            try await recovery.save(on: db)
            try await audit.record(
                AuditEntry(
                    action: "auth.mfa.recovery-code-used", objectType: "user", objectID: userID.uuidString,
                    summary: "Signed in with a recovery code"),
                by: actor, on: db)
            return true
        }
        guard accepted else {
            try await recordFailure(
                keys: [accountKey, addressKey],
                event: AuditEntry(
                    action: "auth.mfa.failed", objectType: "user", objectID: userID.uuidString,
                    summary: "Wrong second-factor code for \(model.email)",
                    establishmentID: try await homeEstablishment(of: userID.uuid)), actor: actor)
            throw HygieCoreError.unauthorized("wrong code")
        }
    }

    /// How many unused recovery codes the user has left.
    public func remainingRecoveryCodes(userID: User.ID) async throws -> Int {
        try await RecoveryCodeModel.query(on: database.db).filter(\.$userID == userID.uuid).filter(\.$usedAt == nil)
            .count()
    }

    /// Replaces the recovery codes (after the old ones are used up or lost).
    public func regenerateRecoveryCodes(userID: User.ID, actor: Actor) async throws -> [String] {
        try await database.transaction { db in
            let codes = try await replaceRecoveryCodes(userID: userID.uuid, on: db)
            try await audit.record(
                AuditEntry(
                    action: "auth.mfa.recovery-codes-regenerate", objectType: "user", objectID: userID.uuidString,
                    summary: "Generated new recovery codes"),
                by: actor, on: db)
            return codes
        }
    }

    /// Turns the second factor off for another user (lost phone); they enrol again at next sign-in.
    public func resetSecondFactor(of userID: User.ID, in scope: TenantScope) async throws {
        try scope.require([.admin, .rssi])
        guard
            let membership = try await MembershipModel.scoped(scope, on: database.db).filter(\.$userID == userID.uuid)
                .first()
        else { throw HygieCoreError.notFound("user") }
        try requireAuthority(over: membership, in: scope)
        try await database.transaction { db in
            try await UserModel.query(on: db).filter(\.$id == userID.uuid).set(\.$totpEnabled, to: false)
                .set(\.$totpSecret, to: nil).set(\.$totpLastStep, to: 0).update()
            try await RecoveryCodeModel.query(on: db).filter(\.$userID == userID.uuid).delete()
            try await SessionModel.query(on: db).filter(\.$userID == userID.uuid).delete()
            try await audit.record(
                AuditEntry(
                    action: "auth.mfa.reset", objectType: "user", objectID: userID.uuidString,
                    summary: "Reset the second factor of a member", establishmentID: scope.establishmentID),
                by: scope.actor, on: db)
        }
    }

    func replaceRecoveryCodes(userID: UUID, on db: any Database) async throws -> [String] {
        try await RecoveryCodeModel.query(on: db).filter(\.$userID == userID).delete()
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        var codes: [String] = []
        for _ in 0..<10 {
            let raw = String((0..<10).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
            let model = RecoveryCodeModel()
            model.id = UUID()
            model.userID = userID
            model.codeHash = raw.sha256Hex
            model.createdAt = clock.now()
            try await model.create(on: db)
            codes.append("\(raw.prefix(5))-\(raw.suffix(5))")
        }
        return codes
    }

    // MARK: Sessions

    /// Opens a session after a correct password. It reaches pages only once `mfaVerified` (set now for staff
    /// without MFA, later by ``completeSecondFactor(sessionID:actor:)``).
    public func openSession(for user: User, mfaVerified: Bool, actor: Actor, userAgent: String?) async throws
        -> NewSession
    {
        let now = clock.now()
        let cookie = SecureRandom.token()
        let firstEstablishment = try await MembershipModel.query(on: database.db).filter(\.$userID == user.id.uuid)
            .sort(\.$createdAt).first()?.establishmentID
        return try await database.transaction { db in
            let model = SessionModel()
            model.id = UUID()
            model.tokenHash = cookie.sha256Hex
            model.userID = user.id.uuid
            model.establishmentID = firstEstablishment
            model.csrfToken = SecureRandom.token()
            model.mfaVerified = mfaVerified
            model.createdAt = now
            model.lastSeenAt = now
            model.expiresAt = now.addingTimeInterval(settings.sessionAbsoluteTimeout)
            model.sourceAddress = actor.sourceAddress
            model.userAgent = userAgent.map { String($0.prefix(300)) }
            try await model.create(on: db)
            if mfaVerified {
                try await audit.record(
                    AuditEntry(
                        action: "auth.login", objectType: "user", objectID: user.id.uuidString, summary: "Signed in",
                        establishmentID: firstEstablishment.map(Establishment.ID.init)),
                    by: actor, on: db)
            }
            return NewSession(cookieValue: cookie, info: try await sessionInfo(model, user: user))
        }
    }

    /// Marks the session as past the second factor and rotates its cookie (no session fixation).
    public func completeSecondFactor(sessionID: UUID, actor: Actor) async throws -> NewSession {
        let cookie = SecureRandom.token()
        let now = clock.now()
        return try await database.transaction { db in
            guard let model = try await SessionModel.find(sessionID, on: db),
                let userModel = try await UserModel.find(model.userID, on: db)
            else { throw HygieCoreError.unauthorized("session expired") }
            model.tokenHash = cookie.sha256Hex
            model.mfaVerified = true
            model.csrfToken = SecureRandom.token()
            model.lastSeenAt = now
            try await model.save(on: db)
            try await audit.record(
                AuditEntry(
                    action: "auth.login", objectType: "user", objectID: userModel.id?.uuidString,
                    summary: "Signed in with two-factor authentication",
                    establishmentID: model.establishmentID.map(Establishment.ID.init)),
                by: actor, on: db)
            return NewSession(cookieValue: cookie, info: try await sessionInfo(model, user: Self.user(userModel)))
        }
    }

    /// The session behind a cookie, if it exists and has not timed out. Refreshes its idle timer.
    public func resolveSession(cookieValue: String) async throws -> SessionInfo? {
        guard cookieValue.count >= 32, cookieValue.count <= 64 else { return nil }
        let db = database.db
        guard let model = try await SessionModel.query(on: db).filter(\.$tokenHash == cookieValue.sha256Hex).first()
        else { return nil }
        let now = clock.now()
        let idleLimit = model.mfaVerified ? settings.sessionIdleTimeout : min(settings.sessionIdleTimeout, 600)
        if model.expiresAt <= now || now.timeIntervalSince(model.lastSeenAt) > idleLimit {
            try await model.delete(on: db)
            return nil
        }
        guard let user = try await UserModel.find(model.userID, on: db), !user.disabled else { return nil }
        // Write the idle timer at most once a minute: a page view should not always cost a write.
        if now.timeIntervalSince(model.lastSeenAt) > 60 {
            try await SessionModel.query(on: db).filter(\.$id == model.id!).set(\.$lastSeenAt, to: now).update()
        }
        return try await sessionInfo(model, user: Self.user(user))
    }

    /// Switches the establishment a session works in (must be one the user may open).
    public func switchEstablishment(sessionID: UUID, to establishmentID: Establishment.ID, actor: Actor) async throws {
        _ = try await scope(for: establishmentID, actor: actor)
        try await SessionModel.query(on: database.db).filter(\.$id == sessionID)
            .set(\.$establishmentID, to: establishmentID.uuid).update()
    }

    public func closeSession(sessionID: UUID, actor: Actor) async throws {
        try await database.transaction { db in
            let session = try await SessionModel.find(sessionID, on: db)
            try await SessionModel.query(on: db).filter(\.$id == sessionID).delete()
            try await audit.record(
                AuditEntry(
                    action: "auth.logout", objectType: "session", objectID: nil, summary: "Signed out",
                    establishmentID: session?.establishmentID.map(Establishment.ID.init)),
                by: actor, on: db)
        }
    }

    /// Deletes expired sessions and old login attempts (scheduled job).
    public func purgeExpired() async throws -> Int {
        let now = clock.now()
        let db = database.db
        let idleSince = now.addingTimeInterval(-settings.sessionIdleTimeout)
        let expired = {
            SessionModel.query(on: db).group(.or) { $0.filter(\.$expiresAt <= now).filter(\.$lastSeenAt <= idleSince) }
        }
        let count = try await expired().count()
        try await expired().delete()
        try await LoginAttemptModel.query(on: db).filter(\.$createdAt < now.addingTimeInterval(-7 * 86_400)).delete()
        return count
    }

    func sessionInfo(_ model: SessionModel, user: User) async throws -> SessionInfo {
        SessionInfo(
            id: model.id!, user: user, establishmentID: model.establishmentID.map(Establishment.ID.init),
            csrfToken: model.csrfToken, mfaVerified: model.mfaVerified, expiresAt: model.expiresAt)
    }

    // MARK: API tokens

    /// Creates a bearer token for the actor in the scope's establishment, with a role no higher than theirs.
    public func createToken(name: String, role roleName: String, expiresInDays: Int?, in scope: TenantScope)
        async throws -> NewAPIToken
    {
        try scope.require(Role.tokenHolders)
        let name = try Validate.text(name, field: "name", max: 100)
        guard let role = Role(rawValue: roleName) else {
            throw ValidationError(field: "role", message: "unknown role", key: "unknownChoice")
        }
        guard role == scope.role || scope.role.canGrant(role) || scope.actor.isInstanceAdmin else {
            throw HygieCoreError.forbidden("a token cannot have more rights than you")
        }
        guard let userID = scope.actor.userID else { throw HygieCoreError.forbidden("tokens belong to a user") }
        if let days = expiresInDays, !(1...3650).contains(days) {
            throw ValidationError(
                field: "expires_in_days", message: "between 1 and 3650", key: "range",
                values: ["min": "1", "max": "3650"])
        }
        let secretPart = SecureRandom.token()
        let secret = "hyg_\(secretPart)"
        let now = clock.now()
        return try await database.transaction { db in
            let model = APITokenModel()
            model.id = UUID()
            model.establishmentID = scope.establishmentID.uuid
            model.userID = userID.uuid
            model.name = name
            model.role = role.rawValue
            model.tokenHash = secret.sha256Hex
            model.prefix = String(secret.prefix(10))
            model.createdAt = now
            model.expiresAt = expiresInDays.map { now.addingTimeInterval(Double($0) * 86_400) }
            try await model.create(on: db)
            try await audit.record(
                AuditEntry(
                    action: "token.create", objectType: "api_token", objectID: model.id?.uuidString,
                    summary: "Created API token \(name) with role \(role.rawValue)",
                    establishmentID: scope.establishmentID),
                by: scope.actor, on: db)
            return NewAPIToken(secret: secret, info: Self.token(model))
        }
    }

    public func tokens(in scope: TenantScope) async throws -> [APITokenInfo] {
        let query = APITokenModel.scoped(scope, on: database.db).sort(\.$createdAt, .descending)
        if !scope.role.canManageEstablishment, let userID = scope.actor.userID {
            query.filter(\.$userID == userID.uuid)
        }
        return try await query.all().map(Self.token)
    }

    public func revokeToken(_ id: UUID, in scope: TenantScope) async throws {
        try await database.transaction { db in
            guard let model = try await APITokenModel.find(id, in: scope, on: db) else {
                throw HygieCoreError.notFound("token")
            }
            guard scope.role.canManageEstablishment || model.userID == scope.actor.userID?.uuid else {
                throw HygieCoreError.notFound("token")
            }
            if model.revokedAt == nil {
                model.revokedAt = clock.now()
                try await model.save(on: db)
                try await audit.record(
                    AuditEntry(
                        action: "token.revoke", objectType: "api_token", objectID: id.uuidString,
                        summary: "Revoked API token \(model.name)", establishmentID: scope.establishmentID),
                    by: scope.actor, on: db)
            }
        }
    }

    /// The identity behind `Authorization: Bearer <token>`, if the token is valid.
    public func resolveToken(_ secret: String) async throws -> TokenIdentity? {
        guard secret.hasPrefix("hyg_"), secret.count < 100 else { return nil }
        let db = database.db
        let now = clock.now()
        guard let model = try await APITokenModel.query(on: db).filter(\.$tokenHash == secret.sha256Hex).first(),
            model.revokedAt == nil, (model.expiresAt ?? .distantFuture) > now,
            let user = try await UserModel.find(model.userID, on: db), !user.disabled,
            try await MembershipModel.query(on: db).filter(\.$userID == model.userID)
                .filter(\.$establishmentID == model.establishmentID).first() != nil || user.isInstanceAdmin
        else { return nil }
        if now.timeIntervalSince(model.lastUsedAt ?? .distantPast) > 60 {
            try await APITokenModel.query(on: db).filter(\.$id == model.id!).set(\.$lastUsedAt, to: now).update()
        }
        return TokenIdentity(user: Self.user(user), token: Self.token(model))
    }

    /// A scope for a token identity: the token's establishment and role.
    public func scope(for identity: TokenIdentity, requestID: String?, sourceAddress: String?) -> TenantScope {
        let actor = Actor(
            userID: identity.user.id, displayName: "\(identity.user.email) (token \(identity.token.prefix)…)",
            establishmentID: identity.token.establishmentID, role: identity.token.role, channel: "token",
            requestID: requestID, sourceAddress: sourceAddress)
        return TenantScope(establishmentID: identity.token.establishmentID, role: identity.token.role, actor: actor)
    }

    // MARK: Helpers

    func prepareUser(_ input: NewUser, instanceAdmin: Bool) async throws -> UserModel {
        let email = try Validate.email(input.email)
        let name = try Validate.text(input.displayName, field: "display_name", max: 200)
        guard let locale = User.Locale(rawValue: input.locale) else {
            throw ValidationError(field: "locale", message: "fr or en", key: "locale")
        }
        try policy.check(input.password, context: [email, name])
        let now = clock.now()
        let model = UserModel()
        model.id = UUID()
        model.email = email
        model.displayName = name
        model.passwordHash = await hashPassword(input.password)
        model.locale = locale.rawValue
        model.isInstanceAdmin = instanceAdmin
        model.totpSecret = nil
        model.totpEnabled = false
        model.totpLastStep = 0
        model.disabled = false
        model.createdAt = now
        model.updatedAt = now
        return model
    }

    /// bcrypt over base64(SHA-256(password)): no 72-byte truncation, no NUL bytes, on the thread pool.
    func hashPassword(_ password: String) async -> String {
        let input = Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
        let cost = bcryptCost
        return await offload { Bcrypt.hash(input, cost: cost) }
    }

    func verifyPassword(_ password: String, hash: String) async -> Bool {
        let input = Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
        return await offload { Bcrypt.verify(input, hash: hash) }
    }

    /// Runs CPU-heavy work (bcrypt) on the blocking thread pool, not on an event loop.
    func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        // try?: runIfActive only fails when the pool is shut down (end of process); then run inline.
        if let result = try? await NIOThreadPool.singleton.runIfActive(work) { return result }
        return work()
    }

    static let dummyHash = Bcrypt.hash("hygie-timing-equaliser", cost: 12)

    func actorFor(_ user: User, base: Actor) -> Actor {
        Actor(
            userID: user.id, displayName: user.email, establishmentID: nil, role: .admin,
            isInstanceAdmin: user.isInstanceAdmin,
            channel: base.channel, requestID: base.requestID, sourceAddress: base.sourceAddress)
    }

    static func user(_ model: UserModel) -> User {
        User(
            id: .init(model.id!), email: model.email, displayName: model.displayName,
            locale: User.Locale(rawValue: model.locale) ?? .fr, isInstanceAdmin: model.isInstanceAdmin,
            mfaEnabled: model.totpEnabled, disabled: model.disabled, createdAt: model.createdAt)
    }

    static func token(_ model: APITokenModel) -> APITokenInfo {
        APITokenInfo(
            id: model.id!, establishmentID: .init(model.establishmentID), userID: .init(model.userID), name: model.name,
            role: Role(rawValue: model.role) ?? .staff, prefix: model.prefix, createdAt: model.createdAt,
            lastUsedAt: model.lastUsedAt, expiresAt: model.expiresAt, revokedAt: model.revokedAt)
    }
}

extension Actor {
    /// The same actor, now working in `establishmentID` with `role`.
    public func with(_ establishmentID: Establishment.ID, role: Role) -> Actor {
        Actor(
            userID: userID, displayName: displayName, establishmentID: establishmentID, role: role,
            isInstanceAdmin: isInstanceAdmin, channel: channel, requestID: requestID, sourceAddress: sourceAddress)
    }
}
