import Foundation

/// Server-drawn SVG charts of the compliance pages and reports: no script, no CDN.
enum ComplianceCharts {
    /// The colour of a score: red under 50 %, amber under 80 %, green from 80 %.
    static func colour(_ score: Double?) -> String {
        guard let score else { return "#c5ccd6" }
        return score < 0.5 ? "#c0392b" : score < 0.8 ? "#d68910" : "#1e8449"
    }

    /// CSS class of a heat-map cell.
    static func band(_ score: Double?) -> String {
        guard let score else { return "heat-none" }
        return score < 0.25 ? "heat-0" : score < 0.5 ? "heat-1" : score < 0.8 ? "heat-2" : "heat-3"
    }

    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.0f %%", $0 * 100) } ?? "—"
    }

    /// One horizontal bar per theme, 0–100 %, with the value written at the end of the bar.
    static func themes(_ rows: [(label: String, score: Double?)], title: String) -> String {
        let width = 640
        let rowHeight = 26
        let labelWidth = 230
        let height = max(rows.count, 1) * rowHeight + 24
        let barSpace = Double(width - labelWidth - 60)
        var body = ""
        for (index, row) in rows.enumerated() {
            let y = index * rowHeight + 6
            let label = row.label.count > 34 ? String(row.label.prefix(33)) + "…" : row.label
            let barWidth = Int((barSpace * (row.score ?? 0)).rounded())
            body +=
                "<text x=\"\(labelWidth - 8)\" y=\"\(y + 15)\" text-anchor=\"end\" font-size=\"12\" font-family=\"sans-serif\" fill=\"#1c2430\">\(HTMLEscape.attribute(label))<title>\(HTMLEscape.attribute(row.label))</title></text>"
            body +=
                "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(Int(barSpace))\" height=\"16\" fill=\"#eef1f5\"/>"
            body +=
                "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(barWidth)\" height=\"16\" fill=\"\(colour(row.score))\"><title>\(HTMLEscape.attribute(row.label)): \(percent(row.score))</title></rect>"
            body +=
                "<text x=\"\(labelWidth + Int(barSpace) + 6)\" y=\"\(y + 15)\" font-size=\"12\" font-family=\"sans-serif\" fill=\"#1c2430\">\(percent(row.score))</text>"
        }
        for tick in [0, 50, 80, 100] {
            let x = labelWidth + Int(barSpace * Double(tick) / 100)
            body +=
                "<line x1=\"\(x)\" y1=\"2\" x2=\"\(x)\" y2=\"\(height - 18)\" stroke=\"#9aa5b4\" stroke-dasharray=\"2 3\"/>"
            body +=
                "<text x=\"\(x)\" y=\"\(height - 4)\" text-anchor=\"middle\" font-size=\"10\" font-family=\"sans-serif\" fill=\"#5b6675\">\(tick) %</text>"
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(width) \(height)" role="img" \
            aria-label="\(HTMLEscape.attribute(title))">\(body)</svg>
            """
    }

    /// The points of a small line of weekly values (0…1) in a 120 × 28 box, for the fleet table's template,
    /// and the last point (drawn as a dot).
    static func sparkline(_ values: [Double?]) -> (points: String, last: (x: String, y: String)?) {
        let width = 120.0
        let height = 28.0
        let step = values.count > 1 ? (width - 4) / Double(values.count - 1) : 0
        var points: [String] = []
        var last: (String, String)?
        for (index, value) in values.enumerated() {
            guard let value else { continue }
            let x = String(format: "%.1f", 2 + Double(index) * step)
            let y = String(format: "%.1f", height - 3 - value * (height - 6))
            points.append("\(x),\(y)")
            last = (x, y)
        }
        return (points.joined(separator: " "), last)
    }

    struct RoadmapItem {
        let label: String
        let milestone: String
        let start: Date?
        let due: Date?
        let done: Bool
        let overdue: Bool
    }

    /// The action plan on a calendar: one row per action, grouped by milestone, from its start (or creation)
    /// to its due day; done in green, late in red, a line for today.
    static func roadmap(_ items: [RoadmapItem], today: Date, title: String) -> String {
        let dated = items.filter { $0.due != nil }
        let width = 760
        let labelWidth = 260
        let rowHeight = 22
        guard !dated.isEmpty else {
            return
                "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) 30\" role=\"img\" aria-label=\"\(HTMLEscape.attribute(title))\"></svg>"
        }
        let starts = dated.compactMap { $0.start ?? $0.due } + [today]
        let ends = dated.compactMap(\.due) + [today]
        let first = Calendar.utc.date(from: Calendar.utc.dateComponents([.year, .month], from: starts.min()!))!
        let last = Calendar.utc.date(byAdding: .month, value: 1, to: ends.max()!)!
        let span = max(last.timeIntervalSince(first), 86_400)
        let plot = Double(width - labelWidth - 10)
        func x(_ date: Date) -> Int { labelWidth + Int(plot * date.timeIntervalSince(first) / span) }
        var rows: [(String, RoadmapItem?)] = []
        var milestone: String?
        for item in dated.sorted(by: { ($0.milestone, $0.due!) < ($1.milestone, $1.due!) }) {
            if item.milestone != milestone {
                milestone = item.milestone
                rows.append((item.milestone, nil))
            }
            rows.append((item.label, item))
        }
        let height = rows.count * rowHeight + 30
        var body = ""
        var month = first
        while month < last {
            body +=
                "<line x1=\"\(x(month))\" y1=\"0\" x2=\"\(x(month))\" y2=\"\(height - 18)\" stroke=\"#e1e6ec\"/>"
            let parts = Calendar.utc.dateComponents([.year, .month], from: month)
            body +=
                "<text x=\"\(x(month) + 2)\" y=\"\(height - 4)\" font-size=\"10\" font-family=\"sans-serif\" fill=\"#5b6675\">\(String(format: "%02d/%02d", parts.month ?? 1, (parts.year ?? 2000) % 100))</text>"
            month = Calendar.utc.date(byAdding: .month, value: 1, to: month)!
        }
        for (index, (label, item)) in rows.enumerated() {
            let y = index * rowHeight + 4
            let shown = label.count > 40 ? String(label.prefix(39)) + "…" : label
            guard let item else {
                body +=
                    "<text x=\"4\" y=\"\(y + 15)\" font-size=\"12\" font-weight=\"bold\" font-family=\"sans-serif\" fill=\"#1c2430\">\(HTMLEscape.attribute(shown))</text>"
                continue
            }
            body +=
                "<text x=\"14\" y=\"\(y + 15)\" font-size=\"11\" font-family=\"sans-serif\" fill=\"#1c2430\">\(HTMLEscape.attribute(shown))<title>\(HTMLEscape.attribute(label))</title></text>"
            let start = x(item.start ?? item.due!.addingTimeInterval(-14 * 86_400))
            let end = max(x(item.due!), start + 4)
            let fill = item.done ? "#1e8449" : item.overdue ? "#c0392b" : "#0f7c74"
            body +=
                "<rect x=\"\(start)\" y=\"\(y + 4)\" width=\"\(end - start)\" height=\"12\" rx=\"3\" fill=\"\(fill)\"><title>\(HTMLEscape.attribute(label))</title></rect>"
        }
        body +=
            "<line x1=\"\(x(today))\" y1=\"0\" x2=\"\(x(today))\" y2=\"\(height - 18)\" stroke=\"#c0392b\" stroke-width=\"1.5\"/>"
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(width) \(height)" role="img" \
            aria-label="\(HTMLEscape.attribute(title))">\(body)</svg>
            """
    }
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
