public import Foundation

/// A health establishment: the tenant of every piece of data in Hygie.
public struct Establishment: Sendable, Hashable, Codable, Identifiable {
    public typealias ID = Identifier<Establishment>

    public let id: ID
    public var name: String
    /// The 9-character FINESS number, when the establishment has one.
    public var finess: FINESS?
    public var kind: EstablishmentKind
    public var groupID: EstablishmentGroup.ID?
    public var regionID: Region.ID?
    public var createdAt: Date

    public init(
        id: ID, name: String, finess: FINESS?, kind: EstablishmentKind,
        groupID: EstablishmentGroup.ID?, regionID: Region.ID?, createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.finess = finess
        self.kind = kind
        self.groupID = groupID
        self.regionID = regionID
        self.createdAt = createdAt
    }
}

/// The legal kind of an establishment, as hospital people name it.
public enum EstablishmentKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Centre hospitalier universitaire / régional.
    case chu
    /// Centre hospitalier.
    case ch
    /// Centre hospitalier spécialisé (psychiatry).
    case chs
    /// Établissement de santé privé d'intérêt collectif.
    case espic
    /// Private clinic.
    case clinic
    /// Nursing home (EHPAD).
    case ehpad
    /// Medical laboratory, imaging centre and other health structures.
    case other
    /// Regional agency, GRADeS or national body: holds coordinators, owns no patient-facing activity.
    case authority
}

/// A hospital group (in France a GHT, groupement hospitalier de territoire).
public struct EstablishmentGroup: Sendable, Hashable, Codable, Identifiable {
    public typealias ID = Identifier<EstablishmentGroup>
    public let id: ID
    public var name: String
    public var regionID: Region.ID?

    public init(id: ID, name: String, regionID: Region.ID?) {
        self.id = id
        self.name = name
        self.regionID = regionID
    }
}

/// A region (in France the territory of an ARS, a regional health agency).
public struct Region: Sendable, Hashable, Codable, Identifiable {
    public typealias ID = Identifier<Region>
    public let id: ID
    public var name: String
    /// Short code such as "ARA" or "IDF".
    public var code: String

    public init(id: ID, name: String, code: String) {
        self.id = id
        self.name = name
        self.code = code
    }
}

/// A department or service of an establishment (cardiology, pharmacy, biomedical engineering…).
public struct Department: Sendable, Hashable, Codable, Identifiable {
    public typealias ID = Identifier<Department>
    public let id: ID
    public let establishmentID: Establishment.ID
    public var name: String
    public var code: String
    public var kind: DepartmentKind
    public var createdAt: Date

    public init(
        id: ID, establishmentID: Establishment.ID, name: String, code: String, kind: DepartmentKind,
        createdAt: Date
    ) {
        self.id = id
        self.establishmentID = establishmentID
        self.name = name
        self.code = code
        self.kind = kind
        self.createdAt = createdAt
    }
}

/// Whether a department delivers care, supports it technically, or administers.
public enum DepartmentKind: String, Sendable, Hashable, Codable, CaseIterable {
    case clinical
    case medicoTechnical = "medico-technical"
    case technical
    case administrative
}
