public import Foundation

/// Session, throttling and password settings.
///
/// Keys: `hygie.security.sessionIdleMinutes` (int, 30), `hygie.security.sessionAbsoluteHours` (int, 12),
/// `hygie.security.loginMaxFailuresPerAccount` (int, 5), `hygie.security.loginMaxFailuresPerAddress` (int, 20),
/// `hygie.security.loginWindowMinutes` (int, 15).
public struct IdentitySettings: Sendable, Hashable {
    public var sessionIdleTimeout: TimeInterval
    public var sessionAbsoluteTimeout: TimeInterval
    public var maxFailuresPerAccount: Int
    public var maxFailuresPerAddress: Int
    public var throttleWindow: TimeInterval
    /// Issuer shown in authenticator apps.
    public var totpIssuer: String

    public init(
        sessionIdleTimeout: TimeInterval = 30 * 60, sessionAbsoluteTimeout: TimeInterval = 12 * 3600,
        maxFailuresPerAccount: Int = 5, maxFailuresPerAddress: Int = 20, throttleWindow: TimeInterval = 15 * 60,
        totpIssuer: String = "Hygie"
    ) {
        self.sessionIdleTimeout = sessionIdleTimeout
        self.sessionAbsoluteTimeout = sessionAbsoluteTimeout
        self.maxFailuresPerAccount = maxFailuresPerAccount
        self.maxFailuresPerAddress = maxFailuresPerAddress
        self.throttleWindow = throttleWindow
        self.totpIssuer = totpIssuer
    }
}
