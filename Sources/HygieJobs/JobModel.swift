import FluentKit
import Foundation

// Row buffer only: see HOUSE-STYLE.md section 7. Jobs are platform work: `establishment_id` is set when a
// job acts for one establishment and is null for instance-wide jobs (session clean-up, audit checks).
final class JobModel: Model, @unchecked Sendable {
    static let schema = "jobs_queue"
    @ID(key: .id) var id: UUID?
    @OptionalField(key: "establishment_id") var establishmentID: UUID?
    @Field(key: "kind") var kind: String
    @Field(key: "payload") var payload: String
    @Field(key: "status") var status: String
    @Field(key: "attempts") var attempts: Int64
    @Field(key: "max_attempts") var maxAttempts: Int64
    @Field(key: "run_at") var runAt: Date
    @OptionalField(key: "locked_by") var lockedBy: String?
    @OptionalField(key: "locked_at") var lockedAt: Date?
    @OptionalField(key: "last_error") var lastError: String?
    @OptionalField(key: "idempotency_key") var idempotencyKey: String?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    @OptionalField(key: "finished_at") var finishedAt: Date?
    init() {}
}
