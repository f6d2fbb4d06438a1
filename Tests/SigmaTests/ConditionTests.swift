import Foundation
import Testing

@testable import Sigma

@Suite struct ConditionTests {
    let detection = """
        title: Conditions
        logsource: {category: test}
        detection:
            selection_a:
                A: '1'
            selection_b:
                B: '1'
            filter_c:
                C: '1'
            _helper:
                D: '1'
            condition: %@
        """

    func check(_ condition: String, _ json: String) -> Bool {
        fires(detection.replacingOccurrences(of: "%@", with: condition), json)
    }

    @Test func parserPrecedenceAndGrouping() throws {
        #expect(
            try ConditionParser.parse("a or b and not c")
                == .or([.search("a"), .and([.search("b"), .not(.search("c"))])]))
        #expect(
            try ConditionParser.parse("(a or b) and c") == .and([.or([.search("a"), .search("b")]), .search("c")]))
        #expect(
            try ConditionParser.parse("1 of sel* and not all of filter_*")
                == .and([.quantified(count: 1, pattern: "sel*"), .not(.quantified(count: nil, pattern: "filter_*"))]))
        #expect(try ConditionParser.parse("ALL OF them") == .quantified(count: nil, pattern: nil))
        #expect(try ConditionParser.parse("not not a") == .not(.not(.search("a"))))
    }

    @Test func malformedConditionsAreErrors() {
        for bad in ["", "a and", "(a or b", "a b", "and a", "1 of", "x of a", "a | count() > 5", ")", "a or or b"] {
            #expect(throws: ConditionError.self, "\(bad)") { try ConditionParser.parse(bad) }
        }
        let deep = String(repeating: "(", count: 200) + "a" + String(repeating: ")", count: 200)
        #expect(throws: ConditionError.self) { try ConditionParser.parse(deep) }
    }

    @Test func evaluation() {
        #expect(check("selection_a and selection_b", #"{"A":"1","B":"1"}"#))
        #expect(!check("selection_a and selection_b", #"{"A":"1"}"#))
        #expect(check("selection_a or selection_b", #"{"B":"1"}"#))
        #expect(check("selection_a and not filter_c", #"{"A":"1"}"#))
        #expect(!check("selection_a and not filter_c", #"{"A":"1","C":"1"}"#))
        #expect(check("(selection_a or selection_b) and not filter_c", #"{"B":"1"}"#))
        #expect(check("1 of selection_*", #"{"B":"1"}"#))
        #expect(!check("all of selection_*", #"{"B":"1"}"#))
        #expect(check("all of selection_*", #"{"A":"1","B":"1"}"#))
        #expect(check("1 of them", #"{"C":"1"}"#))
        #expect(!check("1 of them", #"{"D":"1"}"#), "them leaves out identifiers starting with _")
        #expect(check("all of them", #"{"A":"1","B":"1","C":"1"}"#))
        #expect(check("2 of them", #"{"A":"1","C":"1"}"#))
        #expect(!check("2 of them", #"{"A":"1"}"#))
        #expect(check("any of selection_*", #"{"A":"1"}"#))
    }

    @Test func listOfConditionsIsOr() {
        let yaml = """
            title: Two conditions
            logsource: {category: test}
            detection:
                a: {A: '1'}
                b: {B: '1'}
                condition:
                    - a
                    - b
            """
        #expect(fires(yaml, #"{"B":"1"}"#))
        #expect(!fires(yaml, #"{"C":"1"}"#))
    }

    @Test func listOfMapsIsOr() {
        let yaml = """
            title: List of maps
            logsource: {category: test}
            detection:
                selection:
                    - Image|endswith: '\\a.exe'
                    - CommandLine|contains: 'evil'
                condition: selection
            """
        #expect(fires(yaml, #"{"Image":"C:\\a.exe"}"#))
        #expect(fires(yaml, #"{"CommandLine":"so evil"}"#))
        #expect(!fires(yaml, #"{"Image":"C:\\b.exe"}"#))
    }

    @Test func undefinedSearchesAndPatternsAreRefused() {
        let missing = diagnostics(detection.replacingOccurrences(of: "%@", with: "selection_a and nothing"))
        #expect(missing.first?.reason == "condition")
        #expect(missing.first?.message.contains("nothing") == true)
        #expect(missing.first?.location.line == 12)
        let pattern = diagnostics(detection.replacingOccurrences(of: "%@", with: "1 of keyword*"))
        #expect(pattern.first?.reason == "condition")
        let aggregation = diagnostics(
            detection.replacingOccurrences(of: "%@", with: "selection_a | count() by User > 5"))
        #expect(aggregation.first?.message.contains("correlation") == true)
    }
}
