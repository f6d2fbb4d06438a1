import AwarenessCore
import FluentKit
import Foundation
import HygieCore
public import HygieStorage
import SQLKit

extension AwarenessService {
    /// Creates and launches a campaign. Refused (legal guard-rails) unless staff were informed on or before the
    /// launch day and someone approved; the programme's values apply unless the campaign gives its own.
    /// A launch date in the past means now. Sends are spread until `sendByDate` and held to `ratePerMinute`.
    public func launch(_ input: CampaignInput, in scope: TenantScope) async throws -> Campaign {
        try scope.require(Self.managers)
        let name = try Self.text(input.name, "name")
        guard !input.groups.isEmpty else { throw AwarenessError.invalid("No groups specified") }
        let est = scope.establishmentID.uuid
        var groupIDs: [Int64] = []
        for group in input.groups {
            do {
                groupIDs.append(try await id(of: "aw_groups", named: group, in: scope, what: "group"))
            } catch AwarenessError.notFound {
                throw AwarenessError.notFound("Group \(group)")
            }
        }
        let template = try await self.template(
            try await id(of: "aw_templates", named: input.template, in: scope, what: "Template"), in: scope)
        let page = try await self.page(
            try await id(of: "aw_pages", named: input.page, in: scope, what: "Page"), in: scope)
        let profileID = try await id(of: "aw_profiles", named: input.profile, in: scope, what: "Sending profile")
        let profile = try await self.profile(profileID, in: scope)
        let sealed = try await sql.raw("SELECT password_sealed FROM aw_profiles WHERE id = \(bind: profileID)").first()?
            .decode(column: "password_sealed", as: Data?.self)
        let url = try Self.text(input.url, "url", max: 2000)
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
            parsed.host != nil
        else { throw AwarenessError.invalid("url must be the http or https address of the phishing server") }

        let programme = try await Self.programme(est, on: sql)
        let nowMs = now()
        let launchMs = max(input.launchDate?.milliseconds ?? nowMs, nowMs)
        let launchDay = Date(milliseconds: launchMs).utcDay
        let informed = (input.informedOn.flatMap { $0.isEmpty ? nil : $0 }) ?? programme.informedOn
        let approver = (input.approver.flatMap { $0.isEmpty ? nil : $0 }) ?? programme.approver
        guard let informed, Self.isDay(informed) else {
            throw AwarenessError.notAllowed(
                "staff must be informed beforehand that simulations take place: record the day they were informed "
                    + "(awareness programme) before launching")
        }
        guard informed <= launchDay else {
            throw AwarenessError.notAllowed("staff were informed on \(informed), after the launch day \(launchDay)")
        }
        guard let approver, !approver.isEmpty else {
            throw AwarenessError.notAllowed("a campaign needs an approver (awareness programme or campaign)")
        }
        var sendByMs: Int64?
        if let sendBy = input.sendByDate {
            guard sendBy.milliseconds > launchMs else {
                throw AwarenessError.invalid("send_by_date must be after the launch date")
            }
            sendByMs = sendBy.milliseconds
        }
        if let rate = input.ratePerMinute, !(1...100_000).contains(rate) {
            throw AwarenessError.invalid("rate_per_minute must be between 1 and 100000")
        }

        // Members of every group, once each (the first group's record wins).
        let members = try await sql.raw(
            """
            SELECT * FROM aw_targets WHERE establishment_id = \(bind: est) AND group_id IN \
            (\(SQLList(groupIDs.map { SQLBind($0) }))) ORDER BY group_id, id
            """
        ).all().map(Self.target)
        var seen = Set<String>()
        let targets = members.filter { seen.insert($0.email.lowercased()).inserted }
        guard !targets.isEmpty else { throw AwarenessError.invalid("the groups have no targets") }
        let sendTimes = Self.schedule(
            count: targets.count, launch: launchMs, sendBy: sendByMs, rate: input.ratePerMinute)
        let snapshot = Self.json(
            CampaignSnapshot(
                template: template, page: page, profile: profile, sealedPassword: sealed?.base64EncodedString()))
        let groupNames = Self.json(input.groups)
        let creator = scope.actor.displayName
        let rate = input.ratePerMinute.map(Int64.init)

        let sendBy = sendByMs
        var attempt = 0
        while true {
            attempt += 1
            let rids = Self.uniqueRIDs(targets.count)
            do {
                let id = try await changing(
                    "awareness.campaign.launch", "aw_campaign", nil,
                    "Launched campaign \(name) to \(targets.count) people (informed \(informed), approved by \(approver))",
                    in: scope
                ) { db -> Int64 in
                    let id = try await db.raw(
                        """
                        INSERT INTO aw_campaigns (establishment_id, name, status, created_at, launch_at, send_by_at, \
                        completed_at, rate_per_minute, url, informed_on, approver, created_by, groups, snapshot, \
                        template_id, page_id, profile_id, purged) VALUES (\(bind: est), \(bind: name), 'active', \
                        \(bind: nowMs), \(bind: launchMs), \(bind: sendBy), NULL, \(bind: rate), \(bind: url), \
                        \(bind: informed), \(bind: approver), \(bind: creator), \(bind: groupNames), \(bind: snapshot), \
                        \(bind: template.id), \(bind: page.id), \(bind: profile.id), \(bind: false)) RETURNING id
                        """
                    ).first()!.decode(column: "id", as: Int64.self)
                    for chunk in stride(from: 0, to: targets.count, by: 100) {
                        let rows = (chunk..<min(chunk + 100, targets.count)).map { index in
                            let target = targets[index]
                            return SQLGroupExpression(
                                SQLList([
                                    SQLBind(est), SQLBind(id), SQLBind(rids[index]), SQLBind(target.email),
                                    SQLBind(target.firstName), SQLBind(target.lastName), SQLBind(target.position),
                                    SQLBind(target.department), SQLBind(target.role), SQLBind(target.language),
                                    SQLBind(sendTimes[index]), SQLBind(nowMs), SQLLiteral.numeric("0"),
                                    SQLLiteral.numeric("0"), SQLBind(false), SQLBind(false), SQLLiteral.numeric("0"),
                                    SQLLiteral.numeric("0"), SQLLiteral.numeric("0"), SQLLiteral.numeric("0"),
                                ]))
                        }
                        try await db.raw(
                            """
                            INSERT INTO aw_results (establishment_id, campaign_id, rid, email, first_name, last_name, \
                            position, department, role, language, send_at, modified_at, status, raw_status, failed, \
                            reported, next_try_at, claimed_until, attempts, scanner_hits) VALUES \(SQLList(rows))
                            """
                        ).run()
                    }
                    try await Self.insertEvents(
                        db, [(est, nil, Self.campaignEvent(id, EventMessage.created, at: nowMs))])
                    return id
                }
                let campaign = try await self.campaign(id, in: scope)
                await notifyWebhooks(
                    establishment: est, events: [Self.campaignEvent(id, EventMessage.created, at: nowMs)])
                return campaign
            } catch let error as AwarenessError {
                throw error
            } catch  where attempt < 3 {
                continue  // a rid taken by another campaign (one chance in billions): draw again
            }
        }
    }

    /// An event of the campaign itself (no recipient).
    static func campaignEvent(_ campaign: Int64, _ message: String, at time: Int64) -> TimelineEvent {
        TimelineEvent(
            campaignId: campaign, email: "", time: Date(milliseconds: time), message: message, details: "",
            scanner: false)
    }

    /// When each of `count` messages goes: spread evenly from `launch` to `sendBy`, never faster than `rate`.
    static func schedule(count: Int, launch: Int64, sendBy: Int64?, rate: Int?) -> [Int64] {
        (0..<count).map { index in
            var at = launch
            if let sendBy { at = max(at, launch + (sendBy - launch) * Int64(index) / Int64(max(count, 1))) }
            if let rate { at = max(at, launch + Int64(index) * 60_000 / Int64(rate)) }
            return at
        }
    }

    static func uniqueRIDs(_ count: Int) -> [String] {
        var set = Set<String>()
        var out: [String] = []
        while out.count < count {
            let rid = RecipientID.random().value
            if set.insert(rid).inserted { out.append(rid) }
        }
        return out
    }

    // MARK: Reading

    func campaignRow(_ id: Int64, in scope: TenantScope) async throws -> any SQLRow {
        try scope.require(Self.readers)
        guard
            let row = try await sql.raw(
                """
                SELECT * FROM aw_campaigns WHERE id = \(bind: id) AND establishment_id = \
                \(bind: scope.establishmentID.uuid)
                """
            ).first()
        else { throw AwarenessError.notFound("Campaign") }
        return row
    }

    func status(_ row: any SQLRow) throws -> String {
        if try row.decode(column: "completed_at", as: Int64?.self) != nil { return "Completed" }
        return try row.decode(column: "launch_at", as: Int64.self) > now() ? "Queued" : "In progress"
    }

    func summary(_ row: any SQLRow, stats: CampaignStats) throws -> CampaignSummary {
        CampaignSummary(
            id: try row.decode(column: "id", as: Int64.self), name: try row.decode(column: "name", as: String.self),
            status: try status(row),
            createdDate: Date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            launchDate: Date(milliseconds: try row.decode(column: "launch_at", as: Int64.self)),
            sendByDate: try row.decode(column: "send_by_at", as: Int64?.self).map(Date.init(milliseconds:)),
            completedDate: try row.decode(column: "completed_at", as: Int64?.self).map(Date.init(milliseconds:)),
            stats: stats)
    }

    public func results(of campaign: Int64, in scope: TenantScope) async throws -> [CampaignResult] {
        _ = try await campaignRow(campaign, in: scope)
        return try await sql.raw(
            """
            SELECT * FROM aw_results WHERE campaign_id = \(bind: campaign) AND establishment_id = \
            \(bind: scope.establishmentID.uuid) ORDER BY id
            """
        ).all().map { row in
            let failed = try row.decode(column: "failed", as: Bool.self)
            let raw = RecipientStatus(rawValue: try row.decode(column: "raw_status", as: Int.self)) ?? .scheduled
            return CampaignResult(
                id: try row.decode(column: "rid", as: String.self),
                email: try row.decode(column: "email", as: String.self),
                firstName: try row.decode(column: "first_name", as: String.self),
                lastName: try row.decode(column: "last_name", as: String.self),
                position: try row.decode(column: "position", as: String.self),
                department: try row.decode(column: "department", as: String.self),
                status: failed && raw == .scheduled ? "Error" : raw.gophishName, ip: "", latitude: 0, longitude: 0,
                sendDate: Date(milliseconds: try row.decode(column: "send_at", as: Int64.self)),
                reported: try row.decode(column: "reported", as: Bool.self),
                modifiedDate: Date(milliseconds: try row.decode(column: "modified_at", as: Int64.self)))
        }
    }

    public func timeline(of campaign: Int64, in scope: TenantScope) async throws -> [TimelineEvent] {
        _ = try await campaignRow(campaign, in: scope)
        return try await sql.raw(
            """
            SELECT email, time, message, details, scanner FROM aw_events WHERE campaign_id = \(bind: campaign) \
            AND establishment_id = \(bind: scope.establishmentID.uuid) ORDER BY id
            """
        ).all().map { row in
            TimelineEvent(
                campaignId: campaign, email: try row.decode(column: "email", as: String.self),
                time: Date(milliseconds: try row.decode(column: "time", as: Int64.self)),
                message: try row.decode(column: "message", as: String.self),
                details: try row.decode(column: "details", as: String.self),
                scanner: try row.decode(column: "scanner", as: Bool.self))
        }
    }

    static func stats(_ results: [CampaignResult]) -> CampaignStats {
        var stats = CampaignStats()
        stats.total = results.count
        for result in results {
            let rank = ["Email Sent": 1, "Email Opened": 2, "Clicked Link": 3, "Submitted Data": 4][result.status] ?? 0
            if rank >= 1 { stats.sent += 1 }
            if rank >= 2 { stats.opened += 1 }
            if rank >= 3 { stats.clicked += 1 }
            if rank >= 4 { stats.submittedData += 1 }
            if result.reported { stats.emailReported += 1 }
            if result.status == "Error" { stats.error += 1 }
        }
        return stats
    }

    public func campaign(_ id: Int64, in scope: TenantScope) async throws -> Campaign {
        let row = try await campaignRow(id, in: scope)
        let snapshot = try Self.decode(CampaignSnapshot.self, try row.decode(column: "snapshot", as: String.self))
        let summary = try summary(row, stats: CampaignStats())
        return Campaign(
            id: id, name: summary.name, status: summary.status, createdDate: summary.createdDate,
            launchDate: summary.launchDate, sendByDate: summary.sendByDate, completedDate: summary.completedDate,
            ratePerMinute: try row.decode(column: "rate_per_minute", as: Int?.self),
            url: try row.decode(column: "url", as: String.self),
            informedOn: try row.decode(column: "informed_on", as: String.self),
            approver: try row.decode(column: "approver", as: String.self),
            groups: try Self.decode([String].self, try row.decode(column: "groups", as: String.self)),
            template: snapshot.template, page: snapshot.page, smtp: snapshot.profile,
            results: try await results(of: id, in: scope), timeline: try await timeline(of: id, in: scope))
    }

    /// Campaigns, newest first, without results.
    public func campaignSummaries(in scope: TenantScope) async throws -> [CampaignSummary] {
        try scope.require(Self.readers)
        let est = scope.establishmentID.uuid
        let rows = try await sql.raw(
            "SELECT * FROM aw_campaigns WHERE establishment_id = \(bind: est) ORDER BY id DESC"
        ).all()
        let counts = try await sql.raw(
            """
            SELECT campaign_id, COUNT(*) AS total, \
            SUM(CASE WHEN raw_status >= 1 THEN 1 ELSE 0 END) AS sent, \
            SUM(CASE WHEN raw_status >= 2 THEN 1 ELSE 0 END) AS opened, \
            SUM(CASE WHEN raw_status >= 3 THEN 1 ELSE 0 END) AS clicked, \
            SUM(CASE WHEN raw_status >= 4 THEN 1 ELSE 0 END) AS submitted, \
            SUM(CASE WHEN reported THEN 1 ELSE 0 END) AS reported, \
            SUM(CASE WHEN failed AND raw_status = 0 THEN 1 ELSE 0 END) AS errors \
            FROM aw_results WHERE establishment_id = \(bind: est) GROUP BY campaign_id
            """
        ).all()
        var stats: [Int64: CampaignStats] = [:]
        for row in counts {
            var value = CampaignStats()
            value.total = try row.decode(column: "total", as: Int.self)
            value.sent = try row.decode(column: "sent", as: Int.self)
            value.opened = try row.decode(column: "opened", as: Int.self)
            value.clicked = try row.decode(column: "clicked", as: Int.self)
            value.submittedData = try row.decode(column: "submitted", as: Int.self)
            value.emailReported = try row.decode(column: "reported", as: Int.self)
            value.error = try row.decode(column: "errors", as: Int.self)
            stats[try row.decode(column: "campaign_id", as: Int64.self)] = value
        }
        return try rows.map { row in
            try summary(row, stats: stats[try row.decode(column: "id", as: Int64.self)] ?? CampaignStats())
        }
    }

    public func campaignSummary(_ id: Int64, in scope: TenantScope) async throws -> CampaignSummary {
        let row = try await campaignRow(id, in: scope)
        return try summary(row, stats: Self.stats(try await results(of: id, in: scope)))
    }

    /// Stops a campaign: nothing more is sent, its links answer 404.
    public func complete(_ id: Int64, in scope: TenantScope) async throws -> Campaign {
        try scope.require(Self.managers)
        let row = try await campaignRow(id, in: scope)
        if try row.decode(column: "completed_at", as: Int64?.self) == nil {
            let now = now()
            let est = scope.establishmentID.uuid
            let name = try row.decode(column: "name", as: String.self)
            try await changing(
                "awareness.campaign.complete", "aw_campaign", String(id), "Completed campaign \(name)", in: scope
            ) {
                db in
                try await db.raw(
                    "UPDATE aw_campaigns SET completed_at = \(bind: now), status = 'completed' WHERE id = \(bind: id)"
                ).run()
                try await Self.insertEvents(db, [(est, nil, Self.campaignEvent(id, EventMessage.completed, at: now))])
            }
            await tracking.forgetCampaign(id)
        }
        return try await campaign(id, in: scope)
    }

    public func deleteCampaign(_ id: Int64, in scope: TenantScope) async throws {
        try scope.require(Self.managers)
        let row = try await campaignRow(id, in: scope)
        let name = try row.decode(column: "name", as: String.self)
        try await changing(
            "awareness.campaign.delete", "aw_campaign", String(id), "Deleted campaign \(name)", in: scope
        ) {
            db in
            try await db.raw("DELETE FROM aw_events WHERE campaign_id = \(bind: id)").run()
            try await db.raw("DELETE FROM aw_results WHERE campaign_id = \(bind: id)").run()
            try await db.raw("DELETE FROM aw_campaigns WHERE id = \(bind: id)").run()
        }
        await tracking.forgetCampaign(id)
    }
}

extension AwarenessService {
    /// Every campaign with its results and timeline (GoPhish's `GET /api/campaigns/`), newest first.
    public func campaignList(in scope: TenantScope) async throws -> [Campaign] {
        var out: [Campaign] = []
        for summary in try await campaignSummaries(in: scope) { out.append(try await campaign(summary.id, in: scope)) }
        return out
    }
}
