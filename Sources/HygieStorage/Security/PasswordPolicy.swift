import Foundation
import HygieCore

/// The rules a new password must meet: at least 12 characters, not one of the passwords people pick first.
///
/// "Common" is judged on a normalised form (lower case, digits-for-letters undone, trailing digits and
/// symbols removed), so that `Password2024!` and `P@ssw0rd123` fall with `password`. The built-in list is
/// Hygie's own short list of words French and English hospital staff use; an instance can add a larger
/// list, one password per line, with `hygie.security.passwordDenylistFile`.
public struct PasswordPolicy: Sendable {
    public static let minimumLength = 12
    public static let maximumLength = 256

    let denied: Set<String>

    public init(extraDenylist: [String] = []) {
        var words = Set(Self.builtInWords)
        for entry in extraDenylist {
            let trimmed = entry.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty {
                words.insert(trimmed.lowercased())
                words.insert(Self.normalise(trimmed))
            }
        }
        denied = words
    }

    /// Throws a ``ValidationError`` naming the first rule `password` breaks.
    /// - Parameter context: words that must not make up the password (the user's e-mail, name).
    public func check(_ password: String, context: [String] = []) throws {
        guard password.count >= Self.minimumLength else {
            throw ValidationError(
                field: "password", message: "at least \(Self.minimumLength) characters", key: "tooShort",
                values: ["min": String(Self.minimumLength)])
        }
        guard password.count <= Self.maximumLength else {
            throw ValidationError(
                field: "password", message: "at most \(Self.maximumLength) characters", key: "tooLong",
                values: ["max": String(Self.maximumLength)])
        }
        let lowered = password.lowercased()
        let normalised = Self.normalise(password)
        if denied.contains(lowered) || denied.contains(normalised) || Set(lowered).count <= 3
            || Self.isKeyboardOrSequence(normalised)
        {
            throw ValidationError(field: "password", message: "this password is too common", key: "passwordCommon")
        }
        for word in context {
            let part = word.lowercased().split(separator: "@").first.map(String.init) ?? ""
            if part.count >= 4 && normalised.contains(Self.normalise(part)) {
                throw ValidationError(
                    field: "password", message: "must not contain your name or e-mail", key: "passwordPersonal")
            }
        }
    }

    /// Lower case, leetspeak undone, separators and trailing digits or symbols removed.
    static func normalise(_ text: String) -> String {
        let substitutions: [Character: Character] = [
            "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i",
        ]
        var base = text.lowercased()
        while let last = base.last, last.isNumber || last.isPunctuation || last.isSymbol || last == " " {
            base.removeLast()
        }
        return String(
            base.compactMap { char -> Character? in
                if char == " " || char == "-" || char == "_" || char == "." { return nil }
                return substitutions[char] ?? char
            })
    }

    static func isKeyboardOrSequence(_ text: String) -> Bool {
        let rows = ["azertyuiopqsdfghjklmwxcvbn", "qwertyuiopasdfghjklzxcvbnm", "abcdefghijklmnopqrstuvwxyz"]
        guard text.count >= 4 else { return text.isEmpty }
        return rows.contains { $0.contains(text) || String($0.reversed()).contains(text) }
    }

    static let builtInWords: [String] = [
        "password", "motdepasse", "passw", "passe", "secret", "welcome", "bienvenue", "bonjour", "hello", "admin",
        "administrator", "administrateur", "root", "toor", "letmein", "iloveyou", "jetaime", "soleil", "doudou",
        "loulou", "chouchou", "nicolas", "camille", "julien", "thomas", "marseille", "paris", "lyon", "toulouse",
        "bordeaux", "lille", "nantes", "france", "football", "olympiquedemarseille", "psg", "princesse", "dragon",
        "monkey", "master", "sunshine", "shadow", "superman", "batman", "starwars", "pokemon", "freedom",
        "whatever", "trustno", "qwerty", "azerty", "hopital", "hospital", "hopitaux", "clinique", "clinic", "chu",
        "sante", "health", "patient", "patients", "medecin", "docteur", "doctor", "infirmier", "infirmiere",
        "nurse", "urgences", "urgence", "emergency", "bloc", "pharmacie", "pharmacy", "radiologie", "radiology",
        "laboratoire", "laboratory", "service", "accueil", "reception", "changeme", "changezmoi", "changer",
        "nouveau", "nouveaumotdepasse", "newpassword", "default", "defaut", "utilisateur", "user", "guest",
        "invite", "test", "testing", "demo", "hygie", "hygieia", "login", "connexion", "access", "acces",
        "winter", "summer", "spring", "autumn", "hiver", "ete", "printemps", "automne", "janvier", "fevrier",
        "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre", "decembre",
        "january", "february", "march", "april", "june", "july", "august", "september", "october", "november",
        "december", "lundi", "monday", "vendredi", "friday", "chocolat", "chocolate", "cookie", "baseball",
        "michael", "jordan", "charlie", "alexandre", "maxime", "antoine", "marie", "sophie", "isabelle",
        "nathalie", "catherine", "christophe", "stephane", "frederic", "sebastien", "jeanpierre", "jesus",
        "dieu", "amour", "love", "family", "famille", "enfants", "bebe", "baby", "chat", "chien", "cheval",
        "computer", "ordinateur", "internet", "windows", "microsoft", "google", "apple", "samsung", "azertyuiop",
        "qwertyuiop", "wxcvbn", "abcdef", "abc", "aaaaaa", "zzzzzz", "securite", "security", "cyber",
    ]
}
