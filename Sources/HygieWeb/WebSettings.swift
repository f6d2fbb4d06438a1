import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// HTTP-layer settings.
///
/// Keys: `hygie.http.publicURL` (string, derived from host and port), `hygie.http.maxBodyBytes` (int, 1048576),
/// `hygie.tls.certificate` / `hygie.tls.key` (paths; TLS on when both are set, and cookies become `Secure`).
public struct WebSettings: Sendable, Hashable {
    /// Base URL printed in links (setup link).
    public var publicURL: String
    public var maxBodyBytes: Int
    public var tlsEnabled: Bool

    public init(publicURL: String, maxBodyBytes: Int = 1 << 20, tlsEnabled: Bool = false) {
        self.publicURL = publicURL
        self.maxBodyBytes = maxBodyBytes
        self.tlsEnabled = tlsEnabled
    }
}
