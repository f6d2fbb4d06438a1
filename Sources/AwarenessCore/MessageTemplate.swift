import Foundation

/// A phishing-simulation message template in GoPhish's syntax: `{{.FirstName}}`, `{{ .URL }}`, `{{.Tracker}}`…
///
/// Parsed once (so a broken template is refused when it is saved, not when a campaign sends it), rendered per
/// recipient. In HTML bodies the recipient's values are HTML-escaped (a name read from a spreadsheet cannot
/// inject markup); `{{.Tracker}}` is the open-tracking image itself.
public struct MessageTemplate: Sendable, Hashable {
    /// The variables GoPhish templates use.
    public enum Variable: String, Sendable, Hashable, CaseIterable {
        case firstName = "FirstName"
        case lastName = "LastName"
        case email = "Email"
        case position = "Position"
        case from = "From"
        case url = "URL"
        case tracker = "Tracker"
        case trackingURL = "TrackingURL"
        case rid = "RId"
        case baseURL = "BaseURL"
    }

    enum Segment: Sendable, Hashable {
        case text(String)
        case variable(Variable)
    }

    public enum Kind: Sendable, Hashable {
        case text
        case html
    }

    /// Longest template accepted (a rich HTML e-mail is a few hundred kilobytes).
    public static let maximumLength = 2 << 20

    let segments: [Segment]
    public let kind: Kind

    public init(_ source: String, kind: Kind) throws(TemplateError) {
        guard source.utf8.count <= Self.maximumLength else {
            throw TemplateError("the template is longer than \(Self.maximumLength >> 20) MiB")
        }
        var segments: [Segment] = []
        var rest = Substring(source)
        var line = 1
        while let open = rest.range(of: "{{") {
            let before = rest[..<open.lowerBound]
            line += before.count { $0 == "\n" }
            if !before.isEmpty { segments.append(.text(String(before))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw TemplateError("line \(line): '{{' is never closed with '}}'")
            }
            let inside = rest[open.upperBound..<close.lowerBound].trimmingSpaces()
            guard inside.first == ".", let variable = Variable(rawValue: String(inside.dropFirst())) else {
                let known = Variable.allCases.map { "{{.\($0.rawValue)}}" }.joined(separator: ", ")
                throw TemplateError("line \(line): unknown variable {{\(inside)}} (known: \(known))")
            }
            segments.append(.variable(variable))
            line += rest[open.lowerBound..<close.upperBound].count { $0 == "\n" }
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.text(String(rest))) }
        self.segments = segments
        self.kind = kind
    }

    /// The variables the template uses.
    public var variables: Set<Variable> {
        Set(segments.compactMap { if case .variable(let variable) = $0 { variable } else { nil } })
    }

    public func render(_ context: MessageContext) -> String {
        var out = ""
        for segment in segments {
            switch segment {
            case .text(let text): out += text
            case .variable(let variable):
                let value = context.value(of: variable)
                if variable == .tracker {
                    out += kind == .html ? value : ""
                } else {
                    out += kind == .html ? HTML.escape(value) : value
                }
            }
        }
        return out
    }
}

/// What a template is rendered with, for one recipient.
public struct MessageContext: Sendable, Hashable {
    public var firstName: String
    public var lastName: String
    public var email: String
    public var position: String
    public var from: String
    /// The phishing server's base URL (`https://phish.example`), without the rid.
    public var baseURL: String
    public var rid: RecipientID

    public init(
        firstName: String, lastName: String, email: String, position: String, from: String, baseURL: String,
        rid: RecipientID
    ) {
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.position = position
        self.from = from
        self.baseURL = baseURL
        self.rid = rid
    }

    /// The landing link: the base URL with `rid` added to its query.
    public var url: String { Self.adding(rid: rid, to: baseURL, path: "") }
    public var trackingURL: String { Self.adding(rid: rid, to: baseURL, path: "/track") }

    static func adding(rid: RecipientID, to base: String, path: String) -> String {
        var root = base
        var query = ""
        if let mark = base.firstIndex(of: "?") {
            root = String(base[..<mark])
            query = String(base[base.index(after: mark)...])
        }
        if !path.isEmpty {
            while root.hasSuffix("/") { root.removeLast() }
            root += path
        }
        return root + "?" + (query.isEmpty ? "" : query + "&") + "rid=" + rid.value
    }

    func value(of variable: MessageTemplate.Variable) -> String {
        switch variable {
        case .firstName: firstName
        case .lastName: lastName
        case .email: email
        case .position: position
        case .from: from
        case .url: url
        case .trackingURL: trackingURL
        case .rid: rid.value
        case .baseURL: baseURL
        case .tracker: "<img alt=\"\" style=\"display: none\" src=\"\(HTML.escape(trackingURL))\"/>"
        }
    }
}

public struct TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var result = self
        while result.first == " " || result.first == "\t" { result.removeFirst() }
        while result.last == " " || result.last == "\t" { result.removeLast() }
        return result
    }
}
