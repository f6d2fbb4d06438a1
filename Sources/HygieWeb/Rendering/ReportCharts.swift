import Foundation

/// Stacked bar charts of the reports and cases pages (no script, no external resource).
enum StackedBars {
    struct Series {
        let key: String
        let colour: String
        let label: String
    }

    /// One bar per column, stacked by series, oldest column first; every `labelEvery`-th column is labelled.
    static func svg(
        _ columns: [(label: String, counts: [String: Int])], series: [Series], title: String, labelEvery: Int = 1
    ) -> String {
        let width = 640
        let height = 200
        let top = 34
        let bottom = 26
        let maxValue = max(columns.map { $0.counts.values.reduce(0, +) }.max() ?? 0, 1)
        let slot = Double(width - 20) / Double(max(columns.count, 1))
        var body = ""
        for (index, column) in columns.enumerated() {
            var y = Double(height - bottom)
            let x = 10 + Double(index) * slot + slot * 0.15
            for entry in series {
                let count = column.counts[entry.key] ?? 0
                guard count > 0 else { continue }
                let barHeight = Double(height - top - bottom) * Double(count) / Double(maxValue)
                y -= barHeight
                body +=
                    "<rect fill=\"\(entry.colour)\" x=\"\(Int(x))\" y=\"\(Int(y))\" width=\"\(max(1, Int(slot * 0.7)))\" height=\"\(max(1, Int(barHeight.rounded())))\"><title>\(HTMLEscape.attribute(column.label)) — \(HTMLEscape.attribute(entry.label)): \(count)</title></rect>"
            }
            if index % max(1, labelEvery) == 0 {
                body +=
                    "<text x=\"\(Int(x + slot * 0.35))\" y=\"\(height - 8)\" text-anchor=\"middle\" font-size=\"10\" font-family=\"sans-serif\" fill=\"#5b6675\">\(HTMLEscape.attribute(column.label))</text>"
            }
        }
        var legendX = 10
        for entry in series {
            body +=
                "<rect x=\"\(legendX)\" y=\"6\" width=\"11\" height=\"11\" fill=\"\(entry.colour)\"/><text x=\"\(legendX + 15)\" y=\"16\" font-size=\"11\" font-family=\"sans-serif\" fill=\"#1c2430\">\(HTMLEscape.attribute(entry.label))</text>"
            legendX += 22 + 7 * entry.label.count
        }
        return SVGDocument.make(width: width, height: height, title: title, body: body)
    }

    static let palette = ["#b42318", "#c2410c", "#0f7c74", "#5b6675", "#2f5d9b", "#7a4ea3", "#b7831a"]
}
