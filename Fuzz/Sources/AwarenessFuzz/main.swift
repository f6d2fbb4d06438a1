import AwarenessCore

/// Feeds arbitrary bytes to the awareness library: message templates (parsed, then rendered in HTML and text),
/// target lists (CSV), .eml imports, landing pages (rewritten), training modules and lesson Markdown. The first
/// byte chooses. A crash, a hang or a sanitizer report is a bug; errors answer bad input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let mode = start.load(as: UInt8.self) % 5
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
    } else if mode == 1 {
        if let targets = try? TargetList.parse(bytes) {
            precondition(Set(targets.map(\.email)).count == targets.count, "duplicate target kept")
            precondition(targets.allSatisfy { TargetList.isEmail($0.email) }, "invalid address kept")
        }
    } else if mode == 2 {
        if let message = try? EmailImport.read(bytes) {
            precondition(!message.text.isEmpty || !message.html.isEmpty, "empty message accepted")
        }
    } else if mode == 3 {
        let page = String(decoding: bytes, as: UTF8.self)
        let rewritten = LandingPageRewriter.rewrite(page)
        // Whatever the markup, no password input keeps a name once rewritten.
        precondition(LandingPageRewriter.passwordFields(rewritten).isEmpty, "password input kept its name")
    } else {
        let text = String(decoding: bytes, as: UTF8.self)
        if let module = try? TrainingModule(id: "fuzz", language: "fr", source: text) {
            precondition(module.questions.allSatisfy { !$0.correct.isEmpty }, "question without a right answer")
            _ = module.score(module.questions.map(\.correct))
        }
        _ = Markdown.blocks(text)
    }
    return 0
}
