public import HygieJobs

/// Every minute: analyses the accesses received since the last run.
public struct PrivacyAnalysisJob: JobHandler {
    public static let kind = "privacy.analyze"
    let service: PrivacyService
    public var kind: String { Self.kind }

    public init(service: PrivacyService) { self.service = service }

    public func run(_ job: Job) async throws { try await service.analyzeBacklog() }
}

/// Every night: deletes accesses past each establishment's retention.
public struct PrivacyRetentionJob: JobHandler {
    public static let kind = "privacy.retention"
    let service: PrivacyService
    public var kind: String { Self.kind }

    public init(service: PrivacyService) { self.service = service }

    public func run(_ job: Job) async throws { try await service.purgeExpired() }
}
