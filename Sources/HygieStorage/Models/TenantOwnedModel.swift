import FluentKit
import Foundation
import HygieCore

/// A model whose rows belong to one establishment (column `establishment_id`). Its queries start from
/// ``scoped(_:on:)``, so that a query without the establishment filter cannot be written by accident.
protocol TenantOwnedModel: Model where IDValue == UUID {
    var establishmentID: UUID { get set }
}

extension TenantOwnedModel {
    /// Every row of `scope`'s establishment.
    static func scoped(_ scope: TenantScope, on db: any Database) -> QueryBuilder<Self> {
        query(on: db).filter("establishment_id", .equal, scope.establishmentID.uuid)
    }

    /// The row with `id` if it belongs to `scope`'s establishment, otherwise nil (callers answer 404).
    static func find(_ id: UUID, in scope: TenantScope, on db: any Database) async throws -> Self? {
        try await scoped(scope, on: db).filter(\._$id == id).first()
    }
}
