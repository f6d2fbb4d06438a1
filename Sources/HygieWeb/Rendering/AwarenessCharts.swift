import Foundation

/// SVG charts of the awareness pages (no script, no external resource).
enum AwarenessCharts {
    static let click = "#c2410c"
    static let report = "#0f7c74"

    /// Click and report rates per campaign, oldest first, as two lines on a 0–100 % scale.
    static func trend(
        _ points: [(label: String, click: Double?, report: Double?)], clickLabel: String, reportLabel: String,
        title: String
    ) -> String {
        LineChart.percentages(
            labels: points.map(\.label),
            series: [(clickLabel, click, points.map(\.click)), (reportLabel, report, points.map(\.report))],
            title: title)
    }

    /// Shares of the people reached who opened, clicked, submitted, reported: horizontal bars.
    static func funnel(_ rows: [(String, Double?, Bool)], title: String) -> String {
        let width = 640
        let rowHeight = 34
        let labelWidth = 170
        let height = rowHeight * rows.count + 12
        var body = ""
        for (index, row) in rows.enumerated() {
            let y = 6 + index * rowHeight
            let share = min(max(row.1 ?? 0, 0), 1)
            let barWidth = Int(Double(width - labelWidth - 70) * share)
            body +=
                "<text x=\"\(labelWidth - 8)\" y=\"\(y + 19)\" text-anchor=\"end\" font-size=\"13\" font-family=\"sans-serif\" fill=\"#1c2430\">\(HTMLEscape.attribute(row.0))</text>"
            body +=
                "<rect x=\"\(labelWidth)\" y=\"\(y + 4)\" width=\"\(width - labelWidth - 70)\" height=\"22\" fill=\"#eef1f4\"/>"
            body +=
                "<rect x=\"\(labelWidth)\" y=\"\(y + 4)\" width=\"\(barWidth)\" height=\"22\" fill=\"\(row.2 ? report : click)\"/>"
            body +=
                "<text x=\"\(width - 62)\" y=\"\(y + 20)\" font-size=\"13\" font-family=\"sans-serif\" fill=\"#1c2430\">\(row.1.map { "\(Int(($0 * 100).rounded())) %" } ?? "—")</text>"
        }
        return SVGDocument.make(width: width, height: height, title: title, body: body)
    }
}
