public import FluentKit

/// The awareness module's migrations, in order.
public enum AwarenessMigrations {
    public static var all: [any Migration] { [CreateSimulation()] }
}
