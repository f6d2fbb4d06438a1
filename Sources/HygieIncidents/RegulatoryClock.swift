public import Foundation

/// A mandatory declaration (DOMAIN.md §3). Clocks run from the time of awareness.
public enum Regime: String, Sendable, Hashable, Codable, CaseIterable {
    /// Health sector (CSP L.1111-8-2): significant or serious incident, "sans délai", to CERT Santé and the ARS.
    case certSante = "cert_sante"
    /// GDPR art. 33: personal-data breach, 72 h, to the CNIL.
    case cnil
    /// NIS2 art. 23: early warning within 24 h to the CSIRT (ANSSI).
    case nis2Warning = "nis2_warning"
    /// NIS2 art. 23: incident notification within 72 h.
    case nis2Notification = "nis2_notification"
    /// NIS2 art. 23: final report one month after the notification.
    case nis2Final = "nis2_final"

    /// Who receives it.
    public var recipient: String {
        switch self {
        case .certSante: "CERT Santé et ARS (signalement.social-sante.gouv.fr)"
        case .cnil: "CNIL (notifications.cnil.fr)"
        case .nis2Warning, .nis2Notification, .nis2Final: "CSIRT national (ANSSI)"
        }
    }
}

/// An establishment's regimes: whether it is an NIS2 entity and the deadlines, configurable because the French
/// transposition of NIS2 may still change them.
public struct RegimeSettings: Sendable, Hashable, Codable {
    public enum NIS2Class: String, Sendable, Hashable, Codable, CaseIterable {
        case none = "", essential, important
    }

    public var nis2Class: NIS2Class
    /// "Sans délai" has no number in the law; this is the target the countdown shows.
    public var certSanteHours: Int
    public var cnilHours: Int
    public var nis2WarningHours: Int
    public var nis2NotificationHours: Int
    public var nis2FinalDays: Int
    /// Entity fields every form asks for: name, FINESS EJ/ET, SIRET, type, GHT, region, director, RSSI, DPO…
    public var entity: [String: String]

    public init(
        nis2Class: NIS2Class = .none, certSanteHours: Int = 24, cnilHours: Int = 72, nis2WarningHours: Int = 24,
        nis2NotificationHours: Int = 72, nis2FinalDays: Int = 30, entity: [String: String] = [:]
    ) {
        self.nis2Class = nis2Class
        self.certSanteHours = certSanteHours
        self.cnilHours = cnilHours
        self.nis2WarningHours = nis2WarningHours
        self.nis2NotificationHours = nis2NotificationHours
        self.nis2FinalDays = nis2FinalDays
        self.entity = entity
    }

    /// The regimes a qualification triggers here (NIS2 ones only for an NIS2 entity).
    public func regimes(for qualification: Qualification) -> [Regime] {
        var regimes: [Regime] = []
        if qualification.significant { regimes.append(.certSante) }
        if qualification.personalData { regimes.append(.cnil) }
        if qualification.nis2, nis2Class != .none { regimes += [.nis2Warning, .nis2Notification, .nis2Final] }
        return regimes
    }

    /// When a declaration is due: from awareness, except the NIS2 final report, due a month after the
    /// notification was sent (or was due, while it is not).
    public func due(_ regime: Regime, awareAt: Date, notification: (sent: Date?, due: Date?)? = nil) -> Date {
        let hour: TimeInterval = 3_600
        switch regime {
        case .certSante: return awareAt + Double(certSanteHours) * hour
        case .cnil: return awareAt + Double(cnilHours) * hour
        case .nis2Warning: return awareAt + Double(nis2WarningHours) * hour
        case .nis2Notification: return awareAt + Double(nis2NotificationHours) * hour
        case .nis2Final:
            let base =
                notification?.sent ?? notification?.due ?? awareAt + Double(nis2NotificationHours) * hour
            return base + Double(nis2FinalDays) * 24 * hour
        }
    }
}

/// A declaration of a case to a regulator, with its clock.
public struct Declaration: Sendable, Hashable, Identifiable {
    public enum Status: String, Sendable, Hashable, Codable { case draft, sent }

    public var id: Int64
    public var caseID: Int64
    public var regime: Regime
    public var dueAt: Date?
    public var status: Status
    public var sentAt: Date?
    public var reference: String
    public var delayReason: String
    /// SHA-256 of the content as sent (kept with the case for the record).
    public var snapshotSHA256: String

    /// Seconds left before the deadline (negative when late); nil once sent.
    public func remaining(at now: Date) -> TimeInterval? {
        guard status == .draft, let dueAt else { return nil }
        return dueAt.timeIntervalSince(now)
    }

    /// Sent after its deadline, or still unsent past it.
    public func isLate(at now: Date) -> Bool {
        guard let dueAt else { return false }
        return (sentAt ?? now) > dueAt
    }
}
