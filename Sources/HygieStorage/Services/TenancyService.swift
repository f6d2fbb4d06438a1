import FluentKit
import Foundation
public import HygieCore

/// Establishments, groups (GHT), regions and departments.
///
/// Creating establishments, groups and regions is for the instance admin; departments belong to one
/// establishment and are read and written through a ``TenantScope``.
public struct TenancyService: Sendable {
    let database: DatabaseService
    let audit: AuditTrail
    let clock: any HygieClock

    public init(database: DatabaseService, audit: AuditTrail, clock: any HygieClock) {
        self.database = database
        self.audit = audit
        self.clock = clock
    }

    // MARK: Regions and groups

    public func createRegion(name: String, code: String, by actor: Actor) async throws -> Region {
        try requireInstanceAdmin(actor)
        let name = try Validate.text(name, field: "name", max: 200)
        let code = try Validate.code(code, field: "code")
        let now = clock.now()
        return try await database.transaction { db in
            if try await RegionModel.query(on: db).filter(\.$code == code).first() != nil {
                throw HygieCoreError.conflict("a region with code \(code) exists")
            }
            let model = RegionModel()
            model.id = UUID()
            model.name = name
            model.code = code
            model.createdAt = now
            try await model.create(on: db)
            try await audit.record(
                AuditEntry(
                    action: "region.create", objectType: "region", objectID: model.id?.uuidString,
                    summary: "Created region \(name)"),
                by: actor, on: db)
            return Region(id: .init(model.id!), name: name, code: code)
        }
    }

    public func regions() async throws -> [Region] {
        try await RegionModel.query(on: database.db).sort(\.$name).all().map {
            Region(id: .init($0.id!), name: $0.name, code: $0.code)
        }
    }

    public func createGroup(name: String, regionID: Region.ID?, by actor: Actor) async throws -> EstablishmentGroup {
        try requireInstanceAdmin(actor)
        let name = try Validate.text(name, field: "name", max: 200)
        let now = clock.now()
        return try await database.transaction { db in
            if let regionID, try await RegionModel.find(regionID.uuid, on: db) == nil {
                throw ValidationError(field: "region", message: "unknown region", key: "unknownReference")
            }
            if try await GroupModel.query(on: db).filter(\.$name == name).first() != nil {
                throw HygieCoreError.conflict("a group named \(name) exists")
            }
            let model = GroupModel()
            model.id = UUID()
            model.name = name
            model.regionID = regionID?.uuid
            model.createdAt = now
            try await model.create(on: db)
            try await audit.record(
                AuditEntry(
                    action: "group.create", objectType: "group", objectID: model.id?.uuidString,
                    summary: "Created group \(name)"),
                by: actor, on: db)
            return EstablishmentGroup(id: .init(model.id!), name: name, regionID: regionID)
        }
    }

    public func groups() async throws -> [EstablishmentGroup] {
        try await GroupModel.query(on: database.db).sort(\.$name).all().map {
            EstablishmentGroup(id: .init($0.id!), name: $0.name, regionID: $0.regionID.map(Region.ID.init))
        }
    }

    // MARK: Establishments

    /// Input for a new establishment, parsed from a form or JSON body.
    public struct NewEstablishment: Sendable {
        public var name: String
        public var finess: String?
        public var kind: String
        public var groupID: String?
        public var regionID: String?
        public init(name: String, finess: String?, kind: String, groupID: String?, regionID: String?) {
            self.name = name
            self.finess = finess
            self.kind = kind
            self.groupID = groupID
            self.regionID = regionID
        }
    }

    public func createEstablishment(_ input: NewEstablishment, by actor: Actor) async throws -> Establishment {
        try requireInstanceAdmin(actor)
        let name = try Validate.text(input.name, field: "name", max: 200)
        let finess = try input.finess.flatMap { $0.isEmpty ? nil : try FINESS($0) }
        guard let kind = EstablishmentKind(rawValue: input.kind) else {
            throw ValidationError(field: "kind", message: "unknown kind \(input.kind)", key: "unknownChoice")
        }
        let groupID = try Validate.optionalID(input.groupID, field: "group", as: EstablishmentGroup.ID.self)
        let regionID = try Validate.optionalID(input.regionID, field: "region", as: Region.ID.self)
        let now = clock.now()
        return try await database.transaction { db in
            if let finess, try await EstablishmentModel.query(on: db).filter(\.$finess == finess.value).first() != nil {
                throw HygieCoreError.conflict("an establishment with FINESS \(finess.value) exists")
            }
            if let groupID, try await GroupModel.find(groupID.uuid, on: db) == nil {
                throw ValidationError(field: "group", message: "unknown group", key: "unknownReference")
            }
            if let regionID, try await RegionModel.find(regionID.uuid, on: db) == nil {
                throw ValidationError(field: "region", message: "unknown region", key: "unknownReference")
            }
            let model = EstablishmentModel()
            model.id = UUID()
            model.name = name
            model.finess = finess?.value
            model.kind = kind.rawValue
            model.groupID = groupID?.uuid
            model.regionID = regionID?.uuid
            model.createdAt = now
            model.updatedAt = now
            try await model.create(on: db)
            let establishment = try Self.establishment(model)
            try await audit.record(
                AuditEntry(
                    action: "establishment.create", objectType: "establishment", objectID: establishment.id.uuidString,
                    summary: "Created establishment \(name)", establishmentID: establishment.id),
                by: actor, on: db)
            return establishment
        }
    }

    /// Establishments an actor may open: all for the instance admin, otherwise those with a membership.
    public func establishments(visibleTo userID: User.ID, isInstanceAdmin: Bool) async throws -> [Establishment] {
        let db = database.db
        if isInstanceAdmin {
            return try await EstablishmentModel.query(on: db).sort(\.$name).all().map(Self.establishment)
        }
        let ids = try await MembershipModel.query(on: db).filter(\.$userID == userID.uuid).all().map(\.establishmentID)
        return try await establishments(ids.map(Establishment.ID.init))
    }

    /// The establishments with these ids, by name (ids of the caller's memberships).
    public func establishments(_ ids: [Establishment.ID]) async throws -> [Establishment] {
        if ids.isEmpty { return [] }
        return try await EstablishmentModel.query(on: database.db).filter(\.$id ~~ ids.map(\.uuid)).sort(\.$name).all()
            .map(Self.establishment)
    }

    /// The scope's own establishment.
    public func establishment(in scope: TenantScope) async throws -> Establishment {
        guard let model = try await EstablishmentModel.find(scope.establishmentID.uuid, on: database.db) else {
            throw HygieCoreError.notFound("establishment")
        }
        return try Self.establishment(model)
    }

    /// Aggregates of the establishments a coordinator oversees: those of the region of the coordinator's
    /// own (authority) establishment. Counts only, never names of people.
    public func coordinatorOverview(in scope: TenantScope) async throws -> [EstablishmentAggregate] {
        try scope.require([.coordinator, .admin])
        let db = database.db
        guard let own = try await EstablishmentModel.find(scope.establishmentID.uuid, on: db) else {
            throw HygieCoreError.notFound("establishment")
        }
        let query = EstablishmentModel.query(on: db).sort(\.$name)
        if scope.role == .coordinator {
            guard let region = own.regionID else { return [] }
            query.filter(\.$regionID == region)
        }
        var result: [EstablishmentAggregate] = []
        for model in try await query.all() where model.kind != EstablishmentKind.authority.rawValue {
            let id = model.id!
            result.append(
                EstablishmentAggregate(
                    establishment: try Self.establishment(model),
                    members: try await MembershipModel.query(on: db).filter(\.$establishmentID == id).count(),
                    departments: try await DepartmentModel.query(on: db).filter(\.$establishmentID == id).count()))
        }
        return result
    }

    // MARK: Departments

    public func departments(in scope: TenantScope) async throws -> [Department] {
        try await DepartmentModel.scoped(scope, on: database.db).sort(\.$name).all().map(Self.department)
    }

    /// A page of departments in creation order, for the API (keyset on `created_at`, `id`).
    public func departmentPage(in scope: TenantScope, after cursor: PageCursor?, size: PageSize) async throws
        -> HygieCore.Page<Department>
    {
        let query = DepartmentModel.scoped(scope, on: database.db)
        if let cursor {
            query.group(.or) {
                $0.filter(\.$createdAt > cursor.createdAt)
                    .group(.and) { $0.filter(\.$createdAt == cursor.createdAt).filter(\.$id > cursor.id) }
            }
        }
        let rows = try await query.sort(\.$createdAt).sort(\.$id).limit(size.value + 1).all()
        let items = try rows.prefix(size.value).map(Self.department)
        let next =
            rows.count > size.value ? items.last.map { PageCursor(createdAt: $0.createdAt, id: $0.id.uuid) } : nil
        return HygieCore.Page(items: items, next: next)
    }

    public func department(_ id: Department.ID, in scope: TenantScope) async throws -> Department {
        guard let model = try await DepartmentModel.find(id.uuid, in: scope, on: database.db) else {
            throw HygieCoreError.notFound("department")
        }
        return try Self.department(model)
    }

    public func createDepartment(name: String, code: String, kind: String, in scope: TenantScope) async throws
        -> Department
    {
        try scope.require([.admin, .rssi])
        let name = try Validate.text(name, field: "name", max: 200)
        let code = try Validate.code(code, field: "code")
        guard let kind = DepartmentKind(rawValue: kind) else {
            throw ValidationError(field: "kind", message: "unknown kind \(kind)", key: "unknownChoice")
        }
        let now = clock.now()
        return try await database.transaction { db in
            if try await DepartmentModel.scoped(scope, on: db).filter(\.$code == code).first() != nil {
                throw HygieCoreError.conflict("a department with code \(code) exists")
            }
            let model = DepartmentModel()
            model.id = UUID()
            model.establishmentID = scope.establishmentID.uuid
            model.name = name
            model.code = code
            model.kind = kind.rawValue
            model.createdAt = now
            model.updatedAt = now
            try await model.create(on: db)
            try await audit.record(
                AuditEntry(
                    action: "department.create", objectType: "department", objectID: model.id?.uuidString,
                    summary: "Created department \(code) \(name)", establishmentID: scope.establishmentID),
                by: scope.actor, on: db)
            return try Self.department(model)
        }
    }

    public func deleteDepartment(_ id: Department.ID, in scope: TenantScope) async throws {
        try scope.require([.admin, .rssi])
        try await database.transaction { db in
            guard let model = try await DepartmentModel.find(id.uuid, in: scope, on: db) else {
                throw HygieCoreError.notFound("department")
            }
            try await MembershipModel.scoped(scope, on: db).filter(\.$departmentID == id.uuid)
                .set(\.$departmentID, to: nil).update()
            try await model.delete(on: db)
            try await audit.record(
                AuditEntry(
                    action: "department.delete", objectType: "department", objectID: id.uuidString,
                    summary: "Deleted department \(model.code) \(model.name)", establishmentID: scope.establishmentID),
                by: scope.actor, on: db)
        }
    }

    // MARK: Mapping

    static func establishment(_ model: EstablishmentModel) throws -> Establishment {
        Establishment(
            id: .init(model.id!), name: model.name, finess: try model.finess.map(FINESS.init),
            kind: EstablishmentKind(rawValue: model.kind) ?? .other,
            groupID: model.groupID.map(EstablishmentGroup.ID.init),
            regionID: model.regionID.map(Region.ID.init), createdAt: model.createdAt)
    }

    static func department(_ model: DepartmentModel) throws -> Department {
        Department(
            id: .init(model.id!), establishmentID: .init(model.establishmentID), name: model.name, code: model.code,
            kind: DepartmentKind(rawValue: model.kind) ?? .administrative, createdAt: model.createdAt)
    }

    func requireInstanceAdmin(_ actor: Actor) throws {
        guard actor.isInstanceAdmin else {
            throw HygieCoreError.forbidden("only the instance administrator can do this")
        }
    }
}

/// What a coordinator sees of one establishment.
public struct EstablishmentAggregate: Sendable, Hashable {
    public let establishment: Establishment
    public let members: Int
    public let departments: Int
}

/// Input checks shared by the services.
package enum Validate {
    package static func text(_ value: String, field: String, max: Int, allowEmpty: Bool = false) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty && !allowEmpty {
            throw ValidationError(field: field, message: "is required", key: "required")
        }
        if trimmed.count > max {
            throw ValidationError(
                field: field, message: "at most \(max) characters", key: "tooLong", values: ["max": String(max)])
        }
        if trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw ValidationError(
                field: field, message: "must not contain control characters", key: "controlCharacters")
        }
        return trimmed
    }

    package static func code(_ value: String, field: String) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces).uppercased()
        guard (1...32).contains(trimmed.count),
            trimmed.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { throw ValidationError(field: field, message: "1 to 32 letters, digits, - or _", key: "code") }
        return trimmed
    }

    package static func email(_ value: String) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard trimmed.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !trimmed.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" })
        else { throw ValidationError(field: "email", message: "not an e-mail address", key: "email") }
        return trimmed
    }

    package static func optionalID<T>(_ value: String?, field: String, as: Identifier<T>.Type) throws -> Identifier<T>?
    {
        guard let value, !value.isEmpty else { return nil }
        guard let id = Identifier<T>(uuidString: value) else {
            throw ValidationError(field: field, message: "not an identifier", key: "identifier")
        }
        return id
    }
}
