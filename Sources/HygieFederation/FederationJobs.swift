public import HygieJobs

/// Every five minutes: queues what is due for the hub (a snapshot a day, changed declarations) and delivers the
/// outbox, resuming after failures.
public struct FederationPushJob: JobHandler {
    public static let kind = "federation.push"
    let service: MemberService
    public var kind: String { Self.kind }

    public init(service: MemberService) { self.service = service }

    public func run(_ job: Job) async throws { _ = try await service.pushAll() }
}
