import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// Escaping for the few places where Hygie writes markup itself (SVG charts and codes); templates escape with
/// `{{ }}`.
enum HTMLEscape {
    static func attribute(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}
