import Foundation

/// Prepares a landing page for the phishing server: every form posts back to the page itself (so that Hygie
/// records the submission, wherever the copied page pointed), and password inputs lose their `name`, so that a
/// browser never sends what was typed in them.
public enum LandingPageRewriter {
    public static func rewrite(_ html: String) -> String {
        var out = ""
        out.reserveCapacity(html.utf8.count + 64)
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            out += rest[..<open]
            rest = rest[open...]
            if rest.hasPrefix("<!--") {
                let end = rest.range(of: "-->")?.upperBound ?? rest.endIndex
                out += rest[..<end]
                rest = rest[end...]
                continue
            }
            guard let tag = Tag(rest) else {
                out.append("<")
                rest = rest.dropFirst()
                continue
            }
            switch tag.name {
            case "form":
                var attributes = tag.attributes.filter { $0.name != "action" }
                attributes.append(Tag.Attribute(name: "action", value: ""))
                out += Tag.write("form", attributes, selfClosing: tag.selfClosing)
            case "input"
            where tag.attributes.contains(where: { $0.name == "type" && $0.value?.lowercased() == "password" }):
                out += Tag.write("input", tag.attributes.filter { $0.name != "name" }, selfClosing: tag.selfClosing)
            default:
                out += rest[..<tag.end]
            }
            rest = rest[tag.end...]
        }
        out += rest
        return out
    }

    /// Names of the password inputs of a page (whose values must never be kept, even if a client sends them).
    public static func passwordFields(_ html: String) -> Set<String> {
        var names = Set<String>()
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            rest = rest[open...]
            guard let tag = Tag(rest) else {
                rest = rest.dropFirst()
                continue
            }
            if tag.name == "input",
                tag.attributes.contains(where: { $0.name == "type" && $0.value?.lowercased() == "password" }),
                let name = tag.attributes.first(where: { $0.name == "name" })?.value
            {
                names.insert(name)
            }
            rest = rest[tag.end...]
        }
        return names
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

        static func write(_ name: String, _ attributes: [Attribute], selfClosing: Bool) -> String {
            var out = "<" + name
            for attribute in attributes {
                out += " " + attribute.name
                if let value = attribute.value {
                    out += "=\"" + value.replacingOccurrences(of: "\"", with: "&quot;") + "\""
                }
            }
            return out + (selfClosing ? " />" : ">")
        }
    }
}
