import Foundation
import RecordInput

/// One person of a simulation's target group.
public struct Target: Sendable, Hashable, Codable {
    public var firstName: String
    public var lastName: String
    public var email: String
    public var position: String
    public var department: String
    public var role: String
    /// `fr` or `en`: the language of the training pages they are sent to.
    public var language: String

    public init(
        firstName: String = "", lastName: String = "", email: String, position: String = "", department: String = "",
        role: String = "", language: String = "fr"
    ) {
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.position = position
        self.department = department
        self.role = role
        self.language = language
    }
}

/// Target groups from spreadsheets: GoPhish's CSV (`First Name,Last Name,Email,Position`) or French headers
/// (`Prénom;Nom;Courriel;Fonction;Service;Rôle;Langue`), `,` or `;`. Every line is checked before anything is
/// kept: one bad line refuses the file with every problem listed.
public enum TargetList {
    public static let maximumTargets = 100_000

    /// Each field and the column names it is known by (compared in lower case).
    static var headers: [(WritableKeyPath<Target, String>, [String])] {
        [
            (\.firstName, ["first name", "firstname", "prenom", "prénom"]),
            (\.lastName, ["last name", "lastname", "nom", "nom de famille"]),
            (\.email, ["email", "e-mail", "courriel", "mail", "adresse e-mail", "adresse mail"]),
            (\.position, ["position", "fonction", "poste", "titre"]),
            (\.department, ["department", "service", "pole", "pôle", "unite", "unité"]),
            (\.role, ["role", "rôle", "profession", "metier", "métier"]),
            (\.language, ["language", "langue", "lang"]),
        ]
    }

    public static func parse(_ bytes: [UInt8]) throws(TemplateError) -> [Target] {
        let rows: [[String]]
        do { rows = try CSV.rows(bytes, what: "target list") } catch { throw TemplateError(error.message) }
        guard let header = rows.first, !(header.count == 1 && header[0].isEmpty) else {
            throw TemplateError("target list: the file is empty")
        }
        var columns: [WritableKeyPath<Target, String>: Int] = [:]
        for (index, name) in header.enumerated() {
            let key = name.trimmingCharacters(in: .whitespaces).lowercased()
            if let field = headers.first(where: { $0.1.contains(key) })?.0, columns[field] == nil {
                columns[field] = index
            }
        }
        guard columns[\.email] != nil else {
            throw TemplateError("target list: no e-mail column (Email, E-mail or Courriel)")
        }
        var targets: [Target] = []
        var problems: [String] = []
        var seen = Set<String>()
        for (offset, row) in rows.dropFirst().enumerated()
        where !row.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            let line = offset + 2
            var target = Target(email: "")
            for (field, column) in columns where column < row.count {
                target[keyPath: field] = row[column].trimmingCharacters(in: .whitespaces)
            }
            target.email = target.email.lowercased()
            if !isEmail(target.email) {
                problems.append("line \(line): '\(target.email)' is not an e-mail address")
            } else if !seen.insert(target.email).inserted {
                problems.append("line \(line): \(target.email) appears twice")
            }
            target.language = target.language.lowercased()
            if target.language.isEmpty { target.language = "fr" }
            if !["fr", "en"].contains(target.language) {
                problems.append("line \(line): language must be fr or en, not '\(target.language)'")
            }
            if [target.firstName, target.lastName, target.position, target.department, target.role].contains(where: {
                $0.count > 200 || $0.contains(where: { $0.isNewline })
            }) {
                problems.append("line \(line): a name, position, department or role is longer than 200 characters")
            }
            targets.append(target)
            guard targets.count <= maximumTargets else {
                throw TemplateError("target list: more than \(maximumTargets) people")
            }
        }
        guard problems.isEmpty else {
            let shown = problems.prefix(20).joined(separator: "; ")
            throw TemplateError(
                "target list refused, nothing imported: \(shown)\(problems.count > 20 ? "; … \(problems.count - 20) more" : "")"
            )
        }
        guard !targets.isEmpty else { throw TemplateError("target list: no one in the file") }
        return targets
    }

    /// A plain address check: one `@`, a dotted domain, no spaces or header-breaking characters.
    public static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard text.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !text.contains(where: { $0.isWhitespace || "<>,;:\"()[]\\".contains($0) })
        else { return false }
        return true
    }
}
