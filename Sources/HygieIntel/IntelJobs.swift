import Foundation
import HygieCore
public import HygieJobs
import SQLKit

/// Runs the TAXII feeds that are due (every minute; each feed has its own interval and backoff).
public struct IntelFeedsJob: JobHandler {
    public static let kind = "intel.feeds"
    let service: IntelService
    public var kind: String { Self.kind }

    public init(service: IntelService) { self.service = service }

    public func run(_ job: Job) async throws { try await service.runDueFeeds() }
}

/// Deletes TAXII status resources older than a week (clients poll them minutes after a POST).
public struct IntelMaintenanceJob: JobHandler {
    public static let kind = "intel.maintenance"
    let service: IntelService
    public var kind: String { Self.kind }

    public init(service: IntelService) { self.service = service }

    public func run(_ job: Job) async throws {
        let cutoff = Int64(service.clock.now().timeIntervalSince1970 * 1_000_000) - 7 * 86_400 * 1_000_000
        try await service.sql.raw("DELETE FROM intel_status WHERE request_timestamp < \(bind: cutoff)").run()
    }
}
