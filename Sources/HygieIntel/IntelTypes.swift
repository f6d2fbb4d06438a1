public import Foundation
public import HygieCore
public import STIX

/// Errors of the intel module that are not plain validation, permission or not-found errors.
public enum IntelError: ClassifiedError, Sendable, Equatable {
    /// Content that cannot be read at all (not JSON, not an envelope or bundle).
    case unreadable(String)
    /// A bad query parameter (`limit=0`, a malformed `added_after`, a `next` token from another query).
    case badParameter(String)
    case tooLarge(limit: Int)

    public var kind: ErrorKind {
        switch self {
        case .unreadable, .badParameter: .badRequest
        case .tooLarge: .payloadTooLarge
        }
    }

    public var publicMessage: String {
        switch self {
        case .unreadable(let message), .badParameter(let message): message
        case .tooLarge(let limit): "the content is larger than \(limit) bytes"
        }
    }
}

/// Who may see a collection besides the accounts and sharing groups it is granted to, in the manner of MISP's
/// distribution levels: the owner only, its GHT, its region, every establishment of the instance, or the members
/// of one sharing group.
public enum Distribution: String, Sendable, Codable, CaseIterable {
    case establishment, ght, region, nation, group
}

/// A TAXII collection owned by an establishment.
public struct IntelCollection: Sendable, Hashable, Identifiable {
    public let id: UUID
    public let establishmentID: Establishment.ID
    public var title: String
    public var description: String?
    public var alias: String?
    /// The TLP assumed for objects that carry no TLP marking.
    public var defaultTLP: TLP
    public var distribution: Distribution
    public var sharingGroupID: UUID?
    public var objectCount: Int
    public var createdAt: Date
}

/// A collection as one principal sees it: with that principal's rights.
public struct CollectionAccess: Sendable, Hashable {
    public var collection: IntelCollection
    public var canRead: Bool
    public var canWrite: Bool

    public init(collection: IntelCollection, canRead: Bool, canWrite: Bool) {
        self.collection = collection
        self.canRead = canRead
        self.canWrite = canWrite
    }
}

/// A machine account for a partner, a peer instance, a hub or a tool: HTTP Basic (`username` + secret) or
/// Bearer (the secret) on `/taxii2/`. Only a hash of the secret is kept.
public struct IntelAccount: Sendable, Hashable, Identifiable {
    public let id: UUID
    public let establishmentID: Establishment.ID
    public var username: String
    /// The organisation behind the account (shown in audit entries and grants).
    public var organisation: String
    public var secretPrefix: String
    /// The most restricted TLP this account may receive (RED never leaves through TAXII).
    public var maxTLP: TLP
    public var disabled: Bool
    public var lastUsedAt: Date?
    public var createdAt: Date
}

/// A named set of establishments and accounts that collections can be shared with.
public struct SharingGroup: Sendable, Hashable, Identifiable {
    public let id: UUID
    public let establishmentID: Establishment.ID
    public var name: String
    public var description: String?
    public var memberEstablishments: [Establishment.ID]
    public var memberAccounts: [UUID]
}

/// One read/write right on a collection, given to an account or a sharing group.
public struct CollectionGrant: Sendable, Hashable {
    public var collectionID: UUID
    public var accountID: UUID?
    public var groupID: UUID?
    public var canRead: Bool
    public var canWrite: Bool
}

/// Who is asking, on the TAXII surface or through the pages and API: a machine account, or a member of an
/// establishment (with a role).
public struct IntelPrincipal: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case account(UUID)
        case member(Role)
    }

    public var kind: Kind
    public var establishmentID: Establishment.ID
    /// Objects marked above this TLP are invisible to the principal.
    public var maxTLP: TLP
    /// For audit entries and status resources.
    public var name: String
    public var actor: Actor
}

/// Which objects a listing returns (TAXII 2.1 §3.4 filters), already parsed.
public struct ObjectFilter: Sendable, Hashable {
    public enum VersionSelector: Sendable, Hashable {
        case first, last
        case exact(Int64)
    }

    public var ids: [String] = []
    public var types: [String] = []
    /// Empty means the default (`last`); nil entries are impossible: `all` is `versions == nil`.
    public var versions: [VersionSelector]? = [.last]
    /// Whether the request named versions (Delete an Object removes every version otherwise).
    public var explicitVersions = false
    public var specVersions: [String] = []
    public var addedAfter: Int64?
    public var limit: Int = 100

    public init() {}

    /// Reads TAXII query parameters. Throws ``IntelError/badParameter(_:)`` for bad values.
    public init(query: [String: String], maximumLimit: Int) throws(IntelError) {
        func list(_ key: String) -> [String] {
            (query[key] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
        }
        ids = list("match[id]")
        types = list("match[type]")
        for type in types where !STIXObject.isValidType(type) {
            throw IntelError.badParameter("match[type]: '\(type)' is not a STIX type")
        }
        specVersions = list("match[spec_version]")
        for version in specVersions where !["2.0", "2.1"].contains(version) {
            throw IntelError.badParameter("match[spec_version]: unknown version '\(version)'")
        }
        let versionValues = list("match[version]")
        explicitVersions = !versionValues.isEmpty
        if versionValues.contains("all") {
            guard versionValues.count == 1 else {
                throw IntelError.badParameter("match[version]: 'all' cannot be combined with other values")
            }
            versions = nil
        } else if !versionValues.isEmpty {
            var selectors: [VersionSelector] = []
            for value in versionValues {
                switch value {
                case "first": selectors.append(.first)
                case "last": selectors.append(.last)
                default:
                    guard let stamp = STIXTimestamp(value) else {
                        throw IntelError.badParameter(
                            "match[version]: '\(value)' is not first, last, all or a timestamp")
                    }
                    selectors.append(.exact(stamp.microseconds))
                }
            }
            versions = selectors
        }
        if let text = query["added_after"] {
            guard let stamp = STIXTimestamp(text) else {
                throw IntelError.badParameter("added_after: '\(text)' is not an RFC 3339 UTC timestamp")
            }
            addedAfter = stamp.microseconds
        }
        if let text = query["limit"] {
            guard let value = Int(text), value > 0 else {
                throw IntelError.badParameter("limit must be a positive integer")
            }
            limit = min(value, maximumLimit)
        } else {
            limit = min(100, maximumLimit)
        }
    }

    /// What a `next` token is bound to: every filter except the page position and size.
    var fingerprint: String {
        let versionsText = versions.map { $0.map { "\($0)" }.joined(separator: ",") } ?? "all"
        return [
            ids.joined(separator: ","), types.joined(separator: ","), versionsText, specVersions.joined(separator: ","),
        ]
        .joined(separator: "|")
    }
}

/// One stored version of an object.
public struct StoredObject: Sendable, Hashable {
    public var stixID: String
    public var type: String
    public var specVersion: String
    /// The version as the object wrote it (`modified`, else `created`); the date added for unversioned objects.
    public var versionText: String
    public var version: Int64
    public var dateAdded: Int64
    public var tlp: TLP
    public var revoked: Bool
    public var isLatest: Bool
    public var name: String?
    /// The JSON text of the object, exactly as it was received.
    public var body: String
}

/// A page of objects with the TAXII paging values.
public struct ObjectPage: Sendable {
    public var objects: [StoredObject]
    public var more: Bool
    /// A token for the next page (only when `more`).
    public var next: String?
    /// `date_added` of the first and last object of the page; for an empty page, the position the page started
    /// after (so `added_after` polling keeps its place).
    public var firstAdded: Int64?
    public var lastAdded: Int64?
}

/// The status resource of an "add objects" request (TAXII 2.1 §4.3.1).
public struct AddStatus: Sendable, Hashable {
    public struct Detail: Sendable, Hashable {
        public var id: String
        public var version: String
        public var message: String?
    }

    public var id: UUID
    public var status: String
    public var requestTimestamp: Int64
    public var totalCount: Int
    public var successCount: Int
    public var failureCount: Int
    public var pendingCount: Int
    public var successes: [Detail]
    public var failures: [Detail]
}

extension TLP {
    /// The level a `tlp_rank` column holds (its ``rank``).
    init(storedRank: Int) {
        self = TLP.allCases[max(0, min(storedRank, TLP.allCases.count - 1))]
    }
}
