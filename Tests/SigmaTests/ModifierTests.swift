import Testing

@testable import Sigma

/// Every value modifier of Sigma 2.1, with events that must and must not match.
@Suite struct ModifierTests {
    @Test func plainValuesAreCaseInsensitiveEquality() {
        let r = rule("Image: 'C:\\Windows\\System32\\cmd.exe'")
        #expect(fires(r, #"{"Image":"c:\\windows\\system32\\CMD.EXE"}"#))
        #expect(!fires(r, #"{"Image":"c:\\windows\\system32\\cmd.exe.bak"}"#))
        #expect(!fires(r, #"{"Other":"c:\\windows\\system32\\cmd.exe"}"#))
    }

    @Test func wildcardsAndEscapes() {
        #expect(fires(rule("Image: '*\\cmd.exe'"), #"{"Image":"C:\\x\\cmd.exe"}"#))
        #expect(fires(rule("Image: 'c?d.exe'"), #"{"Image":"cmd.exe"}"#))
        #expect(!fires(rule("Image: 'c?d.exe'"), #"{"Image":"cd.exe"}"#))
        #expect(fires(rule("Image: 'c?d.exe'"), #"{"Image":"cé​d.exe"}"#) == false)
        #expect(fires(rule("Image: 'c?d.exe'"), #"{"Image":"céd.exe"}"#), "? matches one UTF-8 character")
        #expect(fires(rule("CommandLine: 'a*b*c'"), #"{"CommandLine":"aXXbYYc"}"#))
        #expect(!fires(rule("CommandLine: 'a*b*c'"), #"{"CommandLine":"aXXbYYcd"}"#))
        // Escaped wildcards are literal.
        let literalStar = rule("CommandLine: 'what\\*'")
        #expect(fires(literalStar, #"{"CommandLine":"what*"}"#))
        #expect(!fires(literalStar, #"{"CommandLine":"whatever"}"#))
        #expect(fires(rule("CommandLine: 'what\\?'"), #"{"CommandLine":"what?"}"#))
        #expect(!fires(rule("CommandLine: 'what\\?'"), #"{"CommandLine":"whatX"}"#))
        // A double backslash before a wildcard is one backslash, then the wildcard.
        #expect(fires(rule("Path: 'C:\\\\*'"), #"{"Path":"C:\\anything"}"#))
        // Other backslashes stay as written.
        #expect(fires(rule("Path: '\\\\server\\share'"), #"{"Path":"\\server\\share"}"#))
    }

    @Test func containsStartsWithEndsWith() {
        #expect(
            fires(rule("CommandLine|contains: 'encodedcommand'"), #"{"CommandLine":"powershell -EncodedCommand AAA"}"#))
        #expect(!fires(rule("CommandLine|contains: 'encodedcommand'"), #"{"CommandLine":"powershell -enc"}"#))
        #expect(fires(rule("Image|startswith: 'C:\\Users\\'"), #"{"Image":"c:\\users\\bob\\a.exe"}"#))
        #expect(!fires(rule("Image|startswith: 'C:\\Users\\'"), #"{"Image":"d:\\c:\\users\\"}"#))
        #expect(fires(rule("Image|endswith: '\\rundll32.exe'"), #"{"Image":"C:\\Windows\\RUNDLL32.EXE"}"#))
        #expect(!fires(rule("Image|endswith: '\\rundll32.exe'"), #"{"Image":"C:\\rundll32.exe.tmp"}"#))
    }

    @Test func listsAreOrAndAllIsAnd() {
        let anyOf = rule("CommandLine|contains:\n    - ' -w hidden'\n    - ' -nop'")
        #expect(fires(anyOf, #"{"CommandLine":"powershell -nop"}"#))
        #expect(!fires(anyOf, #"{"CommandLine":"powershell"}"#))
        let all = rule("CommandLine|contains|all:\n    - ' -w hidden'\n    - ' -nop'")
        #expect(fires(all, #"{"CommandLine":"powershell -nop -w hidden"}"#))
        #expect(!fires(all, #"{"CommandLine":"powershell -nop"}"#))
    }

    @Test func casedIsCaseSensitive() {
        let r = rule("CommandLine|cased|contains: 'Invoke-Mimikatz'")
        #expect(fires(r, #"{"CommandLine":"x Invoke-Mimikatz y"}"#))
        #expect(!fires(r, #"{"CommandLine":"x invoke-mimikatz y"}"#))
    }

    @Test func regularExpressionsAndTheirFlags() {
        let r = rule("CommandLine|re: 'ping\\s+-n\\s+\\d+'")
        #expect(fires(r, #"{"CommandLine":"cmd /c ping  -n 5 127.0.0.1"}"#))
        #expect(!fires(r, #"{"CommandLine":"cmd /c PING -n 5"}"#), "re is case-sensitive by default")
        #expect(fires(rule("CommandLine|re|i: 'ping\\s+-n'"), #"{"CommandLine":"PING -n 5"}"#))
        #expect(fires(rule("CommandLine|re|m: '^second'"), #"{"CommandLine":"first\nsecond"}"#))
        #expect(!fires(rule("CommandLine|re: '^second'"), #"{"CommandLine":"first\nsecond"}"#))
        #expect(fires(rule("CommandLine|re|s: 'first.second'"), #"{"CommandLine":"first\nsecond"}"#))
        #expect(!fires(rule("CommandLine|re: 'first.second'"), #"{"CommandLine":"first\nsecond"}"#))
        // Long hexadecimal arguments: the minimum length check must not reject a real match.
        let hex = String(repeating: "a", count: 64)
        #expect(fires(rule("CommandLine|re: '\\s[a-fA-F0-9]{64}\\s'"), #"{"CommandLine":"x \#(hex) y"}"#))
        #expect(!fires(rule("CommandLine|re: '\\s[a-fA-F0-9]{64}\\s'"), #"{"CommandLine":"x abc y"}"#))
    }

    @Test func regexAnalysisGivesSafePrefilters() {
        #expect(Prefilter.analyzeRegex("ping\\s+-n.{6,64}echo EEEE\\s?>").literal == Array("echo EEEE".utf8))
        #expect(Prefilter.analyzeRegex("a|b").literal.isEmpty)
        #expect(Prefilter.analyzeRegex("abcd?").literal == Array("abc".utf8))
        #expect(Prefilter.analyzeRegex("\\s[0-9]{64}").minimumLength == 65)
        #expect(Prefilter.analyzeRegex("(foo|bar)baz").literal == Array("baz".utf8))
        #expect(Prefilter.analyzeRegex("x{0,3}yz").minimumLength == 2)
    }

    @Test func cidrForIPv4AndIPv6() {
        let v4 = rule("DestinationIp|cidr:\n    - '10.0.0.0/8'\n    - '192.168.1.0/24'")
        #expect(fires(v4, #"{"DestinationIp":"10.20.30.40"}"#))
        #expect(fires(v4, #"{"DestinationIp":"192.168.1.254"}"#))
        #expect(!fires(v4, #"{"DestinationIp":"192.168.2.1"}"#))
        #expect(!fires(v4, #"{"DestinationIp":"not an address"}"#))
        #expect(fires(v4, #"{"DestinationIp":"::ffff:10.1.2.3"}"#), "IPv4-mapped IPv6 addresses compare as IPv4")
        let v6 = rule("DestinationIp|cidr: 'fe80::/10'")
        #expect(fires(v6, #"{"DestinationIp":"fe80::1%eth0"}"#))
        #expect(fires(v6, #"{"DestinationIp":"FEBF:0:0:0:0:0:0:1"}"#))
        #expect(!fires(v6, #"{"DestinationIp":"fec0::1"}"#))
        #expect(!fires(v6, #"{"DestinationIp":"10.0.0.1"}"#))
        let host = rule("DestinationIp|cidr: '2001:db8::1/128'")
        #expect(fires(host, #"{"DestinationIp":"2001:0db8:0000:0000:0000:0000:0000:0001"}"#))
        #expect(!fires(host, #"{"DestinationIp":"2001:db8::2"}"#))
    }

    @Test func base64AndBase64Offset() {
        // "whoami" → d2hvYW1p
        #expect(fires(rule("CommandLine|base64|contains: 'whoami'"), #"{"CommandLine":"-e d2hvYW1p"}"#))
        #expect(!fires(rule("CommandLine|base64|contains: 'whoami'"), #"{"CommandLine":"whoami"}"#))
        // The value at every offset of a larger base64 text.
        let offset = rule("CommandLine|base64offset|contains: 'http://'")
        for encoded in ["aHR0cDovL2V2aWw=", "IGh0dHA6Ly9ldmls", "ICBodHRwOi8vZXZpbA=="] {
            #expect(fires(offset, #"{"CommandLine":"powershell -e \#(encoded)"}"#), "\(encoded)")
        }
        #expect(!fires(offset, #"{"CommandLine":"powershell -e ZXZpbA=="}"#))
    }

    @Test func utf16EncodingsThenBase64() {
        // "cmd" as UTF-16LE then base64: YwBtAGQA
        #expect(fires(rule("CommandLine|wide|base64|contains: 'cmd'"), #"{"CommandLine":"-enc YwBtAGQA"}"#))
        #expect(fires(rule("CommandLine|utf16le|base64|contains: 'cmd'"), #"{"CommandLine":"-enc YwBtAGQA"}"#))
        // UTF-16BE: AGMAbQBk
        #expect(fires(rule("CommandLine|utf16be|base64|contains: 'cmd'"), #"{"CommandLine":"AGMAbQBk"}"#))
        // UTF-16 with byte order mark: //5jAG0AZAA=
        #expect(fires(rule("CommandLine|utf16|base64|contains: 'cmd'"), #"{"CommandLine":"//5jAG0AZAA="}"#))
        #expect(!fires(rule("CommandLine|wide|base64|contains: 'cmd'"), #"{"CommandLine":"Y21k"}"#))
    }

    @Test func windashCoversEveryDash() {
        let r = rule("CommandLine|windash|contains: ' -exec bypass'")
        for dash in ["-", "/", "–", "—", "―"] {
            #expect(fires(r, #"{"CommandLine":"powershell \#(dash)exec bypass"}"#), "\(dash)")
        }
        #expect(!fires(r, #"{"CommandLine":"powershell exec bypass"}"#))
    }

    @Test func existsTrueAndFalse() {
        #expect(fires(rule("Signature|exists: true"), #"{"Signature":""}"#))
        #expect(!fires(rule("Signature|exists: true"), #"{"Other":"x"}"#))
        #expect(fires(rule("Signature|exists: false", condition: "selection"), #"{"Other":"x"}"#))
        #expect(!fires(rule("Signature|exists: false"), #"{"Signature":null}"#))
    }

    @Test func nullMatchesMissingOrNullAndEmptyStringMatchesEmpty() {
        #expect(fires(rule("ParentImage: null\nImage: 'a.exe'"), #"{"Image":"a.exe"}"#))
        #expect(fires(rule("ParentImage: null\nImage: 'a.exe'"), #"{"Image":"a.exe","ParentImage":null}"#))
        #expect(!fires(rule("ParentImage: null\nImage: 'a.exe'"), #"{"Image":"a.exe","ParentImage":"b"}"#))
        #expect(fires(rule("ParentImage: ''\nImage: 'a.exe'"), #"{"Image":"a.exe","ParentImage":""}"#))
        #expect(!fires(rule("ParentImage: ''\nImage: 'a.exe'"), #"{"Image":"a.exe"}"#))
    }

    @Test func numericComparisons() {
        #expect(fires(rule("Count|gt: 10"), #"{"Count":11}"#))
        #expect(!fires(rule("Count|gt: 10"), #"{"Count":10}"#))
        #expect(fires(rule("Count|gte: 10"), #"{"Count":"10"}"#), "numbers as text compare too")
        #expect(fires(rule("Count|lt: 10"), #"{"Count":9.5}"#))
        #expect(fires(rule("Count|lte: 10"), #"{"Count":10}"#))
        #expect(!fires(rule("Count|lt: 10"), #"{"Count":"many"}"#))
        #expect(fires(rule("Access|gt: 4095"), #"{"Access":"0x1fffff"}"#), "hexadecimal values compare numerically")
    }

    @Test func numbersMatchTheirTextAndBack() {
        #expect(fires(rule("EventID: 4688"), #"{"EventID":"4688"}"#))
        #expect(fires(rule("EventID: '4688'"), #"{"EventID":4688}"#))
        #expect(!fires(rule("EventID: 4688"), #"{"EventID":46880}"#))
        #expect(fires(rule("Enabled: true"), #"{"Enabled":true}"#))
        #expect(fires(rule("Enabled: true"), #"{"Enabled":"True"}"#))
    }

    @Test func neqForStringsAndNumbers() {
        let r = rule("Image|endswith: '.exe'\nUser|neq: 'SYSTEM'")
        #expect(fires(r, #"{"Image":"a.exe","User":"bob"}"#))
        #expect(!fires(r, #"{"Image":"a.exe","User":"system"}"#))
        #expect(fires(rule("Image|endswith: '.exe'\nLogonType|neq: 3"), #"{"Image":"a.exe","LogonType":2}"#))
        #expect(!fires(rule("Image|endswith: '.exe'\nLogonType|neq: 3"), #"{"Image":"a.exe","LogonType":3}"#))
    }

    @Test func fieldReferences() {
        let r = rule("Image|fieldref: ParentImage")
        #expect(fires(r, #"{"Image":"C:\\a.exe","ParentImage":"c:\\A.EXE"}"#))
        #expect(!fires(r, #"{"Image":"C:\\a.exe","ParentImage":"C:\\b.exe"}"#))
        #expect(!fires(r, #"{"Image":"C:\\a.exe"}"#))
        let different = rule("Image|fieldref|neq: ParentImage")
        #expect(fires(different, #"{"Image":"C:\\a.exe","ParentImage":"C:\\b.exe"}"#))
        #expect(!fires(different, #"{"Image":"C:\\a.exe","ParentImage":"C:\\a.exe"}"#))
    }

    @Test func timeModifiers() {
        #expect(fires(rule("UtcTime|hour|gte: 20"), #"{"UtcTime":"2026-11-29 22:15:00.000"}"#))
        #expect(!fires(rule("UtcTime|hour|gte: 20"), #"{"UtcTime":"2026-11-29 08:15:00.000"}"#))
        #expect(fires(rule("UtcTime|minute: 15"), #"{"UtcTime":"2026-11-29T22:15:00Z"}"#))
        #expect(fires(rule("UtcTime|day: 29"), #"{"UtcTime":"2026-11-29T22:15:00Z"}"#))
        #expect(fires(rule("UtcTime|month: 11"), #"{"UtcTime":"2026-11-29T22:15:00Z"}"#))
        #expect(fires(rule("UtcTime|year: 2026"), #"{"UtcTime":"2026-11-29T22:15:00Z"}"#))
        #expect(fires(rule("UtcTime|week: 48"), #"{"UtcTime":"2026-11-29T22:15:00Z"}"#))
        #expect(fires(rule("UtcTime|week: 1"), #"{"UtcTime":"2027-01-04T00:00:00Z"}"#))
        #expect(!fires(rule("UtcTime|hour: 3"), #"{"UtcTime":"not a date"}"#))
    }

    @Test func expandWithPlaceholders() {
        let yaml = rule("User|expand: '%admins%'")
        let set = ruleSet(yaml, options: RuleSetOptions(placeholders: ["admins": ["alice", "bob*"]]))
        #expect(!matches(set, #"{"User":"alice"}"#).isEmpty)
        #expect(!matches(set, #"{"User":"bobby"}"#).isEmpty)
        #expect(matches(set, #"{"User":"carol"}"#).isEmpty)
        let refused = diagnostics(yaml)
        #expect(refused.count == 1 && refused[0].reason == "placeholder")
        #expect(refused[0].message.contains("%admins%"))
    }

    @Test func keywordsSearchEveryValue() {
        let r = """
            title: Keywords
            logsource: {product: linux, service: auth}
            detection:
                keywords:
                    - 'Failed password'
                    - 'authentication failure'
                condition: keywords
            """
        #expect(fires(r, #"{"app":"sshd","message":"Failed password for root from 10.0.0.1"}"#))
        #expect(!fires(r, #"{"app":"sshd","message":"Accepted publickey for root"}"#))
        let all = """
            title: Keywords all
            logsource: {product: linux, service: auth}
            detection:
                keywords:
                    '|all':
                        - 'Failed'
                        - 'root'
                condition: keywords
            """
        #expect(fires(all, #"{"app":"sshd","message":"Failed password for root"}"#))
        #expect(!fires(all, #"{"app":"sshd","message":"Failed password for alice"}"#))
    }

    @Test func unknownModifiersAndBadValuesAreRefused() {
        #expect(diagnostics(rule("Image|sortof: 'x'")).first?.reason == "modifier")
        #expect(diagnostics(rule("Image|gt: 'many'")).first?.reason == "modifier")
        #expect(diagnostics(rule("Image|cidr: '10.0.0.0/33'")).first?.reason == "modifier")
        #expect(diagnostics(rule("Image|re: '(unclosed'")).first?.reason == "regex")
        #expect(diagnostics(rule("Image|exists: 'maybe'")).first?.reason == "modifier")
        #expect(diagnostics(rule("Image|contains|startswith: 'x'")).first?.reason == "modifier")
        #expect(diagnostics(rule("Image|base64: 'a*b'")).first?.reason == "modifier")
        #expect(diagnostics(rule("Image|i: 'x'")).first?.reason == "modifier")
    }
}
