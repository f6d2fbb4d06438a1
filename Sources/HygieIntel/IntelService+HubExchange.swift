public import Foundation
public import HygieCore
import HygieStorage
import STIX

/// What a hub gives an enrolling establishment to exchange TAXII collections with it: read access to the hub's
/// shared collection, write access to its inbox, through a machine account of the hub's instance.
public struct HubExchange: Sendable, Hashable {
    /// The hub's API root (its coordinating establishment).
    public var root: UUID
    /// The hub's collection shared with its members (read).
    public var down: UUID
    /// The hub's collection where members send what they share upward (write).
    public var up: UUID
    public var username: String
    public var secret: String

    public init(root: UUID, down: UUID, up: UUID, username: String, secret: String) {
        self.root = root
        self.down = down
        self.up = up
        self.username = username
        self.secret = secret
    }
}

extension IntelService {
    public static let hubSharedTitle = "Partage du hub"
    public static let hubInboxTitle = "Remontées des établissements"
    public static let receivedFromHubTitle = "Reçu du hub"
    public static let sentToHubTitle = "Envoyé au hub"

    static func federationScope(_ establishment: Establishment.ID) -> TenantScope {
        TenantScope(establishmentID: establishment, role: .admin, actor: .system("federation", channel: "federation"))
    }

    /// The collection with this id, created with these settings on first use.
    func ensureCollection(
        _ id: UUID, title: String, description: String, alias: String, tlp: TLP, in scope: TenantScope
    ) async throws -> UUID {
        if (try? await ownCollection(id, in: scope)) == nil {
            _ = try await createCollection(
                title: title, description: description, alias: alias, defaultTLP: tlp, distribution: .establishment,
                sharingGroupID: nil, id: id, in: scope)
        }
        return id
    }

    /// On the hub, when an establishment enrols: the coordinator's shared collection and inbox (created on first
    /// use), a machine account for the member (TLP:AMBER at most), read on the first, write on the second.
    public func provisionHubExchange(coordinator: Establishment.ID, member: UUID, organisation: String) async throws
        -> HubExchange
    {
        let scope = Self.federationScope(coordinator)
        let key = coordinator.uuid.uuidString
        let down = try await ensureCollection(
            Self.derivedID("hub-shared:\(key)"), title: Self.hubSharedTitle,
            description: "Renseignement que le hub partage avec ses établissements membres.", alias: "hub-shared",
            tlp: .amber, in: scope)
        let up = try await ensureCollection(
            Self.derivedID("hub-inbox:\(key)"), title: Self.hubInboxTitle,
            description: "Ce que les établissements membres remontent au hub.", alias: "hub-inbox", tlp: .amber,
            in: scope)
        let (account, secret) = try await createAccount(
            username: "membre-\(member.uuidString.prefix(13).lowercased())",
            organisation: String(organisation.prefix(200)),
            maxTLP: .amber, in: scope)
        try await grant(collection: down, account: account.id, group: nil, canRead: true, canWrite: false, in: scope)
        try await grant(collection: up, account: account.id, group: nil, canRead: false, canWrite: true, in: scope)
        return HubExchange(root: coordinator.uuid, down: down, up: up, username: account.username, secret: secret)
    }

    /// On the establishment, after joining: a pull feed from the hub's shared collection into *Reçu du hub* and a
    /// push feed from *Envoyé au hub* to the hub's inbox, hourly; detection reads the first like any collection.
    public func connectHubExchange(_ exchange: HubExchange, hubURL: String, for establishment: Establishment.ID)
        async throws -> [IntelFeed]
    {
        let scope = Self.federationScope(establishment)
        let key = establishment.uuid.uuidString
        let received = try await ensureCollection(
            Self.derivedID("hub-received:\(key)"), title: Self.receivedFromHubTitle,
            description: "Renseignement reçu du hub de coordination.", alias: "hub-received", tlp: .amber, in: scope)
        let sent = try await ensureCollection(
            Self.derivedID("hub-sent:\(key)"), title: Self.sentToHubTitle,
            description: "Ce que l'établissement partage avec le hub (envoyé chaque heure).", alias: "hub-sent",
            tlp: .amber, in: scope)
        func url(_ collection: UUID) -> String {
            "\(hubURL)/taxii2/\(exchange.root.uuidString.lowercased())/collections/\(collection.uuidString.lowercased())/"
        }
        return [
            try await createFeed(
                name: "hub-partage", direction: .pull, url: url(exchange.down), username: exchange.username,
                secret: exchange.secret, collectionID: received, intervalMinutes: 60, in: scope),
            try await createFeed(
                name: "hub-remontees", direction: .push, url: url(exchange.up), username: exchange.username,
                secret: exchange.secret, collectionID: sent, intervalMinutes: 60, in: scope),
        ]
    }
}
