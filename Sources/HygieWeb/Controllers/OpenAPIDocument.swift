import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// Builds the OpenAPI 3.1 description of `/api/v1` from the registered operations.
enum OpenAPIDocument {
    static func make(_ operations: [APIOperation]) -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for operation in operations {
            var item: [String: Any] = [
                "summary": operation.summary,
                "operationId": operation.method.rawValue.lowercased()
                    + operation.path.split(separator: "/").dropFirst(2)
                    .map { $0.replacingOccurrences(of: "{", with: "by-").replacingOccurrences(of: "}", with: "") }
                    .map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined().replacingOccurrences(of: ".", with: ""),
                "tags": [operation.tag],
                "responses": responses(operation),
            ]
            if operation.path != "/api/v1/openapi.json" { item["security"] = [["bearer": [String]()]] }
            if operation.path.contains("{id}") {
                item["parameters"] = [
                    ["name": "id", "in": "path", "required": true, "schema": ["type": "string", "format": "uuid"]]
                ]
            }
            if operation.method == .get && ["/api/v1/departments", "/api/v1/audit-events"].contains(operation.path) {
                item["parameters"] = [
                    [
                        "name": "cursor", "in": "query", "required": false, "schema": ["type": "string"],
                        "description": "next_cursor of the previous page",
                    ],
                    [
                        "name": "limit", "in": "query", "required": false,
                        "schema": ["type": "integer", "minimum": 1, "maximum": 500],
                    ],
                ]
            }
            if let schema = operation.requestSchema {
                item["requestBody"] = [
                    "required": true,
                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]],
                ]
            }
            paths[operation.path, default: [:]][operation.method.rawValue.lowercased()] = item
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Hygie API", "version": "1.0.0",
                "description":
                    "REST API of Hygie, the hospital cybersecurity platform. Authenticate with `Authorization: Bearer hyg_…` tokens created in the web interface.",
            ],
            "servers": [["url": "/"]],
            "paths": paths,
            "components": ["securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]], "schemas": schemas],
        ]
    }

    static func responses(_ operation: APIOperation) -> [String: Any] {
        var result: [String: Any] = [
            "401": [
                "description": "Missing or invalid token",
                "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
            ],
            "403": [
                "description": "Role not allowed",
                "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
            ],
            "404": [
                "description": "Not found (or in another establishment)",
                "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
            ],
            "422": [
                "description": "Invalid input",
                "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
            ],
        ]
        if operation.successStatus == 204 {
            result["204"] = ["description": "Done"]
        } else {
            result[String(operation.successStatus)] = [
                "description": "Success",
                "content": [
                    "application/json": ["schema": ["$ref": "#/components/schemas/\(operation.responseSchema)"]]
                ],
            ]
        }
        return result
    }

    static func object(_ properties: [String: Any], required: [String]) -> [String: Any] {
        ["type": "object", "properties": properties, "required": required]
    }

    static var string: [String: Any] { ["type": "string"] }
    static var nullableString: [String: Any] { ["type": ["string", "null"]] }
    static var dateTime: [String: Any] { ["type": "string", "format": "date-time"] }
    static func list(_ item: String) -> [String: Any] {
        object(
            [
                "items": ["type": "array", "items": ["$ref": "#/components/schemas/\(item)"]],
                "next_cursor": nullableString,
            ], required: ["items"])
    }

    static var schemas: [String: Any] {
        [
            "Error": object(
                [
                    "error": object(
                        ["code": string, "message": string, "request_id": string],
                        required: ["code", "message", "request_id"])
                ], required: ["error"]),
            "Empty": ["type": "object"],
            "Object": ["type": "object"],
            "IngestResult": object(["accepted": ["type": "integer"]], required: ["accepted"]),
            "OpenAPI": ["type": "object"],
            "Me": object(
                ["user": ["$ref": "#/components/schemas/User"], "establishment_id": string, "role": string],
                required: ["user", "establishment_id", "role"]),
            "User": object(
                [
                    "id": string, "email": string, "display_name": string, "locale": string, "role": string,
                    "mfa_enabled": ["type": "boolean"], "created_at": dateTime,
                ], required: ["id", "email", "display_name", "role"]),
            "UserList": list("User"),
            "Establishment": object(
                [
                    "id": string, "name": string, "finess": nullableString, "kind": string, "group_id": nullableString,
                    "region_id": nullableString, "created_at": dateTime,
                ], required: ["id", "name", "kind"]),
            "EstablishmentList": list("Establishment"),
            "Department": object(
                ["id": string, "name": string, "code": string, "kind": string, "created_at": dateTime],
                required: ["id", "name", "code", "kind"]),
            "DepartmentList": list("Department"),
            "Token": object(
                [
                    "id": string, "name": string, "role": string, "prefix": string, "created_at": dateTime,
                    "last_used_at": nullableString, "expires_at": nullableString, "revoked_at": nullableString,
                ], required: ["id", "name", "role", "prefix"]),
            "TokenList": list("Token"),
            "AuditEvent": object(
                [
                    "sequence": ["type": "integer"], "time": dateTime, "actor": string, "actor_role": string,
                    "channel": string, "action": string, "object_type": string, "object_id": nullableString,
                    "summary": string, "request_id": nullableString, "source_address": nullableString, "hash": string,
                ], required: ["sequence", "time", "actor", "action", "summary", "hash"]),
            "AuditEventList": list("AuditEvent"),
            "CreateEstablishmentRequest": object(
                [
                    "name": string, "finess": string,
                    "kind": [
                        "type": "string",
                        "enum": ["chu", "ch", "chs", "espic", "clinic", "ehpad", "other", "authority"],
                    ], "group_id": string, "region_id": string,
                ], required: ["name", "kind"]),
            "CreateDepartmentRequest": object(
                [
                    "name": string, "code": string,
                    "kind": [
                        "type": "string", "enum": ["clinical", "medico-technical", "technical", "administrative"],
                    ],
                ], required: ["name", "code"]),
            "CreateUserRequest": object(
                [
                    "email": string, "display_name": string, "password": ["type": "string", "minLength": 12],
                    "role": string, "locale": ["type": "string", "enum": ["fr", "en"]], "department_id": string,
                ], required: ["email", "display_name", "password", "role"]),
        ]
    }
}
