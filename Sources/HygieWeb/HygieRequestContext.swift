import Foundation
import HTTPTypes
public import Hummingbird
public import HygieCore
import HygieJobs
public import HygieStorage
import Logging
import NIOCore

/// Per-request state: request id, client address, the session or API token behind the request, the parsed
/// form of an unsafe HTML request, and the interface language.
public struct HygieRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String
    public var remoteAddress: String?
    public var session: SessionInfo?
    public var token: TokenIdentity?
    /// Fields of an `application/x-www-form-urlencoded` body, parsed once by ``FormCSRFMiddleware``.
    public var form: [String: String] = [:]
    /// Files of a `multipart/form-data` upload form, by field name.
    public var files: [String: UploadedFile] = [:]
    public var locale: User.Locale = .fr
    public var maxUploadSize: Int = 1 << 20

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        requestID = SecureRandom.token(bytes: 12)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The actor for audit events and services: who, from where, in which request.
    func actor(establishmentID: Establishment.ID? = nil, role: Role = .staff) -> Actor {
        if let session {
            return Actor(
                userID: session.user.id, displayName: session.user.email, establishmentID: establishmentID, role: role,
                isInstanceAdmin: session.user.isInstanceAdmin, channel: "session", requestID: requestID,
                sourceAddress: remoteAddress)
        }
        return Actor(
            userID: nil, displayName: "anonymous", establishmentID: nil, role: .staff, channel: "web",
            requestID: requestID, sourceAddress: remoteAddress)
    }
}
