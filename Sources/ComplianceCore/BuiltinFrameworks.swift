import Foundation

/// The frameworks Hygie ships, written by the project in the library format (see `Resources/`).
public enum BuiltinFrameworks {
    public static let files = [
        "hygie-care-d2", "hygie-anssi-hygiene", "hygie-nis2-21", "hygie-hospiconnect", "hygie-anssi-ad",
    ]

    /// Every built-in library, parsed. A broken resource is a build defect, caught by the tests.
    public static func all() throws(FrameworkError) -> [FrameworkLibrary] {
        var libraries: [FrameworkLibrary] = []
        for name in files {
            guard let url = Bundle.module.url(forResource: name, withExtension: "yaml", subdirectory: "Resources"),
                let data = try? Data(contentsOf: url)  // A missing resource is reported just below.
            else {
                throw FrameworkError("built-in framework \(name) is missing from the build")
            }
            libraries.append(try LibraryReader.read(data))
        }
        return libraries
    }
}
