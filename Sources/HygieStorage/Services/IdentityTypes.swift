public import Foundation
public import HygieCore

/// A live browser session.
public struct SessionInfo: Sendable, Hashable {
    public let id: UUID
    public let user: User
    public let establishmentID: Establishment.ID?
    public let csrfToken: String
    public let mfaVerified: Bool
    public let expiresAt: Date

    /// The user still has to pass (or set up) the second factor before reaching any page.
    public var needsSecondFactor: Bool { !mfaVerified }
}

/// A session just created: the cookie value is only ever in this value and the browser.
public struct NewSession: Sendable {
    public let cookieValue: String
    public let info: SessionInfo
}

/// An API token's public description.
public struct APITokenInfo: Sendable, Hashable, Codable {
    public let id: UUID
    public let establishmentID: Establishment.ID
    public let userID: User.ID
    public let name: String
    public let role: Role
    public let prefix: String
    public let createdAt: Date
    public let lastUsedAt: Date?
    public let expiresAt: Date?
    public let revokedAt: Date?
}

/// A token just created; `secret` is shown once and never stored.
public struct NewAPIToken: Sendable {
    public let secret: String
    public let info: APITokenInfo
}

/// An identity proven by a bearer token.
public struct TokenIdentity: Sendable {
    public let user: User
    public let token: APITokenInfo
}

/// A user with their role in one establishment.
public struct Member: Sendable, Hashable {
    public let user: User
    public let role: Role
    public let departmentID: Department.ID?
}

/// TOTP enrolment in progress.
public struct TOTPEnrolment: Sendable {
    /// Base32 secret, for people who type it in.
    public let secret: String
    /// The `otpauth://` URI drawn as a QR code.
    public let uri: String
}

/// Input for a new user.
public struct NewUser: Sendable {
    public var email: String
    public var displayName: String
    public var password: String
    public var role: String
    public var locale: String
    public var departmentID: String?

    public init(
        email: String, displayName: String, password: String, role: String, locale: String = "fr",
        departmentID: String? = nil
    ) {
        self.email = email
        self.displayName = displayName
        self.password = password
        self.role = role
        self.locale = locale
        self.departmentID = departmentID
    }
}
