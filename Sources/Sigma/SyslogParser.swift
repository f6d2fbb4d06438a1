/// Reads one syslog line (RFC 5424, RFC 3164 and the usual deviations: no priority as in `/var/log/auth.log`,
/// ISO timestamps, a year, no host) into an ``Event`` with fields `timestamp`, `host`, `app`, `pid`, `msgid`,
/// `facility`, `severity`, `message`, structured-data parameters (`param` and `sdid.param`), `log_format: syslog`.
/// A JSON object as message is read into fields too.
public enum SyslogParser {
    static let facilities = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp",
        "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
        "local7",
    ]
    static let severities = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// `year` is used for RFC 3164 timestamps, which carry none.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, into event: Event, year: Int) throws(EventParseError)
    {
        event.reset()
        var line = Substring(decoding: bytes, as: UTF8.self)
        guard !line.isEmpty else { throw EventParseError(message: "empty line", offset: 0) }
        if line.hasPrefix("type=") {
            parseAuditd(line, event)
            return
        }
        if line.hasPrefix("CEF:") {
            try CEFParser.parse(line, into: event)
            return
        }
        add(event, "log_format", "syslog")
        if line.first == "<", let close = line.prefix(5).firstIndex(of: ">"),
            line[line.index(after: line.startIndex)..<close].allSatisfy(\.isASCIIDigit),
            let priority = Int(line[line.index(after: line.startIndex)..<close]), priority < 192
        {
            add(event, "facility", facilities[priority / 8])
            add(event, "severity", severities[priority % 8])
            add(event, "priority", String(priority))
            line = line[line.index(after: close)...]
        }
        // RFC 5424: a version number and a space.
        if let space = line.firstIndex(of: " "), space > line.startIndex, line[..<space].allSatisfy(\.isNumber),
            line.distance(from: line.startIndex, to: space) <= 2
        {
            try parse5424(line[line.index(after: space)...], event)
        } else {
            parse3164(line, event, year: year)
        }
    }

    /// An auditd record: `type=SYSCALL msg=audit(1700000000.123:42): key=value key="quoted value"…`.
    static func parseAuditd(_ line: Substring, _ event: Event) {
        add(event, "log_format", "auditd")
        var rest = line
        while !rest.isEmpty {
            while rest.first == " " { rest = rest.dropFirst() }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = rest[..<equals].trimmingPrefix(" ")
            rest = rest[rest.index(after: equals)...]
            var value: Substring
            if rest.first == "\"" {
                rest = rest.dropFirst()
                let close = rest.firstIndex(of: "\"") ?? rest.endIndex
                value = rest[..<close]
                rest = close < rest.endIndex ? rest[rest.index(after: close)...] : rest[close...]
            } else if rest.first == "'" {
                rest = rest.dropFirst()
                let close = rest.firstIndex(of: "'") ?? rest.endIndex
                value = rest[..<close]
                rest = close < rest.endIndex ? rest[rest.index(after: close)...] : rest[close...]
            } else {
                let end = rest.firstIndex(of: " ") ?? rest.endIndex
                value = rest[..<end]
                rest = rest[end...]
            }
            if key == "msg", value.hasPrefix("audit("), let colon = value.firstIndex(of: ":"),
                let seconds = Double(value[value.index(value.startIndex, offsetBy: 6)..<colon])
            {
                add(event, "timestamp", DateParts.iso8601(seconds))
                if value.hasSuffix("):") {
                    value = value.dropLast(2)
                } else if value.hasSuffix(")") {
                    value = value.dropLast()
                }
                add(event, "serial", value[value.index(after: colon)...])
                continue
            }
            if value.hasSuffix(":"), key == "msg" { value = value.dropLast() }
            if !key.isEmpty { add(event, String(key), value) }
        }
    }

    static func add(_ event: Event, _ key: String, _ value: some StringProtocol) {
        _ = event.add(key: key, value: String(value))
    }

    static func token(_ text: inout Substring) -> Substring {
        while text.first == " " { text = text.dropFirst() }
        let end = text.firstIndex(of: " ") ?? text.endIndex
        let token = text[..<end]
        text = text[end...]
        if text.first == " " { text = text.dropFirst() }
        return token
    }

    static func parse5424(_ body: Substring, _ event: Event) throws(EventParseError) {
        var rest = body
        let timestamp = token(&rest)
        let host = token(&rest)
        let app = token(&rest)
        let pid = token(&rest)
        let msgid = token(&rest)
        if timestamp != "-" {
            add(event, "timestamp", timestamp)
        }
        if host != "-" { add(event, "host", host) }
        if app != "-" { add(event, "app", app) }
        if pid != "-" { add(event, "pid", pid) }
        if msgid != "-" { add(event, "msgid", msgid) }
        if rest.first == "-" {
            rest = rest.dropFirst()
        } else {
            while rest.first == "[" {
                rest = rest.dropFirst()
                let idEnd = rest.firstIndex(where: { $0 == " " || $0 == "]" }) ?? rest.endIndex
                let sdid = rest[..<idEnd]
                rest = rest[idEnd...]
                while true {
                    while rest.first == " " { rest = rest.dropFirst() }
                    if rest.first == "]" {
                        rest = rest.dropFirst()
                        break
                    }
                    guard let equals = rest.firstIndex(of: "=") else {
                        throw EventParseError(message: "invalid structured data", offset: 0)
                    }
                    let name = rest[..<equals]
                    rest = rest[rest.index(after: equals)...]
                    guard rest.first == "\"" else {
                        throw EventParseError(message: "unquoted structured data value", offset: 0)
                    }
                    rest = rest.dropFirst()
                    var value = ""
                    var escaped = false
                    while let character = rest.first {
                        rest = rest.dropFirst()
                        if escaped {
                            value.append(character)
                            escaped = false
                        } else if character == "\\" {
                            escaped = true
                        } else if character == "\"" {
                            break
                        } else {
                            value.append(character)
                        }
                    }
                    add(event, String(name), value)
                    add(event, "\(sdid).\(name)", value)
                }
            }
        }
        if rest.first == " " { rest = rest.dropFirst() }
        if rest.hasPrefix("\u{FEFF}") { rest = rest.dropFirst() }
        message(rest, event)
    }

    static func parse3164(_ body: Substring, _ event: Event, year: Int) {
        var rest = body
        while rest.first == " " { rest = rest.dropFirst() }
        // Timestamp: `Mmm dd hh:mm:ss` (optionally with a year), or ISO 8601.
        var probe = rest
        let first = token(&probe)
        if first.count >= 10, DateParts(String(first)) != nil {
            add(event, "timestamp", first)
            rest = probe
        } else if first.count == 3, let month = months.firstIndex(of: first.lowercased()) {
            let day = token(&probe)
            var timeToken = token(&probe)
            var eventYear = year
            if timeToken.count == 4, let explicitYear = Int(timeToken) {
                eventYear = explicitYear
                timeToken = token(&probe)
            }
            if let dayNumber = Int(day), timeToken.count >= 8, timeToken.dropFirst(2).first == ":" {
                let parts = timeToken.prefix(8).split(separator: ":").compactMap { Int($0) }
                if parts.count == 3 {
                    let date = DateParts(
                        year: eventYear, month: month + 1, day: dayNumber, hour: parts[0], minute: parts[1],
                        second: parts[2])
                    add(event, "timestamp", DateParts.iso8601(date.epochSeconds))
                    rest = probe
                }
            }
        }
        // Host, unless the next token is already the tag.
        probe = rest
        let candidate = token(&probe)
        if !candidate.isEmpty, !candidate.hasSuffix(":"), !candidate.contains("["), !probe.isEmpty {
            add(event, "host", candidate)
            rest = probe
        }
        // TAG[PID]: message
        probe = rest
        let tagToken = token(&probe)
        if tagToken.hasSuffix(":") || tagToken.hasSuffix("]:") {
            var tag = tagToken.dropLast()
            if tag.hasSuffix("]"), let open = tag.lastIndex(of: "[") {
                add(event, "pid", tag[tag.index(after: open)..<tag.index(before: tag.endIndex)])
                tag = tag[..<open]
            }
            if !tag.isEmpty { add(event, "app", tag) }
            rest = probe
        }
        message(rest, event)
    }

    static func message(_ text: Substring, _ event: Event) {
        add(event, "message", text)
        if CEFParser.isCEF(text) {
            // A malformed CEF message stays a plain message.
            try? CEFParser.parse(text, into: event)
            return
        }
        let trimmed = text.drop(while: { $0 == " " })
        if trimmed.first == "{" {
            var json = String(trimmed)
            json.withUTF8 { bytes in
                try? JSONEventParser.parse(bytes, into: event, reset: false)
            }
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
