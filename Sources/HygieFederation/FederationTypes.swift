public import FederationCore
public import Foundation
public import HygieCore
import HygieStorage

/// A member establishment as its coordinating hub sees it: the latest snapshot's headline figures.
public struct FederationMember: Sendable, Hashable, Codable {
    public var id: UUID
    public var name: String
    public var finess: String?
    public var kind: String
    public var label: String
    public var status: String
    public var enrolledAt: Date
    public var lastSeenAt: Date?
    public var lastSnapshotAt: Date?
    /// The latest snapshot's figures: module indicators by key, `compliance:<framework urn>` scores,
    /// `theme:<framework urn>#<theme ref>` scores and `compliance.average`.
    public var values: [String: Double]
}

/// A declaration copy in the hub's inbox.
public struct InboxDeclaration: Sendable, Hashable, Codable {
    public var memberID: UUID
    public var member: String
    public var copy: DeclarationCopy
    public var receivedAt: Date
    public var updatedAt: Date
}

/// An enrolment token, shown once.
public struct NewEnrolment: Sendable, Hashable, Codable {
    public var id: UUID
    public var token: String
    public var label: String
    public var expiresAt: Date
}

/// An establishment's link to its hub.
public struct FederationLink: Sendable, Hashable, Codable {
    public var hubURL: String
    public var memberID: UUID
    public var status: String
    public var joinedAt: Date
    public var lastPushAt: Date?
    public var lastSnapshotAt: Date?
    public var lastError: String
    /// Pushes waiting for the hub (network down, hub unavailable).
    public var pending: Int
}

/// What one push round did.
public struct PushReport: Sendable, Hashable, Codable {
    public var delivered: Int
    public var pending: Int
    public var error: String?
}

/// A federation answer: an HTTP status and a JSON body.
public struct FederationResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    static func json(_ status: Int, _ object: [String: String]) -> FederationResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return FederationResponse(status: status, body: Array(data))
    }
}

/// How an establishment's instance reaches its hub (HTTP in production, the hub's dispatcher in tests).
public protocol FederationTransport: Sendable {
    func post(_ url: String, path: String, headers: [String: String], body: [UInt8]) async throws -> FederationResponse
}

/// The instance key that seals the signing secrets, or an error saying what needs it.
func requireKey(_ secrets: SecretBox?, _ purpose: String) throws -> SecretBox {
    guard let secrets else {
        throw FederationServiceError.invalid(
            "\(purpose) needs the instance key (hygie.secretKey or the data directory)")
    }
    return secrets
}

/// Errors of the federation module.
public enum FederationServiceError: ClassifiedError, Sendable, Equatable {
    case invalid(String)
    case notFound(String)

    public var kind: ErrorKind {
        switch self {
        case .invalid: .validation
        case .notFound: .notFound
        }
    }

    public var publicMessage: String {
        switch self {
        case .invalid(let message): message
        case .notFound(let what): "\(what) not found"
        }
    }
}
