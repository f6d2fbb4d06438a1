import Foundation

/// Lines on a 0–100 % scale, one point per label (campaigns, weeks), with a legend: plain SVG, no script.
enum LineChart {
    /// `series` values are shares (0–1); nil leaves a gap in the points (the line joins the others).
    static func percentages(
        labels: [String], series: [(name: String, colour: String, values: [Double?])], title: String
    ) -> String {
        let width = 640
        let left = 40
        let right = 36
        // The legend wraps onto as many rows as the names need (about 7 units a character).
        var legend: [(x: Int, row: Int)] = []
        var cursor = left
        var row = 0
        for line in series {
            let itemWidth = 18 + 7 * line.name.count + 16
            if cursor + itemWidth > width - right, cursor > left {
                row += 1
                cursor = left
            }
            legend.append((cursor, row))
            cursor += itemWidth
        }
        let top = 28 + 18 * row
        let height = 192 + top
        let bottom = 30
        let plotWidth = Double(width - left - right)
        let plotHeight = Double(height - top - bottom)
        func x(_ index: Int) -> Double {
            labels.count <= 1
                ? Double(left) + plotWidth / 2 : Double(left) + plotWidth * Double(index) / Double(labels.count - 1)
        }
        func y(_ value: Double) -> Double { Double(top) + plotHeight * (1 - min(max(value, 0), 1)) }
        let text = "font-family=\"sans-serif\" fill=\"#5b6675\""
        var body = ""
        for step in stride(from: 0, through: 100, by: 25) {
            let lineY = Int(y(Double(step) / 100))
            body += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(lineY)\" y2=\"\(lineY)\" stroke=\"#e3e8ee\"/>"
            body +=
                "<text x=\"\(left - 6)\" y=\"\(lineY + 4)\" text-anchor=\"end\" font-size=\"11\" \(text)>\(step) %</text>"
        }
        // Many points: small dots, so that a year of weeks stays readable.
        let radius = labels.count > 20 ? 2 : 4
        for line in series {
            let coordinates = line.values.enumerated().compactMap { index, value in
                value.map { "\(Int(x(index))),\(Int(y($0)))" }
            }
            if coordinates.count > 1 {
                body +=
                    "<polyline fill=\"none\" stroke=\"\(line.colour)\" stroke-width=\"2.5\" points=\"\(coordinates.joined(separator: " "))\"/>"
            }
            for (index, value) in line.values.enumerated() {
                guard let value, index < labels.count else { continue }
                body +=
                    "<circle cx=\"\(Int(x(index)))\" cy=\"\(Int(y(value)))\" r=\"\(radius)\" fill=\"\(line.colour)\"><title>\(HTMLEscape.attribute(line.name)) \(HTMLEscape.attribute(labels[index])): \(Int((value * 100).rounded())) %</title></circle>"
            }
        }
        // At most about twelve labels along the axis.
        let every = max(1, Int((Double(labels.count) / 12).rounded(.up)))
        for (index, label) in labels.enumerated() where index % every == 0 {
            body +=
                "<text x=\"\(Int(x(index)))\" y=\"\(height - 10)\" text-anchor=\"middle\" font-size=\"11\" \(text)>\(HTMLEscape.attribute(label))</text>"
        }
        for (line, place) in zip(series, legend) {
            let y = 6 + 18 * place.row
            body +=
                "<rect x=\"\(place.x)\" y=\"\(y)\" width=\"12\" height=\"12\" fill=\"\(line.colour)\"/><text x=\"\(place.x + 18)\" y=\"\(y + 10)\" font-size=\"12\" font-family=\"sans-serif\" fill=\"#1c2430\">\(HTMLEscape.attribute(line.name))</text>"
        }
        if labels.isEmpty {
            body +=
                "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\" font-size=\"13\" \(text)>—</text>"
        }
        return SVGDocument.make(width: width, height: height, title: title, body: body)
    }
}
