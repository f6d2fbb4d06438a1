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

    /// An error as shown in a page: validation errors in the reader's language ("Mot de passe : au moins 12
    /// caractères"), other errors with their public message.
    func message(for error: any ClassifiedError, _ locale: User.Locale) -> String {
        guard let validation = error as? ValidationError else { return error.publicMessage }
        var text = string("validation.\(validation.key)", locale)
        if text == "validation.\(validation.key)" || validation.key == "invalid" { text = validation.message }
        for (name, value) in validation.values { text = text.replacingOccurrences(of: "{\(name)}", with: value) }
        let label = string("fields.\(validation.field)", locale)
        let field = label == "fields.\(validation.field)" ? validation.field : label
        return locale == .fr ? "\(field) : \(text)" : "\(field): \(text)"
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
