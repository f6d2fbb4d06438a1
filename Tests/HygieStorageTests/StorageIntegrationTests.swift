import FluentKit
import Foundation
import HygieCore
import HygieStorage
import HygieTestSupport
import SQLKit
import Testing

@Suite struct MigrationTests {
    @Test(arguments: TestDatabase.enabled)
    func migratesUpDownAndUpAgain(_ engine: TestDatabase) async throws {
        try await engine.withDatabase(migrated: false) { database in
            try await database.migrate()
            #expect(try await database.pendingMigrations().isEmpty)
            try await database.revertAll()
            #expect(try await database.pendingMigrations().count == TestDatabase.migrations.count)
            try await database.migrate()
            let services = try TestServices(database: database)
            _ = try await services.makeEstablishment("Up Again")
        }
    }
}

@Suite struct AuditTrailTests {
    @Test(arguments: TestDatabase.enabled)
    func chainsEventsAndFindsTheFirstTamperedOne(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            for index in 1...5 {
                try await database.transaction { db in
                    try await services.audit.record(
                        AuditEntry(
                            action: "test.event", objectType: "thing", objectID: "\(index)", summary: "event \(index)"),
                        by: TestServices.cli, on: db)
                }
                services.clock.advance(by: 1.234)
            }
            #expect(try await services.audit.verify(on: database.db).firstBroken == nil)
            #expect(try await services.audit.verify(on: database.db).checked == 5)

            try await database.sql.raw("UPDATE core_audit_events SET summary = 'forged' WHERE sequence = 3").run()

            let result = try await services.audit.verify(on: database.db)
            #expect(result.firstBroken?.sequence == 3)
            #expect(result.checked == 2)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func detectsDeletedTailEvents(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            _ = try await services.makeEstablishment("Tail")
            let before = try await services.audit.verify(on: database.db)

            try await database.sql.raw("DELETE FROM core_audit_events WHERE sequence = \(bind: Int64(before.checked))")
                .run()

            #expect(try await services.audit.verify(on: database.db).firstBroken != nil)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func concurrentAppendsKeepOneChain(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await database.transaction { db in
                            try await services.audit.record(
                                AuditEntry(
                                    action: "test.concurrent", objectType: "n", objectID: "\(index)", summary: "n"),
                                by: TestServices.cli, on: db)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let result = try await services.audit.verify(on: database.db)
            #expect(result.firstBroken == nil)
            #expect(result.checked == 20)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func aFailedChangeLeavesNoEvent(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("Atomic")
            _ = try await services.tenancy.createDepartment(name: "Urgences", code: "URG", kind: "clinical", in: scope)
            let before = try await services.audit.verify(on: database.db).checked

            await #expect(throws: (any Error).self) {
                try await services.tenancy.createDepartment(
                    name: "Urgences bis", code: "URG", kind: "clinical", in: scope)
            }

            #expect(try await services.audit.verify(on: database.db).checked == before)
        }
    }
}

@Suite struct IdentityTests {
    @Test(arguments: TestDatabase.enabled)
    func setupTokenCreatesTheFirstAdminOnce(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let token = try #require(try await services.identity.issueSetupToken())
            let input = NewUser(
                email: "Admin@CHU.example", displayName: "Admin", password: TestServices.password, role: "admin")

            let user = try await services.identity.completeSetup(token: token, user: input, actor: TestServices.cli)

            #expect(user.email == "admin@chu.example")
            #expect(user.isInstanceAdmin)
            await #expect(throws: HygieCoreError.self) {
                try await services.identity.completeSetup(token: token, user: input, actor: TestServices.cli)
            }
            #expect(try await services.identity.issueSetupToken() == nil)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func throttlesRepeatedFailuresPerAccount(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            _ = try await services.makeEstablishment("Throttle")
            let actor = Actor(
                userID: nil, displayName: "web", establishmentID: nil, role: .staff, channel: "web", requestID: nil,
                sourceAddress: "10.1.2.3")
            for _ in 0..<5 {
                await #expect(throws: HygieCoreError.unauthorized("wrong e-mail or password")) {
                    try await services.identity.authenticate(
                        email: "rssi@throttle.example", password: "nope-nope-nope", actor: actor)
                }
            }

            await #expect(throws: HygieCoreError.self) {
                try await services.identity.authenticate(
                    email: "rssi@throttle.example", password: TestServices.password, actor: actor)
            }
            services.clock.advance(by: 16 * 60)
            let user = try await services.identity.authenticate(
                email: "rssi@throttle.example", password: TestServices.password, actor: actor)
            #expect(user.email == "rssi@throttle.example")
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func signInEventsBelongToTheMembersEstablishment(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let (establishment, _) = try await services.makeEstablishment("Home")
            let (other, _) = try await services.makeEstablishment("Elsewhere")
            let web = Actor(
                userID: nil, displayName: "web", establishmentID: nil, role: .staff, channel: "web", requestID: "r1",
                sourceAddress: "192.0.2.7")
            await #expect(throws: HygieCoreError.self) {
                try await services.identity.authenticate(
                    email: "rssi@home.example", password: "wrong-password-1", actor: web)
            }

            let home = try await services.audit.page(
                establishmentID: establishment.id, filter: AuditFilter(action: "auth."), before: nil,
                limit: PageSize(10),
                on: database.db)
            let elsewhere = try await services.audit.page(
                establishmentID: other.id, filter: AuditFilter(action: "auth."), before: nil, limit: PageSize(10),
                on: database.db)

            #expect(home.events.map(\.action) == ["auth.login.failed"])
            #expect(home.events.first?.sourceAddress == "192.0.2.7")
            #expect(elsewhere.events.isEmpty)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func enrolsTOTPAndRefusesReplayAndReusedRecoveryCodes(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("MFA")
            let userID = try #require(scope.actor.userID)
            let enrolment = try await services.identity.beginTOTPEnrolment(userID: userID)
            let totp = TOTP(secret: try #require(Base32.decode(enrolment.secret)))

            let codes = try await services.identity.confirmTOTPEnrolment(
                userID: userID, code: totp.code(at: services.clock.now()), actor: scope.actor)
            #expect(codes.count == 10)
            #expect(Set(codes).count == 10)

            services.clock.advance(by: 30)
            let code = totp.code(at: services.clock.now())
            try await services.identity.verifySecondFactor(userID: userID, code: code, actor: scope.actor)
            await #expect(throws: HygieCoreError.self) {
                try await services.identity.verifySecondFactor(userID: userID, code: code, actor: scope.actor)
            }
            try await services.identity.verifySecondFactor(userID: userID, code: codes[0], actor: scope.actor)
            await #expect(throws: HygieCoreError.self) {
                try await services.identity.verifySecondFactor(userID: userID, code: codes[0], actor: scope.actor)
            }
            #expect(try await services.identity.remainingRecoveryCodes(userID: userID) == 9)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func sessionsExpireWhenIdleAndRotateAfterMFA(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("Sessions")
            let user = try #require(try await services.identity.user(scope.actor.userID!))
            let session = try await services.identity.openSession(
                for: user, mfaVerified: false, actor: scope.actor, userAgent: "test")
            #expect(try await services.identity.resolveSession(cookieValue: session.cookieValue)?.mfaVerified == false)

            let renewed = try await services.identity.completeSecondFactor(
                sessionID: session.info.id, actor: scope.actor)

            #expect(try await services.identity.resolveSession(cookieValue: session.cookieValue) == nil)
            #expect(try await services.identity.resolveSession(cookieValue: renewed.cookieValue)?.mfaVerified == true)
            #expect(try await services.identity.resolveSession(cookieValue: "garbage") == nil)
            services.clock.advance(by: 31 * 60)
            #expect(try await services.identity.resolveSession(cookieValue: renewed.cookieValue) == nil)
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func apiTokensAreHashedScopedAndRevocable(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let (establishment, scope) = try await services.makeEstablishment("Tokens")
            let created = try await services.identity.createToken(
                name: "SIEM", role: "analyst", expiresInDays: 30, in: scope)

            let stored = try await database.sql.raw("SELECT token_hash FROM core_api_tokens").all()
            #expect(
                try stored.map { try $0.decode(column: "token_hash", as: String.self) } == [created.secret.sha256Hex])
            let identity = try #require(try await services.identity.resolveToken(created.secret))
            #expect(identity.token.establishmentID == establishment.id)
            #expect(identity.token.role == .analyst)
            await #expect(throws: HygieCoreError.self) {
                try await services.identity.createToken(name: "too much", role: "admin", expiresInDays: nil, in: scope)
            }

            try await services.identity.revokeToken(created.info.id, in: scope)

            #expect(try await services.identity.resolveToken(created.secret) == nil)
            services.clock.advance(by: 1)
            let expiring = try await services.identity.createToken(
                name: "short", role: "rssi", expiresInDays: 1, in: scope)
            services.clock.advance(by: 86_401)
            #expect(try await services.identity.resolveToken(expiring.secret) == nil)
        }
    }
}

@Suite struct LeastPrivilegeTests {
    @Test(arguments: TestDatabase.enabled)
    func anRSSICannotTouchMembersAboveItsReach(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let (establishment, rssiScope) = try await services.makeEstablishment("Reach")
            let adminScope = try await services.identity.scope(for: establishment.id, actor: TestServices.cli)
            let partner = try await services.identity.addMember(
                NewUser(
                    email: "soc@partner.example", displayName: "SOC", password: TestServices.password, role: "partner"),
                in: adminScope)
            let nurse = try await services.identity.addMember(
                NewUser(
                    email: "nurse@reach.example", displayName: "Nurse", password: TestServices.password, role: "staff"),
                in: rssiScope)

            await #expect(throws: HygieCoreError.self) {
                try await services.identity.changeRole(of: partner.user.id, to: "staff", in: rssiScope)
            }
            await #expect(throws: HygieCoreError.self) {
                try await services.identity.removeMember(partner.user.id, in: rssiScope)
            }
            await #expect(throws: HygieCoreError.self) {
                try await services.identity.addMember(
                    NewUser(email: "x@reach.example", displayName: "X", password: TestServices.password, role: "admin"),
                    in: rssiScope)
            }
            #expect(
                try await services.identity.changeRole(of: nurse.user.id, to: "analyst", in: rssiScope).role == .analyst
            )
            #expect(try await services.identity.member(partner.user.id, in: adminScope).role == .partner)
        }
    }
}

@Suite struct TenantIsolationTests {
    @Test(arguments: TestDatabase.enabled)
    func oneEstablishmentCannotReachAnothersObjects(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scopeA) = try await services.makeEstablishment("Alpha")
            let (establishmentB, scopeB) = try await services.makeEstablishment("Beta")
            let departmentB = try await services.tenancy.createDepartment(
                name: "Cardiologie", code: "CARD", kind: "clinical", in: scopeB)
            let tokenB = try await services.identity.createToken(
                name: "b", role: "rssi", expiresInDays: nil, in: scopeB)
            let userB = try #require(scopeB.actor.userID)

            await #expect(throws: HygieCoreError.notFound("department")) {
                try await services.tenancy.department(departmentB.id, in: scopeA)
            }
            await #expect(throws: HygieCoreError.notFound("department")) {
                try await services.tenancy.deleteDepartment(departmentB.id, in: scopeA)
            }
            await #expect(throws: HygieCoreError.notFound("user")) {
                try await services.identity.member(userB, in: scopeA)
            }
            await #expect(throws: HygieCoreError.notFound("user")) {
                try await services.identity.changeRole(of: userB, to: "staff", in: scopeA)
            }
            await #expect(throws: HygieCoreError.notFound("token")) {
                try await services.identity.revokeToken(tokenB.info.id, in: scopeA)
            }
            await #expect(throws: HygieCoreError.notFound("establishment")) {
                try await services.identity.scope(for: establishmentB.id, actor: scopeA.actor)
            }
            let forged = [Membership(userID: userB, establishmentID: establishmentB.id, role: .rssi, departmentID: nil)]
            await #expect(throws: HygieCoreError.notFound("establishment")) {
                try await services.identity.scope(for: establishmentB.id, actor: scopeA.actor, memberships: forged)
            }
            let own = try await services.identity.memberships(of: scopeA.actor.userID!)
            #expect(
                try await services.identity.scope(for: scopeA.establishmentID, actor: scopeA.actor, memberships: own)
                    .role == .rssi)
            #expect(try await services.tenancy.departments(in: scopeA).isEmpty)
            #expect(try await services.identity.tokens(in: scopeA).isEmpty)
            #expect(try await services.identity.members(in: scopeA).map(\.user.id) == [scopeA.actor.userID!])
            #expect(try await services.tenancy.department(departmentB.id, in: scopeB).code == "CARD")
        }
    }

    @Test(arguments: TestDatabase.enabled)
    func departmentsPageWithAKeysetCursor(_ engine: TestDatabase) async throws {
        try await engine.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("Paging")
            for index in 0..<7 {
                _ = try await services.tenancy.createDepartment(
                    name: "Service \(index)", code: "S\(index)", kind: "clinical", in: scope)
                if index % 2 == 0 { services.clock.advance(by: 1) }
            }
            var codes: [String] = []
            var cursor: PageCursor?
            repeat {
                let page = try await services.tenancy.departmentPage(in: scope, after: cursor, size: PageSize(3))
                codes += page.items.map(\.code)
                cursor = page.next
            } while cursor != nil
            #expect(codes.sorted() == (0..<7).map { "S\($0)" })
            #expect(Set(codes).count == 7)
        }
    }
}
