public import FluentKit

/// The compliance module's migrations, in order.
public enum ComplianceMigrations {
    public static var all: [any Migration] { [CreateFrameworks(), CreateAssessments()] }
}
