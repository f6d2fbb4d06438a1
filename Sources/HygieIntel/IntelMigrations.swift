public import FluentKit

/// The intel module's migrations, in order.
public enum IntelMigrations {
    public static var all: [any Migration] { [CreateSharing(), CreateObjects(), CreateFeeds()] }
}
