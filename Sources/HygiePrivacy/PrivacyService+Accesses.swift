import FluentKit
public import Foundation
import HygieCore
public import HygieStorage
public import PrivacyCore
import SQLKit
import STIX

extension PrivacyService {
    public static let maximumBatch = 200_000

    /// Stores accesses (pseudonymised) for analysis; an event id seen before is a duplicate and left alone.
    public func ingest(_ events: [AccessEvent], in scope: TenantScope) async throws -> IngestResult {
        try scope.require(Self.managers.union([.analyst]))
        return try await ingest(events, establishment: scope.establishmentID.uuid)
    }

    /// The same, for a listener bound to an establishment (ATNA syslog, MLLP): no user behind it.
    public func ingest(_ events: [AccessEvent], establishment: UUID) async throws -> IngestResult {
        guard events.count <= Self.maximumBatch else {
            throw PrivacyError.invalid("at most \(Self.maximumBatch) accesses per request")
        }
        let pseudonym = try await pseudonymizer(establishment)
        let now = clock.now().milliseconds
        var accepted = 0
        let values: [[any SQLExpression]] = events.map { event in
            [
                SQLBind(establishment), SQLBind(String(event.id.prefix(200))), SQLBind(event.time.seconds * 1000),
                SQLBind(Int64(event.time.offset)), SQLBind(Int64(event.time.localDay)),
                SQLBind(String(event.user.prefix(100))), SQLBind(pseudonym(event.patient)),
                SQLBind(String(event.action.prefix(1))), SQLBind(event.emergency),
                SQLBind(String(event.justification.prefix(1000))), SQLBind(String(event.source.prefix(200))),
                SQLBind("pending"), SQLBind(""), SQLBind(now),
            ]
        }
        accepted = try await database.transaction { db in
            let sql = db as! any SQLDatabase  // both drivers are SQL databases
            var inserted = 0
            for chunk in values.chunked(500) {
                inserted += try await sql.insert(into: "priv_accesses")
                    .columns(
                        "establishment_id", "event_id", "at", "utc_offset", "local_day", "user_id", "patient_key",
                        "action", "emergency", "justification", "source", "status", "explanation", "received_at"
                    )
                    .rows(chunk)
                    .ignoringConflicts(with: ["establishment_id", "event_id"])
                    .returning("id")
                    .all().count
            }
            return inserted
        }
        return IngestResult(accepted: accepted, duplicates: events.count - accepted, ignored: 0)
    }

    /// FHIR AuditEvents: one resource (`application/fhir+json`), a Bundle (transaction: all or nothing; batch:
    /// each entry on its own), or NDJSON (`application/fhir+ndjson`: all or nothing). Returns the stored events'
    /// ids and the issues of refused entries.
    public func ingestFHIR(_ body: [UInt8], ndjson: Bool, in scope: TenantScope) async throws -> FHIRIngestOutcome {
        try scope.require(Self.managers.union([.analyst]))
        let offset = try await settings(scope.establishmentID.uuid).analysis.defaultOffset
        var outcome = FHIRIngestOutcome()
        var events: [AccessEvent] = []
        if ndjson {
            var line = 0
            for slice in body.split(separator: 0x0A, omittingEmptySubsequences: false) {
                line += 1
                let trimmed = slice.filter { $0 != 0x0D }
                if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                do {
                    let value = try parse(Array(trimmed), at: "line \(line)")
                    if let event = try FHIRAuditEvent.access(
                        value, defaultOffset: offset, fallbackID: AccessInput.fallbackID(trimmed))
                    {
                        events.append(event)
                    } else {
                        outcome.result.ignored += 1
                    }
                } catch {
                    throw FHIRError(
                        error.issues.map { issue in
                            var issue = issue
                            issue.diagnostics = "line \(line): \(issue.diagnostics)"
                            return issue
                        })
                }
            }
            outcome.kind = .bulk
        } else {
            let value = try parse(body, at: "body")
            if value["resourceType"]?.stringValue == "Bundle" {
                let (type, resources) = try FHIRAuditEvent.bundleEntries(value)
                outcome.kind = type == "batch" ? .batch : .transaction
                for (index, resource) in resources.enumerated() {
                    do {
                        if let event = try FHIRAuditEvent.access(
                            resource, defaultOffset: offset,
                            fallbackID: AccessInput.fallbackID(body + Array("#\(index)".utf8)))
                        {
                            events.append(event)
                            outcome.entries.append(.init(eventID: event.id, issues: []))
                        } else {
                            outcome.result.ignored += 1
                            outcome.entries.append(.init(eventID: nil, issues: []))
                        }
                    } catch {
                        guard type == "batch" else {
                            throw FHIRError(
                                error.issues.map { issue in
                                    var issue = issue
                                    issue.expression = "Bundle.entry[\(index)].resource." + issue.expression
                                    return issue
                                })
                        }
                        outcome.entries.append(.init(eventID: nil, issues: error.issues))
                    }
                }
            } else {
                outcome.kind = .resource
                if let event = try FHIRAuditEvent.access(
                    value, defaultOffset: offset, fallbackID: AccessInput.fallbackID(body))
                {
                    events.append(event)
                    outcome.entries.append(.init(eventID: event.id, issues: []))
                } else {
                    outcome.result.ignored += 1
                }
            }
        }
        let stored = try await ingest(events, in: scope)
        outcome.result.accepted = stored.accepted
        outcome.result.duplicates = stored.duplicates
        return outcome
    }

    func parse(_ bytes: [UInt8], at place: String) throws(FHIRError) -> JSONValue {
        do { return try JSONParser.parse(bytes, maximumDepth: 32) } catch {
            throw FHIRError("structure", "\(place) is not valid JSON: \(error)", at: "AuditEvent")
        }
    }

    /// An EHR CSV export, mapped column by column.
    public func ingestCSV(_ bytes: [UInt8], mapping: String?, in scope: TenantScope) async throws -> IngestResult {
        try scope.require(Self.managers.union([.analyst]))
        let offset = try await settings(scope.establishmentID.uuid).analysis.defaultOffset
        let events: [AccessEvent]
        do { events = try AccessInput.csv(bytes, mapping: mapping, defaultOffset: offset) } catch {
            throw PrivacyError.invalid(error.problems.prefix(20).joined(separator: "\n"))
        }
        return try await ingest(events, in: scope)
    }

    /// IHE ATNA audit messages received by the syslog listener of an establishment. Invalid messages are
    /// counted and skipped (a syslog sender cannot be answered).
    public func ingestATNA(_ messages: [[UInt8]], establishment: UUID) async throws -> (IngestResult, invalid: Int) {
        let offset = try await settings(establishment).analysis.defaultOffset
        var events: [AccessEvent] = []
        var invalid = 0
        var ignored = 0
        for message in messages {
            let xml = ATNAMessage.payload(ofSyslog: message) ?? message
            do {
                if let event = try ATNAMessage.access(xml, defaultOffset: offset) {
                    events.append(event)
                } else {
                    ignored += 1
                }
            } catch { invalid += 1 }
        }
        var result = try await ingest(events, establishment: establishment)
        result.ignored = ignored
        return (result, invalid)
    }
}

/// What a FHIR submission did, for the response Bundle or OperationOutcome.
public struct FHIRIngestOutcome: Sendable {
    public enum Kind: Sendable { case resource, transaction, batch, bulk }
    public struct Entry: Sendable {
        public var eventID: String?
        public var issues: [FHIRIssue]
    }

    public var kind: Kind = .resource
    public var entries: [Entry] = []
    public var result = IngestResult(accepted: 0, duplicates: 0, ignored: 0)
}
