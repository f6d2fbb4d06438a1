import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HygieCore
import HygieStorage
import HygieTestSupport
import HygieVulnerabilities
import HygieWeb
import NIOCore
import Testing

@Suite struct VulnAPITests {
    static let nvd: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("shared/data/vuln/nvd_golden/nvd_api2_golden.json").path
    }()

    @Test func inventoryFindingsAndEvidenceThroughTheAPI() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("CH Vauban")
            let (_, other) = try await services.makeEstablishment("CH Ouest")
            let rssi = try await services.identity.createToken(name: "r", role: "rssi", expiresInDays: nil, in: scope)
            let auditor = try await services.identity.createToken(
                name: "a", role: "auditor", expiresInDays: nil, in: scope)
            let stranger = try await services.identity.createToken(
                name: "s", role: "rssi", expiresInDays: nil, in: other)
            try await services.withTestApp { client, web in
                _ = try await web.vuln.importData(.nvd, paths: [Self.nvd], by: TestServices.cli)
                func call(
                    _ token: String, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
                    type: String = "application/json"
                ) async throws -> (HTTPResponse.Status, [String: Any], String) {
                    let response = try await client.execute(
                        uri: uri, method: method, headers: [.authorization: "Bearer \(token)", .contentType: type],
                        body: body.map { ByteBuffer(string: $0) })
                    let text = String(buffer: response.body)
                    let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
                    return (response.status, object, text)
                }
                let csv = """
                    name,type,address,internet,criticality,vendor,product,version,cpe
                    fw-edge,network,203.0.113.1,yes,vital,Fortinet,FortiOS,7.2.6,cpe:2.3:o:fortinet:fortios:*:*:*:*:*:*:*:*
                    """
                let imported = try await call(
                    rssi.secret, .post, "/api/v1/vuln/inventory?kind=csv&filename=inv.csv", csv, type: "text/csv")
                #expect(imported.0 == .ok && imported.1["created"] as? Int == 1)
                let broken = try await call(
                    rssi.secret, .post, "/api/v1/vuln/inventory?kind=nmap", "<nmaprun><host>", type: "application/xml")
                #expect(broken.0 == .badRequest && broken.2.contains("XML"))
                let unknownKind = try await call(
                    rssi.secret, .post, "/api/v1/vuln/inventory?kind=xls", "a", type: "text/csv")
                #expect(unknownKind.0 == .badRequest)

                let findings = try await call(rssi.secret, .get, "/api/v1/vuln/findings")
                let items = try #require(findings.1["items"] as? [[String: Any]])
                #expect(items.count == 1)
                let finding = items[0]
                #expect(finding["cve"] as? String == "CVE-2024-21762" && finding["priority"] as? String == "immediate")
                let id = try #require(finding["id"] as? String)
                #expect((finding["why"] as? String)?.hasPrefix("Act") == true)

                let csvExport = try await call(rssi.secret, .get, "/api/v1/vuln/findings?format=csv")
                #expect(csvExport.0 == .ok && csvExport.2.hasPrefix("id,cve,title"))

                // The auditor verifies but cannot accept a risk; the RSSI can, with a reason and a date.
                let denied = try await call(
                    auditor.secret, .patch, "/api/v1/vuln/findings/\(id)",
                    #"{"status":"risk_accepted","note":"x","accepted_until":"2027-01-01"}"#)
                #expect(denied.0 == .forbidden)
                let missingNote = try await call(
                    rssi.secret, .patch, "/api/v1/vuln/findings/\(id)", #"{"status":"false_positive"}"#)
                #expect(missingNote.0 == .unprocessableContent)
                let progress = try await call(
                    rssi.secret, .patch, "/api/v1/vuln/findings/\(id)", #"{"status":"in_progress","assignee":"Réseau"}"#
                )
                #expect(progress.0 == .ok && progress.1["status"] as? String == "in_progress")

                let evidence = try await call(
                    auditor.secret, .post, "/api/v1/vuln/findings/\(id)/evidence?filename=scan.txt", "port 443 open",
                    type: "text/plain")
                #expect(evidence.0 == .created)
                let evidenceID = try #require(evidence.1["id"] as? String)
                let download = try await client.execute(
                    uri: "/api/v1/vuln/evidence/\(evidenceID)", method: .get,
                    headers: [.authorization: "Bearer \(rssi.secret)"])
                #expect(String(buffer: download.body) == "port 443 open")
                #expect(download.headers[.contentDisposition]?.hasPrefix("attachment") == true)

                let detail = try await call(rssi.secret, .get, "/api/v1/vuln/findings/\(id)")
                #expect((detail.1["timeline"] as? [[String: Any]])?.count ?? 0 >= 3)
                #expect((detail.1["evidence"] as? [[String: Any]])?.count == 1)

                // Another establishment's token sees none of it.
                #expect(try await call(stranger.secret, .get, "/api/v1/vuln/findings/\(id)").0 == .notFound)
                #expect(try await call(stranger.secret, .get, "/api/v1/vuln/evidence/\(evidenceID)").0 == .notFound)
                #expect(
                    (try await call(stranger.secret, .get, "/api/v1/vuln/assets").1["items"] as? [Any])?.isEmpty == true
                )

                // Expert finding and summary.
                let asset = try #require(
                    (try await call(rssi.secret, .get, "/api/v1/vuln/assets").1["items"] as? [[String: Any]])?.first?[
                        "id"] as? String)
                let expert = try await call(
                    auditor.secret, .post, "/api/v1/vuln/findings",
                    #"{"title":"Interface d'administration exposée","severity":"high","asset_ids":["\#(asset)"],"recommendation":"Filtrer"}"#
                )
                #expect(expert.0 == .created)
                let summary = try await call(rssi.secret, .get, "/api/v1/vuln/summary")
                #expect(summary.1["kev_on_exposed_assets"] as? Int == 1 && summary.1["assets"] as? Int == 1)
                // Only the instance administrator feeds the shared catalogue.
                let data = try await call(
                    rssi.secret, .post, "/api/v1/vuln/data?kind=kev", "{}", type: "application/json")
                #expect(data.0 == .forbidden)
                let settings = try await call(rssi.secret, .put, "/api/v1/vuln/settings", #"{"immediate_days":0}"#)
                #expect(settings.0 == .unprocessableContent)
            }
        }
    }
}
