import Foundation
import HTTPTypes
import Hummingbird
public import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// Errors of the HTTP layer.
public enum HygieWebError: ClassifiedError {
    case missingResource(String)
    case badRequest(String)
    case payloadTooLarge(limit: Int)
    case csrfRejected
    case notSignedIn
    /// Something this instance cannot do as set up (PDF without Chromium).
    case unavailable(String)

    public var kind: ErrorKind {
        switch self {
        case .missingResource: .internalFailure
        case .badRequest: .badRequest
        case .payloadTooLarge: .payloadTooLarge
        case .csrfRejected: .forbidden
        case .notSignedIn: .unauthorized
        case .unavailable: .conflict
        }
    }

    public var publicMessage: String {
        switch self {
        case .missingResource(let name): "missing resource \(name)"
        case .badRequest(let message): message
        case .payloadTooLarge(let limit): "request body larger than \(limit) bytes"
        case .csrfRejected: "the form has expired or did not come from Hygie; reload the page and try again"
        case .notSignedIn: "sign in first"
        case .unavailable(let message): message
        }
    }
}
