public import FluentKit

/// The federation module's migrations, in order.
public enum FederationMigrations {
    public static var all: [any Migration] { [CreateFederationTables(), CreateBroadcastsAndRollups()] }
}
