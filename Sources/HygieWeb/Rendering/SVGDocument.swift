/// The frame every chart of the pages shares: a standalone SVG image, titled for screen readers.
enum SVGDocument {
    static func make(width: Int, height: Int, title: String, body: String) -> String {
        let title = HTMLEscape.attribute(title)
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" "
            + "aria-label=\"\(title)\"><title>\(title)</title>\(body)</svg>"
    }
}
