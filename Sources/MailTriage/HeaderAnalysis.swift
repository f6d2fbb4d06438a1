public import Foundation

/// One `Received:` hop: who handed the message to whom, when, and the addresses seen.
public struct ReceivedHop: Sendable, Hashable, Codable {
    public var from: String
    public var by: String
    public var with: String
    /// IP addresses in the `from` clause (the client's, as the receiving server saw it).
    public var ips: [String]
    public var date: Date?

    /// Parses one Received field value (RFC 5321 §4.4, leniently: servers write what they like).
    public init(_ raw: String) {
        let unfolded = raw.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
        var clauses = unfolded
        date = nil
        if let semicolon = unfolded.lastIndex(of: ";") {
            clauses = String(unfolded[..<semicolon])
            date = MailDate.parse(String(unfolded[unfolded.index(after: semicolon)...]))
        }
        func clause(_ keyword: String) -> String {
            let words = clauses.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let index = words.firstIndex(where: { $0.lowercased() == keyword }), index + 1 < words.count else {
                return ""
            }
            return String(words[index + 1]).trimmingCharacters(in: CharacterSet(charactersIn: "();"))
        }
        from = clause("from")
        by = clause("by")
        with = clause("with")
        // The from clause runs up to ` by `.
        var fromText = Substring(clauses)
        if let byRange = clauses.range(of: " by ", options: .caseInsensitive) {
            fromText = clauses[..<byRange.lowerBound]
        }
        ips = Self.addresses(in: String(fromText))
    }

    /// IPv4 and IPv6 literals in a text (`[192.0.2.1]`, `(IPv6:2001:db8::1)`, bare).
    static func addresses(in text: String) -> [String] {
        var out: [String] = []
        let separators = CharacterSet(charactersIn: " ()[]<>;,=\t")
        for token in text.components(separatedBy: separators) {
            var token = token
            if token.lowercased().hasPrefix("ipv6:") { token = String(token.dropFirst(5)) }
            if IPAddress.isIPv4(token) || IPAddress.isIPv6(token), !out.contains(token) { out.append(token) }
        }
        return out
    }
}

/// IP address checks used by triage.
public enum IPAddress {
    public static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { $0.count <= 3 && !$0.isEmpty && UInt8($0) != nil }
    }

    public static func isIPv6(_ text: String) -> Bool {
        guard text.contains(":"), text.count >= 2, text.count <= 45 else { return false }
        let groups = text.split(separator: ":", omittingEmptySubsequences: false)
        guard groups.count >= 3, groups.count <= 8 else { return false }
        return groups.allSatisfy { $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }
            && text.filter { $0 == ":" }.count >= 2
    }

    /// Loopback, private (RFC 1918), link-local, CGNAT and unique-local ranges.
    public static func isPrivate(_ text: String) -> Bool {
        if isIPv4(text) {
            let octets = text.split(separator: ".").compactMap { Int($0) }
            switch (octets[0], octets[1]) {
            case (10, _), (127, _), (169, 254), (192, 168): return true
            case (172, 16...31), (100, 64...127): return true
            default: return false
            }
        }
        let lower = text.lowercased()
        return lower == "::1" || lower.hasPrefix("fe80:") || lower.hasPrefix("fc") || lower.hasPrefix("fd")
    }
}

/// One method's result in an Authentication-Results field: `spf=pass smtp.mailfrom=example.org`.
public struct AuthenticationResult: Sendable, Hashable, Codable {
    /// `spf`, `dkim`, `dmarc`, `arc`, `compauth`, …
    public var method: String
    /// `pass`, `fail`, `softfail`, `neutral`, `none`, `temperror`, `permerror`, `bestguesspass`, …
    public var result: String
    /// `ptype.property` values (`smtp.mailfrom`, `header.from`, `header.d`) and `reason`/`action`.
    public var properties: [String: String]
}

/// An Authentication-Results field (RFC 8601), read leniently: the authserv-id is optional (Microsoft's form
/// starts with the first result), comments are dropped, `reason` and `action` may appear anywhere.
public struct AuthenticationResults: Sendable, Hashable, Codable {
    public var authservID: String?
    public var results: [AuthenticationResult]

    public init(_ raw: String) {
        var text = raw
        // ARC-Authentication-Results: `i=1; …`.
        if let match = text.range(of: #"^\s*i=\d+\s*;"#, options: .regularExpression) {
            text.removeSubrange(match)
        }
        var segments = Self.split(Self.removingComments(text))
        authservID = nil
        if let first = segments.first, !first.contains("=") {
            authservID = first.split(separator: " ").first.map(String.init)
            segments.removeFirst()
        } else if let first = segments.first, let space = first.firstIndex(of: " "),
            !first[..<space].contains("=")
        {
            // `mx.example.org 1; spf=…` or `mx.example.org spf=pass` written without the semicolon.
            authservID = String(first[..<space])
            segments[0] = String(first[space...]).trimmingCharacters(in: .whitespaces)
        }
        var results: [AuthenticationResult] = []
        for segment in segments {
            let tokens = Self.tokens(segment)
            guard let head = tokens.first, let equals = head.firstIndex(of: "=") else { continue }
            let method = head[..<equals].lowercased()
            guard !method.isEmpty, method.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }),
                !method.contains(".")
            else { continue }
            var properties: [String: String] = [:]
            for token in tokens.dropFirst() {
                guard let equals = token.firstIndex(of: "=") else { continue }
                properties[token[..<equals].lowercased()] = String(token[token.index(after: equals)...])
                    .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            results.append(
                AuthenticationResult(
                    method: method, result: head[head.index(after: equals)...].lowercased(), properties: properties))
        }
        self.results = results
    }

    /// The first result for a method.
    public func result(_ method: String) -> AuthenticationResult? { results.first { $0.method == method } }

    static func removingComments(_ text: String) -> String {
        var out = ""
        var depth = 0
        var quoted = false
        for character in text {
            if character == "\"" && depth == 0 { quoted.toggle() }
            if !quoted {
                if character == "(" {
                    depth += 1
                    continue
                }
                if character == ")" && depth > 0 {
                    depth -= 1
                    continue
                }
            }
            if depth == 0 { out.append(character) }
        }
        return out
    }

    static func split(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if character == ";" && !quoted {
                out.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        out.append(current)
        return out.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// Space-separated tokens, keeping quoted values whole and `a = b` together.
    static func tokens(_ segment: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        for character in segment {
            if character == "\"" { quoted.toggle() }
            if (character == " " || character == "\t" || character == "\r" || character == "\n") && !quoted {
                if !current.isEmpty { out.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { out.append(current) }
        // Join `a = b` and `a= b`.
        var joined: [String] = []
        for token in out {
            if let last = joined.last, last.hasSuffix("=") || token.hasPrefix("=") {
                joined[joined.count - 1] = last + token
            } else {
                joined.append(token)
            }
        }
        return joined
    }
}

/// RFC 5322 dates (`Tue, 3 Nov 2026 10:12:01 +0100`), with the obsolete zone names and without the weekday.
public enum MailDate {
    public static func parse(_ text: String) -> Date? {
        var words = text.replacingOccurrences(of: ",", with: " ").split(whereSeparator: { $0 == " " || $0 == "\t" })
            .map(String.init)
        if let first = words.first, first.count == 3, Int(first) == nil { words.removeFirst() }
        guard words.count >= 4, let day = Int(words[0]), let year = Int(words[2]) else { return nil }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard let month = months.firstIndex(of: words[1].lowercased().prefix(3).description) else { return nil }
        let time = words[3].split(separator: ":").compactMap { Int($0) }
        guard time.count >= 2 else { return nil }
        var offset = 0
        if words.count >= 5 {
            let zone = words[4]
            if let sign = zone.first, sign == "+" || sign == "-", let value = Int(zone.dropFirst()), zone.count == 5 {
                offset = (value / 100 * 3600 + value % 100 * 60) * (sign == "-" ? -1 : 1)
            } else {
                let named = [
                    "ut": 0, "gmt": 0, "utc": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7,
                    "mdt": -6, "pst": -8, "pdt": -7, "cet": 1, "cest": 2,
                ]
                offset = (named[zone.lowercased()] ?? 0) * 3600
            }
        }
        var components = DateComponents()
        components.timeZone = TimeZone(secondsFromGMT: offset)
        components.year = year < 100 ? year + (year < 50 ? 2000 : 1900) : year
        components.month = month + 1
        components.day = day
        components.hour = time[0]
        components.minute = time[1]
        components.second = time.count > 2 ? time[2] : 0
        return Calendar(identifier: .gregorian).date(from: components)
    }
}
