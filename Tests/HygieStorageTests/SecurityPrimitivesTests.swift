import Foundation
import HygieStorage
import Testing

@Suite struct TOTPTests {
    // SPEC: RFC 6238 appendix B test vectors (SHA-1, 8 digits, secret "12345678901234567890").
    @Test(arguments: [
        (59.0, "94287082"), (1_111_111_109.0, "07081804"), (1_111_111_111.0, "14050471"),
        (1_234_567_890.0, "89005924"), (2_000_000_000.0, "69279037"), (20_000_000_000.0, "65353130"),
    ])
    func matchesRFC6238Vectors(time: Double, code: String) {
        let totp = TOTP(secret: Data("12345678901234567890".utf8), digits: 8)
        #expect(totp.code(at: Date(timeIntervalSince1970: time)) == code)
    }

    @Test func acceptsOneStepEitherSideOnly() {
        let totp = TOTP(secret: Data("12345678901234567890".utf8))
        let now = Date(timeIntervalSince1970: 1_790_000_015)
        let step = totp.step(at: now)
        #expect(totp.matchingStep(for: totp.code(forStep: step - 1), at: now, after: 0) == step - 1)
        #expect(totp.matchingStep(for: totp.code(forStep: step + 1), at: now, after: 0) == step + 1)
        #expect(totp.matchingStep(for: totp.code(forStep: step - 2), at: now, after: 0) == nil)
    }

    @Test func refusesReplayOfAnAcceptedStep() {
        let totp = TOTP(secret: Data("12345678901234567890".utf8))
        let now = Date(timeIntervalSince1970: 1_790_000_015)
        let code = totp.code(at: now)
        let step = totp.matchingStep(for: code, at: now, after: 0)
        #expect(step != nil)
        #expect(totp.matchingStep(for: code, at: now, after: step!) == nil)
    }

    @Test(arguments: ["", "12345", "1234567", "abcdef", "12 34 5", "１２３４５６"])
    func rejectsMalformedCodes(_ code: String) {
        let totp = TOTP(secret: Data("12345678901234567890".utf8))
        #expect(totp.matchingStep(for: code, at: Date(), after: 0) == nil)
    }

    @Test func buildsAnOtpauthURI() {
        let uri = TOTP(secret: Data("12345678901234567890".utf8)).provisioningURI(account: "a@b.fr", issuer: "Hygie")
        #expect(uri.hasPrefix("otpauth://totp/Hygie:a@b.fr?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Hygie"))
    }
}

@Suite struct Base32Tests {
    // SPEC: RFC 4648 section 10.
    @Test(arguments: [
        ("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ])
    func encodesRFCVectors(plain: String, encoded: String) {
        #expect(Base32.encode(Data(plain.utf8)) == encoded)
        #expect(Base32.decode(encoded) == Data(plain.utf8))
    }

    @Test func rejectsCharactersOutsideTheAlphabet() {
        #expect(Base32.decode("MZ1W") == nil)
        #expect(Base32.decode("mzxw 6===") == Data("foo".utf8))
    }
}

@Suite struct PasswordPolicyTests {
    let policy = PasswordPolicy()

    @Test(arguments: [
        "short", "password1234", "P@ssw0rd2024!", "Motdepasse123", "azertyuiop12", "aaaaaaaaaaaa", "Hopital2025!!",
        "qwertyuiopas",
    ])
    func refusesWeakPasswords(_ password: String) {
        #expect(throws: (any Error).self) { try policy.check(password) }
    }

    @Test func refusesTheUsersOwnName() {
        #expect(throws: (any Error).self) { try policy.check("claire.morel-2025", context: ["claire.morel@chu.fr"]) }
    }

    @Test func acceptsAPassphrase() throws {
        try policy.check("Correct-Horse-Battery-Staple-42", context: ["someone@chu.fr"])
    }

    @Test func usesTheExtraDenylist() {
        let custom = PasswordPolicy(extraDenylist: ["valbrunecardio"])
        #expect(throws: (any Error).self) { try custom.check("ValbruneCardio2026") }
    }
}

@Suite struct SecretBoxTests {
    @Test func sealsAndOpensAndDetectsTampering() throws {
        let box = try SecretBox(keyData: Data(repeating: 1, count: 32))
        var sealed = try box.seal(Data("seed".utf8))
        #expect(try box.open(sealed) == Data("seed".utf8))
        sealed[sealed.count - 1] ^= 1
        #expect(throws: (any Error).self) { try box.open(sealed) }
        #expect(throws: (any Error).self) { try SecretBox(keyData: Data(repeating: 1, count: 16)) }
    }

    @Test func createsItsKeyFileOnceWithPrivateMode() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        let first = try SecretBox.loadOrCreateKeyFile(in: directory)
        let second = try SecretBox.loadOrCreateKeyFile(in: directory)
        #expect(try second.open(first.seal(Data("x".utf8))) == Data("x".utf8))
        let mode =
            try FileManager.default.attributesOfItem(atPath: directory + "/instance.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
