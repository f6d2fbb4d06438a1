import ArgumentParser

struct PrivacyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy", abstract: "EHR access monitoring: explained accesses, flags and the DPO's reviews.",
        subcommands: [Analyze.self, Generate.self, Evaluate.self])
}
