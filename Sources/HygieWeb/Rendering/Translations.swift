import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// The UI strings, one nested JSON catalog per language under `Resources/Locales`. Templates read them as
/// `{{t.section.key}}`.
struct Translations: @unchecked Sendable {
    // @unchecked: the dictionaries are built once at start-up and only read afterwards.
    let catalogs: [User.Locale: [String: Any]]

    init(bundle: Bundle) throws {
        var catalogs: [User.Locale: [String: Any]] = [:]
        for locale in User.Locale.allCases {
            guard
                let url = bundle.url(
                    forResource: locale.rawValue, withExtension: "json", subdirectory: "Resources/Locales"),
                let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
            else { throw HygieWebError.missingResource("Locales/\(locale.rawValue).json") }
            catalogs[locale] = object
        }
        self.catalogs = catalogs
    }

    /// The catalogs shipped in HygieWeb's resources.
    static func bundled() throws -> Translations { try Translations(bundle: .module) }

    func catalog(_ locale: User.Locale) -> [String: Any] { catalogs[locale] ?? [:] }

    /// One string by dotted key, for text built in Swift (flash messages, error pages).
    func string(_ key: String, _ locale: User.Locale) -> String {
        var node: Any? = catalog(locale)
        for part in key.split(separator: ".") { node = (node as? [String: Any])?[String(part)] }
        return node as? String ?? key
    }

    /// Every dotted key of a catalog (tests compare languages).
    static func keys(of catalog: [String: Any], prefix: String = "") -> Set<String> {
        var result = Set<String>()
        for (key, value) in catalog {
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            if let nested = value as? [String: Any] {
                result.formUnion(keys(of: nested, prefix: path))
            } else {
                result.insert(path)
            }
        }
        return result
    }
}
