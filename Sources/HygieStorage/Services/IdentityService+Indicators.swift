import FluentKit
public import HygieCore

extension IdentityService: IndicatorSource {
    public var indicators: [IndicatorDefinition] {
        [
            IndicatorDefinition(
                key: "identity.mfa-privileged", unit: .percent, higherIsBetter: true,
                titleFR: "Comptes à privilèges Hygie protégés par double facteur",
                titleEN: "Privileged Hygie accounts with two-factor authentication")
        ]
    }

    /// Share of the establishment's members holding a role other than `staff` whose second factor is enrolled.
    public func measure(_ key: String, for establishment: Establishment.ID) async throws -> IndicatorMeasurement? {
        guard key == "identity.mfa-privileged" else { return nil }
        let db = database.db
        let memberships = try await MembershipModel.query(on: db).filter(\.$establishmentID == establishment.uuid)
            .filter(\.$role != Role.staff.rawValue).all()
        guard !memberships.isEmpty else { return nil }
        let users = try await UserModel.query(on: db).filter(\.$id ~~ memberships.map(\.userID)).all()
        let enrolled = users.count { $0.totpEnabled }
        return IndicatorMeasurement(
            key: key, value: Double(enrolled) * 100 / Double(users.count), measuredAt: clock.now(), basis: users.count)
    }
}
