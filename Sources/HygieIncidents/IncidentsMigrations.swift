public import FluentKit

/// The incidents module's migrations, in order.
public enum IncidentsMigrations {
    public static var all: [any Migration] { [CreateReports(), CreateCases(), CreateCaseFiles()] }
}
