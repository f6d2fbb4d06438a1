import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HygieCompliance
import HygieCore
import HygieStorage
import HygieTestSupport
import HygieWeb
import NIOCore
import Testing

@Suite struct ComplianceAPITests {
    static let library: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("shared/data/frameworks/ciso-assistant/nis2-directive.yaml").path
    }()

    @Test func assessmentEvidenceAndExportsThroughTheAPI() async throws {
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
                try await web.compliance.installBuiltins()
                func call(
                    _ token: String, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
                    type: String = "application/json"
                ) async throws -> (HTTPResponse.Status, [String: Any], String, HTTPFields) {
                    let response = try await client.execute(
                        uri: uri, method: method, headers: [.authorization: "Bearer \(token)", .contentType: type],
                        body: body.map { ByteBuffer(string: $0) })
                    let text = String(buffer: response.body)
                    let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
                    return (response.status, object, text, response.headers)
                }
                let frameworks = try await call(rssi.secret, .get, "/api/v1/compliance/frameworks")
                #expect((frameworks.1["items"] as? [Any])?.count == 5)
                // Only the instance administrator imports into the shared catalogue.
                let yaml = try String(contentsOfFile: Self.library, encoding: .utf8)
                let refused = try await call(
                    rssi.secret, .post, "/api/v1/compliance/frameworks", yaml, type: "application/yaml")
                #expect(refused.0 == .forbidden)

                let created = try await call(
                    rssi.secret, .post, "/api/v1/compliance/assessments",
                    #"{"framework":"CaRE-D2","title":"CaRE 2026","due_on":"2026-12-31","scope":[{"id":"mco","name":"MCO","weight":600},{"id":"ssr","name":"SSR","weight":400}]}"#
                )
                #expect(created.0 == .created)
                let id = try #require(created.1["id"] as? String)
                let badGroup = try await call(
                    rssi.secret, .post, "/api/v1/compliance/assessments",
                    #"{"framework":"CaRE-D2","title":"x","groups":["EE"]}"#)
                #expect(badGroup.0 == .unprocessableContent && badGroup.2.contains("groups"))
                let unknown = try await call(
                    rssi.secret, .post, "/api/v1/compliance/assessments", #"{"framework":"ISO-99999","title":"x"}"#)
                #expect(unknown.0 == .notFound)
                let notJSON = try await call(rssi.secret, .post, "/api/v1/compliance/assessments", "{title")
                #expect(notJSON.0 == .badRequest)

                let urn = "urn:hygie:risk:req_node:care-d2:o1.c"
                let coverage = try await call(
                    rssi.secret, .post, "/api/v1/compliance/assessments/\(id)/results",
                    #"{"requirement":"\#(urn)","covered_units":["mco"],"comment":"PCRA du MCO"}"#)
                #expect(coverage.0 == .ok)
                let outside = try await call(
                    rssi.secret, .post, "/api/v1/compliance/assessments/\(id)/results",
                    #"{"requirement":"\#(urn)","covered_units":["nowhere"]}"#)
                #expect(outside.0 == .unprocessableContent)
                let byAuditor = try await call(
                    auditor.secret, .post, "/api/v1/compliance/assessments/\(id)/results",
                    #"{"requirement":"\#(urn)","status":"compliant"}"#)
                #expect(byAuditor.0 == .forbidden)

                // A file as the body, attached to p1 and kept with its SHA-256.
                let p1 = "urn:hygie:risk:req_node:care-d2:p1"
                let evidence = try await call(
                    rssi.secret, .post,
                    "/api/v1/compliance/evidence?title=PSSI%202024&effective_on=2024-03-01&filename=pssi.pdf&assessment_id=\(id)&requirement=\(p1)",
                    "%PDF-1.4 PSSI", type: "application/pdf")
                #expect(evidence.0 == .created)
                let evidenceID = try #require(evidence.1["id"] as? String)
                #expect(evidence.1["sha256"] as? String == "%PDF-1.4 PSSI".sha256Hex)
                let badDate = try await call(
                    rssi.secret, .post, "/api/v1/compliance/evidence",
                    #"{"title":"x","effective_on":"2024-02-30"}"#)
                #expect(badDate.0 == .unprocessableContent && badDate.2.contains("effective_on"))
                _ = try await call(
                    rssi.secret, .post, "/api/v1/compliance/assessments/\(id)/results",
                    #"{"requirement":"\#(p1)","status":"compliant"}"#)
                let download = try await call(auditor.secret, .get, "/api/v1/compliance/evidence/\(evidenceID)")
                #expect(download.0 == .ok && download.2 == "%PDF-1.4 PSSI")
                #expect(download.3[.contentDisposition]?.hasPrefix("attachment") == true)
                let theirs = try await call(stranger.secret, .get, "/api/v1/compliance/evidence/\(evidenceID)")
                #expect(theirs.0 == .notFound)
                let theirAssessment = try await call(stranger.secret, .get, "/api/v1/compliance/assessments/\(id)")
                #expect(theirAssessment.0 == .notFound)

                let detail = try await call(rssi.secret, .get, "/api/v1/compliance/assessments/\(id)")
                let overall = try #require(detail.1["overall"] as? [String: Any])
                // p1 compliant (1) + o1.c partial at 60 % of activity (0.5) over 13.
                #expect(abs((overall["score"] as? Double ?? 0) - 1.5 / 13) < 1e-9)
                let states = try #require(detail.1["requirements"] as? [[String: Any]])
                let o1c = try #require(states.first { ($0["node"] as? [String: Any])?["urn"] as? String == urn })
                #expect(o1c["coverage"] as? Double == 0.6)

                let csv = try await call(rssi.secret, .get, "/api/v1/compliance/assessments/\(id)/export?format=csv")
                #expect(csv.0 == .ok && csv.2.contains("p1;") && csv.2.contains("60.0 %"))
                let oscal = try await call(
                    rssi.secret, .get, "/api/v1/compliance/assessments/\(id)/export?format=oscal")
                let results = try #require(
                    (oscal.1["assessment-results"] as? [String: Any])?["results"] as? [[String: Any]])
                #expect((results.first?["findings"] as? [Any])?.count == 2)
                let html = try await call(
                    rssi.secret, .get, "/api/v1/compliance/assessments/\(id)/export?format=html&kind=checklist")
                #expect(html.0 == .ok && html.2.contains("Liste de contrôle") && html.2.contains("PSSI 2024"))
                let badFormat = try await call(
                    rssi.secret, .get, "/api/v1/compliance/assessments/\(id)/export?format=xls")
                #expect(badFormat.0 == .badRequest)

                let planned = try await call(rssi.secret, .post, "/api/v1/compliance/assessments/\(id)/plan")
                #expect(planned.0 == .created && (planned.1["items"] as? [Any])?.count == 1)
                let action = try await call(
                    rssi.secret, .post, "/api/v1/compliance/actions",
                    #"{"title":"Copie immuable","milestone":"3-2-1","due_on":"2027-04-30","priority":"high"}"#)
                #expect(action.0 == .created && action.1["milestone"] as? String == "3-2-1")
                let schedule = try await call(
                    rssi.secret, .post, "/api/v1/compliance/schedules",
                    #"{"title":"Exercice de crise","kind":"crisis_exercise","interval_months":12,"next_due":"2026-09-01"}"#
                )
                #expect(schedule.0 == .created && schedule.1["overdue"] as? Bool == true)
                let scheduleID = try #require(schedule.1["id"] as? String)
                let done = try await call(
                    rssi.secret, .post, "/api/v1/compliance/schedules/\(scheduleID)/runs", #"{"done_on":"2026-09-20"}"#)
                #expect(done.0 == .ok && done.1["next_due"] as? String == "2027-09-20")

                let submitted = try await call(rssi.secret, .post, "/api/v1/compliance/assessments/\(id)/submit")
                #expect(submitted.1["status"] as? String == "in_review")
                let signed = try await call(auditor.secret, .post, "/api/v1/compliance/assessments/\(id)/signoff")
                #expect(signed.0 == .ok && signed.1["status"] as? String == "closed")
                let late = try await call(
                    rssi.secret, .post, "/api/v1/compliance/assessments/\(id)/results",
                    #"{"requirement":"\#(p1)","status":"partial"}"#)
                #expect(late.0 == .conflict)

                let indicators = try await call(rssi.secret, .get, "/api/v1/compliance/indicators")
                let keys = (indicators.1["items"] as? [[String: Any]])?.compactMap {
                    ($0["definition"] as? [String: Any])?["key"] as? String
                }
                #expect(
                    keys == [
                        "awareness.click-rate", "awareness.report-rate", "awareness.trained-12m", "compliance.ad-level",
                        "detection.silent-sources", "identity.mfa-privileged",
                        "vuln.kev-overdue-exposed",
                        "vuln.overdue",
                    ])
                let fleet = try await call(rssi.secret, .get, "/api/v1/compliance/fleet?framework=CaRE-D2")
                #expect(fleet.0 == .forbidden)
                let openAPI = try await call(rssi.secret, .get, "/api/v1/openapi.json")
                #expect(openAPI.2.contains("/api/v1/compliance/assessments/{id}/export"))
            }
        }
    }
}
