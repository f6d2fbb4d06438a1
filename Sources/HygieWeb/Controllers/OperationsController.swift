import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieDetection
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// Liveness, readiness, Prometheus metrics and the stylesheet.
struct OperationsController {
    let services: HygieServices
    let stylesheet: ByteBuffer

    init(services: HygieServices) throws {
        self.services = services
        guard let url = Bundle.module.url(forResource: "hygie", withExtension: "css", subdirectory: "Resources/Static"),
            let data = FileManager.default.contents(atPath: url.path)
        else { throw HygieWebError.missingResource("Static/hygie.css") }
        stylesheet = ByteBuffer(bytes: data)
    }

    /// The Hygie cross, drawn in SVG.
    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0f7c74"/>\
        <path d="M13 6h6v7h7v6h-7v7h-6v-7H6v-6h7z" fill="#fff"/></svg>
        """

    func addRoutes(to router: Router<HygieRequestContext>) {
        router.get("/health") { _, _ in
            try JSONResponse.make(["status": "ok"])
        }
        router.get("/health/ready") { _, context in
            do {
                try await services.database.ping()
                return try JSONResponse.make(["status": "ready", "database": "ok"])
            } catch {
                context.logger.error("readiness check failed", metadata: ["error": "\(error)"])
                return try JSONResponse.make(
                    ["status": "not ready", "database": "unreachable"], status: .serviceUnavailable)
            }
        }
        router.get("/metrics") { _, _ in
            // try?: metrics must answer even when the database does not.
            let counts = (try? await services.jobs.counts()) ?? [:]
            let gauges = Job.Status.allCases.map {
                (
                    name: "hygie_jobs", help: "Jobs in the queue by status.", labels: "status=\"\($0.rawValue)\"",
                    value: counts[$0] ?? 0
                )
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        string: services.metrics.render(gauges: gauges)
                            + services.detectionMetrics.render(gauges: services.ingestGauges()))))
        }
        router.get("/favicon.ico") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "public, max-age=86400"],
                body: .init(byteBuffer: ByteBuffer(string: Self.favicon)))
        }
        let css = stylesheet
        router.get(SiteRoute.stylesheet.routerPath) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
                body: .init(byteBuffer: css))
        }
    }
}
