import Foundation

/// SVG charts of the reports pages.
enum ReportCharts {
    static let colours: [(key: String, colour: String)] = [
        ("malicious", "#b42318"), ("suspicious", "#c2410c"), ("simulation", "#0f7c74"), ("safe", "#5b6675"),
        ("other", "#2f5d9b"),
    ]

    /// Reports per day, stacked by verdict (`other` for reports that are not e-mails), oldest day first.
    static func daily(_ days: [(label: String, counts: [String: Int])], labels: [String: String], title: String)
        -> String
    {
        let width = 640
        let height = 200
        let top = 34
        let bottom = 26
        let maxValue = max(days.map { $0.counts.values.reduce(0, +) }.max() ?? 0, 1)
        let slot = Double(width - 20) / Double(max(days.count, 1))
        var body = ""
        for (index, day) in days.enumerated() {
            var y = Double(height - bottom)
            let x = 10 + Double(index) * slot + slot * 0.15
            for (key, colour) in colours {
                let count = day.counts[key] ?? 0
                guard count > 0 else { continue }
                let barHeight = Double(height - top - bottom) * Double(count) / Double(maxValue)
                y -= barHeight
                body +=
                    "<rect fill=\"\(colour)\" x=\"\(Int(x))\" y=\"\(Int(y))\" width=\"\(max(1, Int(slot * 0.7)))\" height=\"\(max(1, Int(barHeight.rounded())))\"><title>\(HTMLEscape.attribute(day.label)) — \(HTMLEscape.attribute(labels[key] ?? key)): \(count)</title></rect>"
            }
            if days.count <= 10 || index % 5 == 0 {
                body +=
                    "<text x=\"\(Int(x + slot * 0.35))\" y=\"\(height - 8)\" text-anchor=\"middle\" font-size=\"10\" font-family=\"sans-serif\" fill=\"#5b6675\">\(HTMLEscape.attribute(day.label))</text>"
            }
        }
        var legendX = 10
        for (key, colour) in colours {
            let label = HTMLEscape.attribute(labels[key] ?? key)
            body +=
                "<rect x=\"\(legendX)\" y=\"6\" width=\"11\" height=\"11\" fill=\"\(colour)\"/><text x=\"\(legendX + 15)\" y=\"16\" font-size=\"11\" font-family=\"sans-serif\" fill=\"#1c2430\">\(label)</text>"
            legendX += 22 + 7 * (labels[key] ?? key).count
        }
        return
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(HTMLEscape.attribute(title))\"><title>\(HTMLEscape.attribute(title))</title>\(body)</svg>"
    }
}
