import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// Instance administration: establishments and the job queue.
struct AdminWebController {
    let services: HygieServices

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get(SiteRoute.adminEstablishments.routerPath, use: establishments)
        router.post(SiteRoute.adminEstablishments.routerPath, use: createEstablishment)
        router.post(SiteRoute.adminRegions.routerPath, use: createRegion)
        router.post(SiteRoute.adminGroups.routerPath, use: createGroup)
        router.get(SiteRoute.adminJobs.routerPath, use: jobs)
        router.post(SiteRoute.adminJobRetry.routerPath, use: retryJob)
    }

    func t(_ key: String, _ context: HygieRequestContext) -> String {
        services.renderer.translations.string(key, context.locale)
    }

    func requireAdmin(_ context: HygieRequestContext) async throws -> SignedIn {
        let signedIn = try await services.signedIn(context)
        guard signedIn.session.user.isInstanceAdmin else { throw HygieCoreError.notFound("page") }
        return signedIn
    }

    func establishments(_ request: Request, context: HygieRequestContext) async throws -> Response {
        try await establishmentsPage(request, context: context, signedIn: try await requireAdmin(context), error: nil)
    }

    func establishmentsPage(
        _ request: Request, context: HygieRequestContext, signedIn: SignedIn, error: String?,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let regions = try await services.tenancy.regions()
        let groups = try await services.tenancy.groups()
        var content: [String: Any] = [
            "establishments": signedIn.establishments.map { establishment -> [String: Any] in
                [
                    "name": establishment.name, "finess": establishment.finess?.value ?? "—",
                    "kind": t("kinds.\(establishment.kind.rawValue)", context),
                    "region": regions.first { $0.id == establishment.regionID }?.name ?? "—",
                    "group": groups.first { $0.id == establishment.groupID }?.name ?? "—",
                ]
            },
            "kinds": EstablishmentKind.allCases.map {
                ["value": $0.rawValue, "label": t("kinds.\($0.rawValue)", context)]
            },
            "regions": regions.map { ["id": $0.id.uuidString, "name": $0.name] },
            "groups": groups.map { ["id": $0.id.uuidString, "name": $0.name] },
        ]
        if let error { content["error"] = error }
        let frame = services.frame(
            signedIn, title: t("nav.establishments", context), active: "establishments", context: context,
            request: request)
        return services.renderer.page(
            "establishments", frame: frame, content: content, status: status)
    }

    func createEstablishment(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await requireAdmin(context)
        let form = context.form
        return try await services.submitForm(context) {
            let created = try await services.tenancy.createEstablishment(
                .init(
                    name: form[field: "name"], finess: form["finess"], kind: form[field: "kind"],
                    groupID: form["group_id"], regionID: form["region_id"]),
                by: signedIn.actor)
            if signedIn.scope == nil {
                try await services.identity.switchEstablishment(
                    sessionID: signedIn.session.id, to: created.id, actor: signedIn.actor)
            }
            return .redirect("/admin/establishments?flash=establishment-created")
        } redisplay: { error, status in
            try await establishmentsPage(request, context: context, signedIn: signedIn, error: error, status: status)
        }
    }

    func createRegion(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await requireAdmin(context)
        return try await services.submitForm(context) {
            _ = try await services.tenancy.createRegion(
                name: context.form[field: "name"], code: context.form[field: "code"], by: signedIn.actor)
            return .redirect("/admin/establishments?flash=region-created")
        } redisplay: { error, status in
            try await establishmentsPage(request, context: context, signedIn: signedIn, error: error, status: status)
        }
    }

    func createGroup(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await requireAdmin(context)
        return try await services.submitForm(context) {
            let regionID = context.form["region_id"].flatMap { $0.isEmpty ? nil : Region.ID(uuidString: $0) }
            _ = try await services.tenancy.createGroup(
                name: context.form[field: "name"], regionID: regionID, by: signedIn.actor)
            return .redirect("/admin/establishments?flash=group-created")
        } redisplay: { error, status in
            try await establishmentsPage(request, context: context, signedIn: signedIn, error: error, status: status)
        }
    }

    func jobs(_ request: Request, context: HygieRequestContext) async throws -> Response {
        let signedIn = try await requireAdmin(context)
        let status = request.uri.queryParameters.get("status").flatMap(Job.Status.init(rawValue:))
        let counts = try await services.jobs.counts()
        let content: [String: Any] = [
            "counts": Job.Status.allCases.map {
                [
                    "status": $0.rawValue, "label": t("jobs.status.\($0.rawValue)", context), "count": counts[$0] ?? 0,
                    "selected": $0 == status,
                ]
            },
            "jobs": try await services.jobs.recent(status: status).map {
                [
                    "id": $0.id.uuidString.lowercased(), "kind": $0.kind, "status": $0.status.rawValue,
                    "statusLabel": t("jobs.status.\($0.status.rawValue)", context),
                    "attempts": "\($0.attempts)/\($0.maxAttempts)", "runAt": DisplayDate.format($0.runAt),
                    "finished": DisplayDate.format($0.finishedAt), "error": $0.lastError ?? "",
                    "dead": $0.status == .dead,
                ]
            },
        ]
        let frame = services.frame(
            signedIn, title: t("nav.jobs", context), active: "jobs", context: context, request: request)
        return services.renderer.page("jobs", frame: frame, content: content)
    }

    func retryJob(_ request: Request, context: HygieRequestContext) async throws -> Response {
        _ = try await requireAdmin(context)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
            throw HygieCoreError.notFound("job")
        }
        try await services.jobs.retry(id)
        return .redirect("/admin/jobs?flash=job-retried")
    }
}
