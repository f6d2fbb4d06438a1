import Foundation

extension MailAnalysis {
    /// Words of pressure and credential theft, in French and English, looked for in the subject and text.
    static let pressureWords = [
        "mot de passe", "password", "urgent", "immédiatement", "immediately", "suspendu", "suspended", "vérifier",
        "verify", "confirmer votre", "confirm your", "expir", "bloqué", "locked", "facture", "invoice", "virement",
        "wire transfer", "paiement", "payment", "identifiant", "login", "boîte aux lettres", "mailbox", "quota",
        "remboursement", "refund", "carte vitale", "ameli", "colis", "parcel", "docusign", "sharepoint",
    ]

    /// The reasons found in the message itself, with their points.
    func scoreMessage(_ message: MailMessage, settings: TriageSettings) -> [TriageReason] {
        var reasons: [TriageReason] = []
        let fromDomain = from?.domain ?? ""
        let auth = authentication
        let failed: Set = ["fail", "softfail", "permerror", "hardfail"]
        let dmarcFailed = auth.dmarc.map { failed.contains($0) } ?? false
        let compauthFailed = auth.compauth.map { failed.contains($0) } ?? false
        if dmarcFailed {
            reasons.append(TriageReason("dmarc_fail", 25, "DMARC \(auth.dmarc ?? "") for \(fromDomain)"))
        } else if compauthFailed {
            reasons.append(TriageReason("compauth_fail", 20, "Microsoft composite authentication failed"))
        }
        if let spf = auth.spf, failed.contains(spf) {
            reasons.append(TriageReason("spf_fail", spf == "softfail" ? 8 : 12, "SPF \(spf)"))
        }
        if let dkim = auth.dkim, failed.contains(dkim) {
            reasons.append(TriageReason("dkim_fail", 10, "DKIM signature \(dkim)"))
        }
        let ownDomain = settings.ownDomains.contains { DomainName.belongs(fromDomain, to: $0) }
        if ownDomain, dmarcFailed || compauthFailed || auth.spf.map({ failed.contains($0) }) == true {
            reasons.append(
                TriageReason("spoofed_own_domain", 35, "claims to come from \(fromDomain) but fails authentication"))
        }
        if !fromDomain.isEmpty {
            for address in replyTo
            where !address.domain.isEmpty
                && DomainName.registrable(address.domain) != DomainName.registrable(fromDomain)
            {
                reasons.append(
                    TriageReason("reply_to_mismatch", 15, "replies go to \(address.address), not to \(fromDomain)"))
                break
            }
            if let returnPath, !returnPath.domain.isEmpty,
                DomainName.registrable(returnPath.domain) != DomainName.registrable(fromDomain)
            {
                reasons.append(
                    TriageReason("return_path_mismatch", 5, "bounces go to \(returnPath.domain), not to \(fromDomain)"))
            }
        }
        if let from, from.name.contains("@"),
            let shown = MailAddress.list(from.name).first
                ?? (from.name.contains(" ") ? nil : MailAddress(name: "", address: from.name)),
            shown.domain != fromDomain, !shown.domain.isEmpty
        {
            reasons.append(
                TriageReason(
                    "display_name_address", 15, "the name shows \(shown.address) but the sender is \(from.address)"))
        }
        let shownName = from.map { DomainName.skeleton($0.name).replacingOccurrences(of: "-", with: " ") } ?? ""
        if let from, !ownDomain, !fromDomain.isEmpty,
            settings.ownDomains.contains(where: { domain in
                let core = DomainName.skeleton(DomainName.split(domain).core).replacingOccurrences(of: "-", with: " ")
                return core.count >= 4 && shownName.contains(core)
            })
        {
            reasons.append(
                TriageReason(
                    "display_name_impersonation", 15, "the name \"\(from.name)\" names the establishment from outside"))
        }
        for lookalike in lookalikes {
            let where_ =
                lookalike.domain == fromDomain
                ? "sender" : replyTo.contains { $0.domain == lookalike.domain } ? "reply-to" : "link"
            reasons.append(
                TriageReason(
                    "lookalike_domain", where_ == "link" ? 35 : 40,
                    "\(lookalike.domain) imitates \(lookalike.imitates) (\(lookalike.kind.rawValue), \(where_))"))
        }
        let weights: [FoundURL.Flag: (String, Int)] = [
            .textMismatch: ("link_text_mismatch", 25), .ipHost: ("link_ip_host", 15),
            .shortener: ("link_shortener", 10),
            .credentials: ("link_credentials", 20), .internationalized: ("link_punycode", 10),
            .redirector: ("link_redirector", 5), .unusualPort: ("link_port", 5),
        ]
        for flag in FoundURL.Flag.allCases {
            guard let (code, points) = weights[flag], let url = urls.first(where: { $0.flags.contains(flag) }) else {
                continue
            }
            let shown = flag == .textMismatch ? " (shows \"\(url.text ?? "")\")" : ""
            reasons.append(TriageReason(code, points, "\(URLExtractor.defang(url.target))\(shown)"))
        }
        let attachmentWeights: [AttachmentReport.Flag: (String, Int)] = [
            .executable: ("attachment_executable", 45), .doubleExtension: ("attachment_double_extension", 40),
            .macros: ("attachment_macros", 25), .diskImage: ("attachment_disk_image", 30),
            .encryptedArchive: ("attachment_encrypted_archive", 20), .archiveBomb: ("attachment_archive_bomb", 30),
            .executableInArchive: ("attachment_executable_in_archive", 40), .html: ("attachment_html", 20),
            .typeMismatch: ("attachment_type_mismatch", 15),
        ]
        for flag in AttachmentReport.Flag.allCases {
            guard let (code, points) = attachmentWeights[flag],
                let attachment = attachments.first(where: { $0.flags.contains(flag) })
            else { continue }
            reasons.append(TriageReason(code, points, "\(attachment.filename) (\(attachment.detectedType))"))
        }
        let text = Array(
            (subject + " " + message.textBodies.joined(separator: " ") + " "
                + message.htmlBodies.map(HTMLLinks.visibleText).joined(separator: " ")).prefix(200_000).lowercased()
                .utf8)
        let pressure = Self.pressureWords.filter { Bytes.contains(text, Array($0.utf8)) }
        if pressure.count >= 2 {
            reasons.append(
                TriageReason("pressure_words", min(15, pressure.count * 4), pressure.prefix(5).joined(separator: ", ")))
        }
        if let first = hops.last?.date, let last = hops.first?.date, last.timeIntervalSince(first) < -3_600 {
            reasons.append(TriageReason("received_dates", 5, "Received dates go backwards: forged hops?"))
        }
        if from == nil {
            reasons.append(TriageReason("no_sender", 5, "no From address"))
        }
        return reasons
    }
}

/// A message a staff member reported: the envelope they sent and the original(s) it carries.
public struct ReportedMail: Sendable {
    /// Microsoft's report-message format marks the reason in the subject: `1|` junk, `2|` not junk,
    /// `3|` phishing.
    public enum Category: String, Sendable, Hashable, Codable {
        case junk, notJunk = "not_junk", phishing
    }

    public var envelope: MailMessage
    /// The reported messages: attached ones, or the envelope itself for an inline forward.
    public var originals: [MailMessage]
    public var category: Category?
    /// True when the original was forwarded inline: its headers are lost.
    public var inline: Bool

    /// Reads an upload or a delivery: an .eml (RFC 5322) or an Outlook .msg.
    public static func read(_ bytes: [UInt8], limits: MailLimits = MailLimits()) throws(MailParseError) -> MailMessage {
        guard bytes.count <= limits.maximumSize else {
            throw MailParseError(
                "the file is \(bytes.count >> 20) MiB, more than the \(limits.maximumSize >> 20) MiB accepted")
        }
        if CompoundFile.isCompoundFile(bytes) { return try OutlookMessage.read(bytes, limits: limits) }
        return try MailMessage.parse(bytes, limits: limits)
    }

    /// Splits a report: attached messages (message/rfc822, or .eml/.msg files) are the originals.
    public init(_ envelope: MailMessage, limits: MailLimits = MailLimits()) {
        self.envelope = envelope
        var originals = envelope.attachedMessages.map(\.message)
        for part in envelope.attachments {
            let name = part.filename?.lowercased() ?? ""
            let bytes = part.bytes
            if name.hasSuffix(".msg") || CompoundFile.isCompoundFile(bytes) {
                if let message = try? OutlookMessage.read(bytes, limits: limits) { originals.append(message) }
            } else if name.hasSuffix(".eml") || part.mediaType == "application/octet-stream" && name.isEmpty {
                if let message = try? MailMessage.parse(bytes, limits: limits) { originals.append(message) }
            }
        }
        inline = originals.isEmpty
        self.originals = originals.isEmpty ? [envelope] : originals
        let subject = envelope.subject
        category =
            subject.hasPrefix("1|")
            ? .junk : subject.hasPrefix("2|") ? .notJunk : subject.hasPrefix("3|") ? .phishing : nil
    }
}

/// Byte-string search, much faster than Foundation's `contains` on large texts.
enum Bytes {
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return needle.isEmpty }
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin in
                var index = 0
                let last = hay.count - pin.count
                while index <= last {
                    if hay[index] == first {
                        var offset = 1
                        while offset < pin.count, hay[index + offset] == pin[offset] { offset += 1 }
                        if offset == pin.count { return true }
                    }
                    index += 1
                }
                return false
            }
        }
    }
}
