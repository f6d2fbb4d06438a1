import Foundation
import HTTPTypes
import Hummingbird
public import HygieCore
public import HygieJobs
public import HygieStorage
public import Logging
import NIOCore

/// Everything the HTTP layer needs, built once by `hygie serve` (or by tests with fakes and an in-memory
/// database) and handed to ``buildRouter(services:)``.
public struct HygieServices: Sendable {
    public let database: DatabaseService
    public let identity: IdentityService
    public let tenancy: TenancyService
    public let audit: AuditTrail
    public let jobs: JobQueue
    public let clock: any HygieClock
    public let settings: WebSettings
    public let metrics: MetricsRegistry
    public let logger: Logger
    let renderer: Renderer

    /// Loads templates and translations; fails if a resource is missing.
    public init(
        database: DatabaseService, identity: IdentityService, tenancy: TenancyService, audit: AuditTrail,
        jobs: JobQueue,
        clock: any HygieClock, settings: WebSettings, logger: Logger
    ) async throws {
        self.database = database
        self.identity = identity
        self.tenancy = tenancy
        self.audit = audit
        self.jobs = jobs
        self.clock = clock
        self.settings = settings
        self.metrics = MetricsRegistry()
        self.logger = logger
        self.renderer = try await Renderer.load()
    }
}
