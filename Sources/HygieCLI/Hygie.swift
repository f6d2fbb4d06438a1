import ArgumentParser
import Foundation

@main
struct Hygie: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hygie",
        abstract: "Hygie — cybersecurity platform for hospitals.",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, CreateAdminCommand.self, AuditCommand.self, BackupCommand.self,
            DemoCommand.self, HuntCommand.self, AlertsCommand.self, RulesCommand.self, SourcesCommand.self,
            DetectionSettingsCommand.self, IntelCommand.self, EstablishmentsCommand.self, VulnCommand.self,
            AwarenessCommand.self, CasesCommand.self, PrivacyCommand.self, HubCommand.self, TokenCommand.self,
            VersionCommand.self,
        ])

    static let version = "0.1.0"
}

/// Options every subcommand that opens the database takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "Data directory (SQLite file, instance key). Env: HYGIE_DATA_DIR.")
    var dataDir: String?

    func load(extra: [String: String] = [:]) async throws -> HygieConfiguration {
        var overrides = extra
        if let dataDir { overrides["hygie.dataDir"] = dataDir }
        do {
            return try await HygieConfiguration.load(
                overrides: overrides, configFile: config, environment: ProcessInfo.processInfo.environment)
        } catch let error as HygieConfiguration.Invalid {
            throw ValidationError(error.description)
        }
    }
}
