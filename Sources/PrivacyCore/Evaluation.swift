import Foundation

/// Precision and recall of flags against labels, per pattern and overall.
public struct Evaluation: Sendable {
    public struct Counts: Sendable, Hashable {
        public var truePositives = 0
        public var falsePositives = 0
        public var falseNegatives = 0
        public var precision: Double {
            truePositives + falsePositives == 0 ? 1 : Double(truePositives) / Double(truePositives + falsePositives)
        }
        public var recall: Double {
            truePositives + falseNegatives == 0 ? 1 : Double(truePositives) / Double(truePositives + falseNegatives)
        }
    }

    public var overall = Counts()
    public var patterns: [AccessPattern: Counts] = [:]

    /// `predicted` and `labels` map event ids to patterns; an event absent from `labels` is legitimate.
    public init(predicted: [String: Set<AccessPattern>], labels: [String: Set<AccessPattern>]) {
        for (id, patterns) in predicted {
            let truth = labels[id] ?? []
            if truth.isEmpty { overall.falsePositives += 1 } else { overall.truePositives += 1 }
            for pattern in patterns {
                if truth.contains(pattern) {
                    self.patterns[pattern, default: Counts()].truePositives += 1
                } else {
                    self.patterns[pattern, default: Counts()].falsePositives += 1
                }
            }
        }
        for (id, truth) in labels where !truth.isEmpty {
            let found = predicted[id] ?? []
            if found.isEmpty { overall.falseNegatives += 1 }
            for pattern in truth where !found.contains(pattern) {
                patterns[pattern, default: Counts()].falseNegatives += 1
            }
        }
    }

    /// A Markdown table: pattern, TP, FP, FN, precision, recall.
    public func table(title: String) -> String {
        func row(_ name: String, _ counts: Counts) -> String {
            func ratio(_ value: Double) -> String { String(format: "%.3f", value) }
            return "| \(name) | \(counts.truePositives) | \(counts.falsePositives) | \(counts.falseNegatives) | "
                + "\(ratio(counts.precision)) | \(ratio(counts.recall)) |"
        }
        var lines = [
            "### \(title)", "", "| pattern | TP | FP | FN | precision | recall |", "|---|---:|---:|---:|---:|---:|",
        ]
        for pattern in AccessPattern.allCases {
            if let counts = patterns[pattern] { lines.append(row(pattern.rawValue, counts)) }
        }
        lines.append(row("**overall**", overall))
        return lines.joined(separator: "\n")
    }
}

/// The single rules a naive monitor applies to every access, with no care context: what "explain first" is
/// measured against.
public struct NaiveRules: Sendable {
    let context: HospitalContext
    let settings: AnalysisSettings
    var predicted: [String: Set<AccessPattern>] = [:]
    var dayOf: [String: AccessAnalyzer.UserDay] = [:]
    var totals: [AccessAnalyzer.UserDay: Int] = [:]

    public init(context: HospitalContext, settings: AnalysisSettings = AnalysisSettings()) {
        self.context = context
        self.settings = settings
    }

    public mutating func evaluate(_ event: AccessEvent) {
        var patterns: Set<AccessPattern> = []
        let user = context.staffIndex[event.user] ?? -1
        let patient = context.patientIndex[event.patient] ?? -1
        let time = event.time.seconds
        if user >= 0 {
            let staff = context.staffInfo[user]
            let key = AccessAnalyzer.UserDay(user: Int32(user), day: Int32(event.time.localDay))
            totals[key, default: 0] += 1
            dayOf[event.id] = key
            let second = event.time.secondOfDay
            // Off hours: nights and weekends, whoever the user.
            if event.time.weekday >= 6 || second < settings.officeStart || second >= settings.officeEnd {
                patterns.insert(.offHours)
            }
            if patient >= 0 {
                let info = context.patientInfo[patient]
                if info.staff.contains(user) { patterns.insert(.selfLookup) }
                if info.staff.contains(where: { $0 != user }) { patterns.insert(.coworker) }
                if !info.staff.contains(user) {
                    if Names.shareSurname(staff.surname, info.surname) { patterns.insert(.sameSurname) }
                    if !staff.address.isEmpty, staff.address == info.address { patterns.insert(.sameAddress) }
                }
                // No relationship: the patient is not in the user's unit right now.
                let inUnit = context.encounters[patient].contains {
                    $0.department == staff.department && time >= $0.start && time <= ($0.end ?? .max)
                }
                if !inUnit { patterns.insert(.noCareRelationship) }
            } else {
                patterns.insert(.noCareRelationship)
            }
        }
        if patient >= 0 {
            let info = context.patientInfo[patient]
            if info.restricted { patterns.insert(.vip) }
            if let death = info.deceased, time >= death { patterns.insert(.deceased) }
        }
        if event.emergency { patterns.insert(.breakGlassUnjustified) }
        if !patterns.isEmpty { predicted[event.id] = patterns }
    }

    /// Adds volume spikes (the busiest 1 % of user-days) and returns each rule's flags.
    public mutating func finish() -> [String: Set<AccessPattern>] {
        let sorted = totals.values.sorted()
        let threshold = sorted.isEmpty ? Int.max : sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        for (id, key) in dayOf where (totals[key] ?? 0) > threshold {
            predicted[id, default: []].insert(.volumeSpike)
        }
        return predicted
    }
}
