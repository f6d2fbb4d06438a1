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
/// `hygie.ingest.maxBodyBytes` (int, 33554432: largest `POST /api/v1/ingest` body, before gzip expansion),
/// `hygie.tls.certificate` / `hygie.tls.key` (paths; TLS on when both are set, and cookies become `Secure`).
public struct WebSettings: Sendable, Hashable {
    /// Base URL printed in links (setup link).
    public var publicURL: String
    public var maxBodyBytes: Int
    public var tlsEnabled: Bool
    public var maxIngestBytes: Int

    public init(
        publicURL: String, maxBodyBytes: Int = 1 << 20, tlsEnabled: Bool = false, maxIngestBytes: Int = 32 << 20
    ) {
        self.publicURL = publicURL
        self.maxBodyBytes = maxBodyBytes
        self.maxIngestBytes = maxIngestBytes
        self.tlsEnabled = tlsEnabled
    }
}
