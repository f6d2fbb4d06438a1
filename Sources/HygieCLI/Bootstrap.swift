import FluentKit
import Foundation
import HygieAwareness
import HygieCompliance
import HygieCore
import HygieDetection
import HygieFederation
import HygieIncidents
import HygieIntel
import HygieJobs
import HygiePrivacy
import HygieStorage
import HygieVulnerabilities
import HygieWeb
import Logging

/// Wires the services from a configuration. Every subcommand starts here.
struct Bootstrap {
    let configuration: HygieConfiguration
    let logger: Logger
    let database: DatabaseService
    let clock: any HygieClock = SystemClock()

    static var migrations: [any Migration] {
        CoreMigrations.all + JobsMigrations.all + IntelMigrations.all + DetectionMigrations.all + VulnMigrations.all
            + ComplianceMigrations.all + AwarenessMigrations.all + IncidentsMigrations.all + PrivacyMigrations.all
            + FederationMigrations.all
    }

    init(configuration: HygieConfiguration) throws {
        self.configuration = configuration
        logger = LogSetup.makeLogger(level: configuration.logLevel, format: configuration.logFormat, label: "hygie")
        database = try DatabaseService(
            settings: configuration.databaseSettings, migrations: Self.migrations, logger: logger)
    }

    var audit: AuditTrail { AuditTrail(dialect: database.dialect, clock: clock) }

    /// The instance key that seals secrets Hygie must read back (TOTP seeds, feed credentials).
    func secretBox() throws -> SecretBox {
        if let key = configuration.secretKey, let data = Data(base64Encoded: key) {
            return try SecretBox(keyData: data)
        }
        return try SecretBox.loadOrCreateKeyFile(in: configuration.dataDir)
    }

    func identity() throws -> IdentityService {
        let secrets = try secretBox()
        var denylist: [String] = []
        if let file = configuration.passwordDenylistFile {
            denylist = try String(contentsOfFile: file, encoding: .utf8).split(whereSeparator: \.isNewline).map(
                String.init)
        }
        let settings = IdentitySettings(
            sessionIdleTimeout: Double(configuration.sessionIdleMinutes) * 60,
            sessionAbsoluteTimeout: Double(configuration.sessionAbsoluteHours) * 3600)
        return IdentityService(
            database: database, audit: audit, clock: clock, secrets: secrets,
            policy: PasswordPolicy(extraDenylist: denylist),
            settings: settings, bcryptCost: UInt8(configuration.bcryptCost))
    }

    var tenancy: TenancyService { TenancyService(database: database, audit: audit, clock: clock) }
    var jobs: JobQueue { JobQueue(database: database, clock: clock) }
    var intel: IntelService {
        // try?: without a readable instance key, feeds simply cannot store secrets (creating one says so).
        IntelService(
            database: database, audit: audit, clock: clock, configuration: configuration.intel,
            secrets: try? secretBox())
    }
    var vuln: VulnService {
        VulnService(database: database, audit: audit, clock: clock, configuration: configuration.vuln)
    }
    /// Compliance reads the indicators of the other modules through `IndicatorSource`.
    func compliance(
        identity: IdentityService, vuln: VulnService? = nil, detection: DetectionService? = nil,
        awareness: AwarenessService? = nil
    ) -> ComplianceService {
        ComplianceService(
            database: database, audit: audit, clock: clock, configuration: configuration.compliance,
            indicatorSources: [vuln ?? self.vuln, detection ?? self.detection, identity, awareness ?? self.awareness])
    }

    var awareness: AwarenessService {
        var settings = configuration.awareness
        if let host = URL(string: configuration.publicURL)?.host { settings.heloName = host }
        // try?: without a readable instance key, profiles simply cannot store passwords (saving one says so).
        return AwarenessService(
            database: database, audit: audit, clock: clock, configuration: settings, secrets: try? secretBox())
    }

    /// Staff reports and e-mail triage; `indicators` (the node's shared-indicator feed) answers threat-intelligence
    /// lookups, the awareness module recognises the establishment's own exercises.
    func reports(indicators: IndicatorFeed? = nil, awareness: AwarenessService? = nil) -> ReportService {
        ReportService(
            database: database, audit: audit, clock: clock,
            indicators: indicators ?? IndicatorFeed(database: database, clock: clock, logger: logger),
            recognizer: awareness ?? self.awareness, maximumMessageBytes: configuration.maxReportBytes)
    }

    var cases: CaseService { CaseService(database: database, audit: audit, clock: clock) }

    /// The hub side of the federation (coordinators' establishments and their members).
    var hub: HubService {
        HubService(database: database, audit: audit, clock: clock, secrets: try? secretBox(), intel: intel)
    }

    /// The establishment side of the federation: joining a hub, pushing aggregates and declaration copies.
    func member(identity: IdentityService, compliance: ComplianceService? = nil) -> MemberService {
        MemberService(
            database: database, audit: audit, clock: clock, secrets: try? secretBox(),
            compliance: compliance ?? self.compliance(identity: identity), cases: cases, vulnerabilities: vuln,
            intel: intel)
    }

    /// EHR access monitoring; without a readable instance key it refuses work and says why.
    var privacy: PrivacyService {
        PrivacyService(database: database, audit: audit, clock: clock, secrets: try? secretBox(), cases: cases)
    }

    var detection: DetectionService {
        DetectionService(database: database, audit: audit, clock: clock, configuration: configuration.detection)
    }

    /// Runs `body` with the database open, and always closes it.
    func withDatabase<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await database.shutdown()
            return result
        } catch {
            await database.shutdown()
            throw error
        }
    }

    /// Applies migrations on SQLite (and on PostgreSQL with autoMigrate); otherwise checks that none is pending.
    func prepareSchema() async throws {
        if configuration.databaseSettings.migratesOnStart {
            try await database.migrate()
        } else {
            try await database.prepareEngine()
            let pending = try await database.pendingMigrations()
            if !pending.isEmpty {
                throw CLIError(
                    "\(pending.count) migration(s) pending on PostgreSQL: run `hygie migrate` first (or set hygie.database.autoMigrate)"
                )
            }
        }
    }

    /// The jobs every instance runs.
    func builtInHandlers(
        identity: IdentityService, vuln: VulnService? = nil, compliance: ComplianceService? = nil,
        awareness: AwarenessService? = nil, reports: ReportService? = nil, privacy: PrivacyService? = nil
    ) -> [any JobHandler] {
        let privacy = privacy ?? self.privacy
        let awareness = awareness ?? self.awareness
        // One intel service (one read of the instance key) for both intel jobs.
        let intelService = intel
        return [
            SessionCleanupJob(identity: identity), AuditVerifyJob(audit: audit, database: database),
            SourceHealthJob(service: detection), RetentionJob(service: detection),
            AlertNotificationJob(service: detection, queue: jobs, digest: false, mail: configuration.smtp != nil),
            AlertNotificationJob(service: detection, queue: jobs, digest: true, mail: configuration.smtp != nil),
            WebhookDeliveryJob(service: detection), IntelFeedsJob(service: intelService),
            IntelMaintenanceJob(service: intelService),
            VulnMaintenanceJob(service: vuln ?? self.vuln),
            ComplianceDailyJob(
                service: compliance ?? self.compliance(identity: identity, vuln: vuln, awareness: awareness),
                smtp: configuration.smtp),
            AwarenessRetentionJob(service: awareness),
            AwarenessTrainingMailJob(service: awareness, smtp: configuration.smtp, publicURL: configuration.publicURL),
            ReportNotificationJob(service: reports ?? self.reports(awareness: awareness), smtp: configuration.smtp),
            DeclarationReminderJob(service: cases, smtp: configuration.smtp),
            PrivacyAnalysisJob(service: privacy), PrivacyRetentionJob(service: privacy),
            FederationPushJob(service: member(identity: identity, compliance: compliance)),
        ] + (configuration.smtp.map { [EmailDeliveryJob(service: detection, smtp: $0)] } ?? [])
    }

    static let builtInSchedule: [ScheduledJob] = [
        // Force-unwrap: these literal expressions are checked by JobsTests.builtInSchedulesParse.
        ScheduledJob(name: "session-cleanup", schedule: try! CronSchedule("17 * * * *"), kind: SessionCleanupJob.kind),
        ScheduledJob(name: "audit-verify", schedule: try! CronSchedule("30 3 * * *"), kind: AuditVerifyJob.kind),
        ScheduledJob(name: "source-health", schedule: try! CronSchedule("* * * * *"), kind: SourceHealthJob.kind),
        ScheduledJob(name: "retention", schedule: try! CronSchedule("10 2 * * *"), kind: RetentionJob.kind),
        ScheduledJob(name: "alert-notify", schedule: try! CronSchedule("* * * * *"), kind: AlertNotificationJob.kind),
        ScheduledJob(
            name: "alert-digest", schedule: try! CronSchedule("5 * * * *"), kind: AlertNotificationJob.digestKind),
        ScheduledJob(name: "intel-feeds", schedule: try! CronSchedule("* * * * *"), kind: IntelFeedsJob.kind),
        ScheduledJob(
            name: "intel-maintenance", schedule: try! CronSchedule("40 3 * * *"), kind: IntelMaintenanceJob.kind),
        ScheduledJob(
            name: "vuln-maintenance", schedule: try! CronSchedule("20 4 * * *"), kind: VulnMaintenanceJob.kind),
        ScheduledJob(
            name: "compliance-daily", schedule: try! CronSchedule("10 6 * * *"), kind: ComplianceDailyJob.kind),
        ScheduledJob(
            name: "awareness-retention", schedule: try! CronSchedule("40 2 * * *"), kind: AwarenessRetentionJob.kind),
        ScheduledJob(
            name: "awareness-training-mail", schedule: try! CronSchedule("*/5 * * * *"),
            kind: AwarenessTrainingMailJob.kind),
        ScheduledJob(
            name: "report-notify", schedule: try! CronSchedule("* * * * *"), kind: ReportNotificationJob.kind),
        ScheduledJob(
            name: "declaration-reminders", schedule: try! CronSchedule("*/15 * * * *"),
            kind: DeclarationReminderJob.kind),
        ScheduledJob(name: "privacy-analyze", schedule: try! CronSchedule("* * * * *"), kind: PrivacyAnalysisJob.kind),
        ScheduledJob(
            name: "privacy-retention", schedule: try! CronSchedule("50 2 * * *"), kind: PrivacyRetentionJob.kind),
        ScheduledJob(name: "federation-push", schedule: try! CronSchedule("*/5 * * * *"), kind: FederationPushJob.kind),
    ]
}

/// A message for the user and a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Deletes expired sessions and old login attempts.
struct SessionCleanupJob: JobHandler {
    static let kind = "core.session-cleanup"
    let identity: IdentityService
    var kind: String { Self.kind }
    func run(_ job: Job) async throws { _ = try await identity.purgeExpired() }
}

/// Walks the audit chain every night; a broken chain fails the job, which the admin page shows.
struct AuditVerifyJob: JobHandler {
    static let kind = "core.audit-verify"
    let audit: AuditTrail
    let database: DatabaseService
    var kind: String { Self.kind }
    func run(_ job: Job) async throws {
        let result = try await audit.verify(on: database.db)
        if let broken = result.firstBroken {
            throw HygieStorageError.auditChainBroken(sequence: broken.sequence, reason: broken.reason)
        }
    }
}
