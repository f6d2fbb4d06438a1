import Foundation

/// `../shared/data/frameworks` beside the checkout (or `HYGIE_SHARED_DATA/frameworks`).
let frameworksData: String = {
    if let shared = ProcessInfo.processInfo.environment["HYGIE_SHARED_DATA"] {
        return (shared as NSString).appendingPathComponent("frameworks")
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.deletingLastPathComponent().appendingPathComponent("shared/data/frameworks").path
}()

func frameworkFile(_ relative: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: (frameworksData as NSString).appendingPathComponent(relative)))
}

/// Every CISO Assistant YAML file of the test data.
func cisoAssistantFiles() throws -> [String] {
    let folder = (frameworksData as NSString).appendingPathComponent("ciso-assistant")
    return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }.sorted()
        .map { "ciso-assistant/\($0)" }
}
