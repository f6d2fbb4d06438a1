import MailTriage

/// Feeds arbitrary bytes to e-mail triage. The first byte chooses: 0 a MIME message (parsed, split as a report,
/// analysed, scored), 1 an Outlook .msg compound file (the same), 2 the header and link readers on text
/// (Authentication-Results, Received, addresses, encoded words, URLs in text and HTML, punycode, look-alikes).
/// A crash, a hang or a sanitizer report is a bug; errors answer bad input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let mode = start.load(as: UInt8.self) % 3
    let bytes = Array(UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self) + 1, count: count - 1))
    let settings = TriageSettings(ownDomains: ["chu-valbrune.fr"], protectedDomains: ["ameli.fr"])
    if mode == 0 || mode == 1 {
        let message: MailMessage
        do {
            message = mode == 0 ? try MailMessage.parse(bytes) : try OutlookMessage.read(bytes)
        } catch {
            precondition(!error.description.isEmpty, "error without a message")
            return 0
        }
        let report = ReportedMail(message)
        precondition(!report.originals.isEmpty, "a report without any original")
        for original in report.originals {
            let analysis = MailAnalysis(original, settings: settings)
            let verdict = analysis.verdict()
            precondition((0...100).contains(verdict.score), "score out of range")
            precondition(analysis.attachments.allSatisfy { $0.sha256.count == 64 }, "bad hash")
        }
    } else {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = AuthenticationResults(text).results
        _ = ReceivedHop(text)
        _ = MailAddress.list(text)
        _ = EncodedWords.decode(text)
        _ = ParameterizedValue(text)
        for found in URLExtractor.links(text: [text], html: [text]) {
            precondition(!found.host.isEmpty, "link without a host")
            _ = Lookalike.check(found.host, protected: ["chu-valbrune.fr"])
        }
        _ = Punycode.decode(text)
    }
    return 0
}
