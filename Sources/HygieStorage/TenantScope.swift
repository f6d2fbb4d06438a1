public import HygieCore

/// Proof that an actor may work in one establishment, with a given role.
///
/// Only `IdentityService` (after checking a membership, or the instance-admin flag) and tests create scopes;
/// every repository of tenant-owned data takes one and filters by its establishment.
public struct TenantScope: Sendable, Hashable {
    public let establishmentID: Establishment.ID
    public let role: Role
    public let actor: Actor

    package init(establishmentID: Establishment.ID, role: Role, actor: Actor) {
        self.establishmentID = establishmentID
        self.role = role
        self.actor = actor
    }

    /// Throws `forbidden` unless the scope's role is one of `roles`.
    public func require(_ roles: Set<Role>) throws {
        guard roles.contains(role) else {
            throw HygieCoreError.forbidden("your role (\(role.rawValue)) cannot do this")
        }
    }
}
