import Foundation
import Testing

@testable import AwarenessCore

@Suite struct LandingPageTests {
    @Test func formsPostBackAndPasswordInputsLoseTheirName() {
        let page = """
            <FORM method="post" ACTION='https://evil.example/login'><input type=text name=user>\
            <input name="pw" type="Password" /><input type="submit"></FORM><!-- <form action="x"> -->
            """
        let out = LandingPageRewriter.rewrite(page)
        #expect(out.contains("<form method=\"post\" action=\"\">"))
        #expect(!out.contains("evil.example"))
        #expect(out.contains("<input type=\"Password\" />"))
        #expect(!out.contains("name=\"pw\""))
        #expect(out.contains("<input type=text name=user>"))  // other tags pass through untouched
        #expect(out.contains("<!-- <form action=\"x\"> -->"))
        #expect(LandingPageRewriter.passwordFields(page) == ["pw"])
    }

    @Test(arguments: ["<", "<form", "<form action=\"x", "<<<>>>", "<input type=password name=", "a < b > c", ""])
    func brokenMarkupBecomesText(_ page: String) {
        // Never a crash; what cannot be read as a tag is escaped, so no browser makes an element of it.
        let out = LandingPageRewriter.rewrite(page)
        #expect(!out.contains("<") || out.contains("<!") || out.contains("</"))
        #expect(out.replacingOccurrences(of: "&lt;", with: "<") == page)
    }

    @Test func aMalformedPasswordInputCannotSurviveAsAnElement() {
        // Found by AwarenessFuzz: an unterminated attribute list, which a browser would still turn into an input.
        let page = "<form action=\"https://x.example\"><input type=password name=p\u{B7}\u{3}<fo} :\u{4}---\ntitle: x\n"
        let out = LandingPageRewriter.rewrite(page)
        #expect(!out.contains("<input"))
        #expect(LandingPageRewriter.passwordFields(out).isEmpty)
        #expect(
            LandingPageRewriter.rewrite("<!DOCTYPE html><html><body></body></html>")
                == "<!DOCTYPE html><html><body></body></html>")
    }

    @Test(arguments: ["password", "Mot_de_passe", "user_pwd", "otp", "pin"])
    func secretLookingFieldsAreRecognised(_ name: String) {
        #expect(LandingPageRewriter.looksLikePassword(name))
    }
}

@Suite struct TrainingTests {
    @Test func everyModuleExistsInBothLanguagesWithTheSameQuiz() throws {
        #expect(TrainingCatalogue.all.count == TrainingCatalogue.ids.count * 2)
        for id in TrainingCatalogue.ids {
            let french = try TrainingCatalogue.load(id, language: "fr")
            let english = try TrainingCatalogue.load(id, language: "en")
            #expect(french.questions.count >= 4)
            #expect(french.questions.count == english.questions.count)
            #expect(french.questions.map(\.correct) == english.questions.map(\.correct))
            #expect(french.passMark == english.passMark && french.minutes == english.minutes)
            #expect(!Markdown.blocks(french.lesson).isEmpty && !french.title.isEmpty)
            #expect(french.questions.allSatisfy { !$0.explanation.isEmpty })
        }
    }

    @Test func scoresAllOrNothingPerQuestion() throws {
        let module = try TrainingModule(
            id: "t", language: "fr",
            source: "---\ntitle: T\nminutes: 5\npass: 75\n---\nLesson\n## Quiz\n? One\n- a\n+ b\n? Two\n+ a\n+ b\n- c\n"
                + "? Three\n+ yes\n- no\n? Four\n- x\n+ y\n> because\n")
        #expect(module.questions.count == 4)
        #expect(module.questions[3].explanation == "because")
        #expect(module.score([[1], [0, 1], [0], [1]]) == 100)
        #expect(module.score([[1], [0], [0], [1]]) == 75)
        #expect(module.passes(75) && !module.passes(74))
        #expect(module.score([[1], [0, 1, 2], [0], [0, 1]]) == 50)
        #expect(module.score([]) == 0)
    }

    @Test(arguments: [
        ("title: T\nminutes: 5\npass: 80\n---\n## Quiz\n? q\n+ a\n- b", "start with"),
        ("---\ntitle: T\nminutes: 5\n---\n## Quiz\n? q\n+ a\n- b", "header needs"),
        ("---\ntitle: T\nminutes: 5\npass: 80\n---\nLesson only", "no '## Quiz'"),
        ("---\ntitle: T\nminutes: 5\npass: 80\n---\n## Quiz\n+ a", "before any question"),
        ("---\ntitle: T\nminutes: 5\npass: 80\n---\n## Quiz\n? q\n- a\n- b", "right one"),
        ("---\ntitle: T\nminutes: 5\npass: 80\n---\n## Quiz\n? q\n+ a\n- b\nfree text", "expected"),
    ])
    func malformedModulesSayWhatIsWrong(_ source: String, _ message: String) {
        #expect {
            _ = try TrainingModule(id: "x", language: "fr", source: source)
        } throws: { error in
            (error as? TemplateError)?.description.contains(message) == true
        }
    }

    @Test func markdownBecomesBlocksOfPlainText() {
        let blocks = Markdown.blocks(
            "# Title\n\nSome **bold** and *em* <script>.\n\n- one\n- two\n\n1. first\n2. second\n\n> note\nplain * star"
        )
        #expect(blocks.count == 6)
        #expect(blocks[0] == .heading(level: 1, [MarkdownSpan(text: "Title", strong: false, emphasis: false)]))
        guard case .paragraph(let spans) = blocks[1] else {
            Issue.record("\(blocks[1])")
            return
        }
        #expect(spans.contains(MarkdownSpan(text: "bold", strong: true, emphasis: false)))
        #expect(spans.contains(MarkdownSpan(text: "em", strong: false, emphasis: true)))
        #expect(spans.map(\.text).joined().contains("<script>"))  // kept as text: the page escapes it
        #expect(
            blocks[2]
                == .list(
                    ordered: false,
                    items: [
                        [.init(text: "one", strong: false, emphasis: false)],
                        [.init(text: "two", strong: false, emphasis: false)],
                    ]))
        guard case .list(true, let items) = blocks[3] else {
            Issue.record("\(blocks[3])")
            return
        }
        #expect(items.count == 2)
        guard case .paragraph(let last) = blocks[5] else {
            Issue.record("\(blocks[5])")
            return
        }
        #expect(last.map(\.text).joined() == "plain * star")
    }
}

@Suite struct EmailImportTests {
    @Test func readsSubjectAndBothPartsOfANestedMultipart() throws {
        let eml = """
            From: "Service RH" <rh@chu.example>\r
            Subject: =?ISO-8859-1?Q?Votre_bulletin_de_paie_d=E9cembre?= =?utf-8?B?IOKAlCBhY3Rpb24=?=\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="outer"\r
            \r
            --outer\r
            Content-Type: multipart/alternative;\r
             boundary=inner\r
            \r
            --inner\r
            Content-Type: text/plain; charset=windows-1252\r
            Content-Transfer-Encoding: quoted-printable\r
            \r
            Bonjour, voici votre bulletin =80 t=E9l=E9charger ici : https://rh.example/=\r
            bulletin\r
            --inner\r
            Content-Type: text/html; charset=utf-8\r
            Content-Transfer-Encoding: base64\r
            \r
            PHA+Qm9uam91ciDDqXTDqTwvcD4=\r
            --inner--\r
            --outer\r
            Content-Type: text/plain\r
            Content-Disposition: attachment; filename=notes.txt\r
            \r
            not the body\r
            --outer--\r

            """
        let message = try EmailImport.read(Array(eml.utf8))
        #expect(message.subject == "Votre bulletin de paie décembre — action")
        #expect(message.text.hasPrefix("Bonjour, voici votre bulletin € télécharger ici : https://rh.example/bulletin"))
        #expect(message.html == "<p>Bonjour été</p>")
    }

    @Test(arguments: ["", "just some text without headers", "Subject: only headers\r\n\r\n"])
    func somethingThatIsNotAMessageIsRefused(_ text: String) {
        #expect(throws: TemplateError.self) { try EmailImport.read(Array(text.utf8)) }
    }

    @Test func deepOrEndlessNestingStops() throws {
        var eml = "Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
        for level in 1..<30 { eml += "--b\(level - 1)\r\nContent-Type: multipart/mixed; boundary=b\(level)\r\n\r\n" }
        #expect(throws: TemplateError.self) { try EmailImport.read(Array(eml.utf8)) }
    }
}
