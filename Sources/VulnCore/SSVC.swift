/// CISA/CERT-CC SSVC deployer decision (patch application priority 1.0.0): exploitation, system
/// exposure, automatable and human impact give defer / scheduled / out-of-cycle / immediate, which
/// CISA words as track / track* / attend / act.
public enum SSVC {
    public enum Exploitation: String, Sendable, Codable, CaseIterable { case none, poc, active }
    public enum Exposure: String, Sendable, Codable, CaseIterable { case small, controlled, open }
    public enum SafetyImpact: String, Sendable, Codable, CaseIterable {
        case negligible, marginal, critical, catastrophic
    }
    public enum MissionImpact: String, Sendable, Codable, CaseIterable {
        case degraded, crippled, mefFailure, missionFailure
    }
    public enum HumanImpact: String, Sendable, Codable, CaseIterable { case low, medium, high, veryHigh }

    public enum Decision: String, Sendable, Codable, CaseIterable, Comparable {
        case `defer`
        case scheduled
        case outOfCycle
        case immediate

        /// CISA's wording of the same priority.
        public var cisaLabel: String {
            switch self {
            case .defer: return "Track"
            case .scheduled: return "Track*"
            case .outOfCycle: return "Attend"
            case .immediate: return "Act"
            }
        }

        var rank: Int { Decision.allCases.firstIndex(of: self)! }
        public static func < (a: Decision, b: Decision) -> Bool { a.rank < b.rank }
    }

    /// Human impact 2.0.2 from safety and mission impact.
    public static func humanImpact(safety: SafetyImpact, mission: MissionImpact) -> HumanImpact {
        switch (safety, mission) {
        case (.catastrophic, _), (_, .missionFailure): return .veryHigh
        case (.negligible, .degraded), (.negligible, .crippled): return .low
        case (.negligible, .mefFailure), (.marginal, .degraded), (.marginal, .crippled): return .medium
        case (.critical, .degraded), (.critical, .crippled), (.marginal, .mefFailure): return .high
        case (.critical, .mefFailure): return .veryHigh
        }
    }

    /// Rows per exploitation × exposure × automatable (no, yes); letters for human impact low …
    /// very high: d(efer), s(cheduled), o(ut-of-cycle), i(mmediate).
    static let table: [String] = [
        "ddss", "dsss", "dsss", "ssss", "dsss", "ssso",  // none: small, controlled, open × no/yes
        "dsss", "ssss", "dsss", "ssso", "ssso", "ssoo",  // public PoC
        "ssoo", "sooo", "ssoo", "oooo", "sooi", "ooii",  // active
    ]

    public static func decide(
        exploitation: Exploitation, exposure: Exposure, automatable: Bool, humanImpact: HumanImpact
    ) -> Decision {
        let e = Exploitation.allCases.firstIndex(of: exploitation)!
        let x = Exposure.allCases.firstIndex(of: exposure)!
        let row = Array(table[e * 6 + x * 2 + (automatable ? 1 : 0)].utf8)
        switch row[HumanImpact.allCases.firstIndex(of: humanImpact)!] {
        case UInt8(ascii: "d"): return .defer
        case UInt8(ascii: "s"): return .scheduled
        case UInt8(ascii: "o"): return .outOfCycle
        default: return .immediate
        }
    }

    /// One sentence saying why, in French or English.
    public static func explain(
        _ decision: Decision, exploitation: Exploitation, exposure: Exposure, automatable: Bool,
        humanImpact: HumanImpact, french: Bool
    ) -> String {
        if french {
            let e = ["aucune exploitation connue", "une preuve de concept publique", "une exploitation active"][
                Exploitation.allCases.firstIndex(of: exploitation)!]
            let x = ["un système peu exposé", "un système à accès contrôlé", "un système exposé à Internet"][
                Exposure.allCases.firstIndex(of: exposure)!]
            let a = automatable ? "automatisable" : "non automatisable"
            let h = ["faible", "moyen", "élevé", "très élevé (sécurité des patients ou mission vitale)"][
                HumanImpact.allCases.firstIndex(of: humanImpact)!]
            let d = [
                "suivre (correctif au cycle normal)", "suivre de près (correctif planifié)",
                "traiter hors cycle", "agir immédiatement",
            ][decision.rank]
            return "\(d.prefix(1).uppercased() + d.dropFirst()) : \(e), \(x), attaque \(a), impact humain \(h)."
        }
        let e = ["no known exploitation", "a public proof of concept", "active exploitation"][
            Exploitation.allCases.firstIndex(of: exploitation)!]
        let x = ["a small exposure", "controlled access", "an internet-exposed system"][
            Exposure.allCases.firstIndex(of: exposure)!]
        let a = automatable ? "automatable" : "not automatable"
        let h = ["low", "medium", "high", "very high (patient safety or vital mission)"][
            HumanImpact.allCases.firstIndex(of: humanImpact)!]
        let d = [
            "Track (patch in the normal cycle)", "Track closely (scheduled patch)", "Attend out of cycle",
            "Act immediately",
        ][decision.rank]
        return "\(d): \(e), \(x), \(a) attack, \(h) human impact."
    }

    /// Parses CISA's Exploitation wording (`none`, `poc`, `public poc`, `active`).
    public static func exploitation(_ text: String?) -> Exploitation {
        switch text?.lowercased().trimmingWhitespace {
        case "active": return .active
        case "poc", "public poc", "public_poc", "proof of concept": return .poc
        default: return .none
        }
    }
}
