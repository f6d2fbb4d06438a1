public import FluentKit

/// The detection module's migrations, in order.
public enum DetectionMigrations {
    public static var all: [any Migration] { [CreateSources(), CreateEvents(), CreateRules(), CreateAlerts()] }
}
