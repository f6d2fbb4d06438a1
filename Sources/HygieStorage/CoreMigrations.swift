public import FluentKit

/// The migrations of the shared (core) tables, in order. Feature modules publish their own lists; `hygie`
/// concatenates them.
public enum CoreMigrations {
    public static var all: [any Migration] {
        [
            CreateRegions(), CreateGroups(), CreateEstablishments(), CreateDepartments(), CreateUsers(),
            CreateMemberships(), CreateRecoveryCodes(), CreateSessions(), CreateAPITokens(), CreateLoginAttempts(),
            CreateAuditEvents(), CreateSetupTokens(),
        ]
    }
}
