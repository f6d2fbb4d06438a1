import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HygieAwareness
import HygieCore
import HygieStorage
import HygieTestSupport
import HygieWeb
import NIOCore
import Testing

@Suite struct GoPhishAPITests {
    @Test func goPhishClientsDriveASimulationAndTheTrackingEndpointsAnswerLikeGoPhish() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("CH Vauban")
            let (_, other) = try await services.makeEstablishment("CH Ouest")
            let key = try await services.identity.createToken(
                name: "gophish", role: "rssi", expiresInDays: nil, in: scope)
            let stranger = try await services.identity.createToken(
                name: "s", role: "rssi", expiresInDays: nil, in: other)
            try await services.withTestApp { client, web in
                func call(
                    _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, token: String? = nil,
                    headers: HTTPFields = [:]
                ) async throws -> (HTTPResponse.Status, Any?, String, HTTPFields) {
                    var fields = headers
                    if let token = token ?? Optional(key.secret), !token.isEmpty {
                        fields[.authorization] = "Bearer \(token)"
                    }
                    if body != nil && fields[.contentType] == nil { fields[.contentType] = "application/json" }
                    let response = try await client.execute(
                        uri: uri, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) })
                    let text = String(buffer: response.body)
                    return (
                        response.status, try? JSONSerialization.jsonObject(with: Data(text.utf8)), text,
                        response.headers
                    )
                }
                // Authentication: none, wrong, header, query parameter.
                let anonymous = try await call(.get, "/api/campaigns/", token: "")
                #expect(anonymous.0 == .unauthorized && (anonymous.1 as? [String: Any])?["message"] != nil)
                #expect(try await call(.get, "/api/campaigns/", token: "hyg_wrong").0 == .unauthorized)
                let query = try await call(.get, "/api/campaigns/?api_key=\(key.secret)", token: "")
                #expect(query.0 == .ok && (query.1 as? [Any])?.isEmpty == true)

                let group = try await call(
                    .post, "/api/groups/",
                    #"{"name":"Tous","targets":[{"first_name":"Chloé","last_name":"Été","email":"chloe@vauban.example","position":"IDE"},{"first_name":"Bob","last_name":"Roy","email":"bob@vauban.example","position":"Médecin"}]}"#
                )
                #expect(group.0 == .created)
                let groupID = try #require((group.1 as? [String: Any])?["id"] as? Int)
                let badTemplate = try await call(
                    .post, "/api/templates/", #"{"name":"t","subject":"s","text":"{{.Nope}}"}"#)
                #expect(badTemplate.0 == .badRequest && (badTemplate.1 as? [String: Any])?["success"] as? Bool == false)
                #expect(
                    try await call(
                        .post, "/api/templates/",
                        #"{"name":"Paie","subject":"{{.FirstName}}","html":"<a href=\"{{.URL}}\">x</a>{{.Tracker}}","text":"{{.URL}}"}"#
                    ).0 == .created)
                let passwords = try await call(
                    .post, "/api/pages/", #"{"name":"RH","html":"<form></form>","capture_passwords":true}"#)
                #expect(passwords.0 == .badRequest && passwords.2.contains("never stores passwords"))
                #expect(
                    try await call(
                        .post, "/api/pages/",
                        #"{"name":"RH","html":"<p>Bonjour {{.FirstName}}</p><form action=\"https://x.example\"><input name=\"u\"><input type=\"password\" name=\"p\"></form>","capture_credentials":false,"redirect_url":""}"#
                    ).0 == .created)
                let smtp = try await call(
                    .post, "/api/smtp/",
                    #"{"name":"Relais","host":"127.0.0.1:2525","from_address":"it@vauban.example","interface_type":"SMTP","password":"relay-secret","headers":[{"key":"X-A","value":"1"}]}"#
                )
                #expect(smtp.0 == .created && !smtp.2.contains("relay-secret"))

                let campaign =
                    #"{"name":"C1","groups":[{"name":"Tous"}],"template":{"name":"Paie"},"page":{"name":"RH"},"smtp":{"name":"Relais"},"url":"http://127.0.0.1:8080","launch_date":"2020-01-01T10:00:00.123456+00:00"}"#
                // GoPhish answers 400 to every refusal.
                let refused = try await call(.post, "/api/campaigns/", campaign)
                #expect(refused.0 == .badRequest && refused.2.contains("informed"))
                _ = try await web.awareness.setProgramme(Programme(informedOn: "2020-01-01", approver: "DG"), in: scope)
                let created = try await call(.post, "/api/campaigns/", campaign)
                #expect(created.0 == .created)
                let body = try #require(created.1 as? [String: Any])
                let id = try #require(body["id"] as? Int)
                let results = try #require(body["results"] as? [[String: Any]])
                let rids = results.compactMap { $0["id"] as? String }
                #expect(rids.count == 2 && body["status"] as? String == "In progress")
                #expect(try await call(.get, "/api/campaigns/\(id)", token: stranger.secret).0 == .notFound)
                let summary = try await call(.get, "/api/campaigns/\(id)/summary")
                #expect(((summary.1 as? [String: Any])?["stats"] as? [String: Any])?["total"] as? Int == 2)
                let all = try await call(.get, "/api/campaigns/summary")
                #expect((all.1 as? [String: Any])?["total"] as? Int == 1)

                // The phishing server: open, click, submit (no CSRF token: recipients are not signed in), report.
                let pixel = try await call(.get, "/track?rid=\(rids[0])", token: "")
                #expect(pixel.0 == .ok && pixel.3[.contentType] == "image/gif")
                let page = try await call(.get, "/?rid=\(rids[1])", token: "", headers: [.userAgent: "Mozilla/5.0"])
                #expect(page.0 == .ok && page.2.contains("Bonjour Bob") && !page.2.contains("name=\"p\""))
                #expect(page.3[.contentSecurityPolicy]?.contains("script-src 'none'") == true)
                let submit = try await call(
                    .post, "/?rid=\(rids[1])", "u=bob&p=secret", token: "",
                    headers: [.contentType: "application/x-www-form-urlencoded", .userAgent: "Mozilla/5.0"])
                #expect(submit.0 == .found && submit.3[.location] == "http://127.0.0.1:8080/phished")
                let preflight = try await call(.options, "/report?rid=\(rids[1])", token: "")
                #expect(preflight.0 == .noContent && preflight.3[.accessControlAllowOrigin] == "*")
                let report = try await call(.get, "/report?rid=\(rids[1])", token: "")
                #expect(report.0 == .noContent && report.3[.accessControlAllowOrigin] == "*")
                #expect(try await call(.get, "/?rid=ZZZZZZZ", token: "").0 == .notFound)
                #expect(try await call(.get, "/track?rid=../etc", token: "").0 == .notFound)
                let phished = try await call(.get, "/phished", token: "", headers: [.acceptLanguage: "fr-FR"])
                #expect(phished.0 == .ok && phished.2.contains("exercice"))

                try await web.awareness.flushTracking()
                let timeline = try await call(.get, "/api/campaigns/\(id)/results")
                let events = try #require((timeline.1 as? [String: Any])?["timeline"] as? [[String: Any]])
                #expect(events.allSatisfy { $0["details"] is String })
                #expect(!timeline.2.contains("secret"))
                let submitted = try #require(events.first { $0["message"] as? String == "Submitted Data" })
                #expect((submitted["details"] as? String)?.contains("fields_filled") == true)

                // Hygie's own API: figures without scanners, programme, training.
                let overview = try await call(.get, "/api/v1/awareness/overview")
                let campaigns = try #require((overview.1 as? [String: Any])?["campaigns"] as? [[String: Any]])
                let figures = try #require(campaigns.first?["figures"] as? [String: Any])
                // Nothing was delivered here (no relay): rates count only people the message reached.
                #expect(figures["delivered"] as? Int == 0 && figures["click_rate"] == nil)
                #expect((campaigns.first?["raw"] as? [String: Any])?["submitted_data"] as? Int == 1)
                #expect((overview.1 as? [String: Any])?["repeat_clickers"] as? Int == 0)
                let modules = try await call(.get, "/api/v1/awareness/modules?language=en")
                #expect(((modules.1 as? [String: Any])?["items"] as? [Any])?.count == 6)
                let programme = try await call(.put, "/api/v1/awareness/programme", #"{"retention_months":40}"#)
                #expect(programme.0 == .unprocessableContent)
                let assigned = try await call(
                    .post, "/api/v1/awareness/assignments",
                    #"{"module":"phishing","due_on":"2099-01-01","group_id":\#(groupID)}"#)
                #expect((assigned.1 as? [String: Any])?["created"] as? Int == 2)
                let link = try await call(.post, "/api/v1/awareness/links", #"{"email":"bob@vauban.example"}"#)
                #expect(((link.1 as? [String: Any])?["url"] as? String)?.contains("/training/t/") == true)
                let csv = try await call(.get, "/api/v1/awareness/campaigns.csv")
                #expect(csv.2.hasPrefix("campaign,launch_date") && !csv.2.contains("bob@"))

                // GoPhish's Python client deletes with a double slash.
                #expect(try await call(.get, "/api/campaigns/\(id)/complete").0 == .ok)
                #expect(try await call(.get, "/?rid=\(rids[0])", token: "").0 == .notFound)
                #expect(try await call(.delete, "/api/campaigns//\(id)").0 == .ok)
                #expect(try await call(.delete, "/api/groups//\(groupID)").0 == .ok)
                #expect(try await call(.get, "/api/groups/\(groupID)").0 == .notFound)
                #expect(try await call(.get, "/api/imap/").1 as? [Any] != nil)
                let imported = try await call(
                    .post, "/api/import/email",
                    #"{"content":"Subject: =?utf-8?B?w4l0w6k=?=\r\nContent-Type: text/html\r\n\r\n<p>Bonjour</p>"}"#)
                #expect((imported.1 as? [String: Any])?["subject"] as? String == "Été")
                #expect(try await call(.post, "/api/import/email", #"{"content":"nothing"}"#).0 == .badRequest)
            }
        }
    }
}
