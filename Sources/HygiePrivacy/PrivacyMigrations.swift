public import FluentKit

/// The privacy module's migrations, in order.
public enum PrivacyMigrations {
    public static var all: [any Migration] { [CreatePrivacyTables()] }
}
