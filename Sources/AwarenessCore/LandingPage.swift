import Foundation

/// Prepares a landing page for the phishing server: every form posts back to the page itself (so that Hygie
/// records the submission, wherever the copied page pointed), and password inputs lose their `name`, so that a
/// browser never sends what was typed in them.
public enum LandingPageRewriter {
    public static func rewrite(_ html: String) -> String {
        var out = ""
        out.reserveCapacity(html.utf8.count + 64)
        scan(html) { piece in
            switch piece {
            case .text(let text), .inert(let text):
                out += text
            case .broken:
                // SECURITY: markup this reader cannot parse is shown as text, so that a browser, more lenient,
                // cannot make an element (a named password input) out of it.
                out += "&lt;"
            case .tag(let tag, let source):
                if tag.name == "form" {
                    var attributes = tag.attributes.filter { $0.name != "action" }
                    attributes.append(Tag.Attribute(name: "action", value: ""))
                    out += Tag.write("form", attributes, selfClosing: tag.selfClosing)
                } else if tag.isPasswordInput {
                    out += Tag.write("input", tag.attributes.filter { $0.name != "name" }, selfClosing: tag.selfClosing)
                } else {
                    out += source
                }
            }
        }
        return out
    }

    /// Names of the password inputs of a page (whose values must never be kept, even if a client sends them).
    public static func passwordFields(_ html: String) -> Set<String> {
        var names = Set<String>()
        scan(html) { piece in
            if case .tag(let tag, _) = piece, tag.isPasswordInput,
                let name = tag.attributes.first(where: { $0.name == "name" })?.value
            {
                names.insert(name)
            }
        }
        return names
    }

    /// A piece of a page, as a browser would split it (close enough for forms and inputs).
    enum Piece {
        case text(Substring)
        /// Comments, closing tags, declarations: nothing a form sends.
        case inert(Substring)
        /// A `<` that starts no tag this reader understands.
        case broken
        case tag(Tag, Substring)
    }

    /// One way to split a page, shared by the rewriting and the password-field reading.
    static func scan(_ html: String, _ visit: (Piece) -> Void) {
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            if open > rest.startIndex { visit(.text(rest[..<open])) }
            rest = rest[open...]
            if rest.hasPrefix("<!--") {
                // Browsers also end a comment at "--!>" (and "<!-->" is an empty comment).
                let after = rest.index(rest.startIndex, offsetBy: 2)
                let end =
                    [rest[after...].range(of: "-->"), rest[after...].range(of: "--!>")].compactMap { $0 }
                    .map(\.upperBound).min() ?? rest.endIndex
                visit(.inert(rest[..<end]))
                rest = rest[end...]
                continue
            }
            let next = rest.dropFirst().first
            if next == "/" || next == "!" || next == "?" {
                let end = rest.firstIndex(of: ">").map { rest.index(after: $0) } ?? rest.endIndex
                visit(.inert(rest[..<end]))
                rest = rest[end...]
                continue
            }
            guard let tag = Tag(rest) else {
                visit(.broken)
                rest = rest.dropFirst()
                continue
            }
            visit(.tag(tag, rest[..<tag.end]))
            rest = rest[tag.end...]
        }
        if !rest.isEmpty { visit(.text(rest)) }
    }

    /// Field names that are passwords whatever the page says.
    public static func looksLikePassword(_ name: String) -> Bool {
        let lower = name.lowercased()
        return ["pass", "pwd", "mdp", "mot_de_passe", "motdepasse", "secret", "pin", "otp", "code"].contains {
            lower.contains($0)
        }
    }

    /// An opening tag: name in lower case, attributes, where it ends.
    struct Tag {
        struct Attribute {
            var name: String
            var value: String?
        }

        var name: String
        var attributes: [Attribute] = []

        var isPasswordInput: Bool {
            name == "input" && attributes.contains { $0.name == "type" && $0.value?.lowercased() == "password" }
        }
        var selfClosing = false
        var end: Substring.Index

        init?(_ text: Substring) {
            var index = text.index(after: text.startIndex)
            let nameStart = index
            while index < text.endIndex, text[index].isLetter || text[index].isNumber {
                index = text.index(after: index)
            }
            guard index > nameStart else { return nil }
            name = text[nameStart..<index].lowercased()
            while true {
                while index < text.endIndex, text[index].isWhitespace { index = text.index(after: index) }
                guard index < text.endIndex else { return nil }
                if text[index] == ">" {
                    end = text.index(after: index)
                    return
                }
                if text[index] == "/" {
                    selfClosing = true
                    index = text.index(after: index)
                    continue
                }
                let attributeStart = index
                while index < text.endIndex, !text[index].isWhitespace, !"=>/".contains(text[index]) {
                    index = text.index(after: index)
                }
                guard index > attributeStart else { return nil }
                var attribute = Attribute(name: text[attributeStart..<index].lowercased(), value: nil)
                while index < text.endIndex, text[index].isWhitespace { index = text.index(after: index) }
                if index < text.endIndex, text[index] == "=" {
                    index = text.index(after: index)
                    while index < text.endIndex, text[index].isWhitespace { index = text.index(after: index) }
                    guard index < text.endIndex else { return nil }
                    if text[index] == "\"" || text[index] == "'" {
                        let quote = text[index]
                        let valueStart = text.index(after: index)
                        guard let close = text[valueStart...].firstIndex(of: quote) else { return nil }
                        attribute.value = String(text[valueStart..<close])
                        index = text.index(after: close)
                    } else {
                        let valueStart = index
                        while index < text.endIndex, !text[index].isWhitespace, text[index] != ">" {
                            index = text.index(after: index)
                        }
                        attribute.value = String(text[valueStart..<index])
                    }
                }
                selfClosing = false
                attributes.append(attribute)
            }
        }

        /// Written back only with attributes whose names are plain (`a-z`, digits, `-_:.`): an odd name read one
        /// way here could be read another way by a browser.
        static func write(_ name: String, _ attributes: [Attribute], selfClosing: Bool) -> String {
            var out = "<" + name
            for attribute in attributes
            where attribute.name.first?.isLetter == true
                && attribute.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_:.".contains($0)) })
            {
                out += " " + attribute.name
                if let value = attribute.value {
                    out += "=\"" + value.replacingOccurrences(of: "\"", with: "&quot;") + "\""
                }
            }
            return out + (selfClosing ? " />" : ">")
        }
    }
}
