import AwarenessCore
import Testing

@Suite struct MessageTemplateTests {
    let context = MessageContext(
        firstName: "Inès", lastName: "<Chevalier>", email: "ines.chevalier@valbrune.example", position: "Pharmacienne",
        from: "Service informatique <it@valbrune-support.example>", baseURL: "https://phish.valbrune.example/connexion",
        rid: RecipientID("aB3dE5f")!)

    @Test func rendersGoPhishVariablesWithSpacesAndTheTracker() throws {
        let html = try MessageTemplate(
            "<p>Bonjour {{.FirstName}} {{ .LastName }},</p><a href=\"{{.URL}}\">Valider</a>{{.Tracker}}", kind: .html)
        #expect(html.variables == [.firstName, .lastName, .url, .tracker])
        let rendered = html.render(context)
        #expect(rendered.hasPrefix("<p>Bonjour Inès &lt;Chevalier&gt;,</p>"))
        #expect(rendered.contains("href=\"https://phish.valbrune.example/connexion?rid=aB3dE5f\""))
        #expect(
            rendered.hasSuffix(
                "<img alt=\"\" style=\"display: none\" src=\"https://phish.valbrune.example/connexion/track?rid=aB3dE5f\"/>"
            ))
        let text = try MessageTemplate("{{.FirstName}} {{.LastName}} {{.URL}}{{.Tracker}}", kind: .text)
        #expect(text.render(context) == "Inès <Chevalier> https://phish.valbrune.example/connexion?rid=aB3dE5f")
    }

    @Test func addsTheRidToAnExistingQuery() {
        var withQuery = context
        withQuery.baseURL = "https://phish.example/?lang=fr"
        #expect(withQuery.url == "https://phish.example/?lang=fr&rid=aB3dE5f")
        #expect(withQuery.trackingURL == "https://phish.example/track?lang=fr&rid=aB3dE5f")
    }

    @Test(arguments: [
        ("Bonjour {{.FirstName", "line 1: '{{' is never closed"),
        ("a\nb\n{{.Prenom}}", "line 3: unknown variable {{.Prenom}}"),
        ("{{FirstName}}", "unknown variable {{FirstName}}"),
        ("{{ }}", "unknown variable {{}}"),
        ("{{.FirstName | html}}", "unknown variable"),
    ])
    func refusesBrokenTemplatesWithTheLine(source: String, message: String) {
        #expect {
            _ = try MessageTemplate(source, kind: .html)
        } throws: { error in
            (error as? TemplateError)?.description.contains(message) == true
        }
    }

    @Test func textWithoutVariablesIsUnchanged() throws {
        let template = try MessageTemplate("Rien à remplacer } { } }}", kind: .text)
        #expect(template.render(context) == "Rien à remplacer } { } }}")
        #expect(template.variables.isEmpty)
    }
}

@Suite struct RecipientIDTests {
    @Test func ridsHaveGoPhishsShape() {
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let rid = RecipientID.random()
            #expect(rid.value.count == 7 && rid.value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
            seen.insert(rid.value)
        }
        #expect(seen.count == 2_000)
        #expect(RecipientID("abc1234") != nil)
        for bad in ["abc123", "abc12345", "abc-123", "abçdefg", "abc 123", ""] { #expect(RecipientID(bad) == nil) }
    }
}

@Suite struct TargetListTests {
    @Test func readsGoPhishCSV() throws {
        let csv =
            "First Name,Last Name,Email,Position\nClaire,Morel,Claire.Morel@valbrune.example,RSSI\nPaul,Vasseur,paul.vasseur@valbrune.example,\"Cardiologue, chef de service\"\n"
        let targets = try TargetList.parse(Array(csv.utf8))
        #expect(targets.count == 2)
        #expect(
            targets[0]
                == Target(
                    firstName: "Claire", lastName: "Morel", email: "claire.morel@valbrune.example", position: "RSSI"))
        #expect(targets[1].position == "Cardiologue, chef de service" && targets[1].language == "fr")
    }

    @Test func readsFrenchHeadersWithDepartmentRoleAndLanguage() throws {
        let csv =
            "\u{FEFF}Prénom;Nom;Courriel;Fonction;Service;Rôle;Langue\nInès;Chevalier;ines@valbrune.example;Pharmacienne;PHARMA;pharmacien;fr\nJohn;Smith;john@valbrune.example;Interne;URG;médecin;EN\n"
        let targets = try TargetList.parse(Array(csv.utf8))
        #expect(targets.map(\.department) == ["PHARMA", "URG"])
        #expect(targets.map(\.role) == ["pharmacien", "médecin"])
        #expect(targets.map(\.language) == ["fr", "en"])
    }

    @Test(arguments: [
        ("", "the file is empty"),
        ("Nom;Prénom\nMorel;Claire\n", "no e-mail column"),
        ("Email\nnot-an-address\n", "line 2: 'not-an-address' is not an e-mail address"),
        ("Email\na@b.example\nA@B.example\n", "line 3: a@b.example appears twice"),
        ("Email,Language\na@b.example,de\n", "language must be fr or en"),
        ("Email\n\n", "no one in the file"),
        ("Email\n\"a@b.example\n", "never closes"),
    ])
    func refusesTheWholeFileWithEveryProblem(csv: String, message: String) {
        #expect {
            _ = try TargetList.parse(Array(csv.utf8))
        } throws: { error in
            (error as? TemplateError)?.description.contains(message) == true
        }
    }

    @Test func listsEveryBadLine() {
        #expect {
            _ = try TargetList.parse(Array("Email\nx\ny\na@b.example\n".utf8))
        } throws: { error in
            let text = (error as? TemplateError)?.description ?? ""
            return text.contains("nothing imported") && text.contains("line 2") && text.contains("line 3")
        }
    }
}

@Suite struct TrackingTests {
    @Test func statusOnlyRises() {
        #expect(RecipientStatus.clicked.raised(to: .opened) == .clicked)
        #expect(RecipientStatus.sent.raised(to: .submitted) == .submitted)
    }

    @Test func recognisesMailScanners() {
        let filter = ScannerFilter()
        let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
        #expect(filter.scannerReason(method: "GET", userAgent: browser, secondsSinceDelivery: 95) == nil)
        #expect(filter.scannerReason(method: "HEAD", userAgent: browser, secondsSinceDelivery: 95) == "HEAD request")
        #expect(
            filter.scannerReason(method: "GET", userAgent: browser, secondsSinceDelivery: 2.4) == "2.4 s after delivery"
        )
        #expect(
            filter.scannerReason(method: "GET", userAgent: "Mimecast URL Protect", secondsSinceDelivery: 300)?.contains(
                "mimecast") == true)
        #expect(
            filter.scannerReason(method: "GET", userAgent: "python-requests/2.31", secondsSinceDelivery: nil) != nil)
        #expect(filter.scannerReason(method: "GET", userAgent: nil, secondsSinceDelivery: 60) == "no user agent")
    }

    func outcome(
        _ email: String, _ department: String, sent: Double? = 0, opened: Double? = nil, clicked: Double? = nil,
        submitted: Double? = nil, reported: Double? = nil
    ) -> RecipientOutcome {
        RecipientOutcome(
            email: email, department: department, sentAt: sent, openedAt: opened, clickedAt: clicked,
            submittedAt: submitted, reportedAt: reported)
    }

    @Test func figuresCountWhatPeopleDidAndHowFastTheyReported() {
        let outcomes = [
            outcome("a", "URG", opened: 60, clicked: 120),
            outcome("b", "URG", opened: 30, reported: 90),
            outcome("c", "URG", clicked: 200, submitted: 260, reported: 400),
            outcome("d", "PHARMA", reported: 600),
            outcome("e", "PHARMA"),
            outcome("f", "PHARMA", sent: nil),
        ]
        let figures = CampaignMetrics.figures(outcomes)
        #expect(figures.delivered == 5)
        #expect(figures.opened == 3 && figures.clicked == 2 && figures.submitted == 1 && figures.reported == 3)
        // c reported after submitting; b and d reported without clicking.
        #expect(figures.reportedBeforeClicking == 2)
        #expect(figures.timeToFirstReport == 90)
        #expect(figures.medianTimeToReport == 400)
        #expect(figures.rate(figures.clicked) == 0.4)
        #expect(CampaignFigures().rate(1) == nil)
    }

    @Test func departmentsUnderFivePeopleAreNotReported() {
        var outcomes = (0..<6).map { outcome("u\($0)", "URG", clicked: 50) }
        outcomes += (0..<3).map { outcome("p\($0)", "PHARMA") }
        outcomes += (0..<2).map { outcome("b\($0)", "BIOMED", reported: 10) }
        let groups = CampaignMetrics.byDepartment(outcomes, other: "autres")
        #expect(groups.map(\.0) == ["URG", "autres"])
        #expect(groups.first { $0.0 == "autres" }?.1.delivered == 5)
        let tiny = CampaignMetrics.byDepartment((0..<3).map { outcome("p\($0)", "PHARMA") })
        #expect(tiny.isEmpty)
    }

    @Test func repeatClickersClickedInTwoCampaigns() {
        #expect(CampaignMetrics.repeatClickers([["a", "B"], ["b", "c"], ["d"]]) == ["b"])
    }
}
