/// What a person or machine may do within one establishment (or, for `coordinator`, over a region).
///
/// Roles are granted per establishment through memberships; `admin` is the instance administrator.
public enum Role: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
    case admin
    case rssi
    case analyst
    case auditor
    case dpo
    case staff
    case coordinator
    case partner

    /// Every role but `staff` must use a second factor (TOTP) before reaching any page.
    public var requiresMFA: Bool { self != .staff }

    /// Roles that may manage users, departments and tokens of an establishment.
    public var canManageEstablishment: Bool { self == .admin || self == .rssi }

    /// Roles that may create API tokens for themselves (the privacy officer scripts reviews and EHR feeds).
    public static let tokenHolders: Set<Role> = [.admin, .rssi, .analyst, .coordinator, .dpo]

    /// Roles that may read the audit trail.
    public var canReadAuditTrail: Bool { self == .admin || self == .rssi }

    /// Whether this role may grant `other` to somebody. Only the instance admin grants `admin`,
    /// `coordinator` and `partner`; an RSSI grants the roles of their own establishment.
    public func canGrant(_ other: Role) -> Bool {
        switch self {
        case .admin: return true
        case .rssi: return [.rssi, .analyst, .auditor, .dpo, .staff].contains(other)
        default: return false
        }
    }

    private var rank: Int { Role.allCases.firstIndex(of: self) ?? 0 }
    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}
