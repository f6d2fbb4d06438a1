/// What makes an unexplained access worth a privacy officer's time.
public enum AccessPattern: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case selfLookup = "self_lookup"
    case sameAddress = "same_address"
    case sameSurname = "same_surname"
    case coworker
    case vip
    case deceased
    case breakGlassUnjustified = "break_glass_unjustified"
    case outsideEmployment = "outside_employment"
    case volumeSpike = "volume_spike"
    case offHours = "off_hours"
    case noCareRelationship = "no_care_relationship"

    /// How strongly the pattern alone points to snooping (0–100).
    public var weight: Int {
        switch self {
        case .selfLookup: 90
        case .sameAddress: 85
        case .sameSurname: 70
        case .outsideEmployment: 80
        case .coworker: 65
        case .vip: 65
        case .breakGlassUnjustified: 60
        case .deceased: 55
        case .volumeSpike: 55
        case .offHours: 40
        case .noCareRelationship: 35
        }
    }

    public static func < (lhs: AccessPattern, rhs: AccessPattern) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Why an access needed no review.
public enum Explanation: String, Sendable, Hashable, Codable, CaseIterable {
    /// The patient was in the user's unit (or expected there) at the time.
    case unit
    /// The user is named on the encounter.
    case attending
    /// An order, consult, appointment or result of the user's unit (or naming the user).
    case careEvent = "care_event"
    /// A role policy (coding, admissions…) covers any current or recent stay.
    case rolePolicy = "role_policy"
    /// An on-call physician outside office hours, for a patient staying in the hospital at the time.
    case onCall = "on_call"
    /// Emergency access with a written justification (counted apart for review of break-glass use).
    case justifiedEmergency = "justified_emergency"
}

/// The analyser's thresholds. Defaults follow common practice in EHR access monitoring; each can be changed
/// per establishment.
public struct AnalysisSettings: Sendable, Hashable, Codable {
    /// Accesses this long before an admission are covered (pre-admission work).
    public var beforeEncounter: Int64 = 24 * 3600
    /// Unit staff keep access this long after discharge (letters, results).
    public var afterEncounter: Int64 = 3 * 24 * 3600
    /// Staff named on the encounter keep access this long after discharge.
    public var afterEncounterAttending: Int64 = 30 * 24 * 3600
    public var beforeCareEvent: Int64 = 2 * 24 * 3600
    public var afterCareEvent: Int64 = 3 * 24 * 3600
    /// Roles (lower case) whose work covers any stay that is current or ended within `rolePolicyWindow`.
    public var recordWideRoles: [String] = ["coder", "tim", "dim", "him", "medical_coder", "admissions", "billing"]
    public var rolePolicyWindow: Int64 = 60 * 24 * 3600
    /// Roles (lower case) that cover every inpatient and emergency stay outside office hours (on-call duty).
    public var onCallRoles: [String] = ["physician", "medecin", "doctor", "resident", "interne"]
    /// Office hours (seconds since midnight) on weekdays.
    public var officeStart = 7 * 3600
    public var officeEnd = 20 * 3600
    /// Tolerance around a shift.
    public var shiftMargin = 3600
    /// A user-day is a spike when the user opened at least this many records without explanation…
    public var volumeMinimumUnexplained = 8
    /// …and more records than `volumeFactor` times their peers' median (same role), and than that median plus
    /// `volumeMargin`.
    public var volumeFactor = 2.5
    public var volumeMargin = 10
    /// Offset of the hospital's wall clock for times written without one, in seconds.
    public var defaultOffset: Int32 = 3600

    public init() {}
}

/// A flagged access, with its reasons.
public struct FlaggedAccess: Sendable, Hashable, Codable {
    public var event: AccessEvent
    public var userDepartment: String
    public var patterns: [AccessPattern]
    public var reasons: [String]
    public var score: Int
    public var incident: String
    public var explanation: Explanation?
}

/// Counts of one analysis: what was explained and how, what was flagged.
public struct AnalysisSummary: Sendable, Hashable, Codable {
    public var events = 0
    public var explained = 0
    public var flagged = 0
    public var byExplanation: [String: Int] = [:]
    public var byPattern: [String: Int] = [:]
    public var unknownUsers = 0
    public var unknownPatients = 0
    public var incidents = 0
}

/// Explains accesses by a care relationship, then flags the rest.
///
/// Feed events with `evaluate` in any order, then call `finish`: volume spikes need every user-day of the period
/// and the peers of each role. Memory holds the context, one counter per user-day and the unexplained accesses
/// only (explained ones are counted and dropped).
public struct AccessAnalyzer: Sendable {
    public let context: HospitalContext
    public let settings: AnalysisSettings
    public private(set) var summary = AnalysisSummary()
    /// When set, `explained` lists each explained access with its reason (the server stores it for the patient's
    /// "who accessed my record" report; offline runs only count).
    public var keepExplanations = false
    public private(set) var explained: [(id: String, explanation: Explanation)] = []
    var candidates: [Candidate] = []
    var userDays: [UserDay: DayCount] = [:]

    struct UserDay: Hashable {
        var user: Int32
        var day: Int32
    }

    struct DayCount {
        var total = 0
        var unexplained = 0
    }

    struct Candidate {
        var event: AccessEvent
        var user: Int
        var patient: Int
        var patterns: [AccessPattern]
        var reasons: [String]
        var explanation: Explanation?
    }

    public init(context: HospitalContext, settings: AnalysisSettings = AnalysisSettings()) {
        self.context = context
        self.settings = settings
    }

    public mutating func evaluate(_ event: AccessEvent) {
        summary.events += 1
        let user = context.staffIndex[event.user] ?? -1
        let patient = context.patientIndex[event.patient] ?? -1
        if user < 0 { summary.unknownUsers += 1 }
        if patient < 0 || !context.patientInfo[patient].known { summary.unknownPatients += 1 }
        let explanation = explain(event, user: user, patient: patient)
        if user >= 0 {
            let key = UserDay(user: Int32(user), day: Int32(event.time.localDay))
            userDays[key, default: DayCount()].total += 1
            if explanation == nil { userDays[key, default: DayCount()].unexplained += 1 }
        }
        var patterns: [AccessPattern] = []
        var reasons: [String] = []
        if user >= 0 {
            let info = context.staffInfo[user]
            if patient >= 0, context.patientInfo[patient].staff.contains(user) {
                patterns.append(.selfLookup)
                reasons.append("the user opened their own record")
            }
            if let hire = info.hire, event.time.seconds < hire {
                patterns.append(.outsideEmployment)
                reasons.append("before the user's hire date")
            } else if let end = info.end, event.time.seconds >= end {
                patterns.append(.outsideEmployment)
                reasons.append("after the user's employment ended")
            }
        }
        if let explanation, explanation != .justifiedEmergency, patterns.isEmpty {
            summary.explained += 1
            summary.byExplanation[explanation.rawValue, default: 0] += 1
            if keepExplanations { explained.append((event.id, explanation)) }
            return
        }
        candidates.append(
            Candidate(
                event: event, user: user, patient: patient, patterns: patterns, reasons: reasons,
                explanation: explanation))
    }

    /// The care relationship that covers an access, if any.
    func explain(_ event: AccessEvent, user: Int, patient: Int) -> Explanation? {
        guard user >= 0, patient >= 0 else { return nil }
        let time = event.time.seconds
        let staff = context.staffInfo[user]
        let roleCovers = settings.recordWideRoles.contains(staff.role)
        var covered: Explanation?
        for encounter in context.encounters[patient] {
            let from = encounter.start - settings.beforeEncounter
            if time < from { continue }
            let end = encounter.end ?? Int64.max / 2
            if encounter.attending.contains(user), time <= end + settings.afterEncounterAttending {
                return .attending
            }
            if encounter.department == staff.department, time <= end + settings.afterEncounter { return .unit }
            if roleCovers, time <= end + settings.rolePolicyWindow { covered = .rolePolicy }
        }
        for care in context.careEvents[patient]
        where care.department == staff.department || care.staff == user {
            if time >= care.time - settings.beforeCareEvent, time <= care.time + settings.afterCareEvent {
                return .careEvent
            }
        }
        if let covered { return covered }
        if settings.onCallRoles.contains(staff.role), offHours(office: event.time) {
            for encounter in context.encounters[patient] where encounter.emergency || encounter.kind == .inpatient {
                if time >= encounter.start, time <= encounter.end ?? Int64.max / 2 { return .onCall }
            }
        }
        if event.emergency, !event.justification.isEmpty { return .justifiedEmergency }
        return nil
    }

    /// Adds the patterns of every unexplained access, volume spikes included, and groups them per user.
    public mutating func finish() -> [FlaggedAccess] {
        let spikes = volumeSpikes()
        var flagged: [FlaggedAccess] = []
        flagged.reserveCapacity(candidates.count)
        for var candidate in candidates {
            let event = candidate.event
            if candidate.explanation == nil || candidate.explanation == .justifiedEmergency {
                addPatterns(&candidate, spikes: spikes)
            }
            if candidate.patterns.isEmpty {
                let explanation = candidate.explanation ?? .justifiedEmergency
                summary.explained += 1
                summary.byExplanation[explanation.rawValue, default: 0] += 1
                if keepExplanations { explained.append((event.id, explanation)) }
                continue
            }
            candidate.patterns.sort()
            let score = Self.score(candidate.patterns)
            let department =
                candidate.user >= 0 ? context.departments[context.staffInfo[candidate.user].department].code : ""
            for pattern in candidate.patterns { summary.byPattern[pattern.rawValue, default: 0] += 1 }
            flagged.append(
                FlaggedAccess(
                    event: event, userDepartment: department, patterns: candidate.patterns,
                    reasons: candidate.reasons, score: score, incident: "user:\(event.user)",
                    explanation: candidate.explanation))
        }
        candidates = []
        flagged.sort { ($0.event.time.seconds, $0.event.id) < ($1.event.time.seconds, $1.event.id) }
        summary.flagged = flagged.count
        summary.incidents = Set(flagged.map(\.incident)).count
        return flagged
    }

    /// The strongest pattern, plus ten points for each further one.
    public static func score(_ patterns: [AccessPattern]) -> Int {
        guard let strongest = patterns.map(\.weight).max() else { return 0 }
        return min(100, strongest + 10 * (patterns.count - 1))
    }

    func addPatterns(_ candidate: inout Candidate, spikes: [UserDay: String]) {
        let event = candidate.event
        let justified = candidate.explanation == .justifiedEmergency
        guard candidate.user >= 0 else {
            candidate.patterns.append(.noCareRelationship)
            candidate.reasons.append("user \(event.user) is not in the staff directory")
            return
        }
        let staff = context.staffInfo[candidate.user]
        let known = candidate.patient >= 0 && context.patientInfo[candidate.patient].known
        if known {
            let patient = context.patientInfo[candidate.patient]
            if !staff.address.isEmpty, staff.address == patient.address, !candidate.patterns.contains(.selfLookup) {
                candidate.patterns.append(.sameAddress)
                candidate.reasons.append("the patient lives at the user's address")
            }
            if Names.shareSurname(staff.surname, patient.surname), !candidate.patterns.contains(.selfLookup) {
                candidate.patterns.append(.sameSurname)
                candidate.reasons.append("the patient shares the user's family name")
            }
            if justified { return }
            if let colleague = patient.staff.first(where: { $0 != candidate.user }) {
                candidate.patterns.append(.coworker)
                let same = context.staffInfo[colleague].department == staff.department
                candidate.reasons.append(
                    same ? "the patient works in the user's unit" : "the patient is a member of staff")
            }
            if patient.restricted {
                candidate.patterns.append(.vip)
                candidate.reasons.append("the record is restricted (VIP or confidential)")
            }
            if let deceased = patient.deceased, event.time.seconds >= deceased {
                candidate.patterns.append(.deceased)
                candidate.reasons.append("the patient died before this access")
            }
        } else if justified {
            return
        }
        if event.emergency, !justified {
            candidate.patterns.append(.breakGlassUnjustified)
            candidate.reasons.append("emergency access (break-glass) without justification")
        }
        if let spike = spikes[UserDay(user: Int32(candidate.user), day: Int32(event.time.localDay))] {
            candidate.patterns.append(.volumeSpike)
            candidate.reasons.append(spike)
        }
        if offHours(staff, event.time) {
            candidate.patterns.append(.offHours)
            candidate.reasons.append(
                staff.schedule == .office ? "outside office hours" : "outside the user's shift")
        }
        candidate.patterns.append(.noCareRelationship)
        candidate.reasons.append(
            "no stay, order or appointment links unit \(context.departments[staff.department].code) to the patient")
    }

    func offHours(_ staff: HospitalContext.StaffInfo, _ time: Instant) -> Bool {
        let second = time.secondOfDay
        if staff.schedule == .shift {
            guard let shift = staff.shift else { return false }
            return !shift.contains(second, margin: settings.shiftMargin)
        }
        return offHours(office: time)
    }

    func offHours(office time: Instant) -> Bool {
        let second = time.secondOfDay
        return time.weekday >= 6 || second < settings.officeStart || second >= settings.officeEnd
    }

    /// User-days whose volume stands out from the user's peers (same role), with the reason.
    func volumeSpikes() -> [UserDay: String] {
        var totalsByRole: [String: [Int]] = [:]
        for (key, count) in userDays {
            totalsByRole[context.staffInfo[Int(key.user)].role, default: []].append(count.total)
        }
        var medians: [String: Int] = [:]
        for (role, var totals) in totalsByRole {
            totals.sort()
            medians[role] = totals[totals.count / 2]
        }
        var spikes: [UserDay: String] = [:]
        for (key, count) in userDays where count.unexplained >= settings.volumeMinimumUnexplained {
            let median = medians[context.staffInfo[Int(key.user)].role] ?? 0
            let threshold = max(Int(Double(median) * settings.volumeFactor), median + settings.volumeMargin)
            if count.total > threshold {
                spikes[key] =
                    "\(count.total) records opened that day, \(count.unexplained) without explanation "
                    + "(peers' median \(median))"
            }
        }
        return spikes
    }
}
