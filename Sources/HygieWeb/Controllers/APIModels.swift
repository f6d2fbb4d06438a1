import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

// Request and response bodies of `/api/v1`; keys are snake_case on the wire.

struct ListResponse<Item: Encodable>: Encodable {
    let items: [Item]
    let nextCursor: String?
}

struct MeResponse: Encodable {
    let user: UserResponse
    let establishmentId: String
    let role: String
}

struct UserResponse: Encodable {
    let id: String
    let email: String
    let displayName: String
    let locale: String
    let role: String
    let mfaEnabled: Bool
    let createdAt: Date

    init(_ user: User, role: Role) {
        id = user.id.uuidString
        email = user.email
        displayName = user.displayName
        locale = user.locale.rawValue
        self.role = role.rawValue
        mfaEnabled = user.mfaEnabled
        createdAt = user.createdAt
    }
}

struct EstablishmentResponse: Encodable {
    let id: String
    let name: String
    let finess: String?
    let kind: String
    let groupId: String?
    let regionId: String?
    let createdAt: Date

    init(_ value: Establishment) {
        id = value.id.uuidString
        name = value.name
        finess = value.finess?.value
        kind = value.kind.rawValue
        groupId = value.groupID?.uuidString
        regionId = value.regionID?.uuidString
        createdAt = value.createdAt
    }
}

struct DepartmentResponse: Encodable {
    let id: String
    let name: String
    let code: String
    let kind: String
    let createdAt: Date

    init(_ value: Department) {
        id = value.id.uuidString
        name = value.name
        code = value.code
        kind = value.kind.rawValue
        createdAt = value.createdAt
    }
}

struct TokenResponse: Encodable {
    let id: String
    let name: String
    let role: String
    let prefix: String
    let createdAt: Date
    let lastUsedAt: Date?
    let expiresAt: Date?
    let revokedAt: Date?

    init(_ value: APITokenInfo) {
        id = value.id.uuidString.lowercased()
        name = value.name
        role = value.role.rawValue
        prefix = value.prefix
        createdAt = value.createdAt
        lastUsedAt = value.lastUsedAt
        expiresAt = value.expiresAt
        revokedAt = value.revokedAt
    }
}

struct AuditEventResponse: Encodable {
    let sequence: Int64
    let time: Date
    let actor: String
    let actorRole: String
    let channel: String
    let action: String
    let objectType: String
    let objectId: String?
    let summary: String
    let requestId: String?
    let sourceAddress: String?
    let hash: String

    init(_ event: AuditEvent) {
        sequence = event.sequence
        time = event.createdAt
        actor = event.actorName
        actorRole = event.actorRole
        channel = event.channel
        action = event.action
        objectType = event.objectType
        objectId = event.objectID
        summary = event.summary
        requestId = event.requestID
        sourceAddress = event.sourceAddress
        hash = event.hash
    }
}

struct CreateEstablishmentRequest: Decodable {
    let name: String
    let finess: String?
    let kind: String
    let groupId: String?
    let regionId: String?
}

struct CreateDepartmentRequest: Decodable {
    let name: String
    let code: String
    let kind: String?
}

struct CreateUserRequest: Decodable {
    let email: String
    let displayName: String
    let password: String
    let role: String
    let locale: String?
    let departmentId: String?
}
