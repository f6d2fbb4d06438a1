public import Foundation
public import HygieCore

/// A unit of background work as seen by handlers and the admin page.
public struct Job: Sendable, Hashable, Identifiable {
    public let id: UUID
    public let establishmentID: Establishment.ID?
    public let kind: String
    /// JSON text given at enqueue time.
    public let payload: String
    public let status: Status
    public let attempts: Int
    public let maxAttempts: Int
    public let runAt: Date
    public let lockedBy: String?
    public let lastError: String?
    public let createdAt: Date
    public let finishedAt: Date?

    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// Waiting for `runAt`.
        case queued
        /// Claimed by a worker.
        case running
        case succeeded
        /// Failed `maxAttempts` times; kept for the admin page.
        case dead
    }
}

/// What a module does for one kind of job. Handlers must be idempotent: a job may run again after a node dies
/// mid-way (at-least-once delivery).
public protocol JobHandler: Sendable {
    /// The job kind, such as `core.session-cleanup`.
    var kind: String { get }
    func run(_ job: Job) async throws
}

/// Errors of the job system.
public enum HygieJobsError: ClassifiedError {
    case unknownKind(String)

    public var kind: ErrorKind { .validation }
    public var publicMessage: String {
        switch self {
        case .unknownKind(let kind): "no handler for job kind \(kind)"
        }
    }
}
