import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// The pages of one establishment: dashboard, members, departments, API tokens, audit trail, profile.
struct EstablishmentWebController {
    let services: HygieServices

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/") { request, context in
            Response.redirect(context.session == nil ? SiteRoute.login.path : SiteRoute.dashboard.path)
        }
        router.get(SiteRoute.dashboard.routerPath, use: dashboard)
        router.get(SiteRoute.activityChart.routerPath, use: activityChart)
        router.post(SiteRoute.switchEstablishment.routerPath, use: switchEstablishment)
        router.get(SiteRoute.users.routerPath, use: users)
        router.post(SiteRoute.users.routerPath, use: addUser)
        router.get(SiteRoute.user.routerPath, use: user)
        router.post(SiteRoute.userRole.routerPath, use: changeRole)
        router.post(SiteRoute.userRemove.routerPath, use: removeUser)
        router.post(SiteRoute.userResetMFA.routerPath, use: resetMFA)
        router.get(SiteRoute.departments.routerPath, use: departments)
        router.post(SiteRoute.departments.routerPath, use: addDepartment)
        router.post(SiteRoute.departmentDelete.routerPath, use: deleteDepartment)
        router.get(SiteRoute.tokens.routerPath, use: tokens)
        router.post(SiteRoute.tokens.routerPath, use: createToken)
        router.post(SiteRoute.tokenRevoke.routerPath, use: revokeToken)
        router.get(SiteRoute.audit.routerPath, use: audit)
        router.get(SiteRoute.profile.routerPath, use: profile)
        router.post(SiteRoute.profileLocale.routerPath, use: setLocale)
        router.post(SiteRoute.profilePassword.routerPath, use: changePassword)
        router.post(SiteRoute.profileRecoveryCodes.routerPath, use: regenerateRecoveryCodes)
    }

    var renderer: Renderer { services.renderer }
    func t(_ key: String, _ context: HygieRequestContext) -> String {
        renderer.translations.string(key, context.locale)
    }

    static let manageRoles: Set<Role> = [.admin, .rssi]

    // MARK: Dashboard

    func dashboard(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        var content: [String: Any] = [
            "role": signedIn.scope.map { t("roles.\($0.role.rawValue)", context) } ?? t("roles.admin", context)
        ]
        if let scope = signedIn.scope {
            // The switcher already loaded it; ask the database only if it is missing there.
            let establishment: Establishment
            if let known = signedIn.establishments.first(where: { $0.id == scope.establishmentID }) {
                establishment = known
            } else {
                establishment = try await services.tenancy.establishment(in: scope)
            }
            content["establishment"] = [
                "name": establishment.name, "finess": establishment.finess?.value ?? "—",
                "kind": t("kinds.\(establishment.kind.rawValue)", context),
            ]
            if scope.role.canManageEstablishment {
                let members = try await services.identity.members(in: scope)
                content["stats"] = [
                    ["label": t("dashboard.members", context), "value": members.count],
                    [
                        "label": t("dashboard.withoutMFA", context),
                        "value": members.filter { $0.role.requiresMFA && !$0.user.mfaEnabled }.count,
                    ],
                    [
                        "label": t("dashboard.departments", context),
                        "value": try await services.tenancy.departments(in: scope).count,
                    ],
                    [
                        "label": t("dashboard.tokens", context),
                        "value": try await services.identity.tokens(in: scope).filter { $0.revokedAt == nil }.count,
                    ],
                ]
                content["chart"] = true
                content["hasStats"] = true
            }
            if scope.role == .coordinator {
                let overview = try await services.tenancy.coordinatorOverview(in: scope)
                content["hasOverview"] = !overview.isEmpty
                content["overview"] = overview.map {
                    [
                        "name": $0.establishment.name, "finess": $0.establishment.finess?.value ?? "—",
                        "members": $0.members, "departments": $0.departments,
                    ]
                }
            }
        } else if signedIn.session.user.isInstanceAdmin {
            content["noEstablishment"] = true
            content["chart"] = true
        }
        let frame = services.frame(
            signedIn, title: t("nav.dashboard", context), active: "dashboard", context: context, request: request)
        return renderer.page("dashboard", frame: frame, content: content)
    }

    /// Sign-ins and failed sign-ins over 14 days, as an SVG bar chart.
    func activityChart(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let establishmentID: Establishment.ID?
        if let scope = signedIn.scope, scope.role.canReadAuditTrail {
            establishmentID = signedIn.session.user.isInstanceAdmin ? nil : scope.establishmentID
        } else if signedIn.session.user.isInstanceAdmin {
            establishmentID = nil
        } else {
            throw HygieCoreError.forbidden("not allowed")
        }
        let counts = try await services.audit.dailyCounts(
            establishmentID: establishmentID, actionPrefix: "auth.", days: 14, on: services.database.db)
        let formatter = DateFormatter()
        formatter.dateFormat = "dd/MM"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let chart = BarChart(
            bars: counts.map { .init(label: formatter.string(from: $0.day), value: $0.count) },
            title: t("dashboard.activity", context))
        return Response(
            status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "no-store"],
            body: .init(byteBuffer: .init(string: chart.svg())))
    }

    func switchEstablishment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        guard let id = Establishment.ID(uuidString: context.form[field: "establishment_id"]) else {
            throw HygieCoreError.notFound("establishment")
        }
        try await services.identity.switchEstablishment(sessionID: signedIn.session.id, to: id, actor: context.actor())
        return .redirect(SiteRoute.dashboard.path)
    }

    // MARK: Members

    func users(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.manageRoles)
        return try await usersPage(request, context: context, signedIn: signedIn, scope: scope, error: nil, status: .ok)
    }

    func usersPage(
        _ request: Request, context: HygieRequestContext, signedIn: SignedIn, scope: TenantScope, error: String?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let members = try await services.identity.members(in: scope)
        let departments = try await services.tenancy.departments(in: scope)
        let names = Dictionary(uniqueKeysWithValues: departments.map { ($0.id, $0.name) })
        var content: [String: Any] = [
            "members": members.map { member -> [String: Any] in
                [
                    "id": member.user.id.uuidString, "name": member.user.displayName, "email": member.user.email,
                    "role": t("roles.\(member.role.rawValue)", context),
                    "department": member.departmentID.flatMap { names[$0] } ?? "—",
                    "mfa": member.user.mfaEnabled, "mfaRequired": member.role.requiresMFA,
                ]
            },
            "roles": grantableRoles(scope).map { ["value": $0.rawValue, "label": t("roles.\($0.rawValue)", context)] },
            "departments": departments.map { ["id": $0.id.uuidString, "name": $0.name] },
        ]
        if let error { content["error"] = error }
        let frame = services.frame(
            signedIn, title: t("nav.users", context), active: "users", context: context, request: request)
        return renderer.page("users", frame: frame, content: content, status: status)
    }

    func grantableRoles(_ scope: TenantScope) -> [Role] {
        Role.allCases.filter { scope.role.canGrant($0) || scope.actor.isInstanceAdmin }
    }

    func addUser(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.manageRoles)
        let form = context.form
        return try await services.submitForm(context) {
            _ = try await services.identity.addMember(
                NewUser(
                    email: form[field: "email"], displayName: form[field: "display_name"],
                    password: form[field: "password"], role: form[field: "role"], locale: form["locale"] ?? "fr",
                    departmentID: form["department_id"]),
                in: scope)
            return .redirect("/users?flash=user-created")
        } redisplay: { error, status in
            try await usersPage(
                request, context: context, signedIn: signedIn, scope: scope, error: error, status: status)
        }
    }

    func userID(_ context: HygieRequestContext) throws -> User.ID {
        guard let id = context.parameters.get("id").flatMap(User.ID.init(uuidString:)) else {
            throw HygieCoreError.notFound("user")
        }
        return id
    }

    func user(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.manageRoles)
        let member = try await services.identity.member(try userID(context), in: scope)
        let content: [String: Any] = [
            "id": member.user.id.uuidString, "name": member.user.displayName, "email": member.user.email,
            "role": member.role.rawValue, "roleLabel": t("roles.\(member.role.rawValue)", context),
            "mfa": member.user.mfaEnabled,
            "created": DisplayDate.format(member.user.createdAt),
            "roles": grantableRoles(scope).map {
                ["value": $0.rawValue, "label": t("roles.\($0.rawValue)", context), "selected": $0 == member.role]
            },
            "isSelf": member.user.id == signedIn.session.user.id,
        ]
        let frame = services.frame(
            signedIn, title: member.user.displayName, active: "users", context: context, request: request)
        return renderer.page("user", frame: frame, content: content)
    }

    func changeRole(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.manageRoles)
        let id = try userID(context)
        _ = try await services.identity.changeRole(of: id, to: context.form[field: "role"], in: scope)
        return .redirect("/users/\(id.uuidString)?flash=role-changed")
    }

    func removeUser(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.manageRoles)
        let id = try userID(context)
        guard id != signedIn.session.user.id else { throw HygieCoreError.conflict("you cannot remove yourself") }
        try await services.identity.removeMember(id, in: scope)
        return .redirect("/users?flash=user-removed")
    }

    func resetMFA(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.manageRoles)
        let id = try userID(context)
        try await services.identity.resetSecondFactor(of: id, in: scope)
        return .redirect("/users/\(id.uuidString)?flash=mfa-reset")
    }

    // MARK: Departments

    func departments(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.manageRoles)
        return try await departmentsPage(
            request, context: context, signedIn: signedIn, scope: scope, error: nil, status: .ok)
    }

    func departmentsPage(
        _ request: Request, context: HygieRequestContext, signedIn: SignedIn, scope: TenantScope, error: String?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        var content: [String: Any] = [
            "departments": try await services.tenancy.departments(in: scope).map {
                [
                    "id": $0.id.uuidString, "name": $0.name, "code": $0.code,
                    "kind": t("departmentKinds.\($0.kind.rawValue)", context),
                ]
            },
            "kinds": DepartmentKind.allCases.map {
                ["value": $0.rawValue, "label": t("departmentKinds.\($0.rawValue)", context)]
            },
        ]
        if let error { content["error"] = error }
        let frame = services.frame(
            signedIn, title: t("nav.departments", context), active: "departments", context: context, request: request)
        return renderer.page("departments", frame: frame, content: content, status: status)
    }

    func addDepartment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Self.manageRoles)
        return try await services.submitForm(context) {
            _ = try await services.tenancy.createDepartment(
                name: context.form[field: "name"], code: context.form[field: "code"], kind: context.form[field: "kind"],
                in: scope)
            return .redirect("/departments?flash=department-created")
        } redisplay: { error, status in
            try await departmentsPage(
                request, context: context, signedIn: signedIn, scope: scope, error: error, status: status)
        }
    }

    func deleteDepartment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Self.manageRoles)
        guard let id = context.parameters.get("id").flatMap(Department.ID.init(uuidString:)) else {
            throw HygieCoreError.notFound("department")
        }
        try await services.tenancy.deleteDepartment(id, in: scope)
        return .redirect("/departments?flash=department-deleted")
    }

    // MARK: Tokens

    func tokens(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Role.tokenHolders)
        return try await tokensPage(
            request, context: context, signedIn: signedIn, scope: scope, created: nil, error: nil)
    }

    func tokensPage(
        _ request: Request, context: HygieRequestContext, signedIn: SignedIn, scope: TenantScope, created: NewAPIToken?,
        error: String?
    ) async throws -> Response {
        var content: [String: Any] = [
            "tokens": try await services.identity.tokens(in: scope).map {
                [
                    "id": $0.id.uuidString.lowercased(), "name": $0.name,
                    "role": t("roles.\($0.role.rawValue)", context), "prefix": $0.prefix,
                    "created": DisplayDate.format($0.createdAt), "lastUsed": DisplayDate.format($0.lastUsedAt),
                    "expires": DisplayDate.format($0.expiresAt), "revoked": $0.revokedAt != nil,
                ]
            },
            "roles": ([scope.role] + grantableRoles(scope).filter { $0 != scope.role }).map {
                ["value": $0.rawValue, "label": t("roles.\($0.rawValue)", context)]
            },
        ]
        if let created { content["created"] = ["secret": created.secret, "name": created.info.name] }
        if let error { content["error"] = error }
        let frame = services.frame(
            signedIn, title: t("nav.tokens", context), active: "tokens", context: context, request: request)
        return renderer.page(
            "tokens", frame: frame, content: content, status: error == nil ? .ok : .unprocessableContent)
    }

    func createToken(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let scope = try signedIn.requireScope(Role.tokenHolders)
        let days = context.form["expires_in_days"].flatMap { $0.isEmpty ? nil : Int($0) }
        do {
            let created = try await services.identity.createToken(
                name: context.form[field: "name"], role: context.form[field: "role"], expiresInDays: days, in: scope)
            return try await tokensPage(
                request, context: context, signedIn: signedIn, scope: scope, created: created, error: nil)
        } catch let error as any ClassifiedError where error.kind == .validation {
            return try await tokensPage(
                request, context: context, signedIn: signedIn, scope: scope, created: nil,
                error: services.renderer.translations.message(for: error, context.locale))
        }
    }

    func revokeToken(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let scope = try await services.signedIn(context).requireScope(Role.tokenHolders)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
            throw HygieCoreError.notFound("token")
        }
        try await services.identity.revokeToken(id, in: scope)
        return .redirect("/tokens?flash=token-revoked")
    }

    // MARK: Audit trail

    func audit(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let isAdmin = signedIn.session.user.isInstanceAdmin
        let establishmentID: Establishment.ID?
        if isAdmin && request.uri.queryParameters.get("scope") != "establishment" {
            establishmentID = nil
        } else {
            establishmentID = try signedIn.requireScope([.admin, .rssi]).establishmentID
        }
        let query = request.uri.queryParameters
        let filter = AuditFilter(action: query.get("action"), actor: query.get("actor"))
        let before = query.get("before").flatMap(Int64.init)
        let page = try await services.audit.page(
            establishmentID: establishmentID, filter: filter, before: before, limit: PageSize(50),
            on: services.database.db)
        var content: [String: Any] = [
            "events": page.events.map {
                [
                    "sequence": $0.sequence, "time": DisplayDate.format($0.createdAt), "actor": $0.actorName,
                    "role": $0.actorRole,
                    "action": $0.action, "summary": $0.summary, "source": $0.sourceAddress ?? "—",
                    "failure": $0.action.hasSuffix(".failed"),
                ]
            },
            "action": filter.action ?? "", "actor": filter.actor ?? "",
        ]
        if let next = page.nextBefore {
            var components = URLComponents()
            components.queryItems = [URLQueryItem(name: "before", value: String(next))]
            if let action = filter.action, !action.isEmpty {
                components.queryItems?.append(URLQueryItem(name: "action", value: action))
            }
            if let actor = filter.actor, !actor.isEmpty {
                components.queryItems?.append(URLQueryItem(name: "actor", value: actor))
            }
            content["next"] = "/audit" + (components.string ?? "")
        }
        let frame = services.frame(
            signedIn, title: t("nav.audit", context), active: "audit", context: context, request: request)
        return renderer.page("audit", frame: frame, content: content)
    }

    // MARK: Profile

    func profile(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        return try await profilePage(request, context: context, signedIn: signedIn, extra: [:], status: .ok)
    }

    func profilePage(
        _ request: Request, context: HygieRequestContext, signedIn: SignedIn, extra: [String: Any],
        status: HTTPResponse.Status
    ) async throws -> Response {
        let user = signedIn.session.user
        var content: [String: Any] = [
            "name": user.displayName, "email": user.email, "mfa": user.mfaEnabled,
            "recoveryLeft": try await services.identity.remainingRecoveryCodes(userID: user.id),
            "fr": user.locale == .fr, "en": user.locale == .en,
        ]
        content.merge(extra) { $1 }
        let frame = services.frame(
            signedIn, title: t("nav.profile", context), active: "profile", context: context, request: request)
        return renderer.page("profile", frame: frame, content: content, status: status)
    }

    func setLocale(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        guard let locale = User.Locale(rawValue: context.form[field: "locale"]) else {
            throw ValidationError(field: "locale", message: "fr or en", key: "locale")
        }
        try await services.identity.setLocale(locale, for: signedIn.session.user.id)
        return .redirect("/profile?flash=saved")
    }

    func changePassword(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        let form = context.form
        do {
            guard form[field: "new_password"] == form[field: "new_password_confirm"] else {
                throw ValidationError(
                    field: "new_password", message: "the two passwords differ", key: "passwordMismatch")
            }
            try await services.identity.changePassword(
                userID: signedIn.session.user.id, current: form[field: "current_password"],
                new: form[field: "new_password"], actor: signedIn.actor)
        } catch let error as ValidationError {
            return try await profilePage(
                request, context: context, signedIn: signedIn,
                extra: ["error": services.renderer.translations.message(for: error, context.locale)],
                status: .unprocessableContent)
        }
        return .redirect("/profile?flash=password-changed")
    }

    func regenerateRecoveryCodes(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await services.signedIn(context)
        guard signedIn.session.user.mfaEnabled else {
            throw HygieCoreError.conflict("enable two-factor authentication first")
        }
        let codes = try await services.identity.regenerateRecoveryCodes(
            userID: signedIn.session.user.id, actor: signedIn.actor)
        var frame = services.frame(
            signedIn, title: t("recovery.title", context), active: "profile", context: context, request: request)
        frame.flash = nil
        return renderer.page("recovery_codes", frame: frame, content: ["codes": codes])
    }
}
