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

@Suite struct FederationAPITests {
    @Test func theProtocolAnswersJSONAndTheFormsKeepTheirCSRFCheck() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            let services = try TestServices(database: database)
            let agency = try await services.tenancy.createEstablishment(
                .init(name: "ARS Val-de-Lune", finess: nil, kind: "authority", groupID: nil, regionID: nil),
                by: TestServices.cli)
            let admin = try await services.identity.scope(for: agency.id, actor: TestServices.cli)
            let added = try await services.identity.addMember(
                NewUser(
                    email: "coord@ars.example", displayName: "Coordination", password: TestServices.password,
                    role: "coordinator"),
                in: admin)
            let coordinatorScope = try await services.identity.scope(
                for: agency.id,
                actor: Actor(
                    userID: added.user.id,
                    displayName: "coord@ars.example", establishmentID: nil, role: .staff, channel: "session",
                    requestID: nil,
                    sourceAddress: "127.0.0.1"))
            let coordinator = try await services.identity.createToken(
                name: "c", role: "coordinator", expiresInDays: nil, in: coordinatorScope)
            let (_, hospital) = try await services.makeEstablishment("CH Valbrune")
            let rssi = try await services.identity.createToken(
                name: "r", role: "rssi", expiresInDays: nil, in: hospital)
            try await services.withTestApp { client, _ in
                func call(_ token: String?, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil)
                    async throws -> (HTTPResponse.Status, [String: Any])
                {
                    var headers: HTTPFields = [.contentType: "application/json"]
                    if let token { headers[.authorization] = "Bearer \(token)" }
                    let response = try await client.execute(
                        uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                    let object =
                        (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))
                            as? [String: Any]) ?? [:]
                    return (response.status, object)
                }
                // The protocol: no cookie, no CSRF token, JSON errors.
                let (status, body) = try await call(
                    nil, .post, "/federation/v1/enrol", #"{"token":"nope","establishment":{"name":"CH","kind":"ch"}}"#)
                #expect(status == .unauthorized && (body["error"] as? String)?.contains("enrolment token") == true)
                #expect(try await call(nil, .post, "/federation/v1/snapshots", "{}").0 == .unauthorized)
                // The establishment's forms are forms: without the session's CSRF token, refused.
                let form = try await client.execute(
                    uri: "/federation/join", method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "hub_url=http://127.0.0.1:1&token=x"))
                #expect(form.status == .forbidden)

                #expect(
                    try await call(rssi.secret, .post, "/api/v1/hub/enrolments", #"{"label":"CH"}"#).0 == .forbidden)
                let (created, enrolment) = try await call(
                    coordinator.secret, .post, "/api/v1/hub/enrolments", #"{"label":"CH Valbrune","days":3}"#)
                #expect(created == .created && (enrolment["token"] as? String)?.hasPrefix("hye_") == true)
                #expect(try await call(coordinator.secret, .get, "/api/v1/hub/members").1["members"] as? [Any] != nil)
                #expect(try await call(rssi.secret, .get, "/api/v1/federation").0 == .notFound)
                let (_, preview) = try await call(rssi.secret, .get, "/api/v1/federation/snapshot")
                #expect((preview["establishment"] as? [String: Any])?["name"] as? String == "CH Valbrune")
                #expect(
                    try await call(
                        rssi.secret, .post, "/api/v1/federation/join", #"{"hub_url":"http://hub.example","token":"x"}"#
                    ).0 == .unprocessableContent)
                // Broadcasts: the coordinator publishes, the hospital cannot; bad lines are refused with the reason.
                let alert =
                    #"{"title":"FortiOS","products":["fortinet fortios < 7.2.7"],"indicators":["198.51.100.23"]}"#
                #expect(try await call(rssi.secret, .post, "/api/v1/hub/broadcasts", alert).0 == .forbidden)
                let (refused, reason) = try await call(
                    coordinator.secret, .post, "/api/v1/hub/broadcasts", #"{"title":"x","indicators":["a b"]}"#)
                #expect(refused == .unprocessableContent && "\(reason)".contains("not an address"))
                let (published, broadcast) = try await call(coordinator.secret, .post, "/api/v1/hub/broadcasts", alert)
                #expect(published == .created && broadcast["severity"] as? String == "high")
                let (_, list) = try await call(coordinator.secret, .get, "/api/v1/hub/broadcasts")
                let first = try #require((list["broadcasts"] as? [[String: Any]])?.first)
                #expect(first["members"] as? Int == 0)
                let id = try #require(first["id"] as? String)
                #expect(try await call(coordinator.secret, .get, "/api/v1/hub/broadcasts/\(id)").0 == .ok)
                #expect(try await call(rssi.secret, .get, "/api/v1/hub/broadcasts/\(id)").0 == .forbidden)
                let (_, overview) = try await call(coordinator.secret, .get, "/api/v1/hub/overview")
                #expect((overview["trends"] as? [Any])?.count == 52)
                #expect(
                    (try await call(rssi.secret, .get, "/api/v1/federation/alerts").1["alerts"] as? [Any])?.isEmpty
                        == true)
                #expect(
                    try await call(
                        rssi.secret, .post, "/api/v1/federation/alerts/none/answer", #"{"status":"affected"}"#
                    )
                    .0 == .notFound)
                // Members are searched and paged.
                let page = try await client.execute(
                    uri: "/api/v1/hub/members?search=zzz&limit=5", method: .get,
                    headers: [.authorization: "Bearer \(coordinator.secret)"])
                #expect(String(buffer: page.body).contains(#""total":0"#))
            }
        }
    }
}
