import AwarenessCore

/// Feeds arbitrary bytes to the awareness library: message templates (parsed, then rendered in HTML and text) or
/// target lists (CSV). A crash, a hang or a sanitizer report is a bug; errors answer bad input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let mode = start.load(as: UInt8.self) % 2
    let bytes = Array(UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self) + 1, count: count - 1))
    if mode == 0 {
        let text = String(decoding: bytes, as: UTF8.self)
        let context = MessageContext(
            firstName: "<a>", lastName: "&", email: "x@y.example", position: "\"", from: "z@y.example",
            baseURL: "https://phish.example/?a=b", rid: RecipientID("abc1234")!)
        for kind in [MessageTemplate.Kind.html, .text] {
            guard let template = try? MessageTemplate(text, kind: kind) else { continue }
            let rendered = template.render(context)
            // In HTML, a recipient's value never opens a tag.
            precondition(kind == .text || !rendered.contains("<a>") || text.contains("<a>"), "unescaped value")
        }
    } else if let targets = try? TargetList.parse(bytes) {
        precondition(Set(targets.map(\.email)).count == targets.count, "duplicate target kept")
        precondition(targets.allSatisfy { TargetList.isEmail($0.email) }, "invalid address kept")
    }
    return 0
}
