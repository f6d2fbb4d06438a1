public import AwarenessCore
import FluentKit
public import Foundation
public import HygieCore
public import HygieStorage
import SQLKit

/// A training assignment: one person, one module, a due day.
public struct Assignment: Sendable, Hashable, Codable {
    public var id: Int64
    public var email: String
    public var firstName: String
    public var lastName: String
    public var department: String
    public var language: String
    public var module: String
    public var moduleTitle: String
    /// `manual`, `click` or `submit`.
    public var reason: String
    public var assignedAt: Date
    public var dueOn: String
    public var attempts: Int
    public var bestScore: Int?
    public var completedAt: Date?
    public var certificate: String?
    public var overdue: Bool
}

/// Who assignments go to.
public enum AssignmentTarget: Sendable, Hashable {
    case group(Int64)
    case department(String)
    case people([Target])
}

/// Someone following their trainings, known by a personal link or by their Hygie session.
public struct Learner: Sendable, Hashable {
    public var establishment: Establishment.ID
    public var email: String

    public init(establishment: Establishment.ID, email: String) {
        self.establishment = establishment
        self.email = email
    }
}

/// The result of a quiz attempt, with the right answers to learn from.
public struct QuizResult: Sendable, Hashable {
    public var score: Int
    public var passMark: Int
    public var passed: Bool
    public var certificate: String?
    /// For each question: answered right, the right answers' indexes, the explanation.
    public var corrections: [(right: Bool, correct: Set<Int>, explanation: String)]

    public static func == (lhs: QuizResult, rhs: QuizResult) -> Bool {
        lhs.score == rhs.score && lhs.certificate == rhs.certificate && lhs.passed == rhs.passed
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(score)
        hasher.combine(certificate)
    }
}

/// Training figures of an establishment.
public struct TrainingSummary: Sendable, Hashable, Codable {
    public struct Module: Sendable, Hashable, Codable {
        public var module: String
        public var title: String
        public var assigned: Int
        public var completed: Int
        public var overdue: Int
    }

    public var assigned = 0
    public var completed = 0
    public var overdue = 0
    /// People in the target groups.
    public var population = 0
    /// Of them, with at least one module completed in the last 12 months.
    public var trained12Months = 0
    public var modules: [Module] = []

    public var completionRate: Double? { assigned > 0 ? Double(completed) / Double(assigned) : nil }
    public var trainedShare: Double? { population > 0 ? Double(trained12Months) / Double(population) : nil }
}

extension AwarenessService {
    static let day: Int64 = 86_400_000

    /// Assigns a module to a group, a department (members of every group in it) or people, due on `dueOn`.
    /// People who already have it open, or completed it in the last 12 months, are skipped.
    public func assign(
        _ module: String, to target: AssignmentTarget, dueOn: String, in scope: TenantScope
    ) async throws -> Int {
        try scope.require(Self.managers)
        guard TrainingCatalogue.ids.contains(module) else {
            throw AwarenessError.invalid("unknown training module \(module)")
        }
        guard Self.isDay(dueOn), dueOn >= clock.now().utcDay else {
            throw AwarenessError.invalid("due_on must be a date (YYYY-MM-DD), today or later")
        }
        let est = scope.establishmentID.uuid
        var people: [Target]
        switch target {
        case .group(let id):
            people = try await group(id, in: scope).targets.map(\.target)
        case .department(let name):
            people = try await sql.raw(
                "SELECT * FROM aw_targets WHERE establishment_id = \(bind: est) AND department = \(bind: name) ORDER BY id"
            ).all().map { try Self.target($0).target }
        case .people(let list):
            for person in list where !TargetList.isEmail(person.email) {
                throw AwarenessError.invalid("invalid e-mail \(person.email)")
            }
            people = list
        }
        var seen = Set<String>()
        people = people.filter { seen.insert($0.email.lowercased()).inserted }
        guard !people.isEmpty else { throw AwarenessError.invalid("nobody to assign the module to") }
        let now = now()
        let actor = scope.actor.displayName
        let everyone = people
        return try await changing(
            "awareness.training.assign", "aw_assignment", nil, "Assigned training \(module) to \(people.count) people",
            in: scope
        ) { db in
            var created = 0
            for person in everyone {
                created +=
                    try await Self.insertAssignment(
                        db, establishment: est, person: person, module: module, reason: "manual", dueOn: dueOn,
                        now: now,
                        by: actor) ? 1 : 0
            }
            return created
        }
    }

    /// Inserts an assignment unless the person has the module open or completed it in the last 12 months.
    static func insertAssignment(
        _ db: any SQLDatabase, establishment: UUID, person: Target, module: String, reason: String, dueOn: String,
        now: Int64, by actor: String
    ) async throws -> Bool {
        let email = person.email.lowercased()
        if try await db.raw(
            """
            SELECT id FROM aw_assignments WHERE establishment_id = \(bind: establishment) AND email = \(bind: email) \
            AND module = \(bind: module) AND (completed_at IS NULL OR completed_at > \(bind: now - 365 * day))
            """
        ).first() != nil {
            return false
        }
        try await db.raw(
            """
            INSERT INTO aw_assignments (establishment_id, email, first_name, last_name, department, language, module, \
            reason, assigned_at, due_on, attempts, assigned_by) VALUES (\(bind: establishment), \(bind: email), \
            \(bind: person.firstName), \(bind: person.lastName), \(bind: person.department), \
            \(bind: person.language == "en" ? "en" : "fr"), \(bind: module), \(bind: reason), \(bind: now), \
            \(bind: dueOn), 0, \(bind: actor))
            """
        ).run()
        return true
    }

    static func assignment(_ row: any SQLRow, today: String) throws -> Assignment {
        let module = try row.decode(column: "module", as: String.self)
        let language = try row.decode(column: "language", as: String.self)
        let dueOn = try row.decode(column: "due_on", as: String.self)
        let completed = try row.decode(column: "completed_at", as: Int64?.self)
        return Assignment(
            id: try row.decode(column: "id", as: Int64.self), email: try row.decode(column: "email", as: String.self),
            firstName: try row.decode(column: "first_name", as: String.self),
            lastName: try row.decode(column: "last_name", as: String.self),
            department: try row.decode(column: "department", as: String.self), language: language, module: module,
            moduleTitle: TrainingCatalogue.module(module, language: language)?.title ?? module,
            reason: try row.decode(column: "reason", as: String.self),
            assignedAt: Date(milliseconds: try row.decode(column: "assigned_at", as: Int64.self)), dueOn: dueOn,
            attempts: try row.decode(column: "attempts", as: Int.self),
            bestScore: try row.decode(column: "best_score", as: Int?.self),
            completedAt: completed.map(Date.init(milliseconds:)),
            certificate: try row.decode(column: "certificate", as: String?.self),
            overdue: completed == nil && dueOn < today)
    }

    /// Every assignment of the establishment, open ones first (the security team's view).
    public func assignments(in scope: TenantScope, module: String? = nil) async throws -> [Assignment] {
        try scope.require(Self.readers)
        let today = clock.now().utcDay
        let rows = try await sql.raw(
            """
            SELECT * FROM aw_assignments WHERE establishment_id = \(bind: scope.establishmentID.uuid) \
            AND (\(bind: module == nil) OR module = \(bind: module ?? ""))
            """
        ).all().map { try Self.assignment($0, today: today) }
        return rows.sorted {
            ($0.completedAt == nil ? 0 : 1, $0.dueOn, $0.email) < ($1.completedAt == nil ? 0 : 1, $1.dueOn, $1.email)
        }
    }

    // MARK: Learners

    /// A personal link for someone with assignments: the token goes in the link, its hash in the database.
    /// Valid 60 days; every invitation and reminder makes a new one.
    public func learnerLink(for email: String, establishment: Establishment.ID) async throws -> String {
        let token = SecureRandom.token(bytes: 24)
        let expires = now() + 60 * Self.day
        try await sql.raw(
            """
            INSERT INTO aw_learner_tokens (token_hash, establishment_id, email, expires_at) VALUES \
            (\(bind: token.sha256Hex), \(bind: establishment.uuid), \(bind: email.lowercased()), \(bind: expires))
            """
        ).run()
        return token
    }

    /// A personal link made by the security team for someone who lost their e-mail.
    public func learnerLink(for email: String, in scope: TenantScope) async throws -> String {
        try scope.require(Self.managers)
        let open = try await assignments(in: scope).contains { $0.email == email.lowercased() }
        guard open else { throw AwarenessError.notFound("assignment for \(email)") }
        let token = try await learnerLink(for: email, establishment: scope.establishmentID)
        try await audit.recording(
            AuditEntry(
                action: "awareness.training.link", objectType: "aw_assignment", objectID: nil,
                summary: "Made a personal training link for \(email)", establishmentID: scope.establishmentID),
            by: scope.actor, in: database
        ) { _ in }
        return token
    }

    /// The learner behind a personal link, if it is valid.
    public func learner(token: String) async throws -> Learner? {
        guard token.count >= 20, token.count <= 100 else { return nil }
        guard
            let row = try await sql.raw(
                """
                SELECT establishment_id, email FROM aw_learner_tokens WHERE token_hash = \(bind: token.sha256Hex) \
                AND expires_at > \(bind: now())
                """
            ).first()
        else { return nil }
        return Learner(
            establishment: Establishment.ID(try row.decode(column: "establishment_id", as: UUID.self)),
            email: try row.decode(column: "email", as: String.self))
    }

    /// A learner's own assignments.
    public func assignments(of learner: Learner) async throws -> [Assignment] {
        let today = clock.now().utcDay
        return try await sql.raw(
            """
            SELECT * FROM aw_assignments WHERE establishment_id = \(bind: learner.establishment.uuid) \
            AND email = \(bind: learner.email.lowercased()) ORDER BY completed_at IS NOT NULL, due_on, id
            """
        ).all().map { try Self.assignment($0, today: today) }
    }

    /// Scores a quiz; on a pass the assignment is completed with a certificate number. Any number of attempts.
    public func submitQuiz(_ module: String, answers: [Set<Int>], learner: Learner) async throws -> QuizResult {
        guard
            let assignment = try await assignments(of: learner).first(where: { $0.module == module })
        else { throw AwarenessError.notFound("assignment") }
        guard let content = TrainingCatalogue.module(module, language: assignment.language) else {
            throw AwarenessError.notFound("training module")
        }
        let score = content.score(answers)
        let passed = content.passes(score)
        let now = now()
        var certificate = assignment.certificate
        if passed && certificate == nil { certificate = "HYG-" + SecureRandom.token(bytes: 6).uppercased() }
        let number = certificate
        try await sql.raw(
            """
            UPDATE aw_assignments SET attempts = attempts + 1, \
            best_score = CASE WHEN best_score IS NULL OR best_score < \(bind: Int64(score)) THEN \(bind: Int64(score)) \
            ELSE best_score END, \
            completed_at = CASE WHEN completed_at IS NULL AND \(bind: passed) THEN \(bind: now) ELSE completed_at END, \
            certificate = CASE WHEN certificate IS NULL AND \(bind: passed) THEN \(bind: number) ELSE certificate END \
            WHERE id = \(bind: assignment.id)
            """
        ).run()
        let corrections = content.questions.enumerated().map { index, question in
            (
                right: index < answers.count && answers[index] == question.correct, correct: question.correct,
                explanation: question.explanation
            )
        }
        return QuizResult(
            score: score, passMark: content.passMark, passed: passed, certificate: passed ? number : nil,
            corrections: corrections)
    }

    // MARK: Figures

    public func trainingSummary(in scope: TenantScope) async throws -> TrainingSummary {
        try scope.require(Self.readers)
        return try await Self.trainingSummary(scope.establishmentID.uuid, now: clock.now(), on: sql)
    }

    static func trainingSummary(_ establishment: UUID, now: Date, on sql: any SQLDatabase) async throws
        -> TrainingSummary
    {
        let today = now.utcDay
        let rows = try await sql.raw(
            "SELECT module, due_on, completed_at, email FROM aw_assignments WHERE establishment_id = \(bind: establishment)"
        ).all()
        var summary = TrainingSummary()
        var perModule: [String: TrainingSummary.Module] = [:]
        var trained = Set<String>()
        let yearAgo = now.milliseconds - 365 * day
        for row in rows {
            let module = try row.decode(column: "module", as: String.self)
            let completed = try row.decode(column: "completed_at", as: Int64?.self)
            let dueOn = try row.decode(column: "due_on", as: String.self)
            let overdue = completed == nil && dueOn < today
            var entry =
                perModule[module]
                ?? .init(
                    module: module, title: TrainingCatalogue.module(module)?.title ?? module, assigned: 0,
                    completed: 0, overdue: 0)
            entry.assigned += 1
            summary.assigned += 1
            if let completed {
                entry.completed += 1
                summary.completed += 1
                if completed > yearAgo { trained.insert(try row.decode(column: "email", as: String.self)) }
            }
            if overdue {
                entry.overdue += 1
                summary.overdue += 1
            }
            perModule[module] = entry
        }
        summary.modules = TrainingCatalogue.ids.compactMap { perModule[$0] }
        let population = Set(
            try await sql.raw("SELECT DISTINCT email FROM aw_targets WHERE establishment_id = \(bind: establishment)")
                .all().map { try $0.decode(column: "email", as: String.self).lowercased() })
        summary.population = population.count
        summary.trained12Months = population.intersection(trained).count
        return summary
    }
}
