import Foundation

/// A link found in a message, with where it really leads.
public struct FoundURL: Sendable, Hashable, Codable {
    public enum Flag: String, Sendable, Hashable, Codable, CaseIterable {
        /// Written defanged (`hxxp`, `[.]`) in the message.
        case defanged
        /// Wrapped by a mail filter (Microsoft Safe Links, Proofpoint URL Defense), unwrapped here.
        case wrapped
        /// Passes through an open redirector (a parameter holding another URL).
        case redirector
        /// A URL shortener hides the destination.
        case shortener
        /// The host is an IP address.
        case ipHost
        /// The host is internationalised (punycode or non-ASCII).
        case internationalized
        /// The link text shows another domain than the link leads to.
        case textMismatch
        /// `user@host` in the URL, a way to show a trusted name before the real host.
        case credentials
        /// A port other than 80/443.
        case unusualPort
    }

    /// The URL as found (refanged, HTML entities decoded).
    public var url: String
    /// Where it leads after unwrapping filters and redirectors.
    public var target: String
    /// The target's host, lower case (punycode kept as ASCII).
    public var host: String
    /// The host in Unicode when it was punycode.
    public var displayHost: String
    /// The HTML link text, when any.
    public var text: String?
    public var flags: Set<Flag>
}

/// The parts of an absolute URL, read without normalising (a hostile URL must be seen as written).
public struct URLParts: Sendable, Hashable {
    public var scheme: String
    public var userinfo: String?
    public var host: String
    public var port: Int?
    public var path: String
    public var query: String

    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        scheme = text[..<colon].lowercased()
        guard ["http", "https", "ftp"].contains(scheme) else { return nil }
        var rest = text[text.index(after: colon)...]
        guard rest.hasPrefix("//") else { return nil }
        rest = rest.dropFirst(2)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" || $0 == "\\" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let after = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") {
            userinfo = String(authority[..<at])
            authority = authority[authority.index(after: at)...]
        } else {
            userinfo = nil
        }
        port = nil
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close]).lowercased()
            let tail = authority[authority.index(after: close)...]
            if tail.hasPrefix(":") { port = Int(tail.dropFirst()) }
        } else if let portColon = authority.lastIndex(of: ":") {
            host = authority[..<portColon].lowercased()
            port = Int(authority[authority.index(after: portColon)...])
        } else {
            host = authority.lowercased()
        }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "."))
        guard !host.isEmpty else { return nil }
        let fragmentFree = after.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let pieces = fragmentFree.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = pieces.first.map(String.init) ?? ""
        query = pieces.count > 1 ? String(pieces[1]) : ""
    }

    /// Query parameters, percent-decoded (`+` as space).
    public var parameters: [(String, String)] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let bytes = ParameterizedValue.percentDecoded(Substring(text.replacingOccurrences(of: "+", with: " ")))
                return String(decoding: bytes, as: UTF8.self)
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}

/// Finds links in text and HTML: plain and defanged URLs, `href`/`src`/`action` attributes with their link
/// text; unwraps Safe Links, URL Defense and redirectors; flags shorteners, IP hosts and punycode.
public enum URLExtractor {
    static let shorteners: Set<String> = [
        "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
        "shorturl.at", "t.ly", "tiny.cc", "rb.gy", "s.id", "lnkd.in", "bit.do", "v.gd", "qrco.de", "tinyurl.fr",
        "urlz.fr", "shorturl.fr", "x.co", "soo.gd", "clck.ru", "u.to", "cli.re", "t.me", "surl.li", "short.gy",
    ]

    /// Every distinct link in a message's bodies (text and HTML), in order of appearance.
    public static func links(text: [String], html: [String]) -> [FoundURL] {
        var seen = Set<String>()
        var out: [FoundURL] = []
        func add(_ raw: String, text: String?) {
            guard let found = resolve(raw, text: text) else { return }
            if seen.insert(found.url + "\u{0}" + (found.text ?? "")).inserted { out.append(found) }
        }
        for document in html {
            for (url, text) in HTMLLinks.scan(document) { add(url, text: text) }
            for url in plain(HTMLLinks.visibleText(document)) { add(url, text: nil) }
        }
        for document in text {
            for url in plain(document) { add(url, text: nil) }
        }
        // One entry per URL: a link with its text wins over the same URL seen in plain text.
        var byURL: [String: Int] = [:]
        var unique: [FoundURL] = []
        for found in out {
            if let index = byURL[found.url] {
                unique[index].flags.formUnion(found.flags)
                if unique[index].text == nil { unique[index].text = found.text }
            } else {
                byURL[found.url] = unique.count
                unique.append(found)
            }
        }
        return unique
    }

    /// URLs written in plain text, refanged.
    public static func plain(_ text: String) -> [String] {
        let refanged = refang(text)
        var out: [String] = []
        let scalars = Array(refanged.unicodeScalars)
        func lowered(_ scalar: Unicode.Scalar) -> UInt32 {
            scalar.value >= 0x41 && scalar.value <= 0x5A ? scalar.value + 0x20 : scalar.value
        }
        func matches(_ prefix: [UInt32], at index: Int) -> Bool {
            guard index + prefix.count <= scalars.count else { return false }
            for offset in 0..<prefix.count where lowered(scalars[index + offset]) != prefix[offset] { return false }
            return true
        }
        let starts: [[UInt32]] = ["https://", "http://", "www."].map { $0.unicodeScalars.map(\.value) }
        var index = 0
        while index < scalars.count {
            let first = lowered(scalars[index])
            guard first == 0x68 || first == 0x77, let start = starts.first(where: { matches($0, at: index) }),
                start.count > 4 || index == 0 || !isURLCharacter(scalars[index - 1])
            else {
                index += 1
                continue
            }
            var end = index
            while end < scalars.count, isURLCharacter(scalars[end]) { end += 1 }
            var candidate = String(String.UnicodeScalarView(scalars[index..<end]))
            while let last = candidate.last, ".,;:!?)]}'\"".contains(last) { candidate.removeLast() }
            if start.count == 4 { candidate = "http://" + candidate }
            if candidate.count > start.count + 3 { out.append(candidate) }
            index = max(end, index + 1)
        }
        return out
    }

    static func isURLCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isWhitespace { return false }
        return !"<>\"'`^{}|\\".unicodeScalars.contains(scalar) && scalar.value >= 0x21
    }

    /// Undoes common defanging: `hxxp`, `[.]`, `(.)`, `[dot]`, `[:]`, `[://]`.
    public static func refang(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out = text
        for (pattern, replacement) in [
            ("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("(dot)", "."), ("[:]", ":"), ("[://]", "://"),
            ("hxxps", "https"), ("hxxp", "http"), ("HXXPS", "https"), ("HXXP", "http"), ("hXXps", "https"),
            ("hXXp", "http"),
        ] where Bytes.contains(bytes, Array(pattern.utf8)) {
            out = out.replacingOccurrences(of: pattern, with: replacement)
        }
        return out
    }

    /// Shows a URL defanged, so that it cannot be clicked by accident: `hxxps://example[.]org/`.
    public static func defang(_ url: String) -> String {
        var out = url.replacingOccurrences(of: "http", with: "hxxp", options: [.anchored, .caseInsensitive])
        if let parts = URLParts(url) {
            out = out.replacingOccurrences(of: parts.host, with: parts.host.replacingOccurrences(of: ".", with: "[.]"))
        }
        return out
    }

    /// The URL with its destination and flags, or nil if it is not an absolute web URL.
    static func resolve(_ raw: String, text: String?) -> FoundURL? {
        let url = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let parts = URLParts(url) else { return nil }
        var flags = Set<FoundURL.Flag>()
        if !url.lowercased().hasPrefix("http"), !url.lowercased().hasPrefix("ftp") { return nil }
        var target = url
        var current = parts
        for _ in 0..<5 {
            guard let (next, flag) = unwrap(current), let nextParts = URLParts(next) else { break }
            flags.insert(flag)
            target = next
            current = nextParts
        }
        let host = current.host
        if shorteners.contains(host) { flags.insert(.shortener) }
        if IPAddress.isIPv4(host) || IPAddress.isIPv6(host) { flags.insert(.ipHost) }
        if current.userinfo != nil || parts.userinfo != nil { flags.insert(.credentials) }
        if let port = current.port, port != 80, port != 443 { flags.insert(.unusualPort) }
        let display = Punycode.displayHost(host)
        if display != host || host.unicodeScalars.contains(where: { !$0.isASCII }) { flags.insert(.internationalized) }
        if let text, let shown = shownHost(text), !sameSite(shown, host), !sameSite(shown, parts.host) {
            flags.insert(.textMismatch)
        }
        return FoundURL(url: url, target: target, host: host, displayHost: display, text: text, flags: flags)
    }

    /// The next hop of a wrapped or redirecting URL.
    static func unwrap(_ parts: URLParts) -> (String, FoundURL.Flag)? {
        let host = parts.host
        let parameters = parts.parameters
        func value(_ name: String) -> String? { parameters.first { $0.0.lowercased() == name }?.1 }
        if host.hasSuffix("safelinks.protection.outlook.com"), let url = value("url") { return (url, .wrapped) }
        if host == "urldefense.proofpoint.com", parts.path.hasPrefix("/v2/"), let encoded = value("u") {
            let text = encoded.replacingOccurrences(of: "-", with: "%").replacingOccurrences(of: "_", with: "/")
            return (String(decoding: ParameterizedValue.percentDecoded(Substring(text)), as: UTF8.self), .wrapped)
        }
        if host == "urldefense.com", parts.path.hasPrefix("/v3/__") {
            let inner = parts.path.dropFirst(6)
            let end = inner.range(of: "__;")?.lowerBound ?? inner.range(of: "__")?.lowerBound ?? inner.endIndex
            return (String(inner[..<end]), .wrapped)
        }
        for (_, value) in parameters {
            let lower = value.lowercased()
            if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return (value, .redirector) }
        }
        return nil
    }

    /// A host name shown as link text (`www.chu-valbrune.fr`, `https://…`), if the text looks like one.
    static func shownHost(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.contains(" "), trimmed.contains(".") else { return nil }
        let candidate = trimmed.lowercased().hasPrefix("http") ? trimmed : "http://" + trimmed
        guard let parts = URLParts(candidate), parts.host.contains("."),
            let last = parts.host.split(separator: ".").last, last.count >= 2, last.allSatisfy(\.isLetter)
        else { return nil }
        return parts.host
    }

    static func sameSite(_ left: String, _ right: String) -> Bool {
        DomainName.registrable(left) == DomainName.registrable(right)
    }
}

/// A small HTML scanner for links: tags and attributes, entity decoding, visible text. Not a full HTML
/// parser; it never builds a tree and never runs anything.
enum HTMLLinks {
    /// (`href`/`src`/`action` value, link text for `<a>`) in order.
    static func scan(_ html: String) -> [(String, String?)] {
        var out: [(String, String?)] = []
        let scalars = Array(html.unicodeScalars)
        var index = 0
        while let open = next("<", in: scalars, from: index) {
            guard let close = next(">", in: scalars, from: open + 1) else { break }
            let tag = scalars[(open + 1)..<close]
            index = close + 1
            let name = String(String.UnicodeScalarView(tag.prefix { !$0.properties.isWhitespace && $0 != "/" }))
                .lowercased()
            guard ["a", "area", "img", "form", "iframe", "link", "base", "frame", "embed", "script"].contains(name)
            else { continue }
            let attributes = self.attributes(tag)
            for key in ["href", "src", "action", "background"] {
                guard let value = attributes[key] else { continue }
                var text: String?
                if name == "a", key == "href" {
                    let end = search("</a", in: scalars, from: index) ?? min(scalars.count, index + 2_000)
                    text = decodeEntities(stripTags(String(String.UnicodeScalarView(scalars[index..<end]))))
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                    if text?.isEmpty == true { text = nil }
                }
                out.append((decodeEntities(value).trimmingCharacters(in: .whitespacesAndNewlines), text))
            }
        }
        return out
    }

    static func next(_ scalar: Unicode.Scalar, in scalars: [Unicode.Scalar], from: Int) -> Int? {
        var index = from
        while index < scalars.count {
            if scalars[index] == scalar { return index }
            index += 1
        }
        return nil
    }

    static func search(_ text: String, in scalars: [Unicode.Scalar], from: Int) -> Int? {
        let needle = Array(text.unicodeScalars)
        var index = from
        while index + needle.count <= scalars.count {
            if scalars[index] == needle[0],
                zip(needle, scalars[index..<(index + needle.count)]).allSatisfy({
                    $0.properties.lowercaseMapping == $1.properties.lowercaseMapping
                })
            {
                return index
            }
            index += 1
        }
        return nil
    }

    static func attributes(_ tag: ArraySlice<Unicode.Scalar>) -> [String: String] {
        var out: [String: String] = [:]
        var index = tag.startIndex
        // Skip the tag name.
        while index < tag.endIndex, !tag[index].properties.isWhitespace { index += 1 }
        while index < tag.endIndex {
            while index < tag.endIndex, tag[index].properties.isWhitespace || tag[index] == "/" { index += 1 }
            let nameStart = index
            while index < tag.endIndex, !tag[index].properties.isWhitespace, tag[index] != "=", tag[index] != "/" {
                index += 1
            }
            let name = String(String.UnicodeScalarView(tag[nameStart..<index])).lowercased()
            while index < tag.endIndex, tag[index].properties.isWhitespace { index += 1 }
            guard index < tag.endIndex, tag[index] == "=" else {
                if name.isEmpty { index += 1 }
                continue
            }
            index += 1
            while index < tag.endIndex, tag[index].properties.isWhitespace { index += 1 }
            var value = String.UnicodeScalarView()
            if index < tag.endIndex, tag[index] == "\"" || tag[index] == "'" {
                let quote = tag[index]
                index += 1
                while index < tag.endIndex, tag[index] != quote {
                    value.append(tag[index])
                    index += 1
                }
                index += 1
            } else {
                while index < tag.endIndex, !tag[index].properties.isWhitespace {
                    value.append(tag[index])
                    index += 1
                }
            }
            if !name.isEmpty, out[name] == nil { out[name] = String(value) }
        }
        return out
    }

    static func stripTags(_ html: String) -> String {
        var out = String.UnicodeScalarView()
        var inTag = false
        for scalar in html.unicodeScalars {
            if scalar == "<" {
                inTag = true
            } else if scalar == ">" {
                inTag = false
                out.append(" ")
            } else if !inTag {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// The text a reader sees (tags removed, entities decoded; style and script contents dropped).
    static func visibleText(_ html: String) -> String {
        var text = html
        for element in ["style", "script"] {
            while let start = text.range(of: "<\(element)", options: .caseInsensitive),
                let end = text.range(
                    of: "</\(element)>", options: .caseInsensitive, range: start.upperBound..<text.endIndex)
            {
                text.removeSubrange(start.lowerBound..<end.upperBound)
            }
        }
        return decodeEntities(stripTags(text))
    }

    static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "eacute": "é", "egrave": "è",
        "agrave": "à", "ccedil": "ç", "ecirc": "ê", "euro": "€", "copy": "©", "rsquo": "’", "laquo": "«",
        "raquo": "»", "period": ".", "colon": ":", "sol": "/",
    ]

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            guard let semicolon = after.prefix(12).firstIndex(of: ";") else {
                out += "&"
                rest = after
                continue
            }
            let entity = after[..<semicolon]
            var replacement: String?
            if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                replacement = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String($0) }
            } else if entity.hasPrefix("#") {
                replacement = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init).map { String($0) }
            } else {
                replacement = named[entity.lowercased()]
            }
            if let replacement {
                out += replacement
                rest = after[after.index(after: semicolon)...]
            } else {
                out += "&"
                rest = after
            }
        }
        return out + rest
    }
}
