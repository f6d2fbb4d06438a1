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

/// Signs in through the forms and returns the session cookie and CSRF token (staff: no second factor).
func signIn(_ client: any TestClientProtocol, email: String) async throws -> (cookie: String, csrf: String) {
    let form = try await client.execute(uri: "/login", method: .get)
    let preCSRF = try #require(form.headers[values: .setCookie].first { $0.hasPrefix("hygie_csrf=") })
    let token = String(preCSRF.dropFirst("hygie_csrf=".count).prefix { $0 != ";" })
    let body = "_csrf=\(token)&email=\(email)&password=\(TestServices.password)"
    let response = try await client.execute(
        uri: "/login", method: .post,
        headers: [.contentType: "application/x-www-form-urlencoded", .cookie: "hygie_csrf=\(token)"],
        body: ByteBuffer(string: body))
    #expect(response.status == .seeOther)
    let cookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("hygie_session=") })
    let session = String(cookie.prefix { $0 != ";" })
    let page = try await client.execute(uri: "/profile", method: .get, headers: [.cookie: session])
    let html = String(buffer: page.body)
    let csrf = try #require(html.firstMatch(of: /name="_csrf" value="([^"]+)"/)?.1)
    return (session, String(csrf))
}

@Suite struct RouterTests {
    @Test func openAPIDocumentDescribesEveryRegisteredAPIRoute() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            let services = try await TestServices(database: database).webServices()
            let router = try buildRouter(services: services)
            let registered = Set(
                router.routes.filter { $0.path.description.hasPrefix("/api/v1") }
                    .map { "\($0.method.rawValue) \($0.path.description)" })
            let document = openAPIDocument(services: services)
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            var described = Set<String>()
            for (path, operations) in paths {
                for method in operations.keys { described.insert("\(method.uppercased()) \(path)") }
            }

            #expect(registered == described)
            #expect(document["openapi"] as? String == "3.1.0")
        }
    }

    @Test func securityHeadersAndErrorBodies() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            try await TestServices(database: database).withTestApp { client, _ in
                let page = try await client.execute(uri: "/login", method: .get)
                #expect(page.status == .ok)
                let csp = try #require(page.headers[.contentSecurityPolicy])
                #expect(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"))
                #expect(page.headers[.xContentTypeOptions] == "nosniff")
                #expect(page.headers[HTTPField.Name("X-Request-ID")!] != nil)

                let api = try await client.execute(
                    uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer nope"])
                #expect(api.status == .unauthorized)
                let error =
                    try JSONSerialization.jsonObject(with: Data(api.body.readableBytesView))
                    as? [String: [String: String]]
                #expect(error?["error"]?["code"] == "unauthorized")
                #expect(error?["error"]?["request_id"]?.isEmpty == false)

                let missing = try await client.execute(uri: "/api/v1/nothing-here", method: .get)
                #expect(missing.status == .notFound)
            }
        }
    }

    @Test func unsafeFormsNeedTheSessionCSRFToken() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("Csrf")
            _ = try await services.identity.addMember(
                NewUser(
                    email: "nurse@csrf.example", displayName: "Nurse", password: TestServices.password, role: "staff"),
                in: scope)
            try await services.withTestApp { client, _ in
                let (cookie, csrf) = try await signIn(client, email: "nurse@csrf.example")
                let headers: HTTPFields = [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"]

                let without = try await client.execute(
                    uri: "/profile/locale", method: .post, headers: headers, body: ByteBuffer(string: "locale=en"))
                let forged = try await client.execute(
                    uri: "/profile/locale", method: .post, headers: headers,
                    body: ByteBuffer(string: "locale=en&_csrf=x\(csrf)"))
                var crossSite = headers
                crossSite[HTTPField.Name("Sec-Fetch-Site")!] = "cross-site"
                let cross = try await client.execute(
                    uri: "/profile/locale", method: .post, headers: crossSite,
                    body: ByteBuffer(string: "locale=en&_csrf=\(csrf)"))
                let good = try await client.execute(
                    uri: "/profile/locale", method: .post, headers: headers,
                    body: ByteBuffer(string: "locale=en&_csrf=\(csrf)"))

                #expect(without.status == .forbidden)
                #expect(forged.status == .forbidden)
                #expect(cross.status == .forbidden)
                #expect(good.status == .seeOther)
                let profile = try await client.execute(uri: "/profile", method: .get, headers: [.cookie: cookie])
                #expect(String(buffer: profile.body).contains("<html lang=\"en\">"))
            }
        }
    }

    @Test func staffCannotOpenManagementPages() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("Least")
            _ = try await services.identity.addMember(
                NewUser(
                    email: "porter@least.example", displayName: "Porter", password: TestServices.password, role: "staff"
                ), in: scope)
            try await services.withTestApp { client, _ in
                let (cookie, _) = try await signIn(client, email: "porter@least.example")
                for path in [
                    "/users", "/departments", "/audit", "/tokens", "/admin/jobs", "/admin/establishments", "/alerts",
                    "/rules",
                    "/sources", "/events", "/alerts/per-day.svg", "/intel", "/sharing", "/intel/sightings.svg",
                    "/intel/objects/indicator--11111111-1111-4111-8111-111111111111", "/privacy", "/privacy/incidents",
                    "/privacy/incidents/1", "/privacy/patients?patient_id=P1", "/privacy/daily.svg", "/hub",
                    "/federation",
                ] {
                    let response = try await client.execute(uri: path, method: .get, headers: [.cookie: cookie])
                    #expect([.forbidden, .notFound].contains(response.status), "\(path) gave \(response.status)")
                }
                #expect(
                    try await client.execute(uri: "/dashboard", method: .get, headers: [.cookie: cookie]).status == .ok)
            }
        }
    }

    @Test func oversizedAndMalformedBodiesAreRefusedCleanly() async throws {
        try await TestDatabase.sqlite.withDatabase { database in
            let services = try TestServices(database: database)
            let (_, scope) = try await services.makeEstablishment("Bodies")
            let token = try await services.identity.createToken(name: "t", role: "rssi", expiresInDays: nil, in: scope)
            try await services.withTestApp { client, _ in
                let auth: HTTPFields = [.authorization: "Bearer \(token.secret)", .contentType: "application/json"]
                let big = try await client.execute(
                    uri: "/api/v1/departments", method: .post, headers: auth,
                    body: ByteBuffer(repeating: 0x20, count: 200_000))
                let notJSON = try await client.execute(
                    uri: "/api/v1/departments", method: .post, headers: auth,
                    body: ByteBuffer(bytes: [0xFF, 0xFE, 0x7B]))
                let invalid = try await client.execute(
                    uri: "/api/v1/departments", method: .post, headers: auth,
                    body: ByteBuffer(string: #"{"name":"","code":"!!"}"#))
                let created = try await client.execute(
                    uri: "/api/v1/departments", method: .post, headers: auth,
                    body: ByteBuffer(string: #"{"name":"Robert'); DROP TABLE core_users;--","code":"SQL"}"#))

                #expect(big.status == .contentTooLarge)
                #expect(notJSON.status == .badRequest)
                #expect(invalid.status == .unprocessableContent)
                #expect(created.status == .created)
                #expect(
                    try await services.tenancy.departments(in: scope).map(\.name) == [
                        "Robert'); DROP TABLE core_users;--"
                    ])
            }
        }
    }
}

@Suite struct TranslationTests {
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/HygieWeb/Resources").standardized

    @Test func frenchAndEnglishHaveTheSameKeys() throws {
        let translations = try Translations.bundled()
        let french = Translations.keys(of: translations.catalog(.fr))
        let english = Translations.keys(of: translations.catalog(.en))
        #expect(french.subtracting(english).isEmpty, "missing in English: \(french.subtracting(english))")
        #expect(english.subtracting(french).isEmpty, "missing in French: \(english.subtracting(french))")
    }

    @Test func validationErrorsAreShownInTheReadersLanguage() throws {
        let translations = try Translations.bundled()
        let error = ValidationError(
            field: "password", message: "at least 12 characters", key: "tooShort", values: ["min": "12"])

        #expect(translations.message(for: error, .fr) == "Mot de passe : au moins 12 caractères")
        #expect(translations.message(for: error, .en) == "Password: at least 12 characters")
        #expect(translations.message(for: ValidationError(field: "x", message: "raw"), .fr) == "x : raw")
    }

    @Test func everyKeyUsedByATemplateExists() throws {
        let translations = try Translations.bundled()
        let keys = Translations.keys(of: translations.catalog(.fr))
        let directory = Self.resources.appendingPathComponent("Templates")
        var missing: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where file.hasSuffix(".mustache") {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /\{\{t\.([a-zA-Z0-9.]+)\}\}/) where !keys.contains(String(match.1)) {
                missing.append("\(file): \(match.1)")
            }
            #expect(!text.contains("{{{") && !text.contains("{{&"), "\(file) must not render unescaped HTML")
        }
        #expect(missing.isEmpty, "\(missing)")
    }
}

@Suite struct QRCodeTests {
    /// Reads the 15-bit format information around the top-left finder and checks it is a valid level-M word.
    @Test(arguments: [1, 40, 120, 200])
    func drawsFindersTimingAndValidFormatInformation(length: Int) throws {
        let code = try QRCode(text: String(repeating: "A", count: length))
        let version = (code.size - 17) / 4
        #expect((1...10).contains(version))
        for (row, column) in [(0, 0), (0, code.size - 7), (code.size - 7, 0)] {
            #expect(code.modules[row][column] && code.modules[row + 6][column + 6] && code.modules[row + 3][column + 3])
            #expect(!code.modules[row + 1][column + 1])
        }
        for index in 8..<(code.size - 8) { #expect(code.modules[6][index] == (index % 2 == 0)) }
        var bits = 0
        for index in 0...5 { bits |= (code.modules[index][8] ? 1 : 0) << index }
        bits |= (code.modules[7][8] ? 1 : 0) << 6
        bits |= (code.modules[8][8] ? 1 : 0) << 7
        bits |= (code.modules[8][7] ? 1 : 0) << 8
        for index in 9..<15 { bits |= (code.modules[8][14 - index] ? 1 : 0) << index }
        let unmasked = bits ^ 0x5412
        #expect(unmasked >> 13 == 0b00, "level M")
        var remainder = unmasked >> 10
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        #expect((unmasked & 0x3FF) == remainder)
    }

    @Test func refusesTextBeyondVersion10() {
        #expect(throws: QRCode.Failure.self) { try QRCode(text: String(repeating: "x", count: 300)) }
    }

    @Test func reedSolomonMatchesTheStandardExample() {
        // ISO/IEC 18004 annex I: "01234567" at version 1-M.
        let data: [UInt8] = [16, 32, 12, 86, 97, 128, 236, 17, 236, 17, 236, 17, 236, 17, 236, 17]
        #expect(ReedSolomon.remainder(data, degree: 10) == [165, 36, 212, 193, 237, 54, 199, 135, 44, 85])
    }
}

@Suite struct PrintSlotsTests {
    @Test func atMostTwoPrintsRunAtOnce() async {
        let slots = PrintSlots(limit: 2)
        #expect(await slots.acquire())
        #expect(await slots.acquire())
        #expect(await !slots.acquire())
        await slots.release()
        #expect(await slots.acquire())
    }
}
