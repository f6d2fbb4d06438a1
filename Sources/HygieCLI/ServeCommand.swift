import ArgumentParser
import Foundation
import Hummingbird
import HygieAwareness
import HygieCompliance
import HygieCore
import HygieDetection
import HygieIncidents
import HygieIntel
import HygieJobs
import HygiePrivacy
import HygieStorage
import HygieWeb
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Start the web server, the API and the background jobs.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Address to listen on. Env: HYGIE_HTTP_HOST. Default 127.0.0.1.")
    var host: String?

    @Option(help: "Port to listen on (0 picks a free one). Env: HYGIE_HTTP_PORT. Default 8080.")
    var port: Int?

    @Option(help: "PEM certificate chain for HTTPS.")
    var tlsCertificate: String?

    @Option(help: "PEM private key for HTTPS.")
    var tlsKey: String?

    func run() async throws {
        var overrides: [String: String] = [:]
        if let host { overrides["hygie.http.host"] = host }
        if let port { overrides["hygie.http.port"] = String(port) }
        if let tlsCertificate { overrides["hygie.tls.certificate"] = tlsCertificate }
        if let tlsKey { overrides["hygie.tls.key"] = tlsKey }
        let configuration = try await common.load(extra: overrides)
        let boot = try Bootstrap(configuration: configuration)
        let logger = boot.logger
        logger.info("starting Hygie \(Hygie.version)", metadata: ["config": "\(configuration.summary)"])
        let started = ContinuousClock.now
        let identity: IdentityService
        do {
            try await boot.prepareSchema()
            identity = try boot.identity()
        } catch {
            await boot.database.shutdown()
            throw CLIError("cannot open the database: \(error)")
        }
        let detection = boot.detection
        // One EHR monitoring service on this node: ATNA intake, pages and jobs share its context cache.
        let privacy = boot.privacy
        var ingest: IngestService?
        // Shared indicators, kept current on this node: looked for in every event and in reported e-mails.
        let indicators = IndicatorFeed(database: boot.database, clock: boot.clock, logger: logger)
        var receivers: [any Service] = [indicators]
        var udpPorts: [Int] = []
        if configuration.ingestEnabled {
            do {
                let report = try await detection.syncBuiltInRules()
                if report.added + report.updated > 0 {
                    logger.info(
                        "built-in rules installed",
                        metadata: ["added": "\(report.added)", "updated": "\(report.updated)"])
                }
                try await detection.maintainPartitions()
            } catch {
                await boot.database.shutdown()
                throw CLIError("cannot prepare detection: \(error)")
            }
            let spool = try Spool(
                directory: configuration.spoolDir
                    ?? (configuration.dataDir as NSString).appendingPathComponent("spool"),
                quotaBytes: configuration.spoolQuotaMB << 20, policy: configuration.fsync)
            let metrics = DetectionMetrics()
            let directory = SourceDirectory(service: detection, logger: logger)
            try await directory.reload()
            let auditLogger = logger
            ingest = IngestService(
                spool: spool, directory: directory, metrics: metrics, clock: boot.clock,
                auditRecords: { establishment, records in
                    Task {
                        do {
                            let (result, invalid) = try await privacy.ingestATNA(records, establishment: establishment)
                            if invalid > 0 {
                                auditLogger.warning(
                                    "ATNA messages refused",
                                    metadata: ["invalid": "\(invalid)", "accepted": "\(result.accepted)"])
                            }
                        } catch {
                            auditLogger.error("ATNA messages not stored", metadata: ["error": "\(error)"])
                        }
                    }
                })
            receivers.append(directory)
            if configuration.detectionEnabled {
                receivers.append(
                    try DetectionPipeline(
                        spool: spool, database: boot.database, configuration: configuration.detection,
                        clock: boot.clock, metrics: metrics, logger: logger, indicators: indicators))
            }
            for (transport, address) in [
                (SyslogSettings.Transport.udp, configuration.syslogUDP), (.tcp, configuration.syslogTCP),
                (.tls, configuration.syslogTLS),
            ] {
                guard let address, !address.isEmpty, let (host, port) = SyslogSettings.address(address) else {
                    continue
                }
                if transport == .udp { udpPorts.append(port) }
                receivers.append(
                    SyslogServer(
                        settings: SyslogSettings(
                            transport: transport, host: host, port: port,
                            certificatePath: configuration.syslogTLSCertificate, keyPath: configuration.syslogTLSKey,
                            clientCAPath: configuration.syslogTLSClientCA),
                        ingest: ingest!, logger: logger))
            }
        }
        // One service for the pages and the jobs: they share the matching index.
        let vuln = boot.vuln
        let awareness = boot.awareness
        let compliance = boot.compliance(identity: identity, vuln: vuln, detection: detection, awareness: awareness)
        do {
            // Hygie's own frameworks, or their newer version after an upgrade; idempotent.
            try await compliance.installBuiltins()
        } catch {
            await boot.database.shutdown()
            throw CLIError("cannot install the built-in frameworks: \(error)")
        }
        let reports = boot.reports(indicators: indicators, awareness: awareness)
        let services = try await HygieServices(
            database: boot.database, identity: identity, tenancy: boot.tenancy, audit: boot.audit, jobs: boot.jobs,
            clock: boot.clock,
            settings: WebSettings(
                publicURL: configuration.publicURL, maxBodyBytes: configuration.maxBodyBytes,
                tlsEnabled: configuration.tlsCertificate != nil, maxIngestBytes: configuration.maxIngestBytes),
            logger: logger, detection: detection, ingest: ingest, udpPorts: udpPorts, intel: boot.intel,
            vuln: vuln, compliance: compliance, awareness: awareness, reports: reports, privacy: privacy,
            secrets: try? boot.secretBox(), member: boot.member(identity: identity, compliance: compliance))
        var background: [any Service] = [boot.database]
        background.append(
            JobScheduler(queue: boot.jobs, entries: Bootstrap.builtInSchedule, clock: boot.clock, logger: logger))
        if configuration.jobWorkers > 0 {
            let workerName = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
            background.append(
                JobWorker(
                    queue: boot.jobs,
                    handlers: boot.builtInHandlers(
                        identity: identity, vuln: vuln, compliance: compliance, awareness: awareness, reports: reports,
                        privacy: privacy),
                    name: workerName,
                    concurrency: configuration.jobWorkers, logger: logger))
        }
        background += receivers
        background.append(CampaignSender(service: awareness, logger: logger))
        if let listen = configuration.reportListen, !listen.isEmpty, let (host, port) = SyslogSettings.address(listen) {
            background.append(
                ReportMailListener(
                    settings: ReportListenerSettings(
                        host: host, port: port, hostname: URL(string: configuration.publicURL)?.host ?? "hygie"),
                    service: reports, logger: logger))
        }
        if let listen = configuration.mllpListen, let (host, port) = SyslogSettings.address(listen),
            let target = configuration.mllpEstablishment
        {
            let scope: TenantScope
            do { scope = try await EstablishmentOption.scope(target, boot) } catch {
                await boot.database.shutdown()
                throw CLIError("hygie.privacy.mllpEstablishment: \(error)")
            }
            background.append(
                MLLPListener(
                    settings: MLLPSettings(host: host, port: port, establishment: scope.establishmentID.uuid),
                    service: privacy, logger: logger))
        }
        let publicURL = configuration.publicURL
        let app = try buildApplication(
            services: services,
            server: ServerSettings(
                host: configuration.host, port: configuration.port, certificatePath: configuration.tlsCertificate,
                keyPath: configuration.tlsKey),
            background: background, logger: logger,
            onServerRunning: { boundPort in
                let elapsed = ContinuousClock.now - started
                // With port 0 the system picks the port: show the one actually bound.
                let base = publicURL.hasSuffix(":0") ? "\(publicURL.dropLast(2)):\(boundPort)" : publicURL
                logger.notice(
                    "Hygie is ready",
                    metadata: [
                        "url": "\(base)", "port": "\(boundPort)",
                        "startup_ms":
                            "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                    ])
                do {
                    if let token = try await identity.issueSetupToken() {
                        // The link is the only way in on a new instance; print it where the operator looks.
                        let message =
                            "\nNo account exists yet. Create the first administrator here (valid 24 h, single use):\n  \(base)/setup?token=\(token)\n\n"
                        FileHandle.standardOutput.write(Data(message.utf8))
                    }
                } catch {
                    logger.error("cannot issue the setup link", metadata: ["error": "\(error)"])
                }
            })
        try await app.runService()
    }
}
