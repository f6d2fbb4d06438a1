import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HygieCore
import HygieStorage
import HygieTestSupport
import NIOCore
import Testing

@testable import HygieWeb

@Suite struct PrivacyAPITests {
    @Test func fhirIntakeAndTheOfficersQueueThroughTheAPI() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("CH Vauban")
            let rssi = try await services.identity.createToken(name: "r", role: "rssi", expiresInDays: nil, in: scope)
            let dpo = try await services.identity.createToken(name: "d", role: "dpo", expiresInDays: nil, in: scope)
            let auditor = try await services.identity.createToken(
                name: "a", role: "auditor", expiresInDays: nil, in: scope)
            try await services.withTestApp { client, _ in
                func call(
                    _ token: String, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
                    type: String = "application/fhir+json"
                )
                    async throws -> (HTTPResponse.Status, [String: Any], HTTPFields)
                {
                    let response = try await client.execute(
                        uri: uri, method: method, headers: [.authorization: "Bearer \(token)", .contentType: type],
                        body: body.map { ByteBuffer(string: $0) })
                    let object =
                        (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))
                            as? [String: Any]) ?? [:]
                    return (response.status, object, response.headers)
                }
                let staff =
                    "staff_id,family_name,given_name,department,role,schedule,shift\nN1,Martin,Claire,CARD,nurse,shift,day\n"
                #expect(
                    try await call(rssi.secret, .post, "/api/v1/privacy/context/staff", staff, type: "text/csv").0
                        == .ok)
                #expect(
                    try await call(rssi.secret, .post, "/api/v1/privacy/context/beds", staff, type: "text/csv").0
                        == .badRequest)
                let patients = "patient_id,family_name,given_name,restricted\nP6,Célèbre,Star,VIP\n"
                #expect(
                    try await call(rssi.secret, .post, "/api/v1/privacy/context/patients", patients, type: "text/csv").0
                        == .ok)

                let event = """
                    {"resourceType":"AuditEvent","id":"e1","type":{"code":"rest"},"action":"R","recorded":"2026-11-23T10:00:00+01:00",
                     "agent":[{"who":{"identifier":{"value":"N1"}},"requestor":true}],"source":{"observer":{"display":"DPI"}},
                     "entity":[{"what":{"reference":"Patient/P6"}}]}
                    """
                let (created, _, headers) = try await call(rssi.secret, .post, "/api/v1/fhir/AuditEvent", event)
                #expect(created == .created && headers[.location] == "AuditEvent/e1")
                #expect(try await call(rssi.secret, .post, "/api/v1/fhir/AuditEvent", event).0 == .ok)
                // Invalid resources are answered with an OperationOutcome naming the element.
                let (status, outcome, outcomeHeaders) = try await call(
                    rssi.secret, .post, "/api/v1/fhir/AuditEvent", #"{"resourceType":"AuditEvent","recorded":"soon"}"#)
                #expect(status == .badRequest && outcome["resourceType"] as? String == "OperationOutcome")
                #expect(outcomeHeaders[.contentType]?.hasPrefix("application/fhir+json") == true)
                let issues = outcome["issue"] as? [[String: Any]] ?? []
                #expect(issues.contains { ($0["expression"] as? [String])?.first == "AuditEvent.recorded" })
                let (badJSON, badOutcome, _) = try await call(rssi.secret, .post, "/api/v1/fhir/AuditEvent", "{")
                #expect(badJSON == .badRequest && badOutcome["resourceType"] as? String == "OperationOutcome")
                let bundle =
                    #"{"resourceType":"Bundle","type":"batch","entry":[{"resource":"#
                    + event.replacingOccurrences(of: "\"e1\"", with: "\"e2\"")
                    + #"},{"resource":{"resourceType":"Patient"}}]}"#
                let (bundleStatus, response, _) = try await call(rssi.secret, .post, "/api/v1/fhir", bundle)
                let entries = response["entry"] as? [[String: Any]] ?? []
                #expect(bundleStatus == .ok && response["type"] as? String == "batch-response" && entries.count == 2)
                #expect((entries[1]["response"] as? [String: Any])?["status"] as? String == "400 Bad Request")
                #expect(try await call(auditor.secret, .post, "/api/v1/fhir/AuditEvent", event).0 == .forbidden)

                #expect(try await call(rssi.secret, .post, "/api/v1/privacy/analyze").1["analysed"] as? Int == 2)
                #expect(try await call(rssi.secret, .get, "/api/v1/privacy/incidents").0 == .forbidden)
                let (queueStatus, queue, _) = try await call(dpo.secret, .get, "/api/v1/privacy/incidents")
                let incidents = queue["incidents"] as? [[String: Any]] ?? []
                #expect(queueStatus == .ok && incidents.count == 1 && incidents.first?["user_id"] as? String == "N1")
                let id = try #require(incidents.first?["id"] as? Int)
                let (_, detail, _) = try await call(dpo.secret, .get, "/api/v1/privacy/incidents/\(id)")
                let flags = detail["flags"] as? [[String: Any]] ?? []
                #expect(flags.count == 2 && (flags.first?["patterns"] as? [String])?.contains("vip") == true)
                let key = try #require(flags.first?["patient_key"] as? String)
                #expect(try await call(rssi.secret, .get, "/api/v1/privacy/patients/\(key)").0 == .forbidden)
                #expect(try await call(dpo.secret, .get, "/api/v1/privacy/patients/\(key)").1["id"] as? String == "P6")
                #expect(
                    try await call(
                        dpo.secret, .post, "/api/v1/privacy/incidents/\(id)/decision", #"{"status":"maybe"}"#,
                        type: "application/json"
                    ).0
                        == .badRequest)
                let (decided, decision, _) = try await call(
                    dpo.secret, .post, "/api/v1/privacy/incidents/\(id)/decision",
                    #"{"status":"legitimate","notes":"Soins de support non tracés"}"#, type: "application/json")
                #expect(
                    decided == .ok && (decision["incident"] as? [String: Any])?["status"] as? String == "legitimate")
                let (_, stats, _) = try await call(auditor.secret, .get, "/api/v1/privacy/statistics")
                #expect(stats["accesses"] as? Int == 2 && stats["flagged"] as? Int == 2)
                #expect(
                    try await call(auditor.secret, .get, "/api/v1/privacy/patient-report?patient_id=P6").0 == .forbidden
                )
                let (_, report, _) = try await call(dpo.secret, .get, "/api/v1/privacy/patient-report?patient_id=P6")
                #expect((report["accesses"] as? [Any])?.count == 2)
            }
        }
    }
}
