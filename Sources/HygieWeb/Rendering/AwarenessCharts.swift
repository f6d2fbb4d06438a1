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
        let width = 640
        let height = 220
        let left = 40
        let right = 36
        let top = 28
        let bottom = 30
        let plotWidth = Double(width - left - right)
        let plotHeight = Double(height - top - bottom)
        func x(_ index: Int) -> Double {
            points.count <= 1
                ? Double(left) + plotWidth / 2 : Double(left) + plotWidth * Double(index) / Double(points.count - 1)
        }
        func y(_ value: Double) -> Double { Double(top) + plotHeight * (1 - min(max(value, 0), 1)) }
        var body = ""
        for step in stride(from: 0, through: 100, by: 25) {
            let lineY = Int(y(Double(step) / 100))
            body += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(lineY)\" y2=\"\(lineY)\" stroke=\"#e3e8ee\"/>"
            body +=
                "<text x=\"\(left - 6)\" y=\"\(lineY + 4)\" text-anchor=\"end\" font-size=\"11\" font-family=\"sans-serif\" fill=\"#5b6675\">\(step) %</text>"
        }
        for (series, colour, name) in [
            (\(label: String, click: Double?, report: Double?).click, click, clickLabel),
            (\.report, report, reportLabel),
        ] {
            let coordinates = points.enumerated().compactMap { index, point in
                point[keyPath: series].map { "\(Int(x(index))),\(Int(y($0)))" }
            }
            if coordinates.count > 1 {
                body +=
                    "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.5\" points=\"\(coordinates.joined(separator: " "))\"/>"
            }
            for (index, point) in points.enumerated() {
                guard let value = point[keyPath: series] else { continue }
                body +=
                    "<circle cx=\"\(Int(x(index)))\" cy=\"\(Int(y(value)))\" r=\"4\" fill=\"\(colour)\"><title>\(HTMLEscape.attribute(name)) \(HTMLEscape.attribute(point.label)): \(Int((value * 100).rounded())) %</title></circle>"
            }
        }
        for (index, point) in points.enumerated() where points.count <= 12 || index % 2 == 0 {
            body +=
                "<text x=\"\(Int(x(index)))\" y=\"\(height - 10)\" text-anchor=\"middle\" font-size=\"11\" font-family=\"sans-serif\" fill=\"#5b6675\">\(HTMLEscape.attribute(point.label))</text>"
        }
        body +=
            "<rect x=\"\(left)\" y=\"6\" width=\"12\" height=\"12\" fill=\"\(click)\"/><text x=\"\(left + 18)\" y=\"16\" font-size=\"12\" font-family=\"sans-serif\" fill=\"#1c2430\">\(HTMLEscape.attribute(clickLabel))</text>"
        body +=
            "<rect x=\"\(left + 200)\" y=\"6\" width=\"12\" height=\"12\" fill=\"\(report)\"/><text x=\"\(left + 218)\" y=\"16\" font-size=\"12\" font-family=\"sans-serif\" fill=\"#1c2430\">\(HTMLEscape.attribute(reportLabel))</text>"
        if points.isEmpty {
            body +=
                "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\" font-size=\"13\" font-family=\"sans-serif\" fill=\"#5b6675\">—</text>"
        }
        return
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(HTMLEscape.attribute(title))\"><title>\(HTMLEscape.attribute(title))</title>\(body)</svg>"
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
        return
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(HTMLEscape.attribute(title))\"><title>\(HTMLEscape.attribute(title))</title>\(body)</svg>"
    }
}
