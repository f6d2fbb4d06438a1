import Foundation
public import HygieCore
public import HygieIntel
public import HygieStorage
public import Logging
import SQLKit
import STIX
public import ServiceLifecycle
import Sigma

/// The detection worker of one node: reads its spool from the committed position, evaluates each event against
/// the rules of its establishment, and commits events, alerts and the new position in one transaction. After a
/// crash it starts again from the last committed position: every acknowledged event is evaluated once.
public final class DetectionPipeline: Service, @unchecked Sendable {
    let spool: Spool
    let writer: BatchWriter
    let catalog: RuleCatalog
    let engine: DetectionEngine
    let clock: any HygieClock
    let logger: Logger
    let metrics: DetectionMetrics
    let configuration: DetectionConfiguration
    /// Shared indicators to look for in every event (nil: no IOC matching on this node).
    let indicators: IndicatorFeed?
    /// Establishment → profile, rebuilt when the rule revision changes (or every minute, for expiring exceptions).
    private var profiles: [UUID: DetectionProfile] = [:]
    private var signatures: [UUID: String] = [:]
    private var revision: Int64 = -1
    private var refreshedAt = Date.distantPast
    private var checkedAt = Date.distantPast

    public init(
        spool: Spool, database: DatabaseService, configuration: DetectionConfiguration, clock: any HygieClock,
        metrics: DetectionMetrics, logger: Logger, indicators: IndicatorFeed? = nil
    ) throws {
        self.indicators = indicators
        self.spool = spool
        self.writer = BatchWriter(database: database, configuration: configuration)
        self.catalog = RuleCatalog(database: database, clock: clock)
        self.engine = DetectionEngine(mapping: try LogsourceMapping.builtIn())
        self.clock = clock
        self.metrics = metrics
        self.configuration = configuration
        self.logger = logger
    }

    /// An evaluated batch waiting for its transaction.
    struct Pending: Sendable {
        var result: BatchResult
        var next: SpoolPosition
        var records: Int
        var corrupt: Int
    }

    public func run() async throws {
        // Events waiting in the spool are matched against the shared indicators too: wait (up to a minute) for the
        // feed's first snapshot. The feed service builds it; building it here as well would double the work.
        if let indicators {
            let deadline = Date().addingTimeInterval(60)
            while indicators.current.revision < 0, Date() < deadline, !Task.isShuttingDownGracefully {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        var committed = try await writer.checkpoint(nodeID: spool.nodeID) ?? spool.startPosition
        var readPosition = committed
        var pending: Pending?
        logger.info(
            "detection worker started",
            metadata: ["node_id": "\(spool.nodeID)", "position": "\(committed)", "recovered": "\(spool.recovered)"])
        while !Task.isShuttingDownGracefully {
            do {
                let read = try spool.read(from: readPosition, maxRecords: configuration.batchSize)
                if read.records.isEmpty, read.next == readPosition {
                    if let batch = pending {
                        committed = try await finish(batch)
                        pending = nil
                        continue
                    }
                    spool.flush()
                    try await refreshIfDue()
                    try await Task.sleep(for: .milliseconds(20))
                    continue
                }
                try await refreshIfDue()
                // The previous batch's transaction runs while this one is evaluated (database and CPU overlap).
                let previous = pending
                async let done = commit(previous)
                let result = read.records.isEmpty ? BatchResult() : try await evaluate(read.records)
                if let position = try await done, let previous {
                    committed = position
                    try await after(previous)
                }
                pending = Pending(result: result, next: read.next, records: read.records.count, corrupt: read.corrupt)
                readPosition = read.next
            } catch is CancellationError {
                break
            } catch {
                // Start again from what is committed: evaluation is derived from the spool alone.
                logger.error("detection batch failed; retrying", metadata: ["error": "\(error)"])
                pending = nil
                readPosition = committed
                try? await Task.sleep(for: .seconds(1))
            }
        }
        if let batch = pending { _ = try? await finish(batch) }
        spool.flush()
    }

    /// Commits a batch with the position after it; returns that position.
    func commit(_ batch: Pending?) async throws -> SpoolPosition? {
        guard let batch else { return nil }
        let now = clock.milliseconds
        let alerts = try await writer.commit(batch.result, nodeID: spool.nodeID, position: batch.next, now: now)
        spool.release(before: batch.next)
        metrics.batch(
            processed: batch.records, parseErrors: batch.result.parseErrors, corrupt: batch.corrupt, alerts: alerts,
            latencies: batch.result.matches.map { Double(now - $0.receivedAt) / 1000 })
        return batch.next
    }

    /// Work that needs the batch committed first: correlations read their inputs back from the database.
    func after(_ batch: Pending) async throws {
        if !batch.result.correlationInputs.isEmpty {
            try await correlate(batch.result.correlationInputs, now: clock.milliseconds)
        }
    }

    func finish(_ batch: Pending) async throws -> SpoolPosition {
        let position = try await commit(batch) ?? batch.next
        try await after(batch)
        return position
    }

    // MARK: Profiles

    func refreshIfDue() async throws {
        let now = clock.now()
        guard now.timeIntervalSince(checkedAt) >= 2 else { return }
        checkedAt = now
        let current = try await catalog.revision()
        guard current != revision || now.timeIntervalSince(refreshedAt) >= 60 else { return }
        revision = current
        refreshedAt = now
        // Profiles whose rules did not change are found again by signature; others are compiled anew.
        engine.retain(Set(signatures.values))
        profiles = [:]
        signatures = [:]
    }

    func profile(_ establishment: UUID) async throws -> DetectionProfile {
        if let profile = profiles[establishment] { return profile }
        let sources = try await catalog.sources(for: establishment, now: clock.milliseconds)
        let (profile, signature, compiled) = engine.profile(for: sources)
        profiles[establishment] = profile
        signatures[establishment] = signature
        if compiled, !profile.ruleSet.diagnostics.isEmpty {
            logger.warning(
                "some enabled rules were refused",
                metadata: [
                    "count": "\(profile.ruleSet.diagnostics.count)",
                    "first": "\(profile.ruleSet.diagnostics.first.map { "\($0.location.file): \($0.message)" } ?? "")",
                ])
        }
        return profile
    }

    // MARK: Evaluation

    func evaluate(_ records: [SpoolRecord]) async throws -> BatchResult {
        var result = BatchResult()
        result.events.reserveCapacity(records.count)
        let year = DateParts.fromEpoch(clock.now().timeIntervalSince1970).year
        let snapshot = indicators?.current
        let now = clock.milliseconds
        for record in records {
            let profile = try await profile(record.establishmentID)
            let ruleSet = profile.ruleSet
            let event = profile.event
            event.recordsFields = record.format == .syslog
            var parsed = true
            do {
                try record.data.withUnsafeBufferPointer { bytes throws(EventParseError) in
                    switch record.format {
                    case .json: try JSONEventParser.parse(bytes, into: event)
                    case .syslog: try SyslogParser.parse(bytes, into: event, year: year)
                    }
                }
            } catch {
                parsed = false
                result.parseErrors += 1
            }
            let eventID = UUID().uuidString.lowercased()
            var row = BatchResult.EventRow(
                id: eventID, establishmentID: record.establishmentID, sourceID: record.sourceID,
                receivedAt: record.receivedAt, format: parsed ? record.format.name : "unparsed",
                raw: String(decoding: record.data, as: UTF8.self))
            var stats = result.sources[record.sourceID] ?? (0, 0)
            stats.count += 1
            stats.last = max(stats.last, record.receivedAt)
            result.sources[record.sourceID] = stats
            guard parsed else {
                result.events.append(row)
                continue
            }
            let time = ruleSet.time(of: event).map { Int64($0 * 1000) }
            row.eventTime = time
            row.host = ruleSet.host(of: event) ?? (record.sender.isEmpty ? nil : record.sender)
            row.user = profile.firstValue(profile.userFields)
            row.address = profile.firstValue(profile.addressFields)
            if record.format == .syslog { row.fields = JSONWriter.object(event.recordedFields) }
            result.events.append(row)
            if let snapshot, !snapshot.isEmpty {
                matchIndicators(
                    snapshot, profile: profile, record: record, row: row, eventID: eventID, time: time, now: now,
                    into: &result)
            }
            profile.matcher.forEachMatch(event) { index in
                let rule = ruleSet.rules[index]
                let metadata = rule.metadata
                if rule.reported {
                    let matched = rule.fields.compactMap { field in
                        event.string(field).map { (ruleSet.registry.names[Int(field)], $0) }
                    }
                    result.matches.append(
                        .init(
                            establishmentID: record.establishmentID, rule: AlertRule(metadata), host: row.host,
                            user: row.user, address: row.address, sourceID: record.sourceID,
                            eventID: eventID, time: time ?? record.receivedAt, receivedAt: record.receivedAt,
                            matched: JSONWriter.object(matched)))
                }
                if !rule.correlations.isEmpty, let time {
                    let fields = rule.correlationFields.compactMap { name, id in event.string(id).map { (name, $0) } }
                    result.correlationInputs.append(
                        .init(
                            establishmentID: record.establishmentID, ruleID: metadata.displayID, time: time,
                            fields: JSONWriter.object(fields)))
                }
            }
        }
        return result
    }

    /// Looks up the event's addresses, domains, URLs, hashes and e-mail addresses among the indicators its
    /// establishment may see; each indicator hit is an alert (kind `ioc`) and a sighting.
    func matchIndicators(
        _ snapshot: IndicatorSnapshot, profile: DetectionProfile, record: SpoolRecord, row: BatchResult.EventRow,
        eventID: String, time: Int64?, now: Int64, into result: inout BatchResult
    ) {
        let event = profile.event
        var hits: [(entry: IndicatorEntry, field: String, value: String)] = []
        func look(_ kind: IOCFieldKind, _ value: String, _ field: String) {
            for entry in snapshot.match(kind, value, establishment: record.establishmentID, now: now)
            where !hits.contains(where: {
                $0.entry.stixID == entry.stixID && $0.entry.collectionID == entry.collectionID
            }) {
                hits.append((entry, field, value))
            }
        }
        for (id, name, kind) in profile.iocFields {
            guard let value = event.string(id), !value.isEmpty else { continue }
            switch kind {
            case .hash where value.contains("="):
                // Sysmon: `SHA1=…,MD5=…,SHA256=…,IMPHASH=…`
                for part in value.split(separator: ",") {
                    if let equals = part.firstIndex(of: "=") {
                        look(.hash, String(part[part.index(after: equals)...]), name)
                    }
                }
            case .url:
                look(.url, value, name)
                if let host = URLComponents(string: value)?.host { look(.domain, host, name) }
            default:
                look(kind, value, name)
            }
        }
        for (entry, field, value) in hits {
            let severity: Severity = (entry.confidence ?? 100) < 50 ? .medium : .high
            result.matches.append(
                .init(
                    kind: "ioc", establishmentID: record.establishmentID,
                    rule: AlertRule(
                        id: "ioc:\(entry.stixID)", title: "IOC: \(entry.name)", author: entry.tlp.label,
                        severity: severity),
                    host: row.host, user: row.user, address: row.address, sourceID: record.sourceID, eventID: eventID,
                    time: time ?? record.receivedAt, receivedAt: record.receivedAt,
                    matched: JSONWriter.object([
                        (field, value), ("indicator", entry.stixID), ("ioc", entry.ioc), ("tlp", entry.tlp.label),
                    ])))
            result.sightings.append(
                SightingHit(
                    establishmentID: record.establishmentID, collectionID: entry.collectionID,
                    indicatorID: entry.stixID,
                    time: time ?? record.receivedAt))
        }
    }

    // MARK: Correlations

    /// Re-evaluates the correlations of the establishments that received inputs, over their stored inputs of the
    /// longest timespan before the newest one. Windows therefore survive restarts and span nodes.
    func correlate(_ inputs: [BatchResult.CorrelationRow], now: Int64) async throws {
        var latest: [UUID: Int64] = [:]
        for input in inputs { latest[input.establishmentID] = max(latest[input.establishmentID] ?? 0, input.time) }
        for (establishment, newest) in latest {
            let profile = try await profile(establishment)
            guard profile.correlationSpan > 0 else { continue }
            let ruleSet = profile.ruleSet
            var indexByID: [String: Int] = [:]
            for rule in ruleSet.rules { indexByID[rule.metadata.displayID] = rule.index }
            let stored = try await catalog.correlationInputs(
                establishment: establishment, from: newest - Int64(profile.correlationSpan * 1000) * 2, to: newest)
            var correlation = CorrelationEngine(ruleSet: ruleSet)
            for input in stored {
                guard let index = indexByID[input.ruleID] else { continue }
                correlation.add(
                    CorrelationInput(time: Double(input.time) / 1000, source: .rule(index), fields: input.fields))
            }
            var alerts: [CorrelationAlertRow] = []
            for hit in correlation.run() {
                let compiled = ruleSet.correlations[hit.correlation]
                guard compiled.reported else { continue }
                let group = hit.group.sorted(by: { $0.key < $1.key })
                let user = DetectionProfile.userNames.lazy.compactMap { hit.group[$0] }.first
                let host = ["Computer", "Hostname", "host", "ComputerName"].lazy.compactMap { hit.group[$0] }.first
                alerts.append(
                    CorrelationAlertRow(
                        establishmentID: establishment, rule: AlertRule(compiled.metadata), host: host, user: user,
                        group: JSONWriter.object(group.map { ($0.key, $0.value) }),
                        first: Int64(hit.first * 1000), last: Int64(hit.last * 1000), events: Int64(hit.events)))
            }
            try await writer.upsertCorrelationAlerts(alerts, now: now)
        }
    }
}

extension Severity {
    init(_ level: SigmaLevel?) {
        switch level {
        case .informational: self = .informational
        case .low: self = .low
        case .high: self = .high
        case .critical: self = .critical
        case .medium, .none: self = .medium
        }
    }
}

/// Writes flat JSON objects of strings without Foundation's encoder (hot path): bytes in, bytes out.
enum JSONWriter {
    static func object(_ pairs: [(String, String)]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(pairs.reduce(2) { $0 + $1.0.utf8.count + $1.1.utf8.count + 6 })
        out.append(UInt8(ascii: "{"))
        for (index, (key, value)) in pairs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(key, to: &out)
            out.append(UInt8(ascii: ":"))
            if key == "message", isObject(value) {
                // JSON carried in a syslog message stays JSON, so its fields can be searched by path.
                out.append(contentsOf: value.utf8)
            } else {
                append(value, to: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    static func isObject(_ text: String) -> Bool {
        let bytes = text.utf8
        return bytes.first == UInt8(ascii: "{") && bytes.last == UInt8(ascii: "}")
    }

    /// A JSON string literal (the STIX library's escaping: the same rules everywhere Hygie writes JSON).
    static func append(_ text: String, to out: inout [UInt8]) {
        STIX.JSONWriter.writeString(text, to: &out)
    }
}
