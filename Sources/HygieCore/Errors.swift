/// How the HTTP layer and the CLI should present an error. Every module's error type maps onto one.
public enum ErrorKind: String, Sendable {
    case notFound
    /// Input that cannot even be read (not UTF-8, not JSON, wrong content type).
    case badRequest
    case validation
    case conflict
    case forbidden
    case unauthorized
    case tooManyRequests
    case payloadTooLarge
    case internalFailure
}

/// An error that knows its kind and a message safe to show to the user.
public protocol ClassifiedError: Error, CustomStringConvertible {
    var kind: ErrorKind { get }
    /// A message that can be shown to a client: never SQL, paths or secrets.
    var publicMessage: String { get }
}

extension ClassifiedError {
    public var description: String { publicMessage }
}

/// Bad input in one field.
public struct ValidationError: ClassifiedError, Equatable {
    public let field: String
    /// English text, for the API and logs.
    public let message: String
    /// Stable name of the rule broken; the web interface shows the translation `validation.<key>`.
    public let key: String
    /// Values the translated text refers to as `{name}`, such as `max`.
    public let values: [String: String]

    public init(field: String, message: String, key: String = "invalid", values: [String: String] = [:]) {
        self.field = field
        self.message = message
        self.key = key
        self.values = values
    }

    public var kind: ErrorKind { .validation }
    public var publicMessage: String { "\(field): \(message)" }
}

/// The errors of HygieCore and the shared services built on it.
public enum HygieCoreError: ClassifiedError, Equatable {
    case notFound(String)
    case conflict(String)
    case forbidden(String)
    case unauthorized(String)
    case tooManyRequests(retryAfterSeconds: Int)

    public var kind: ErrorKind {
        switch self {
        case .notFound: .notFound
        case .conflict: .conflict
        case .forbidden: .forbidden
        case .unauthorized: .unauthorized
        case .tooManyRequests: .tooManyRequests
        }
    }

    public var publicMessage: String {
        switch self {
        case .notFound(let what): "\(what) not found"
        case .conflict(let message), .forbidden(let message), .unauthorized(let message): message
        case .tooManyRequests(let seconds): "too many attempts; try again in \(seconds) s"
        }
    }
}
