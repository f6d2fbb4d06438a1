import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HygieCore
import HygieDetection
import HygieStorage
import HygieTestSupport
import HygieWeb
import NIOCore
import Testing

@Suite struct DetectionAPITests {
    @Test func alertsRulesAndSourcesAreScopedAndRoleChecked() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("CH A")
            let (_, other) = try await services.makeEstablishment("CH B")
            let analyst = try await services.identity.createToken(
                name: "a", role: "analyst", expiresInDays: nil, in: scope)
            let auditor = try await services.identity.createToken(
                name: "b", role: "auditor", expiresInDays: nil, in: scope)
            let stranger = try await services.identity.createToken(
                name: "c", role: "rssi", expiresInDays: nil, in: other)
            let detection = DetectionService(database: database, audit: services.audit, clock: services.clock)
            _ = try await detection.syncBuiltInRules()
            try await services.withTestApp { client, _ in
                func call(_ token: String?, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil)
                    async throws -> (HTTPResponse.Status, [String: Any])
                {
                    var headers: HTTPFields = [.contentType: "application/json"]
                    if let token { headers[.authorization] = "Bearer \(token)" }
                    let response = try await client.execute(
                        uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                    let object =
                        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                            as? [String: Any])
                        ?? [:]
                    return (response.status, object)
                }

                let created = try await call(
                    analyst.secret, .post, "/api/v1/sources", #"{"name":"wlb","kind":"http"}"#)
                let byRSSI = try await call(
                    stranger.secret, .post, "/api/v1/sources", #"{"name":"wlb","kind":"http"}"#)
                let rules = try await call(auditor.secret, .get, "/api/v1/rules")
                let own = try await call(
                    analyst.secret, .post, "/api/v1/rules",
                    "title: Own\nid: 1b2c3d4e-0000-4000-8000-000000000001\nlogsource: {product: windows}\ndetection: {s: {EventID: 1}, condition: s}\nlevel: low"
                )
                let broken = try await call(analyst.secret, .post, "/api/v1/rules", "title: [unclosed")
                let theirs = try await call(stranger.secret, .get, "/api/v1/rules")
                let anonymous = try await call(nil, .get, "/api/v1/alerts")
                let noIngestToken = try await call(nil, .post, "/api/v1/ingest", #"{"a":1}"#)
                let badSettings = try await call(
                    analyst.secret, .put, "/api/v1/detection/settings", #"{"event_retention_days":0}"#)

                #expect(created.0 == .forbidden)  // analysts handle alerts; sources are for the RSSI
                #expect(byRSSI.0 == .created && (byRSSI.1["token"] as? String)?.hasPrefix("hyi_") == true)
                let items = try #require(rules.1["items"] as? [[String: Any]])
                #expect(
                    items.contains { ($0["author"] as? String) == "Hygie project" && ($0["enabled"] as? Bool) == true })
                #expect(own.0 == .created && own.1["added"] as? Int == 1)
                #expect(broken.0 == .created && (broken.1["refused"] as? [String])?.count == 1)
                let theirItems = try #require(theirs.1["items"] as? [[String: Any]])
                #expect(!theirItems.contains { ($0["title"] as? String) == "Own" })
                #expect(anonymous.0 == .unauthorized)
                #expect(noIngestToken.0 == .serviceUnavailable || noIngestToken.0 == .unauthorized)
                #expect(badSettings.0 == .forbidden)
            }
        }
    }
}
