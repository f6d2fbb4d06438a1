import ArgumentParser
import Foundation
import HygieCore
import HygieStorage
import SQLKit

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (run once before starting PostgreSQL nodes).")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Only list the pending migrations.")
    var dryRun = false

    func run() async throws {
        let boot = try Bootstrap(configuration: try await common.load())
        try await boot.withDatabase {
            let pending = try await boot.database.pendingMigrations()
            if dryRun {
                print(
                    pending.isEmpty ? "No pending migration." : pending.map { "pending: \($0)" }.joined(separator: "\n")
                )
                return
            }
            try await boot.database.migrate()
            print("Applied \(pending.count) migration(s).")
        }
    }
}

struct CreateAdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-admin",
        abstract: "Create an instance administrator. The password is read from standard input.")

    @OptionGroup var common: CommonOptions

    @Option(help: "E-mail address (the login).")
    var email: String

    @Option(help: "Name shown in the interface.")
    var name: String

    @Option(help: "Interface language: fr or en.")
    var locale: String = "fr"

    func run() async throws {
        let boot = try Bootstrap(configuration: try await common.load())
        if isatty(STDIN_FILENO) != 0 { print("Password (at least 12 characters): ", terminator: "") }
        guard let password = readLine(strippingNewline: true), !password.isEmpty else {
            throw CLIError("no password on standard input")
        }
        try await boot.withDatabase {
            try await boot.prepareSchema()
            let user = try await boot.identity().createInstanceAdmin(
                NewUser(email: email, displayName: name, password: password, role: "admin", locale: locale),
                by: .system("hygie create-admin", channel: "cli"))
            print("Created administrator \(user.email). They will set up two-factor authentication at first sign-in.")
        }
    }
}

struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the hash chain of the audit trail (not a compliance audit); exit 1 at the first broken link.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let boot = try Bootstrap(configuration: try await common.load())
        let result = try await boot.withDatabase { try await boot.audit.verify(on: boot.database.db) }
        if let broken = result.firstBroken {
            print(
                "Audit trail BROKEN at event #\(broken.sequence): \(broken.reason) (\(result.checked) events verified before it)."
            )
            throw ExitCode(1)
        }
        print("Audit trail intact: \(result.checked) events verified.")
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the SQLite database, even while Hygie is serving.",
        discussion: "On PostgreSQL use pg_dump (see docs/operations.md).")

    @OptionGroup var common: CommonOptions

    @Option(name: .shortAndLong, help: "Backup file to create (must not exist).")
    var output: String

    func run() async throws {
        let boot = try Bootstrap(configuration: try await common.load())
        guard boot.database.dialect == .sqlite else {
            await boot.database.shutdown()
            throw CLIError("this instance uses PostgreSQL: back it up with pg_dump (see docs/operations.md)")
        }
        guard !FileManager.default.fileExists(atPath: output) else {
            await boot.database.shutdown()
            throw CLIError("\(output) already exists")
        }
        try await boot.withDatabase {
            // VACUUM INTO takes a read transaction: a consistent snapshot while writers go on (WAL).
            try await boot.database.sql.raw("VACUUM INTO \(bind: output)").run()
        }
        // try?: the size is only informative.
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        print("Backup written to \(output) (\(size) bytes).")
    }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")
    func run() { print("hygie \(Hygie.version)") }
}

struct EstablishmentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "establishments", abstract: "List or add establishments (instance administration).",
        subcommands: [List.self, Add.self, AddMember.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every establishment: id, FINESS, name.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let boot = try Bootstrap(configuration: try await common.load())
            try await boot.withDatabase {
                try await boot.prepareSchema()
                for establishment in try await boot.tenancy.establishments(visibleTo: User.ID(), isInstanceAdmin: true)
                {
                    print(
                        [
                            establishment.id.uuidString.lowercased(), establishment.finess?.value ?? "-",
                            establishment.name,
                        ]
                        .joined(separator: "\t"))
                }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an establishment; prints its id.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Name.") var name: String
        @Option(help: "FINESS number (9 digits).") var finess: String?
        @Option(help: "Kind: \(EstablishmentKind.allCases.map(\.rawValue).joined(separator: ", ")).") var kind = "ch"
        @Option(help: "GHT (group) id.") var group: String?
        @Option(help: "Region id.") var region: String?

        func run() async throws {
            let boot = try Bootstrap(configuration: try await common.load())
            try await boot.withDatabase {
                try await boot.prepareSchema()
                let created = try await boot.tenancy.createEstablishment(
                    .init(name: name, finess: finess, kind: kind, groupID: group, regionID: region),
                    by: .system("hygie establishments add", channel: "cli"))
                print(created.id.uuidString.lowercased())
            }
        }
    }
    struct AddMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-member",
            abstract:
                "Give a user a role in an establishment (created if new; the password is read from standard input).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "E-mail address (the login).") var email: String
        @Option(help: "Name shown in the interface.") var name: String
        @Option(help: "Role: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") var role: String
        @Option(help: "Interface language: fr or en.") var locale = "fr"

        func run() async throws {
            if isatty(STDIN_FILENO) != 0 { print("Password (at least 12 characters): ", terminator: "") }
            let password = readLine(strippingNewline: true) ?? ""
            try await VulnCommand.run(common) { boot in
                let member = try await boot.identity().addMember(
                    NewUser(email: email, displayName: name, password: password, role: role, locale: locale),
                    in: try await target.scope(boot))
                print("\(member.user.email): \(member.role.rawValue)")
            }
        }
    }
}
