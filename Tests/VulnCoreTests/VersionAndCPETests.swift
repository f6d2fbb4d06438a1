import Testing

@testable import VulnCore

@Suite struct VersionTests {
    func cmp(_ a: String, _ b: String, _ scheme: VersionScheme) throws -> Int {
        try Versions.compare(a, b, scheme: scheme)
    }

    @Test func preReleasesDependOnTheScheme() throws {
        // dpkg and rpm read `-rc.1` as a revision (later); SemVer and vendor strings as a pre-release.
        #expect(try cmp("1.0.0-rc.1", "1.0.0", .deb) == 1)
        #expect(try cmp("1.0.0-rc.1", "1.0.0", .rpm) == 1)
        #expect(try cmp("1.0.0-rc.1", "1.0.0", .semver) == -1)
        #expect(try cmp("1.0.0-rc.1", "1.0.0", .generic) == -1)
        #expect(try cmp("1.0.0-alpha", "1.0.0-alpha.1", .semver) == -1)
        #expect(try cmp("1.0.0-alpha.beta", "1.0.0-beta", .semver) == -1)
        #expect(try cmp("1.0.0-beta.11", "1.0.0-beta.2", .semver) == 1)
        #expect(try cmp("1.0.0+build5", "1.0.0", .semver) == 0)
    }

    @Test func vendorStrings() throws {
        #expect(try cmp("10.2.9-h1", "10.2.9", .generic) == 1)  // PAN-OS hotfix, not a pre-release
        #expect(try cmp("10.2.9-h1", "10.2.10", .generic) == -1)
        #expect(try cmp("2.4a", "2.4", .generic) == 1)  // MiniMed letter suffix
        #expect(try cmp("2.4b", "2.4a", .generic) == 1)
        #expect(try cmp("12.1-55.300", "12.1-55.29", .generic) == 1)  // Citrix builds
        #expect(try cmp("R2.10", "R2.3", .generic) == 1)
        #expect(try cmp("v1.2", "1.2.0", .generic) == 0)  // policy: `v` prefix and trailing `.0` ignored
        #expect(try cmp("1.1.1n", "1.1.1m", .generic) == 1)  // OpenSSL letters
        #expect(try cmp("1.1.1", "1.1.1a", .generic) == -1)
        #expect(try cmp("1.0.2zd", "1.0.2n", .generic) == 1)
        #expect(try cmp("V1.5 SP3 Update 2", "V1.5 SP3", .generic) == 1)
        #expect(try cmp("1.0 beta2", "1.0", .generic) == -1)
        #expect(try cmp("4.4.0", "4.4.1", .generic) == -1)
    }

    @Test func pep440ReadsLettersAsPreReleases() throws {
        #expect(try cmp("2.4a", "2.4", .pep440) == -1)  // alpha under PEP 440, unlike the vendor scheme
        #expect(try cmp("1.0.dev1", "1.0a1", .pep440) == -1)
        #expect(try cmp("1.0a1", "1.0b1", .pep440) == -1)
        #expect(try cmp("1.0rc1", "1.0", .pep440) == -1)
        #expect(try cmp("1.0", "1.0.post1", .pep440) == -1)
        #expect(try cmp("1.0.post1.dev1", "1.0.post1", .pep440) == -1)
        #expect(try cmp("1!0.5", "2.0", .pep440) == 1)
        #expect(try cmp("1.0+local.1", "1.0", .pep440) == 1)
        #expect(try cmp("1.0", "1.0.0", .pep440) == 0)
        // Local segments: "00" is the number 0 (found by VulnFuzz: both orders answered "greater"), words
        // ignore case, a number sorts above a word.
        #expect(try cmp("1+0.2.0-r", "1+0.2.00", .pep440) == 1)
        #expect(try cmp("1+0.2.00", "1+0.2.0-r", .pep440) == -1)
        #expect(try cmp("1.0+Ubuntu.1", "1.0+ubuntu.1", .pep440) == 0)
        #expect(try cmp("1.0+abc.2", "1.0+abc.10", .pep440) == -1)
        #expect(try cmp("1.0+5", "1.0+abc", .pep440) == 1)
        #expect(throws: VersionError.self) { try cmp("1.0-foo bar", "1.0", .pep440) }
    }

    @Test func debianAndRPM() throws {
        #expect(try cmp("1:1.0", "2.0", .deb) == 1)  // epoch
        #expect(try cmp("1.0~rc1", "1.0", .deb) == -1)
        #expect(try cmp("1.0-1", "1.0-1ubuntu1", .deb) == -1)
        #expect(try cmp("2.30-1+deb12u1", "2.30-1", .deb) == 1)
        #expect(try cmp("1.0~rc1", "1.0", .rpm) == -1)
        #expect(try cmp("1.0^git1", "1.0", .rpm) == 1)
        #expect(try cmp("1:1.0-1.el9", "2.0-1.el9", .rpm) == 1)
        #expect(try cmp("1.0.10", "1.0.9", .rpm) == 1)
        #expect(try cmp("1.0a", "1.0.1", .rpm) == -1)
        #expect(throws: VersionError.self) { try cmp("abc", "1.0", .deb) }
    }

    @Test func semverRejectsNonVersions() {
        #expect(throws: VersionError.self) { try cmp("1.2.x", "1.2.0", .semver) }
        #expect(throws: VersionError.self) { try cmp("1.2.3.4", "1.2.0", .semver) }
        #expect(throws: VersionError.self) { try cmp("1.0.0-", "1.0.0", .semver) }
    }
}

@Suite struct CPETests {
    func cpe(_ text: String) throws -> CPE { try CPE(parsing: text) }

    @Test func parsesFormattedStringsWithEscapes() throws {
        let name = try cpe("cpe:2.3:a:Microsoft:Internet_Explorer:8.0.6001:beta:*:*:*:*:*:*")
        #expect(name.vendor == .value("microsoft"))
        #expect(name.version == .value("8.0.6001"))
        #expect(name.update == .value("beta"))
        let escaped = try cpe(#"cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*"#)
        #expect(escaped.update == .na)
        let colon = try cpe(#"cpe:2.3:a:foo\:bar:baz:1.0:*:*:*:*:*:*:*"#)
        #expect(colon.vendor == .value(#"foo\:bar"#))
        #expect(colon.productKey == "foo:bar:baz")
    }

    @Test func convertsNmapURIs() throws {
        #expect(
            try cpe("cpe:/a:python:simplehttpserver:0.6").description
                == "cpe:2.3:a:python:simplehttpserver:0.6:*:*:*:*:*:*:*")
        #expect(try cpe("cpe:/o:linux:linux_kernel").description == "cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*")
        #expect(
            try cpe("cpe:/a:hp:insight_diagnostics:7.4.0.1570::~~online~win2003~x64~").description
                == "cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:*:*:*:online:win2003:x64:*")
        #expect(try cpe("cpe:/a:foo%21:bar").vendor == .value(#"foo\!"#))
    }

    @Test func rejectsMalformedNames() {
        for text in [
            "cpe:2.3:a:vendor", "cpe:2.3:x:v:p:*:*:*:*:*:*:*:*", "cpe:2.3:a:v:p:1*0:*:*:*:*:*:*:*",
            "cpe:2.3:a:v::*:*:*:*:*:*:*:*", "notacpe", "cpe:2.3:a:v:p:1 0:*:*:*:*:*:*:*", "cpe:/a:v:p:%zz",
            "cpe:2.3:a:v:p:*:*:*:*:*:*:*:*:extra", String(repeating: "a", count: 5000),
        ] {
            #expect(throws: CPEError.self, "\(text.prefix(40))") { try CPE(parsing: text) }
        }
    }

    @Test func nistir7696Relations() throws {
        let criteriaNA = try cpe("cpe:2.3:h:medtronic:minimed_508:-:*:*:*:*:*:*:*")
        // An asset with ANY where the criterion says NA (or a value) is a subset: no match.
        #expect(!criteriaNA.matches(try cpe("cpe:2.3:h:medtronic:minimed_508:*:*:*:*:*:*:*:*")))
        #expect(criteriaNA.matches(try cpe("cpe:2.3:h:medtronic:minimed_508:-:*:*:*:*:*:*:*")))
        let fips = try cpe("cpe:2.3:a:citrix:adc:*:*:*:*:fips:*:*:*")
        #expect(!fips.matches(try cpe("cpe:2.3:a:citrix:adc:13.1:*:*:*:*:*:*:*")))
        #expect(fips.matches(try cpe("cpe:2.3:a:citrix:adc:13.1:*:*:*:fips:*:*:*")))
        let wildcard = try cpe("cpe:2.3:a:oracle:java:1.8*:*:*:*:*:*:*:*")
        #expect(wildcard.matches(try cpe("cpe:2.3:a:oracle:java:1.8.0_202:*:*:*:*:*:*:*")))
        #expect(!wildcard.matches(try cpe("cpe:2.3:a:oracle:java:11.0:*:*:*:*:*:*:*")))
        let question = try cpe("cpe:2.3:a:v:p:1.?:*:*:*:*:*:*:*")
        #expect(question.matches(try cpe("cpe:2.3:a:v:p:1.5:*:*:*:*:*:*:*")))
        #expect(!question.matches(try cpe("cpe:2.3:a:v:p:1.50:*:*:*:*:*:*:*")))
        // A wildcard in the target is undefined, never a match.
        let exact = try cpe("cpe:2.3:a:v:p:1.5:*:*:*:*:*:*:*")
        #expect(!exact.matches(try cpe("cpe:2.3:a:v:p:1.*:*:*:*:*:*:*:*")))
    }
}
