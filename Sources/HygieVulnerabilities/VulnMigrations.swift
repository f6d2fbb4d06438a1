public import FluentKit

/// The vulnerability module's migrations, in order.
public enum VulnMigrations {
    public static var all: [any Migration] { [CreateVulnerabilityData(), CreateInventory(), CreateFindings()] }
}
