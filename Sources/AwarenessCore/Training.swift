import Foundation

/// A training module written by the project: a lesson in Markdown and a quiz with a pass mark, in French and
/// English (`Resources/training/<id>.<fr|en>.md`).
///
/// File layout: a header between `---` lines (`title:`, `summary:`, `minutes:`, `pass:` percent), the lesson,
/// then `## Quiz` followed by questions: `? question`, answers `- wrong` / `+ right` (at least one right),
/// and an optional `> explanation` shown after answering.
public struct TrainingModule: Sendable, Hashable, Identifiable {
    public struct Question: Sendable, Hashable {
        public var text: String
        public var answers: [String]
        /// Indexes of the right answers (several allowed: all must be ticked, no wrong one).
        public var correct: Set<Int>
        public var explanation: String
    }

    public var id: String
    public var language: String
    public var title: String
    public var summary: String
    public var minutes: Int
    /// Share of questions to answer right, in percent.
    public var passMark: Int
    /// The lesson, Markdown.
    public var lesson: String
    public var questions: [Question]

    /// Reads a module file. - Throws: ``TemplateError`` naming the line.
    public init(id: String, language: String, source: String) throws(TemplateError) {
        self.id = id
        self.language = language
        var lines = source.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        guard lines.first == "---", let end = lines.dropFirst().firstIndex(of: "---") else {
            throw TemplateError("\(id).\(language): the file must start with a --- header")
        }
        var header: [String: String] = [:]
        for line in lines[1..<end] {
            guard let colon = line.firstIndex(of: ":") else {
                throw TemplateError("\(id).\(language): header line '\(line)' has no ':'")
            }
            header[line[..<colon].trimmingCharacters(in: .whitespaces)] =
                line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        lines = Array(lines[(end + 1)...])
        guard let title = header["title"], !title.isEmpty, let minutes = header["minutes"].flatMap(Int.init),
            let pass = header["pass"].flatMap(Int.init), (1...100).contains(pass)
        else { throw TemplateError("\(id).\(language): the header needs title, minutes and pass (1-100)") }
        self.title = title
        summary = header["summary"] ?? ""
        self.minutes = minutes
        passMark = pass
        guard let quiz = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "## Quiz" }) else {
            throw TemplateError("\(id).\(language): no '## Quiz' section")
        }
        lesson = lines[..<quiz].joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        var questions: [Question] = []
        for (offset, raw) in lines[(quiz + 1)...].enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let number = end + quiz + offset + 3
            if line.isEmpty { continue }
            if line.hasPrefix("? ") {
                questions.append(Question(text: String(line.dropFirst(2)), answers: [], correct: [], explanation: ""))
            } else if line.hasPrefix("- ") || line.hasPrefix("+ ") {
                guard !questions.isEmpty else {
                    throw TemplateError("\(id).\(language) line \(number): answer before any question")
                }
                if line.hasPrefix("+ ") {
                    questions[questions.count - 1].correct.insert(questions[questions.count - 1].answers.count)
                }
                questions[questions.count - 1].answers.append(String(line.dropFirst(2)))
            } else if line.hasPrefix("> ") {
                guard !questions.isEmpty else {
                    throw TemplateError("\(id).\(language) line \(number): explanation before any question")
                }
                questions[questions.count - 1].explanation +=
                    (questions[questions.count - 1].explanation.isEmpty ? "" : " ")
                    + line.dropFirst(2)
            } else {
                throw TemplateError("\(id).\(language) line \(number): expected '? ', '- ', '+ ' or '> '")
            }
        }
        guard !questions.isEmpty else { throw TemplateError("\(id).\(language): the quiz has no question") }
        for question in questions where question.answers.count < 2 || question.correct.isEmpty {
            throw TemplateError("\(id).\(language): question '\(question.text)' needs two answers and a right one")
        }
        self.questions = questions
    }

    /// The score in percent of a set of answers (for each question, the indexes ticked).
    public func score(_ answers: [Set<Int>]) -> Int {
        let right = questions.enumerated().count { index, question in
            index < answers.count && answers[index] == question.correct
        }
        return right * 100 / questions.count
    }

    public func passes(_ score: Int) -> Bool { score >= passMark }
}

/// The modules shipped with Hygie.
public enum TrainingCatalogue {
    /// Module ids in the order staff are advised to take them.
    public static let ids = ["phishing", "ransomware", "passwords", "usb", "social-engineering", "patient-data"]
    public static let languages = ["fr", "en"]

    /// Every module in every language, read once. Force-unwrapped loading is checked by the tests.
    public static let all: [TrainingModule] = {
        ids.flatMap { id in languages.compactMap { language in try? load(id, language: language) } }
    }()

    public static func load(_ id: String, language: String) throws -> TrainingModule {
        guard
            let url = Bundle.module.url(
                forResource: "\(id).\(language)", withExtension: "md", subdirectory: "Resources/training"),
            let data = try? Data(contentsOf: url)
        else { throw TemplateError("training module \(id).\(language) is missing") }
        return try TrainingModule(id: id, language: language, source: String(decoding: data, as: UTF8.self))
    }

    /// A module in the wanted language (French when the language is unknown).
    public static func module(_ id: String, language: String = "fr") -> TrainingModule? {
        all.first { $0.id == id && $0.language == language } ?? all.first { $0.id == id && $0.language == "fr" }
    }
}

/// A piece of inline text: plain, **bold** or *emphasised*.
public struct MarkdownSpan: Sendable, Hashable {
    public var text: String
    public var strong: Bool
    public var emphasis: Bool
}

/// A block of a lesson.
public enum MarkdownBlock: Sendable, Hashable {
    case heading(level: Int, [MarkdownSpan])
    case paragraph([MarkdownSpan])
    case list(ordered: Bool, items: [[MarkdownSpan]])
    case note([MarkdownSpan])
}

/// The Markdown subset lessons use: `#`–`###` headings, paragraphs, `-` and `1.` lists, `> ` notes, `**bold**`
/// and `*emphasis*`. It yields blocks and spans of plain text, which pages render with their usual escaping:
/// a lesson cannot inject markup.
public enum Markdown {
    public static func blocks(_ source: String) -> [MarkdownBlock] {
        var out: [MarkdownBlock] = []
        var paragraph: [String] = []
        var list: (ordered: Bool, items: [String])?
        func flush() {
            if !paragraph.isEmpty {
                out.append(.paragraph(spans(paragraph.joined(separator: " "))))
                paragraph = []
            }
            if let current = list {
                out.append(.list(ordered: current.ordered, items: current.items.map(spans)))
                list = nil
            }
        }
        for raw in source.components(separatedBy: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty {
                flush()
            } else if let level = [("### ", 3), ("## ", 2), ("# ", 1)].first(where: { line.hasPrefix($0.0) }) {
                flush()
                out.append(.heading(level: level.1, spans(String(line.dropFirst(level.0.count)))))
            } else if line.hasPrefix("> ") {
                flush()
                out.append(.note(spans(String(line.dropFirst(2)))))
            } else if line.hasPrefix("- ") || line.hasPrefix("* ") {
                if !paragraph.isEmpty || list?.ordered == true { flush() }
                list = (false, (list?.items ?? []) + [String(line.dropFirst(2))])
            } else if let dot = line.firstIndex(of: "."), !line[..<dot].isEmpty, line[..<dot].allSatisfy(\.isNumber),
                line[line.index(after: dot)...].hasPrefix(" ")
            {
                if !paragraph.isEmpty || list?.ordered == false { flush() }
                list = (true, (list?.items ?? []) + [String(line[line.index(dot, offsetBy: 2)...])])
            } else {
                if list != nil { flush() }
                paragraph.append(line)
            }
        }
        flush()
        return out
    }

    /// `**bold**` and `*emphasis*` split into spans; an unmatched marker stays as text.
    public static func spans(_ text: String) -> [MarkdownSpan] {
        var out: [MarkdownSpan] = []
        let bold = text.components(separatedBy: "**")
        for (index, part) in bold.enumerated() {
            let strong = index % 2 == 1 && index < bold.count - 1
            let prefix = index % 2 == 1 && !strong ? "**" : ""
            let emphasised = (prefix + part).components(separatedBy: "*")
            for (inner, piece) in emphasised.enumerated() where !piece.isEmpty || emphasised.count == 1 {
                let emphasis = inner % 2 == 1 && inner < emphasised.count - 1
                let text = inner % 2 == 1 && !emphasis ? "*" + piece : piece
                if !text.isEmpty { out.append(MarkdownSpan(text: text, strong: strong, emphasis: emphasis)) }
            }
        }
        return out
    }
}
