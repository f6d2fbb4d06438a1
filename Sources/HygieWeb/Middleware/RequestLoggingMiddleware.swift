import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// Gives every request an id (echoed as `X-Request-ID`), counts it in the metrics and logs errors.
struct RequestLoggingMiddleware: RouterMiddleware {
    typealias Context = HygieRequestContext
    let metrics: MetricsRegistry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        context.logger[metadataKey: "request_id"] = "\(context.requestID)"
        let start = ContinuousClock.now
        let route = { (ctx: Context) in ctx.endpointPath ?? "unmatched" }
        do {
            var response = try await next(request, context)
            response.headers[.init("X-Request-ID")!] = context.requestID
            record(request, route(context), response.status.code, start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            record(request, route(context), status, start)
            throw error
        }
    }

    func record(_ request: Request, _ route: String, _ status: Int, _ start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        metrics.record(method: request.method.rawValue, route: route, status: status, seconds: seconds)
    }
}
