import ArgumentParser
import Foundation
import HygieCore
import HygieIntel
import HygieStorage
import STIX

/// `hygie intel …`: collections, TAXII accounts, sharing groups, grants, import and export.
struct IntelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intel", abstract: "Threat intelligence: collections, TAXII accounts, sharing, import and export.",
        subcommands: [
            Collections.self, CreateCollection.self, Accounts.self, CreateAccount.self, Groups.self, CreateGroup.self,
            Grant.self, Import.self, Export.self, Feeds.self, CreateFeed.self, Sync.self, Sightings.self,
            PublishSightings.self, Settings.self, MatchPattern.self,
        ])

    static func tlp(_ text: String) throws -> TLP {
        guard let level = TLP(name: text) else {
            throw CLIError("unknown TLP '\(text)' (clear, green, amber, amber+strict, red)")
        }
        return level
    }

    static func uuid(_ text: String, _ what: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw CLIError("not a \(what) id: \(text)") }
        return id
    }

    /// Runs `body` with the database open and the establishment's scope.
    static func run(
        _ common: CommonOptions, _ target: EstablishmentOption,
        _ body: (Bootstrap, TenantScope) async throws -> Void
    ) async throws {
        let boot = try Bootstrap(configuration: try await common.load())
        try await boot.withDatabase {
            try await boot.prepareSchema()
            try await body(boot, try await target.scope(boot))
        }
    }

    struct Collections: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Collections this establishment can use.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await IntelCommand.run(common, target) { boot, scope in
                for access in try await boot.intel.collections(for: boot.intel.principal(for: scope)) {
                    let collection = access.collection
                    print(
                        [
                            collection.id.uuidString.lowercased(), collection.title, collection.defaultTLP.label,
                            collection.distribution.rawValue, "\(collection.objectCount) objects",
                            collection.establishmentID == scope.establishmentID ? "own" : "shared with us",
                        ].joined(separator: "\t"))
                }
            }
        }
    }

    struct CreateCollection: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-collection", abstract: "Create a TAXII collection.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Title.") var title: String
        @Option(help: "Description.") var description: String?
        @Option(help: "Short alias.") var alias: String?
        @Option(help: "TLP assumed for objects without a marking.") var tlp = "amber"
        @Option(help: "Who else may read it: establishment, ght, region, nation, group.") var distribution =
            "establishment"
        @Option(help: "Sharing group id (with --distribution group).") var group: String?
        @Option(help: "Collection id to use (default: a new random id).") var id: String?

        func run() async throws {
            guard let distribution = Distribution(rawValue: distribution) else {
                throw CLIError("distribution is establishment, ght, region, nation or group")
            }
            let level = try IntelCommand.tlp(tlp)
            let groupID = try group.map { try IntelCommand.uuid($0, "sharing group") }
            let collectionID = try id.map { try IntelCommand.uuid($0, "collection") } ?? UUID()
            try await IntelCommand.run(common, target) { boot, scope in
                let collection = try await boot.intel.createCollection(
                    title: title, description: description, alias: alias, defaultTLP: level, distribution: distribution,
                    sharingGroupID: groupID, id: collectionID, in: scope)
                print(collection.id.uuidString.lowercased())
            }
        }
    }

    struct Accounts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "TAXII accounts of partners and peers.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await IntelCommand.run(common, target) { boot, scope in
                for account in try await boot.intel.accounts(in: scope) {
                    print(
                        [
                            account.id.uuidString.lowercased(), account.username, account.organisation,
                            account.maxTLP.label,
                            account.disabled ? "disabled" : "active", "\(account.secretPrefix)…",
                        ].joined(separator: "\t"))
                }
            }
        }
    }

    struct CreateAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-account", abstract: "Create a TAXII account; its secret is printed once.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "User name for HTTP Basic.") var username: String
        @Option(help: "Organisation behind the account.") var organisation: String
        @Option(help: "Most restricted TLP it may receive: clear, green, amber, amber+strict.") var maxTLP = "amber"
        @Flag(help: "Print only the secret (for scripts).") var quiet = false

        func run() async throws {
            let level = try IntelCommand.tlp(maxTLP)
            try await IntelCommand.run(common, target) { boot, scope in
                let (account, secret) = try await boot.intel.createAccount(
                    username: username, organisation: organisation, maxTLP: level, in: scope)
                if quiet {
                    print(secret)
                } else {
                    print("Created TAXII account \(account.username) (\(account.id.uuidString.lowercased()))")
                    print("Secret (shown once; HTTP Basic password or Bearer token): \(secret)")
                }
            }
        }
    }

    struct Groups: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sharing groups.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await IntelCommand.run(common, target) { boot, scope in
                for group in try await boot.intel.sharingGroups(in: scope) {
                    print(
                        [
                            group.id.uuidString.lowercased(), group.name,
                            "\(group.memberEstablishments.count) establishments",
                            "\(group.memberAccounts.count) accounts",
                        ].joined(separator: "\t"))
                }
            }
        }
    }

    struct CreateGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-group", abstract: "Create a sharing group.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Name.") var name: String
        @Option(help: "Description.") var description: String?
        @Option(help: "Member establishment ids, comma-separated.") var establishments = ""
        @Option(help: "Member TAXII account ids, comma-separated.") var accounts = ""

        func run() async throws {
            let members = try establishments.split(separator: ",").map {
                Establishment.ID(try IntelCommand.uuid(String($0), "establishment"))
            }
            let accountIDs = try accounts.split(separator: ",").map { try IntelCommand.uuid(String($0), "account") }
            try await IntelCommand.run(common, target) { boot, scope in
                let group = try await boot.intel.createSharingGroup(
                    name: name, description: description, establishments: members, accounts: accountIDs, in: scope)
                print(group.id.uuidString.lowercased())
            }
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give an account or a sharing group read and/or write access to a collection.",
            discussion:
                "Without --read or --write the collection stays listed for the grantee but cannot be used; --revoke removes it."
        )
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Collection id.") var collection: String
        @Option(help: "Account id or username.") var account: String?
        @Option(help: "Sharing group id.") var group: String?
        @Flag(help: "May read.") var read = false
        @Flag(help: "May write.") var write = false
        @Flag(help: "Remove the grant altogether.") var revoke = false

        func run() async throws {
            let collectionID = try IntelCommand.uuid(collection, "collection")
            let groupID = try group.map { try IntelCommand.uuid($0, "sharing group") }
            try await IntelCommand.run(common, target) { boot, scope in
                var accountID: UUID?
                if let account {
                    accountID = UUID(uuidString: account)
                    if accountID == nil {
                        accountID = try await boot.intel.accounts(in: scope).first { $0.username == account }?.id
                    }
                    guard accountID != nil else { throw CLIError("no account \(account) in this establishment") }
                }
                try await boot.intel.grant(
                    collection: collectionID, account: accountID, group: groupID, canRead: read, canWrite: write,
                    revoke: revoke,
                    in: scope)
                let rights = [read ? "read" : nil, write ? "write" : nil].compactMap { $0 }.joined(separator: "+")
                print(revoke ? "Revoked" : "Granted \(rights.isEmpty ? "visibility only" : rights)")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a STIX 2.1 bundle, an indicator CSV or a MISP event JSON into a collection.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Collection id.") var collection: String
        @Option(help: "stix, csv or misp (default: guessed from the content).") var format: String?
        @Argument(help: "File (- for standard input).") var file: String

        func run() async throws {
            let collectionID = try IntelCommand.uuid(collection, "collection")
            let data: Data
            if file == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let contents = FileManager.default.contents(atPath: file) else {
                    throw CLIError("cannot read \(file)")
                }
                data = contents
            }
            let bytes = Array(data)
            let kind: IntelService.ImportFormat
            if let format {
                guard let value = IntelService.ImportFormat(rawValue: format) else {
                    throw CLIError("format is stix, csv or misp")
                }
                kind = value
            } else {
                kind = IntelService.ImportFormat.guess(bytes)
            }
            try await IntelCommand.run(common, target) { boot, scope in
                let status = try await boot.intel.importContent(bytes, format: kind, into: collectionID, in: scope)
                let stored = status.successes.filter { $0.message == nil }.count
                print(
                    "\(status.totalCount) object(s): \(stored) stored, \(status.successCount - stored) already present, \(status.failureCount) refused"
                )
                for failure in status.failures.prefix(20) {
                    print("  refused \(failure.id.isEmpty ? "(no id)" : failure.id): \(failure.message ?? "")")
                }
                if status.failureCount > 0 && status.successCount == 0 { throw ExitCode(1) }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a collection as a STIX 2.1 bundle (objects up to --max-tlp; TLP:RED never leaves).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Collection id.") var collection: String
        @Option(help: "Most restricted TLP to include: clear, green, amber, amber+strict.") var maxTLP = "amber"
        @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?

        func run() async throws {
            let collectionID = try IntelCommand.uuid(collection, "collection")
            let level = try IntelCommand.tlp(maxTLP)
            try await IntelCommand.run(common, target) { boot, scope in
                let bytes = try await boot.intel.exportBundle(collection: collectionID, maxTLP: level, in: scope)
                if let output {
                    try Data(bytes).write(to: URL(fileURLWithPath: output))
                } else {
                    FileHandle.standardOutput.write(Data(bytes))
                    print()
                }
            }
        }
    }

    struct Feeds: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "TAXII feeds with their health.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await IntelCommand.run(common, target) { boot, scope in
                let now = Date()
                for feed in try await boot.intel.feeds(in: scope) {
                    print(
                        [
                            feed.id.uuidString.lowercased(), feed.name, feed.direction.rawValue, feed.health(at: now),
                            "\(feed.objectsTotal) objects",
                            feed.lastSuccessAt.map { ISO8601DateFormatter().string(from: $0) } ?? "never",
                            feed.lastError ?? "",
                        ].joined(separator: "\t"))
                }
            }
        }
    }

    struct CreateFeed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-feed",
            abstract: "Subscribe to a remote TAXII collection (pull) or send a local collection to one (push).",
            discussion:
                "With --secret-stdin the password or bearer token is read from standard input and kept encrypted.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Name.") var name: String
        @Option(help: "pull or push.") var direction = "pull"
        @Option(help: "Remote collection URL (https://hub/taxii2/ROOT/collections/ID/).") var url: String
        @Option(help: "HTTP Basic user name (none: the secret is a Bearer token).") var username: String?
        @Flag(help: "Read the secret from standard input.") var secretStdin = false
        @Option(help: "Local collection id (filled by a pull, read by a push).") var collection: String
        @Option(help: "Minutes between runs (5 to 10080).") var interval = 60
        @Option(help: "Push: most restricted TLP sent (clear, green, amber, amber+strict).") var maxTLP = "amber"

        func run() async throws {
            guard let kind = IntelFeed.Direction(rawValue: direction) else {
                throw CLIError("direction is pull or push")
            }
            let collectionID = try IntelCommand.uuid(collection, "collection")
            let level = try IntelCommand.tlp(maxTLP)
            var secret: String?
            if secretStdin {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw CLIError("no secret on standard input")
                }
                secret = line
            }
            try await IntelCommand.run(common, target) { boot, scope in
                let feed = try await boot.intel.createFeed(
                    name: name, direction: kind, url: url, username: username, secret: secret,
                    collectionID: collectionID,
                    intervalMinutes: interval, maxTLP: level, in: scope)
                print(feed.id.uuidString.lowercased())
            }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a feed now; exits 1 if it fails.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Argument(help: "Feed id or name.") var feed: String

        func run() async throws {
            try await IntelCommand.run(common, target) { boot, scope in
                guard
                    let id = try await boot.intel.feeds(in: scope).first(where: {
                        $0.id.uuidString.lowercased() == feed.lowercased() || $0.name == feed
                    })?.id
                else { throw CLIError("no feed \(feed)") }
                let result = try await boot.intel.runFeed(id, in: scope)
                print(
                    "\(result.name): \(result.lastObjects) object(s), \(result.lastError.map { "error: \($0)" } ?? "ok")"
                )
                if result.lastError != nil { throw ExitCode(1) }
            }
        }
    }

    struct Sightings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Indicators seen in this establishment's logs.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption

        func run() async throws {
            try await IntelCommand.run(common, target) { boot, scope in
                let format = ISO8601DateFormatter()
                for sighting in try await boot.intel.sightings(in: scope) {
                    print(
                        [
                            sighting.indicatorID, sighting.name ?? "", sighting.tlp.label, String(sighting.count),
                            format.string(from: sighting.firstSeen), format.string(from: sighting.lastSeen),
                        ].joined(separator: "\t"))
                }
            }
        }
    }

    struct PublishSightings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "publish-sightings",
            abstract: "Add this establishment's sightings (STIX, no internal detail) to one of its collections.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Collection id.") var collection: String

        func run() async throws {
            let collectionID = try IntelCommand.uuid(collection, "collection")
            try await IntelCommand.run(common, target) { boot, scope in
                let status = try await boot.intel.publishSightings(to: collectionID, in: scope)
                print(
                    "\(status.successes.filter { $0.message == nil }.count) new sighting version(s), \(status.failureCount) refused"
                )
            }
        }
    }

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "settings", abstract: "Show or change own domains (never alerted on) and upward anonymisation."
        )
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: EstablishmentOption
        @Option(help: "Comma-separated own domains (empty string clears them).") var ownDomains: String?
        @Option(help: "Anonymise what is shared upward: true or false.") var anonymiseUpward: Bool?

        func run() async throws {
            try await IntelCommand.run(common, target) { boot, scope in
                var settings = try await boot.intel.settings(in: scope)
                if ownDomains != nil || anonymiseUpward != nil {
                    if let ownDomains { settings.ownDomains = ownDomains.split(separator: ",").map(String.init) }
                    if let anonymiseUpward { settings.anonymiseUpward = anonymiseUpward }
                    try await boot.intel.updateSettings(settings, in: scope)
                    settings = try await boot.intel.settings(in: scope)
                }
                print(
                    "own domains: \(settings.ownDomains.isEmpty ? "none" : settings.ownDomains.joined(separator: ", "))"
                )
                print("anonymise upward: \(settings.anonymiseUpward)")
            }
        }
    }

    struct MatchPattern: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "match-pattern",
            abstract: "Evaluate a STIX pattern over observed data (a bundle or list of observed-data and observables).",
            discussion:
                "Prints the matching observations. Exit status: 0 match, 1 no match, 2 error (like grep). No database.")
        @Argument(help: "STIX 2.1 pattern.") var pattern: String
        @Option(help: "JSON file: a bundle, or a list of observed-data objects and the observables they refer to.")
        var observed: String

        func run() async throws {
            let parsed: STIXPattern
            do {
                parsed = try PatternParser.parse(pattern)
            } catch {
                FileHandle.standardError.write(Data("invalid pattern: \(error)\n".utf8))
                throw ExitCode(2)
            }
            guard let data = FileManager.default.contents(atPath: observed) else {
                FileHandle.standardError.write(Data("cannot read \(observed)\n".utf8))
                throw ExitCode(2)
            }
            let observations: [Observation]
            do {
                let document = try JSONParser.parse(Array(data))
                let objects = document["objects"]?.arrayValue ?? document.arrayValue ?? []
                observations = try Observation.from(bundle: objects)
            } catch {
                FileHandle.standardError.write(Data("invalid observed data: \(error)\n".utf8))
                throw ExitCode(2)
            }
            guard let matched = PatternMatcher(parsed).firstMatch(observations) else {
                print("no match")
                throw ExitCode(1)
            }
            print("match: observations \(matched.map(String.init).joined(separator: ", "))")
        }
    }
}
