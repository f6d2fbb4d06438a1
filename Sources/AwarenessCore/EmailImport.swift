import MailTriage

/// Reads an existing message (.eml, RFC 5322 + MIME) to start a template from it: its subject and its first
/// text and HTML bodies, decoded by the triage module's MIME reader (every transfer encoding and charset,
/// nested multiparts). Attachments are left out (they are added to the template on purpose, not by accident).
public enum EmailImport {
    public struct Message: Sendable, Hashable {
        public var subject: String
        public var text: String
        public var html: String
    }

    public static let maximumSize = 10 << 20

    public static func read(_ bytes: [UInt8]) throws(TemplateError) -> Message {
        let message: MailMessage
        do {
            message = try MailMessage.parse(bytes, limits: MailLimits(maximumSize: maximumSize, maximumDepth: 10))
        } catch {
            throw TemplateError(error.description)
        }
        let result = Message(
            subject: message.subject, text: message.textBodies.first ?? "", html: message.htmlBodies.first ?? "")
        guard !result.text.isEmpty || !result.html.isEmpty else {
            throw TemplateError("the message has no text or HTML part")
        }
        return result
    }
}
