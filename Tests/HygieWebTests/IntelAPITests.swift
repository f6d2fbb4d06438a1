import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HygieCore
import HygieIntel
import HygieStorage
import HygieTestSupport
import HygieWeb
import NIOCore
import STIX
import Testing

@Suite struct IntelAPITests {
    static let taxii = "application/taxii+json;version=2.1"

    static func indicator(_ n: Int, tlp: TLP) -> String {
        """
        {"type":"indicator","spec_version":"2.1","id":"indicator--\(String(format: "%08d", n))-0000-4000-8000-000000000000",\
        "created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"IOC \(n)",\
        "pattern":"[domain-name:value = 'c2-\(n).bad.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z",\
        "object_marking_refs":["\(tlp.markingDefinitionID)"]}
        """
    }

    @Test func restAPIAndTAXIIEnforceScopeRolesAndTLP() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("CHU Lys")
            let (_, other) = try await services.makeEstablishment("CH Ouest")
            let rssi = try await services.identity.createToken(name: "r", role: "rssi", expiresInDays: nil, in: scope)
            let auditor = try await services.identity.createToken(
                name: "a", role: "auditor", expiresInDays: nil, in: scope)
            let stranger = try await services.identity.createToken(
                name: "s", role: "rssi", expiresInDays: nil, in: other)
            try await services.withTestApp { client, _ in
                func call(
                    _ auth: String?, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
                    headers extra: HTTPFields = [:]
                ) async throws -> (HTTPResponse.Status, [String: Any], HTTPFields) {
                    var headers: HTTPFields = [.contentType: "application/json"]
                    for field in extra { headers[field.name] = field.value }
                    if let auth { headers[.authorization] = auth }
                    let response = try await client.execute(
                        uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                    let object =
                        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                            as? [String: Any]) ?? [:]
                    return (response.status, object, response.headers)
                }
                let bearer = "Bearer \(rssi.secret)"
                let created = try await call(
                    bearer, .post, "/api/v1/intel/collections", #"{"title":"Partners","default_tlp":"amber"}"#)
                #expect(created.0 == .created)
                let collection = try #require(created.1["id"] as? String)
                let byAuditor = try await call(
                    "Bearer \(auditor.secret)", .post, "/api/v1/intel/collections", #"{"title":"X"}"#)
                #expect(byAuditor.0 == .forbidden)

                let bundle =
                    "{\"objects\":["
                    + [Self.indicator(1, tlp: .green), Self.indicator(2, tlp: .amber), Self.indicator(3, tlp: .red)]
                    .joined(separator: ",") + "]}"
                let imported = try await call(bearer, .post, "/api/v1/intel/import?collection=\(collection)", bundle)
                #expect(imported.0 == .ok && imported.1["stored"] as? Int == 3)
                let malformed = try await call(
                    bearer, .post, "/api/v1/intel/import?collection=\(collection)&format=stix", "{\"objects\": [")
                #expect(malformed.0 == .badRequest)

                let search = try await call(bearer, .get, "/api/v1/intel/objects?q=c2-2.bad&type=indicator")
                #expect((search.1["items"] as? [[String: Any]])?.map { $0["name"] as? String } == ["IOC 2"])
                let detail = try await call(
                    bearer, .get, "/api/v1/intel/objects/indicator--00000001-0000-4000-8000-000000000000")
                #expect(detail.0 == .ok && detail.1["tlp"] as? String == "green")
                // Another establishment sees nothing of it, by search, by id or by export.
                let theirs = try await call(
                    "Bearer \(stranger.secret)", .get, "/api/v1/intel/objects?q=bad.example&type=")
                #expect((theirs.1["items"] as? [Any])?.isEmpty == true)
                #expect(
                    try await call(
                        "Bearer \(stranger.secret)", .get,
                        "/api/v1/intel/objects/indicator--00000001-0000-4000-8000-000000000000"
                    ).0 == .notFound)
                #expect(
                    try await call("Bearer \(stranger.secret)", .get, "/api/v1/intel/export?collection=\(collection)").0
                        == .notFound)

                // Exports stop at AMBER by default and never include RED.
                let export = try await client.execute(
                    uri: "/api/v1/intel/export?collection=\(collection)&max_tlp=red", method: .get,
                    headers: [.authorization: bearer])
                let exported = String(buffer: export.body)
                #expect(export.status == .ok && exported.contains("IOC 2") && !exported.contains("IOC 3"))

                // A partner account cleared for GREEN, over TAXII.
                let account = try await call(
                    bearer, .post, "/api/v1/intel/accounts",
                    #"{"username":"cert-ouest","organisation":"CERT Ouest","max_tlp":"green"}"#)
                let secret = try #require(account.1["secret"] as? String)
                let accountID = try #require(account.1["id"] as? String)
                #expect(
                    try await call(
                        bearer, .post, "/api/v1/intel/grants",
                        #"{"collection_id":"\#(collection)","account_id":"\#(accountID)","can_read":true}"#
                    ).0 == .noContent)
                let basic = "Basic " + Data("cert-ouest:\(secret)".utf8).base64EncodedString()
                let accept: HTTPFields = [.accept: Self.taxii]
                let discovery = try await call(basic, .get, "/taxii2/", headers: accept)
                #expect(discovery.0 == .ok && discovery.2[.contentType] == Self.taxii)
                let root = try #require((discovery.1["api_roots"] as? [String])?.first)
                let objects = try await call(basic, .get, "\(root)collections/\(collection)/objects/", headers: accept)
                #expect((objects.1["objects"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["IOC 1"])
                let manifest = try await call(
                    basic, .get, "\(root)collections/\(collection)/manifest/", headers: accept)
                #expect((manifest.1["objects"] as? [Any])?.count == 1)
                let hidden = "indicator--00000002-0000-4000-8000-000000000000"
                #expect(
                    try await call(basic, .get, "\(root)collections/\(collection)/objects/\(hidden)/", headers: accept)
                        .0 == .notFound)
                #expect(
                    try await call(
                        basic, .get, "\(root)collections/\(collection)/objects/\(hidden)/versions/", headers: accept
                    ).0 == .notFound)
                // Writing is not granted; the member's own token can, and a bad password or no credentials cannot.
                let post = try await call(
                    basic, .post, "\(root)collections/\(collection)/objects/", "{\"objects\":[]}",
                    headers: [.accept: Self.taxii, .contentType: Self.taxii])
                #expect(post.0 == .forbidden && post.2[.contentType] == Self.taxii && post.1["title"] != nil)
                let own = try await call(
                    bearer, .post, "\(root)collections/\(collection)/objects/",
                    "{\"objects\":[\(Self.indicator(4, tlp: .clear))]}",
                    headers: [.accept: Self.taxii, .contentType: Self.taxii])
                #expect(own.0 == .accepted && own.1["success_count"] as? Int == 1)
                // The establishment's own token reads over TAXII too, but never TLP:RED.
                let ownRead = try await call(bearer, .get, "\(root)collections/\(collection)/objects/", headers: accept)
                let ownNames = (ownRead.1["objects"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
                #expect(ownNames.contains("IOC 2") && !ownNames.contains("IOC 3"), "\(ownNames)")
                let wrong = "Basic " + Data("cert-ouest:hyx_wrong".utf8).base64EncodedString()
                let refused = try await call(wrong, .get, "/taxii2/", headers: accept)
                #expect(refused.0 == .unauthorized && refused.2[.wwwAuthenticate]?.contains("Basic") == true)
                #expect(try await call(nil, .get, "/taxii2/", headers: accept).0 == .unauthorized)
                // Partner credentials do not open the REST API or the pages.
                #expect(try await call("Bearer \(secret)", .get, "/api/v1/intel/collections").0 == .unauthorized)
            }
        }
    }
}
