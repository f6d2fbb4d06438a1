import Foundation
import Testing

@testable import Sigma

@Suite struct FilterAndMappingTests {
    static let processRule = """
        title: Whoami
        id: 8f4c4a9e-1d1f-4d5f-9f3c-0e1d2c3b4a59
        logsource: {product: windows, category: process_creation}
        detection:
            selection:
                Image|endswith: '\\whoami.exe'
            condition: selection
        """

    @Test func sysmonAndSecurity4688BothFire() {
        let set = ruleSet(Self.processRule)
        #expect(
            matches(
                set,
                #"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\System32\\whoami.exe"}"#
            )
                == ["Whoami"])
        #expect(
            matches(set, #"{"Channel":"Security","EventID":4688,"NewProcessName":"C:\\Windows\\System32\\whoami.exe"}"#)
                == ["Whoami"])
        // Other channels and event ids are not process creation.
        #expect(
            matches(
                set,
                #"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":11,"Image":"C:\\Windows\\System32\\whoami.exe"}"#
            )
            .isEmpty)
        #expect(
            matches(set, #"{"Channel":"Security","EventID":"4688","NewProcessName":"C:\\x\\whoami.exe"}"#) == ["Whoami"]
        )
    }

    @Test func winlogbeatShapeIsMapped() {
        let set = ruleSet(Self.processRule)
        let event =
            #"{"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"event_data":{"Image":"C:\\Windows\\System32\\whoami.exe"}}}"#
        #expect(matches(set, event) == ["Whoami"])
    }

    @Test func fieldNamesToleratesCaseDifferences() {
        let yaml = """
            title: Logon id
            logsource: {category: test}
            detection:
                selection: {LogonId: '0x3e7'}
                condition: selection
            """
        #expect(fires(yaml, #"{"LogonID":"0x3E7"}"#))
        // Both spellings present: either value can match; none is lost.
        #expect(fires(yaml, #"{"LogonID":"0x1","LogonId":"0x3e7"}"#))
        #expect(fires(yaml, #"{"LogonId":"0x1","LogonID":"0x3e7"}"#))
    }

    @Test func filterRulesNarrowTheirTargets() {
        let filter = """
            title: Admin workstations may run whoami
            logsource: {product: windows, category: process_creation}
            filter:
                rules: [8f4c4a9e-1d1f-4d5f-9f3c-0e1d2c3b4a59]
                selection:
                    Computer|startswith: 'ADMIN-'
                condition: not selection
            """
        let set = ruleSet(Self.processRule + "\n---\n" + filter)
        let base =
            #"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\whoami.exe","Computer":"%@"}"#
        #expect(matches(set, base.replacingOccurrences(of: "%@", with: "WS-12")) == ["Whoami"])
        #expect(matches(set, base.replacingOccurrences(of: "%@", with: "ADMIN-01")).isEmpty)
        // A filter naming no rule applies to the rules of its logsource.
        let broad = filter.replacingOccurrences(of: "    rules: [8f4c4a9e-1d1f-4d5f-9f3c-0e1d2c3b4a59]\n", with: "")
        let broadSet = ruleSet(Self.processRule + "\n---\n" + broad)
        #expect(matches(broadSet, base.replacingOccurrences(of: "%@", with: "ADMIN-01")).isEmpty)
    }

    @Test func userMappingOverridesBuiltIn() throws {
        var mapping = builtInMapping
        mapping.merge(
            try LogsourceMapping.parse(
                """
                sources:
                  - logsource: {product: windows, category: process_creation}
                    when:
                      - Channel: "Custom/EDR"
                        EventID: 7
                        fields: {Image: ProcessPath}
                """, file: "custom.yml"))
        let set = ruleSet(Self.processRule, mapping: mapping)
        #expect(matches(set, #"{"Channel":"Custom/EDR","EventID":7,"ProcessPath":"C:\\whoami.exe"}"#) == ["Whoami"])
        #expect(
            matches(set, #"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\whoami.exe"}"#)
                .isEmpty)
        #expect(throws: LogsourceMapping.MappingError.self) {
            try LogsourceMapping.parse("sources: [{logsource: {product: x}}]", file: "bad.yml")
        }
        #expect(throws: LogsourceMapping.MappingError.self) {
            try LogsourceMapping.parse("surprise: 1", file: "bad.yml")
        }
    }
}
