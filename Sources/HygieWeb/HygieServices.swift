import Foundation
import HTTPTypes
import Hummingbird
public import HygieAwareness
public import HygieCompliance
public import HygieCore
public import HygieDetection
public import HygieFederation
public import HygieIncidents
public import HygieIntel
public import HygieJobs
public import HygiePrivacy
public import HygieStorage
public import HygieVulnerabilities
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
    /// Alerts, rules, sources and stored events.
    public let detection: DetectionService
    /// Threat intelligence: collections, accounts, STIX objects, TAXII.
    public let intel: IntelService
    /// Inventory, vulnerability catalogue, findings.
    public let vuln: VulnService
    /// Frameworks, assessments, evidence, action plans, recurring audits, indicators.
    public let compliance: ComplianceService
    /// Phishing simulation (GoPhish-compatible) and training.
    public let awareness: AwarenessService
    /// Staff reports and e-mail triage.
    public let reports: ReportService
    /// Incident cases and their declarations.
    public let cases: CaseService
    /// EHR access monitoring and the privacy officer's review.
    public let privacy: PrivacyService
    /// Federation: this instance as a hub, and its establishments as members of one.
    public let hub: HubService
    public let member: MemberService
    /// Event ingestion; nil when this node does not receive events (tests, CLI).
    public let ingest: IngestService?
    public let sourceDirectory: SourceDirectory?
    public let detectionMetrics: DetectionMetrics
    /// UDP syslog ports whose kernel drops are reported in `/metrics`.
    public let udpPorts: [Int]
    let renderer: Renderer

    /// Loads templates and translations; fails if a resource is missing.
    public init(
        database: DatabaseService, identity: IdentityService, tenancy: TenancyService, audit: AuditTrail,
        jobs: JobQueue,
        clock: any HygieClock, settings: WebSettings, logger: Logger, detection: DetectionService? = nil,
        ingest: IngestService? = nil, udpPorts: [Int] = [], intel: IntelService? = nil, vuln: VulnService? = nil,
        compliance: ComplianceService? = nil, awareness: AwarenessService? = nil, reports: ReportService? = nil,
        privacy: PrivacyService? = nil, secrets: SecretBox? = nil, member: MemberService? = nil
    ) async throws {
        let awareness = awareness ?? AwarenessService(database: database, audit: audit, clock: clock)
        self.awareness = awareness
        self.reports =
            reports ?? ReportService(database: database, audit: audit, clock: clock, recognizer: awareness)
        let cases = CaseService(database: database, audit: audit, clock: clock)
        self.cases = cases
        self.privacy =
            privacy ?? PrivacyService(database: database, audit: audit, clock: clock, secrets: secrets, cases: cases)
        let vuln = vuln ?? VulnService(database: database, audit: audit, clock: clock)
        self.vuln = vuln
        self.intel = intel ?? IntelService(database: database, audit: audit, clock: clock)
        let detection = detection ?? DetectionService(database: database, audit: audit, clock: clock)
        self.detection = detection
        self.compliance =
            compliance
            ?? ComplianceService(
                database: database, audit: audit, clock: clock,
                indicatorSources: [vuln, detection, identity, awareness])
        self.hub = HubService(database: database, audit: audit, clock: clock, secrets: secrets, intel: self.intel)
        self.member =
            member
            ?? MemberService(
                database: database, audit: audit, clock: clock, secrets: secrets, compliance: self.compliance,
                cases: cases, vulnerabilities: vuln, intel: self.intel)
        self.ingest = ingest
        self.sourceDirectory = ingest?.directory
        self.detectionMetrics = ingest?.metrics ?? DetectionMetrics()
        self.udpPorts = udpPorts
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

extension HygieServices {
    /// Spool size and UDP kernel drops, read at scrape time.
    func ingestGauges() -> [(name: String, help: String, value: Int)] {
        var gauges: [(name: String, help: String, value: Int)] = []
        if let ingest {
            gauges.append(("hygie_spool_bytes", "Bytes in the ingestion spool on this node.", ingest.spool.usedBytes))
            gauges.append(("hygie_spool_quota_bytes", "Disk quota of the ingestion spool.", ingest.spool.quotaBytes))
        }
        if !udpPorts.isEmpty {
            gauges.append(
                (
                    "hygie_syslog_udp_kernel_drops", "Datagrams dropped by the kernel on the syslog UDP sockets.",
                    udpPorts.reduce(0) { $0 + SyslogServer.kernelDrops(port: $1) }
                ))
        }
        return gauges
    }
}
