import Foundation
import HygieCore
import Testing

@Suite struct FINESSTests {
    @Test func acceptsNineDigitsAndCorsica() throws {
        #expect(try FINESS("750712184").value == "750712184")
        #expect(try FINESS(" 2a0000123 ").value == "2A0000123")
    }

    @Test(arguments: ["", "12345678", "1234567890", "75071218X", "3A0000123", "75 07 12", "７５０７１２１８４"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: ValidationError.self) { try FINESS(text) }
    }
}

@Suite struct PageCursorTests {
    @Test func roundTripsThroughItsToken() throws {
        let cursor = PageCursor(createdAt: Date(timeIntervalSince1970: 1_790_000_000.123), id: UUID())
        let parsed = try PageCursor(token: cursor.token)
        #expect(parsed.id == cursor.id)
        #expect(abs(parsed.createdAt.timeIntervalSince(cursor.createdAt)) < 0.001)
    }

    @Test(arguments: ["", "!!!", "bm90LWEtY3Vyc29y", String(repeating: "A", count: 500), "MTIzOm5vdC1hLXV1aWQ"])
    func rejectsForgedTokens(_ token: String) {
        #expect(throws: ValidationError.self) { try PageCursor(token: token) }
    }

    @Test func clampsPageSizes() {
        #expect(PageSize(nil).value == 50)
        #expect(PageSize(0).value == 1)
        #expect(PageSize(10_000).value == 500)
    }
}

@Suite struct RoleTests {
    @Test func everyRoleButStaffNeedsMFA() {
        #expect(Role.allCases.filter { !$0.requiresMFA } == [.staff])
    }

    @Test func rssiCannotGrantInstanceRoles() {
        #expect(Role.rssi.canGrant(.analyst))
        #expect(!Role.rssi.canGrant(.admin))
        #expect(!Role.rssi.canGrant(.coordinator))
        #expect(!Role.analyst.canGrant(.staff))
        #expect(Role.admin.canGrant(.partner))
    }
}

@Suite struct IdentifierTests {
    @Test func encodesLowercaseAndRejectsGarbage() throws {
        let id = Establishment.ID()
        let data = try JSONEncoder().encode(id)
        #expect(String(decoding: data, as: UTF8.self) == "\"\(id.uuidString)\"")
        #expect(id.uuidString == id.uuidString.lowercased())
        #expect(Establishment.ID(uuidString: "not-a-uuid") == nil)
    }
}

@Suite struct UTCDayTests {
    @Test func agreesWithTheCalendarAcrossCenturiesAndLeapDays() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        for seconds in stride(from: -2_208_988_800.0, to: 4_102_444_800, by: 86_400 * 37 + 3_601) {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(date.utcDay == formatter.string(from: date), "\(seconds)")
        }
        #expect(Date(timeIntervalSince1970: 951_782_399).utcDay == "2000-02-28")
        #expect(Date(timeIntervalSince1970: 951_782_400).utcDay == "2000-02-29")
        #expect(Date(timeIntervalSince1970: -1).utcDay == "1969-12-31")
    }
}
