import Configuration
import Foundation
import HygieAwareness
import HygieCompliance
import HygieDetection
import HygieIntel
import HygieMail
import HygieStorage
import HygieVulnerabilities
import HygieWeb
import SystemPackage
import Yams

/// The whole configuration, read once at start-up.
///
/// Sources, highest priority first: command-line options → environment (`HYGIE_…`) → YAML file (`--config`) →
/// secret files (`hygie.secretsDirectory`, one file per key) → defaults. Keys (YAML nesting / environment):
///
/// | key | env | type | default |
/// |---|---|---|---|
/// | hygie.http.host | HYGIE_HTTP_HOST | string | 127.0.0.1 |
/// | hygie.http.port | HYGIE_HTTP_PORT | int 0–65535 | 8080 |
/// | hygie.http.publicURL | HYGIE_HTTP_PUBLIC_URL | URL | http(s)://host:port |
/// | hygie.http.maxBodyBytes | HYGIE_HTTP_MAX_BODY_BYTES | int | 1048576 |
/// | hygie.dataDir | HYGIE_DATA_DIR | path | ./hygie-data |
/// | hygie.database.url | HYGIE_DATABASE_URL | postgres:// URL (secret) | SQLite in the data dir |
/// | hygie.database.autoMigrate | HYGIE_DATABASE_AUTO_MIGRATE | bool | false (PostgreSQL only) |
/// | hygie.tls.certificate, hygie.tls.key | HYGIE_TLS_CERTIFICATE, HYGIE_TLS_KEY | PEM paths | none |
/// | hygie.security.secretKey | HYGIE_SECURITY_SECRET_KEY | base64 32 bytes (secret) | `<dataDir>/instance.key` |
/// | hygie.security.sessionIdleMinutes | HYGIE_SECURITY_SESSION_IDLE_MINUTES | int | 30 |
/// | hygie.security.sessionAbsoluteHours | HYGIE_SECURITY_SESSION_ABSOLUTE_HOURS | int | 12 |
/// | hygie.security.bcryptCost | HYGIE_SECURITY_BCRYPT_COST | int 4–15 | 12 |
/// | hygie.security.passwordDenylistFile | HYGIE_SECURITY_PASSWORD_DENYLIST_FILE | path | none |
/// | hygie.jobs.workers | HYGIE_JOBS_WORKERS | int 0–32 | 2 |
/// | hygie.log.level | HYGIE_LOG_LEVEL | trace…critical | info |
/// | hygie.log.format | HYGIE_LOG_FORMAT | text, json | text |
/// | hygie.ingest.enabled | HYGIE_INGEST_ENABLED | bool | true (spool, detection worker, HTTP ingest) |
/// | hygie.ingest.spoolDir | HYGIE_INGEST_SPOOL_DIR | path | `<dataDir>/spool` |
/// | hygie.ingest.spoolQuotaMB | HYGIE_INGEST_SPOOL_QUOTA_MB | int 1–1048576 | 1024 |
/// | hygie.ingest.fsync | HYGIE_INGEST_FSYNC | always, interval, interval:MS, never | always |
/// | hygie.ingest.maxBodyBytes | HYGIE_INGEST_MAX_BODY_BYTES | int | 33554432 |
/// | hygie.syslog.udp, hygie.syslog.tcp, hygie.syslog.tls | HYGIE_SYSLOG_UDP, … | host:port | off |
/// | hygie.syslog.tlsCertificate, hygie.syslog.tlsKey, hygie.syslog.tlsClientCA | HYGIE_SYSLOG_TLS_… | PEM paths | none |
/// | hygie.detection.dedupWindowSeconds | HYGIE_DETECTION_DEDUP_WINDOW_SECONDS | int 1–86400 | 600 |
/// | hygie.detection.batchSize | HYGIE_DETECTION_BATCH_SIZE | int 1–50000 | 4000 |
/// | hygie.detection.storeEvents | HYGIE_DETECTION_STORE_EVENTS | bool | true |
/// | hygie.detection.enabled | HYGIE_DETECTION_ENABLED | bool | true (false: receive into the spool only) |
/// | hygie.smtp.host, hygie.smtp.port | HYGIE_SMTP_HOST, HYGIE_SMTP_PORT | relay for alert e-mails | none, 587 |
/// | hygie.smtp.security | HYGIE_SMTP_SECURITY | starttls, tls, none | starttls |
/// | hygie.smtp.username, hygie.smtp.password | HYGIE_SMTP_USERNAME, HYGIE_SMTP_PASSWORD (secret) | AUTH PLAIN/LOGIN | none |
/// | hygie.smtp.from | HYGIE_SMTP_FROM | envelope and From address | hygie@<host> |
/// | hygie.smtp.trustRoots | HYGIE_SMTP_TRUST_ROOTS | PEM CA file for an internal relay | system |
/// | hygie.intel.maxContentLength | HYGIE_INTEL_MAX_CONTENT_LENGTH | int bytes 1024–1073741824 | 10485760 (largest TAXII envelope or bundle) |
/// | hygie.intel.pageLimit | HYGIE_INTEL_PAGE_LIMIT | int 10–10000 | 1000 (largest TAXII page) |
/// | hygie.vuln.maxUploadBytes | HYGIE_VULN_MAX_UPLOAD_BYTES | int bytes 1024–1073741824 | 67108864 (largest inventory or vulnerability file sent to the pages and API) |
/// | hygie.vuln.refresh | HYGIE_VULN_REFRESH | bool | false (download KEV and EPSS every night) |
/// | hygie.vuln.kevURL, hygie.vuln.epssURL, hygie.vuln.nvdURL | HYGIE_VULN_KEV_URL, HYGIE_VULN_EPSS_URL, HYGIE_VULN_NVD_URL | https URLs (nvdURL empty: no NVD download) | CISA's, FIRST's and NVD's |
/// | hygie.vuln.nvdAPIKey | HYGIE_VULN_NVD_API_KEY (secret) | NVD API key (50 requests per 30 s instead of 5) | none |
/// | hygie.compliance.maxUploadBytes | HYGIE_COMPLIANCE_MAX_UPLOAD_BYTES | int bytes 1024–1073741824 | 33554432 (largest evidence file or framework library) |
/// | hygie.compliance.chromium | HYGIE_COMPLIANCE_CHROMIUM | path of Chromium/Chrome for PDF reports | looked up in PATH (chromium, chromium-browser, google-chrome) |
/// | hygie.awareness.smtpConnections | HYGIE_AWARENESS_SMTP_CONNECTIONS | int 1–32 | 4 (connections per sending profile and node) |
/// | hygie.awareness.batchSize | HYGIE_AWARENESS_BATCH_SIZE | int 1–5000 | 400 (messages a node claims at once) |
/// | hygie.awareness.scannerDelaySeconds | HYGIE_AWARENESS_SCANNER_DELAY_SECONDS | int 0–600 | 10 (earlier clicks are a mail scanner's) |
/// | hygie.awareness.maxAttempts | HYGIE_AWARENESS_MAX_ATTEMPTS | int 1–20 | 5 (tries before a message is given up) |
/// | hygie.incidents.smtpListen | HYGIE_INCIDENTS_SMTP_LISTEN | host:port of the report receiver (SMTP, behind the mail relay) | none (off) |
/// | hygie.privacy.mllpListen | HYGIE_PRIVACY_MLLP_LISTEN | host:port of the HL7 v2 ADT listener (MLLP) | none (off) |
/// | hygie.privacy.mllpEstablishment | HYGIE_PRIVACY_MLLP_ESTABLISHMENT | establishment (id, FINESS or name) the ADT feed belongs to | required with mllpListen |
/// | hygie.incidents.maxReportBytes | HYGIE_INCIDENTS_MAX_REPORT_BYTES | int bytes 1024–268435456 | 31457280 (largest reported message) |
struct HygieConfiguration: Sendable {
    var host = "127.0.0.1"
    var port = 8080
    var publicURL = ""
    var maxBodyBytes = 1 << 20
    var dataDir = "./hygie-data"
    var databaseURL: String?
    var autoMigrate = false
    var tlsCertificate: String?
    var tlsKey: String?
    var secretKey: String?
    var sessionIdleMinutes = 30
    var sessionAbsoluteHours = 12
    var bcryptCost = 12
    var passwordDenylistFile: String?
    var jobWorkers = 2
    var logLevel = "info"
    var logFormat = "text"
    var ingestEnabled = true
    var spoolDir: String?
    var spoolQuotaMB = 1024
    var fsync = SpoolSyncPolicy.always
    var maxIngestBytes = 32 << 20
    var syslogUDP: String?
    var syslogTCP: String?
    var syslogTLS: String?
    var syslogTLSCertificate: String?
    var syslogTLSKey: String?
    var syslogTLSClientCA: String?
    var detection = DetectionConfiguration()
    var detectionEnabled = true
    var smtp: SMTPSettings?
    var intel = IntelConfiguration()
    var vuln = VulnConfiguration()
    var compliance = ComplianceConfiguration()
    var awareness = AwarenessConfiguration()
    var reportListen: String?
    var mllpListen: String?
    var mllpEstablishment: String?
    var maxReportBytes = 30 << 20

    static let knownKeys: Set<String> = [
        "hygie.http.host", "hygie.http.port", "hygie.http.publicURL", "hygie.http.maxBodyBytes", "hygie.dataDir",
        "hygie.database.url", "hygie.database.autoMigrate", "hygie.tls.certificate", "hygie.tls.key",
        "hygie.security.secretKey", "hygie.security.sessionIdleMinutes", "hygie.security.sessionAbsoluteHours",
        "hygie.security.bcryptCost", "hygie.security.passwordDenylistFile", "hygie.jobs.workers", "hygie.log.level",
        "hygie.log.format", "hygie.secretsDirectory", "hygie.ingest.enabled", "hygie.ingest.spoolDir",
        "hygie.ingest.spoolQuotaMB", "hygie.ingest.fsync", "hygie.ingest.maxBodyBytes", "hygie.syslog.udp",
        "hygie.syslog.tcp", "hygie.syslog.tls", "hygie.syslog.tlsCertificate", "hygie.syslog.tlsKey",
        "hygie.syslog.tlsClientCA", "hygie.detection.dedupWindowSeconds", "hygie.detection.batchSize",
        "hygie.detection.storeEvents", "hygie.detection.enabled", "hygie.smtp.host", "hygie.smtp.port",
        "hygie.smtp.security", "hygie.smtp.username", "hygie.smtp.password", "hygie.smtp.from", "hygie.smtp.trustRoots",
        "hygie.intel.maxContentLength", "hygie.intel.pageLimit", "hygie.vuln.maxUploadBytes", "hygie.vuln.refresh",
        "hygie.vuln.kevURL", "hygie.vuln.epssURL", "hygie.vuln.nvdURL", "hygie.vuln.nvdAPIKey",
        "hygie.compliance.maxUploadBytes", "hygie.compliance.chromium", "hygie.awareness.smtpConnections",
        "hygie.awareness.batchSize", "hygie.awareness.scannerDelaySeconds", "hygie.awareness.maxAttempts",
        "hygie.incidents.smtpListen", "hygie.incidents.maxReportBytes", "hygie.privacy.mllpListen",
        "hygie.privacy.mllpEstablishment",
    ]
    static let secretKeys: Set<String> = [
        "hygie.database.url", "hygie.security.secretKey", "hygie.smtp.password", "hygie.vuln.nvdAPIKey",
    ]

    /// The configuration problems found, all at once.
    struct Invalid: Error, CustomStringConvertible {
        let problems: [String]
        var description: String {
            "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }

    /// Reads every source and validates the result.
    /// - Parameters:
    ///   - overrides: values given on the command line, by key.
    ///   - configFile: the `--config` YAML file, if any.
    ///   - environment: the process environment (tests pass their own).
    static func load(overrides: [String: String], configFile: String?, environment: [String: String]) async throws
        -> HygieConfiguration
    {
        var problems: [String] = []
        var providers: [any ConfigProvider] = []
        providers.append(
            InMemoryProvider(
                name: "command line",
                values: Dictionary(
                    uniqueKeysWithValues: overrides.map {
                        (
                            AbsoluteConfigKey($0.key.split(separator: ".").map(String.init)),
                            ConfigValue(.string($0.value), isSecret: secretKeys.contains($0.key))
                        )
                    })))
        providers.append(
            EnvironmentVariablesProvider(
                environmentVariables: environment.filter { $0.key.hasPrefix("HYGIE_") },
                secretsSpecifier: .specific(Set(secretKeys.map(environmentName)))))
        if let configFile {
            do {
                let text = try String(contentsOfFile: configFile, encoding: .utf8)
                problems += try unknownKeys(inYAML: text)
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: .init(configFile)))
            } catch let error as Invalid {
                throw error
            } catch {
                throw Invalid(problems: ["--config \(configFile): \(error)"])
            }
        }
        var reader = ConfigReader(providers: providers)
        if let secrets = reader.string(forKey: "hygie.secretsDirectory") {
            if FileManager.default.fileExists(atPath: secrets) {
                providers.insert(
                    try await DirectoryFilesProvider(directoryPath: .init(secrets), secretsSpecifier: .all),
                    at: providers.count)
                reader = ConfigReader(providers: providers)
            } else {
                problems.append("hygie.secretsDirectory: \(secrets) does not exist")
            }
        }

        var config = HygieConfiguration()
        func string(_ key: String) -> String? {
            reader.string(
                forKey: ConfigKey(key.split(separator: ".").map(String.init)), isSecret: secretKeys.contains(key))
        }
        func int(_ key: String, _ range: ClosedRange<Int>, into value: inout Int) {
            guard let text = string(key) else { return }
            if let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) {
                value = number
            } else {
                problems.append(
                    "\(key): '\(text)' is not a whole number between \(range.lowerBound) and \(range.upperBound)")
            }
        }
        func bool(_ key: String, into value: inout Bool) {
            guard let text = string(key)?.lowercased() else { return }
            switch text {
            case "true", "yes", "1", "on": value = true
            case "false", "no", "0", "off": value = false
            default: problems.append("\(key): '\(text)' is not true or false")
            }
        }
        config.host = string("hygie.http.host") ?? config.host
        int("hygie.http.port", 0...65535, into: &config.port)
        int("hygie.http.maxBodyBytes", 1024...(256 << 20), into: &config.maxBodyBytes)
        config.dataDir = string("hygie.dataDir") ?? config.dataDir
        if let url = string("hygie.database.url"), !url.isEmpty {
            if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
                config.databaseURL = url
            } else {
                problems.append("hygie.database.url: only postgres:// URLs are supported (leave it empty for SQLite)")
            }
        }
        bool("hygie.database.autoMigrate", into: &config.autoMigrate)
        config.tlsCertificate = string("hygie.tls.certificate")
        config.tlsKey = string("hygie.tls.key")
        if (config.tlsCertificate == nil) != (config.tlsKey == nil) {
            problems.append("hygie.tls.certificate and hygie.tls.key go together")
        }
        for path in [config.tlsCertificate, config.tlsKey].compactMap({ $0 })
        where !FileManager.default.fileExists(atPath: path) {
            problems.append("TLS file \(path) does not exist")
        }
        config.secretKey = string("hygie.security.secretKey")
        if let key = config.secretKey, Data(base64Encoded: key)?.count != 32 {
            problems.append("hygie.security.secretKey: must be base64 of 32 bytes (openssl rand -base64 32)")
        }
        int("hygie.security.sessionIdleMinutes", 1...1440, into: &config.sessionIdleMinutes)
        int("hygie.security.sessionAbsoluteHours", 1...168, into: &config.sessionAbsoluteHours)
        int("hygie.security.bcryptCost", 4...15, into: &config.bcryptCost)
        config.passwordDenylistFile = string("hygie.security.passwordDenylistFile")
        if let file = config.passwordDenylistFile, !FileManager.default.fileExists(atPath: file) {
            problems.append("hygie.security.passwordDenylistFile: \(file) does not exist")
        }
        int("hygie.jobs.workers", 0...32, into: &config.jobWorkers)
        config.logLevel = string("hygie.log.level") ?? config.logLevel
        if !["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(config.logLevel) {
            problems.append(
                "hygie.log.level: '\(config.logLevel)' is not one of trace, debug, info, notice, warning, error, critical"
            )
        }
        bool("hygie.ingest.enabled", into: &config.ingestEnabled)
        config.spoolDir = string("hygie.ingest.spoolDir")
        int("hygie.ingest.spoolQuotaMB", 1...(1 << 20), into: &config.spoolQuotaMB)
        if let text = string("hygie.ingest.fsync") {
            if let policy = SpoolSyncPolicy(text) {
                config.fsync = policy
            } else {
                problems.append("hygie.ingest.fsync: '\(text)' is not always, interval, interval:MS or never")
            }
        }
        int("hygie.ingest.maxBodyBytes", 1024...(1 << 30), into: &config.maxIngestBytes)
        config.syslogUDP = string("hygie.syslog.udp")
        config.syslogTCP = string("hygie.syslog.tcp")
        config.syslogTLS = string("hygie.syslog.tls")
        for (key, value) in [
            ("hygie.syslog.udp", config.syslogUDP), ("hygie.syslog.tcp", config.syslogTCP),
            ("hygie.syslog.tls", config.syslogTLS),
        ] {
            if let value, !value.isEmpty, SyslogSettings.address(value) == nil {
                problems.append("\(key): '\(value)' is not host:port")
            }
        }
        config.syslogTLSCertificate = string("hygie.syslog.tlsCertificate")
        config.syslogTLSKey = string("hygie.syslog.tlsKey")
        config.syslogTLSClientCA = string("hygie.syslog.tlsClientCA")
        if config.syslogTLS != nil, config.syslogTLSCertificate == nil || config.syslogTLSKey == nil {
            problems.append("hygie.syslog.tls needs hygie.syslog.tlsCertificate and hygie.syslog.tlsKey")
        }
        int("hygie.detection.dedupWindowSeconds", 1...86_400, into: &config.detection.dedupWindowSeconds)
        int("hygie.detection.batchSize", 1...50_000, into: &config.detection.batchSize)
        bool("hygie.detection.storeEvents", into: &config.detection.storeEvents)
        bool("hygie.detection.enabled", into: &config.detectionEnabled)
        int("hygie.intel.maxContentLength", 1024...(1 << 30), into: &config.intel.maxContentLength)
        int("hygie.intel.pageLimit", 10...10_000, into: &config.intel.pageLimit)
        int("hygie.vuln.maxUploadBytes", 1024...(1 << 30), into: &config.vuln.maxUploadBytes)
        bool("hygie.vuln.refresh", into: &config.vuln.refresh)
        func feedURL(_ key: String) -> String? {
            guard let url = string(key) else { return nil }
            guard
                url.isEmpty || url.hasPrefix("https://") || url.hasPrefix("http://127.0.0.1")
                    || url.hasPrefix("http://localhost")
            else {
                problems.append("\(key): '\(url)' must be an https URL")
                return nil
            }
            return url
        }
        if let url = feedURL("hygie.vuln.kevURL"), !url.isEmpty { config.vuln.kevURL = url }
        if let url = feedURL("hygie.vuln.epssURL"), !url.isEmpty { config.vuln.epssURL = url }
        if let url = feedURL("hygie.vuln.nvdURL") { config.vuln.nvdURL = url.isEmpty ? nil : url }
        config.vuln.nvdAPIKey = string("hygie.vuln.nvdAPIKey")
        int("hygie.compliance.maxUploadBytes", 1024...(1 << 30), into: &config.compliance.maxUploadBytes)
        if let path = string("hygie.compliance.chromium"), !path.isEmpty { config.compliance.chromium = path }
        int("hygie.awareness.smtpConnections", 1...32, into: &config.awareness.smtpConnections)
        int("hygie.awareness.batchSize", 1...5000, into: &config.awareness.batchSize)
        var scannerDelay = Int(config.awareness.scannerDelaySeconds)
        int("hygie.awareness.scannerDelaySeconds", 0...600, into: &scannerDelay)
        config.awareness.scannerDelaySeconds = Double(scannerDelay)
        int("hygie.awareness.maxAttempts", 1...20, into: &config.awareness.maxAttempts)
        config.reportListen = string("hygie.incidents.smtpListen")
        if let value = config.reportListen, !value.isEmpty, SyslogSettings.address(value) == nil {
            problems.append("hygie.incidents.smtpListen: '\(value)' is not host:port")
        }
        int("hygie.incidents.maxReportBytes", 1024...(256 << 20), into: &config.maxReportBytes)
        config.mllpListen = string("hygie.privacy.mllpListen").flatMap { $0.isEmpty ? nil : $0 }
        config.mllpEstablishment = string("hygie.privacy.mllpEstablishment").flatMap { $0.isEmpty ? nil : $0 }
        if let value = config.mllpListen {
            if SyslogSettings.address(value) == nil {
                problems.append("hygie.privacy.mllpListen: '\(value)' is not host:port")
            }
            if config.mllpEstablishment == nil {
                problems.append("hygie.privacy.mllpListen needs hygie.privacy.mllpEstablishment (id, FINESS or name)")
            }
        }
        if let host = string("hygie.smtp.host"), !host.isEmpty {
            var port = 587
            int("hygie.smtp.port", 1...65535, into: &port)
            let securityText = string("hygie.smtp.security") ?? "starttls"
            let security = SMTPSettings.Security(rawValue: securityText.lowercased()) ?? .startTLS
            if SMTPSettings.Security(rawValue: securityText.lowercased()) == nil {
                problems.append("hygie.smtp.security: '\(securityText)' is not starttls, tls or none")
            }
            let from = string("hygie.smtp.from") ?? "hygie@\(ProcessInfo.processInfo.hostName)"
            if !from.contains("@") { problems.append("hygie.smtp.from: '\(from)' is not an e-mail address") }
            let trust = string("hygie.smtp.trustRoots")
            if let trust, !FileManager.default.fileExists(atPath: trust) {
                problems.append("hygie.smtp.trustRoots: \(trust) does not exist")
            }
            config.smtp = SMTPSettings(
                host: host, port: port, security: security, username: string("hygie.smtp.username"),
                password: string("hygie.smtp.password"), from: from, trustRootsPath: trust)
        }
        config.logFormat = string("hygie.log.format") ?? config.logFormat
        if !["text", "json"].contains(config.logFormat) {
            problems.append("hygie.log.format: '\(config.logFormat)' is not text or json")
        }
        let scheme = config.tlsCertificate == nil ? "http" : "https"
        let shownHost = config.host == "0.0.0.0" || config.host == "::" ? "127.0.0.1" : config.host
        config.publicURL =
            string("hygie.http.publicURL")
            ?? "\(scheme)://\(shownHost.contains(":") ? "[\(shownHost)]" : shownHost):\(config.port)"
        let knownVariables = Set(knownKeys.map(environmentName))
        for key in environment.keys.sorted() where key.hasPrefix("HYGIE_") && !key.hasPrefix("HYGIE_TEST_") {
            if !knownVariables.contains(key) { problems.append("environment \(key): unknown setting") }
        }
        if !problems.isEmpty { throw Invalid(problems: problems) }
        return config
    }

    /// The environment variable of a key, as swift-configuration derives it: `hygie.security.secretKey` →
    /// `HYGIE_SECURITY_SECRET_KEY`.
    static func environmentName(_ key: String) -> String {
        key.split(separator: ".").map { component -> String in
            var result = ""
            var previous: Character?
            for character in component {
                if let previous, previous.isLowercase, character.isUppercase { result.append("_") }
                result.append(character)
                previous = character
            }
            return result.uppercased()
        }.joined(separator: "_")
    }

    /// Keys of a YAML file that Hygie does not know (typos would otherwise be silently ignored).
    static func unknownKeys(inYAML text: String) throws -> [String] {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw Invalid(problems: ["--config: not valid YAML (\(error))"])
        }
        guard let node else { return [] }
        guard case .mapping = node else { throw Invalid(problems: ["--config: the top level must be a mapping"]) }
        var problems: [String] = []
        func walk(_ node: Node, _ path: String) {
            if let mapping = node.mapping {
                for (key, value) in mapping {
                    let name = key.string ?? "?"
                    walk(value, path.isEmpty ? name : "\(path).\(name)")
                }
            } else if !knownKeys.contains(path) {
                problems.append("\(path): unknown key")
            }
        }
        walk(node, "")
        return problems
    }

    var databaseSettings: DatabaseSettings {
        if let databaseURL { return DatabaseSettings(engine: .postgres(url: databaseURL), autoMigrate: autoMigrate) }
        return DatabaseSettings(engine: .sqliteFile(path: (dataDir as NSString).appendingPathComponent("hygie.sqlite")))
    }

    /// A line for the start-up log, secrets redacted.
    var summary: String {
        let database =
            databaseURL.map { url -> String in
                guard var components = URLComponents(string: url) else { return "postgres (url redacted)" }
                if components.password != nil { components.password = "REDACTED" }
                return components.string ?? "postgres"
            } ?? "sqlite \(databaseSettings.engine)"
        return
            "host=\(host) port=\(port) data_dir=\(dataDir) database=\(database) tls=\(tlsCertificate != nil) workers=\(jobWorkers) secret_key=\(secretKey == nil ? "file" : "REDACTED")"
    }
}
