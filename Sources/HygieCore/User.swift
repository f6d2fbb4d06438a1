public import Foundation

/// A person (or service account) who can sign in to Hygie.
public struct User: Sendable, Hashable, Codable, Identifiable {
    public typealias ID = Identifier<User>

    public let id: ID
    public var email: String
    public var displayName: String
    /// `fr` or `en`.
    public var locale: Locale
    public var isInstanceAdmin: Bool
    public var mfaEnabled: Bool
    public var disabled: Bool
    public var createdAt: Date

    public init(
        id: ID, email: String, displayName: String, locale: Locale, isInstanceAdmin: Bool, mfaEnabled: Bool,
        disabled: Bool, createdAt: Date
    ) {
        self.id = id
        self.email = email
        self.displayName = displayName
        self.locale = locale
        self.isInstanceAdmin = isInstanceAdmin
        self.mfaEnabled = mfaEnabled
        self.disabled = disabled
        self.createdAt = createdAt
    }

    /// The languages of the interface.
    public enum Locale: String, Sendable, Hashable, Codable, CaseIterable {
        case fr
        case en
    }
}

/// A user's role in one establishment.
public struct Membership: Sendable, Hashable, Codable {
    public let userID: User.ID
    public let establishmentID: Establishment.ID
    public var role: Role
    public var departmentID: Department.ID?

    public init(userID: User.ID, establishmentID: Establishment.ID, role: Role, departmentID: Department.ID?) {
        self.userID = userID
        self.establishmentID = establishmentID
        self.role = role
        self.departmentID = departmentID
    }
}

/// Who is acting, where, with which role: built only from a verified session or API token, and handed to
/// every service that reads or writes tenant data.
public struct Actor: Sendable, Hashable {
    public let userID: User.ID?
    public let displayName: String
    /// The establishment the actor is working in; `nil` for instance-level work (admin without a current
    /// establishment, CLI).
    public let establishmentID: Establishment.ID?
    public let role: Role
    /// The instance administrator: manages establishments, regions and groups.
    public let isInstanceAdmin: Bool
    /// How the actor authenticated: `session`, `token`, `cli`, `system`.
    public let channel: String
    public let requestID: String?
    public let sourceAddress: String?

    public init(
        userID: User.ID?, displayName: String, establishmentID: Establishment.ID?, role: Role,
        isInstanceAdmin: Bool = false,
        channel: String, requestID: String?, sourceAddress: String?
    ) {
        self.isInstanceAdmin = isInstanceAdmin
        self.userID = userID
        self.displayName = displayName
        self.establishmentID = establishmentID
        self.role = role
        self.channel = channel
        self.requestID = requestID
        self.sourceAddress = sourceAddress
    }

    /// The actor used by CLI commands and background jobs.
    public static func system(_ name: String, channel: String = "system") -> Actor {
        Actor(
            userID: nil, displayName: name, establishmentID: nil, role: .admin, isInstanceAdmin: true, channel: channel,
            requestID: nil,
            sourceAddress: nil)
    }
}
