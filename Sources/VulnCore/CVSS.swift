/// CVSS 3.0/3.1 and 4.0 vectors: validation and scores per FIRST's specifications.
public enum CVSS {
    public struct Scores: Sendable, Equatable {
        public var version: String
        /// CVSS 3.x base score; CVSS 4.0's single score (CVSS-B, -BT, -BE or -BTE).
        public var base: Double
        /// CVSS 3.x temporal and environmental scores (computed with defaults when the vector has none).
        public var temporal: Double?
        public var environmental: Double?
        /// The score to rank with: CVSS 4.0's score; for CVSS 3.x the environmental score when the vector
        /// carries environmental metrics, else the temporal one when it carries temporal metrics, else base.
        public var effective: Double
        /// Severity of the effective score.
        public var severity: String
    }

    public static func score(_ vector: String) throws(VulnDataError) -> Double {
        try evaluate(vector).effective
    }

    public static func evaluate(_ vector: String) throws(VulnDataError) -> Scores {
        if vector.hasPrefix("CVSS:4.0/") { return try CVSS4(vector).scores() }
        if vector.hasPrefix("CVSS:3.1/") || vector.hasPrefix("CVSS:3.0/") { return try CVSS3(vector).scores() }
        throw VulnDataError("unsupported CVSS vector \(vector.prefix(40)) (expected CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/)")
    }

    public static func severity(_ score: Double) -> String {
        switch score {
        case 0: return "None"
        case ..<4.0: return "Low"
        case ..<7.0: return "Medium"
        case ..<9.0: return "High"
        default: return "Critical"
        }
    }

    /// `CVSS:x.y/K:V/…` as ordered pairs, with duplicate and syntax checks.
    static func pairs(_ vector: String, allowed: [(String, [String])]) throws(VulnDataError) -> [String: String] {
        guard vector.count <= 512 else { throw VulnDataError("CVSS vector too long") }
        var result: [String: String] = [:]
        var lastPosition = -1
        for part in vector.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count == 2 else { throw VulnDataError("CVSS vector \(vector): malformed part \"\(part)\"") }
            let key = String(pieces[0])
            let value = String(pieces[1])
            guard let position = allowed.firstIndex(where: { $0.0 == key }) else {
                throw VulnDataError("CVSS vector \(vector): unknown metric \(key)")
            }
            guard allowed[position].1.contains(value) else {
                throw VulnDataError("CVSS vector \(vector): \(key):\(value) is not a valid value")
            }
            guard result[key] == nil else { throw VulnDataError("CVSS vector \(vector): \(key) appears twice") }
            result[key] = value
            if vector.hasPrefix("CVSS:4.0/") {
                guard position > lastPosition else {
                    throw VulnDataError("CVSS vector \(vector): \(key) is out of order")
                }
            }
            lastPosition = position
        }
        return result
    }
}

struct CVSS3 {
    let version: String
    let metrics: [String: String]

    static let allowed: [(String, [String])] = [
        ("AV", ["N", "A", "L", "P"]), ("AC", ["L", "H"]), ("PR", ["N", "L", "H"]), ("UI", ["N", "R"]),
        ("S", ["U", "C"]),
        ("C", ["N", "L", "H"]), ("I", ["N", "L", "H"]), ("A", ["N", "L", "H"]),
        ("E", ["X", "U", "P", "F", "H"]), ("RL", ["X", "O", "T", "W", "U"]), ("RC", ["X", "U", "R", "C"]),
        ("CR", ["X", "L", "M", "H"]), ("IR", ["X", "L", "M", "H"]), ("AR", ["X", "L", "M", "H"]),
        ("MAV", ["X", "N", "A", "L", "P"]), ("MAC", ["X", "L", "H"]), ("MPR", ["X", "N", "L", "H"]),
        ("MUI", ["X", "N", "R"]), ("MS", ["X", "U", "C"]), ("MC", ["X", "N", "L", "H"]), ("MI", ["X", "N", "L", "H"]),
        ("MA", ["X", "N", "L", "H"]),
    ]

    init(_ vector: String) throws(VulnDataError) {
        version = String(vector.dropFirst(5).prefix(3))
        metrics = try CVSS.pairs(vector, allowed: CVSS3.allowed)
        for key in ["AV", "AC", "PR", "UI", "S", "C", "I", "A"] where metrics[key] == nil {
            throw VulnDataError("CVSS vector \(vector): the base metric \(key) is missing")
        }
    }

    func roundUp(_ value: Double) -> Double {
        if version == "3.0" { return (value * 10).rounded(.up) / 10 }
        let scaled = Int((value * 100_000).rounded())
        return scaled % 10_000 == 0 ? Double(scaled) / 100_000 : Double(scaled / 10_000 + 1) / 10
    }

    static func weight(_ metric: String, _ value: String, changed: Bool) -> Double {
        switch (metric, value) {
        case ("AV", "N"): return 0.85
        case ("AV", "A"): return 0.62
        case ("AV", "L"): return 0.55
        case ("AV", "P"): return 0.2
        case ("AC", "L"): return 0.77
        case ("AC", "H"): return 0.44
        case ("PR", "N"): return 0.85
        case ("PR", "L"): return changed ? 0.68 : 0.62
        case ("PR", "H"): return changed ? 0.5 : 0.27
        case ("UI", "N"): return 0.85
        case ("UI", "R"): return 0.62
        case ("CIA", "H"): return 0.56
        case ("CIA", "L"): return 0.22
        case ("E", "U"): return 0.91
        case ("E", "P"): return 0.94
        case ("E", "F"): return 0.97
        case ("RL", "O"): return 0.95
        case ("RL", "T"): return 0.96
        case ("RL", "W"): return 0.97
        case ("RC", "U"): return 0.92
        case ("RC", "R"): return 0.96
        case ("REQ", "L"): return 0.5
        case ("REQ", "H"): return 1.5
        case ("CIA", _): return 0
        default: return 1
        }
    }

    func value(_ key: String) -> String { metrics[key] ?? "X" }

    /// The modified metric when set, else the base one.
    func modified(_ key: String) -> String {
        let value = metrics["M" + key] ?? "X"
        return value == "X" ? metrics[key]! : value
    }

    func scores() -> CVSS.Scores {
        let changed = value("S") == "C"
        let iss =
            1 - (1 - CVSS3.weight("CIA", value("C"), changed: false))
            * (1 - CVSS3.weight("CIA", value("I"), changed: false))
            * (1 - CVSS3.weight("CIA", value("A"), changed: false))
        let impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss
        let exploitability =
            8.22 * CVSS3.weight("AV", value("AV"), changed: changed) * CVSS3.weight("AC", value("AC"), changed: changed)
            * CVSS3.weight("PR", value("PR"), changed: changed) * CVSS3.weight("UI", value("UI"), changed: changed)
        let base: Double =
            impact <= 0 ? 0 : roundUp(min(changed ? 1.08 * (impact + exploitability) : impact + exploitability, 10))
        let temporalFactor =
            CVSS3.weight("E", value("E"), changed: false) * CVSS3.weight("RL", value("RL"), changed: false)
            * CVSS3.weight("RC", value("RC"), changed: false)
        let temporal = roundUp(base * temporalFactor)

        let modifiedChanged = modified("S") == "C"
        func requirement(_ key: String) -> Double { CVSS3.weight("REQ", value(key), changed: false) }
        let miss = min(
            1 - (1 - requirement("CR") * CVSS3.weight("CIA", modified("C"), changed: false))
                * (1 - requirement("IR") * CVSS3.weight("CIA", modified("I"), changed: false))
                * (1 - requirement("AR") * CVSS3.weight("CIA", modified("A"), changed: false)),
            0.915)
        let modifiedImpact: Double
        if modifiedChanged {
            modifiedImpact =
                version == "3.0"
                ? 7.52 * (miss - 0.029) - 3.25 * pow(miss - 0.02, 15)
                : 7.52 * (miss - 0.029) - 3.25 * pow(miss * 0.9731 - 0.02, 13)
        } else {
            modifiedImpact = 6.42 * miss
        }
        let modifiedExploitability =
            8.22 * CVSS3.weight("AV", modified("AV"), changed: modifiedChanged)
            * CVSS3.weight("AC", modified("AC"), changed: modifiedChanged)
            * CVSS3.weight("PR", modified("PR"), changed: modifiedChanged)
            * CVSS3.weight("UI", modified("UI"), changed: modifiedChanged)
        let environmental: Double
        if modifiedImpact <= 0 {
            environmental = 0
        } else {
            let sum =
                modifiedChanged
                ? min(1.08 * (modifiedImpact + modifiedExploitability), 10)
                : min(modifiedImpact + modifiedExploitability, 10)
            environmental = roundUp(roundUp(sum) * temporalFactor)
        }
        let hasTemporal = ["E", "RL", "RC"].contains { value($0) != "X" }
        let hasEnvironmental = ["CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA"].contains {
            value($0) != "X"
        }
        let effective = hasEnvironmental ? environmental : (hasTemporal ? temporal : base)
        return CVSS.Scores(
            version: version, base: base, temporal: temporal, environmental: environmental, effective: effective,
            severity: CVSS.severity(effective))
    }

    func pow(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<exponent { result *= base }
        return result
    }
}

/// CVSS 4.0, ported from FIRST's reference calculator (cvss-v4-calculator, BSD-2-Clause,
/// © FIRST, Red Hat and contributors): macro-vector lookup, then the mean proportional distance
/// to the next lower macro-vectors.
struct CVSS4 {
    let metrics: [String: String]

    static let allowed: [(String, [String])] = [
        ("AV", ["N", "A", "L", "P"]), ("AC", ["L", "H"]), ("AT", ["N", "P"]), ("PR", ["N", "L", "H"]),
        ("UI", ["N", "P", "A"]), ("VC", ["H", "L", "N"]), ("VI", ["H", "L", "N"]), ("VA", ["H", "L", "N"]),
        ("SC", ["H", "L", "N"]), ("SI", ["H", "L", "N"]), ("SA", ["H", "L", "N"]),
        ("E", ["X", "A", "P", "U"]), ("CR", ["X", "H", "M", "L"]), ("IR", ["X", "H", "M", "L"]),
        ("AR", ["X", "H", "M", "L"]), ("MAV", ["X", "N", "A", "L", "P"]), ("MAC", ["X", "L", "H"]),
        ("MAT", ["X", "N", "P"]), ("MPR", ["X", "N", "L", "H"]), ("MUI", ["X", "N", "P", "A"]),
        ("MVC", ["X", "H", "L", "N"]), ("MVI", ["X", "H", "L", "N"]), ("MVA", ["X", "H", "L", "N"]),
        ("MSC", ["X", "H", "L", "N"]), ("MSI", ["X", "S", "H", "L", "N"]), ("MSA", ["X", "S", "H", "L", "N"]),
        ("S", ["X", "N", "P"]), ("AU", ["X", "N", "Y"]), ("R", ["X", "A", "U", "I"]), ("V", ["X", "D", "C"]),
        ("RE", ["X", "L", "M", "H"]), ("U", ["X", "Clear", "Green", "Amber", "Red"]),
    ]

    init(_ vector: String) throws(VulnDataError) {
        // `SI:S`/`SA:S` exist only as environmental MSI/MSA: the base values list has no S.
        metrics = try CVSS.pairs(vector, allowed: CVSS4.allowed)
        for key in ["AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"] where metrics[key] == nil {
            throw VulnDataError("CVSS vector \(vector): the base metric \(key) is missing")
        }
    }

    /// The effective value: unset E counts as Attacked, unset requirements as High, modified metrics
    /// replace base ones.
    func m(_ key: String) -> String {
        let selected = metrics[key] ?? "X"
        if key == "E", selected == "X" { return "A" }
        if ["CR", "IR", "AR"].contains(key), selected == "X" { return "H" }
        if let modified = metrics["M" + key], modified != "X" { return modified }
        return selected
    }

    func macroVector() -> [Int] {
        let av = m("AV")
        let pr = m("PR")
        let ui = m("UI")
        let eq1: Int
        if av == "N" && pr == "N" && ui == "N" {
            eq1 = 0
        } else if (av == "N" || pr == "N" || ui == "N") && av != "P" {
            eq1 = 1
        } else {
            eq1 = 2
        }
        let eq2 = m("AC") == "L" && m("AT") == "N" ? 0 : 1
        let vc = m("VC")
        let vi = m("VI")
        let va = m("VA")
        let eq3 = vc == "H" && vi == "H" ? 0 : (vc == "H" || vi == "H" || va == "H" ? 1 : 2)
        let eq4: Int
        if m("MSI") == "S" || m("MSA") == "S" {
            eq4 = 0
        } else if m("SC") == "H" || m("SI") == "H" || m("SA") == "H" {
            eq4 = 1
        } else {
            eq4 = 2
        }
        let e = m("E")
        let eq5 = e == "A" ? 0 : (e == "P" ? 1 : 2)
        let eq6 =
            (m("CR") == "H" && vc == "H") || (m("IR") == "H" && vi == "H") || (m("AR") == "H" && va == "H") ? 0 : 1
        return [eq1, eq2, eq3, eq4, eq5, eq6]
    }

    static func key(_ eqs: [Int]) -> String { eqs.map(String.init).joined() }

    static func lookup(_ eqs: [Int]) -> Double? { CVSS4Tables.lookup[key(eqs)].map { Double($0) / 10 } }

    static let levels: [String: [String: Double]] = [
        "AV": ["N": 0, "A": 0.1, "L": 0.2, "P": 0.3], "PR": ["N": 0, "L": 0.1, "H": 0.2],
        "UI": ["N": 0, "P": 0.1, "A": 0.2], "AC": ["L": 0, "H": 0.1], "AT": ["N": 0, "P": 0.1],
        "VC": ["H": 0, "L": 0.1, "N": 0.2], "VI": ["H": 0, "L": 0.1, "N": 0.2], "VA": ["H": 0, "L": 0.1, "N": 0.2],
        "SC": ["H": 0.1, "L": 0.2, "N": 0.3], "SI": ["S": 0, "H": 0.1, "L": 0.2, "N": 0.3],
        "SA": ["S": 0, "H": 0.1, "L": 0.2, "N": 0.3], "CR": ["H": 0, "M": 0.1, "L": 0.2],
        "IR": ["H": 0, "M": 0.1, "L": 0.2], "AR": ["H": 0, "M": 0.1, "L": 0.2],
    ]

    func scores() -> CVSS.Scores {
        let score = compute()
        return CVSS.Scores(
            version: "4.0", base: score, temporal: nil, environmental: nil, effective: score,
            severity: CVSS.severity(score))
    }

    func compute() -> Double {
        if ["VC", "VI", "VA", "SC", "SI", "SA"].allSatisfy({ m($0) == "N" }) { return 0 }
        let eqs = macroVector()
        guard var value = CVSS4.lookup(eqs) else { return 0 }
        func lower(_ index: Int, by step: Int = 1) -> [Int] {
            var copy = eqs
            copy[index] += step
            return copy
        }
        let nextEQ1 = CVSS4.lookup(lower(0))
        let nextEQ2 = CVSS4.lookup(lower(1))
        var nextEQ3EQ6: Double?
        switch (eqs[2], eqs[5]) {
        case (1, 1):
            var copy = eqs
            copy[2] += 1
            copy[5] += 1
            nextEQ3EQ6 = CVSS4.lookup(copy)
        case (0, 1): nextEQ3EQ6 = CVSS4.lookup(lower(2))
        case (1, 0): nextEQ3EQ6 = CVSS4.lookup(lower(5))
        case (0, 0):
            let left = CVSS4.lookup(lower(5))
            let right = CVSS4.lookup(lower(2))
            if let left, let right { nextEQ3EQ6 = left > right ? left : right } else { nextEQ3EQ6 = left ?? right }
        default:
            var copy = eqs
            copy[2] += 1
            copy[5] += 1
            nextEQ3EQ6 = CVSS4.lookup(copy)
        }
        let nextEQ4 = CVSS4.lookup(lower(3))
        let nextEQ5 = CVSS4.lookup(lower(4))

        // The highest-severity vectors of this macro-vector; the first one the vector does not exceed.
        var distances: [String: Double] = [:]
        let eq3Maxes = CVSS4Tables.maxEQ3[eqs[2]]?[eqs[5]] ?? []
        search: for a in CVSS4Tables.maxEQ1[eqs[0]] {
            for b in CVSS4Tables.maxEQ2[eqs[1]] {
                for c in eq3Maxes {
                    for d in CVSS4Tables.maxEQ4[eqs[3]] {
                        let maximum = CVSS4Tables.parts(a + b + c + d)
                        var candidate: [String: Double] = [:]
                        for (metric, levels) in CVSS4.levels {
                            guard let mine = levels[m(metric)], let top = maximum[metric].flatMap({ levels[$0] }) else {
                                continue
                            }
                            candidate[metric] = mine - top
                        }
                        distances = candidate
                        if candidate.values.allSatisfy({ $0 >= 0 }) { break search }
                    }
                }
            }
        }
        func sum(_ keys: [String]) -> Double { keys.reduce(0) { $0 + (distances[$1] ?? 0) } }
        let step = 0.1
        var count = 0.0
        var total = 0.0
        if let next = nextEQ1 {
            count += 1
            total += (value - next) * sum(["AV", "PR", "UI"]) / (Double(CVSS4Tables.maxSeverityEQ1[eqs[0]]) * step)
        }
        if let next = nextEQ2 {
            count += 1
            total += (value - next) * sum(["AC", "AT"]) / (Double(CVSS4Tables.maxSeverityEQ2[eqs[1]]) * step)
        }
        if let next = nextEQ3EQ6, let depth = CVSS4Tables.maxSeverityEQ3EQ6[eqs[2]]?[eqs[5]] {
            count += 1
            total += (value - next) * sum(["VC", "VI", "VA", "CR", "IR", "AR"]) / (Double(depth) * step)
        }
        if let next = nextEQ4 {
            count += 1
            total += (value - next) * sum(["SC", "SI", "SA"]) / (Double(CVSS4Tables.maxSeverityEQ4[eqs[3]]) * step)
        }
        if nextEQ5 != nil { count += 1 }  // EQ5's proportion is always 0
        if count > 0 { value -= total / count }
        value = min(max(value, 0), 10)
        return (value * 10).rounded() / 10
    }
}
