import Foundation
import HTTPTypes
import Hummingbird
import HygieCore
import HygieJobs
import HygieStorage
import Logging
import NIOCore

/// A small SVG bar chart (dashboard activity), drawn on the server: no script, no CDN.
struct BarChart {
    struct Bar {
        let label: String
        let value: Int
    }

    let bars: [Bar]
    let title: String

    func svg() -> String {
        let width = 640
        let height = 180
        let top = 16
        let bottom = 28
        let maxValue = max(bars.map(\.value).max() ?? 0, 1)
        let slot = Double(width) / Double(max(bars.count, 1))
        var body = ""
        for (index, bar) in bars.enumerated() {
            let barHeight = Double(height - top - bottom) * Double(bar.value) / Double(maxValue)
            let x = Double(index) * slot + slot * 0.15
            let y = Double(height - bottom) - barHeight
            body +=
                "<rect fill=\"#0f7c74\" x=\"\(Int(x))\" y=\"\(Int(y))\" width=\"\(Int(slot * 0.7))\" height=\"\(Int(barHeight.rounded()))\">"
            body += "<title>\(HTMLEscape.attribute(bar.label)): \(bar.value)</title></rect>"
            if bar.value > 0 {
                body +=
                    "<text x=\"\(Int(x + slot * 0.35))\" y=\"\(Int(y) - 3)\" text-anchor=\"middle\" font-size=\"11\" font-family=\"sans-serif\" fill=\"#1c2430\">\(bar.value)</text>"
            }
            if bars.count <= 14 || index % 2 == 0 {
                body +=
                    "<text x=\"\(Int(x + slot * 0.35))\" y=\"\(height - 10)\" text-anchor=\"middle\" font-size=\"11\" font-family=\"sans-serif\" fill=\"#5b6675\">\(HTMLEscape.attribute(bar.label))</text>"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(width) \(height)" role="img" \
            aria-label="\(HTMLEscape.attribute(title))"><line x1="0" y1="\(height - bottom)" x2="\(width)" \
            y2="\(height - bottom)" stroke="#9aa5b4"/>\(body)</svg>
            """
    }
}
