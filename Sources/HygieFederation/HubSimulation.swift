import FederationCore
import FluentKit
public import Foundation
public import HygieCore
public import HygieStorage
import SQLKit

/// A region (or a nation) of fictional establishments for a hub: each enrols through the protocol, a year of daily
/// snapshots is written as history, then every establishment pushes today's snapshot and answers a broadcast
/// through the protocol (signed requests, the hub's own checks). `hygie hub simulate` measures the hub with it;
/// `hygie demo --hub` shows a region with a few dozen establishments.
public struct HubSimulation: Sendable {
    let hub: HubService
    let database: DatabaseService
    let clock: any HygieClock
    let transport: any FederationTransport
    let hubURL: String

    /// `transport` reaches the hub (in process by default, or HTTP to a running `hygie serve`).
    public init(
        hub: HubService, database: DatabaseService, clock: any HygieClock, transport: (any FederationTransport)? = nil,
        hubURL: String = "http://127.0.0.1"
    ) {
        self.hub = hub
        self.database = database
        self.clock = clock
        self.transport = transport ?? InProcessTransport(hub: hub)
        self.hubURL = hubURL
    }

    public struct Report: Sendable, Codable {
        public var establishments = 0
        public var historySnapshots = 0
        public var historySeconds = 0.0
        public var enrolSeconds = 0.0
        public var pushes = 0
        public var pushSeconds = 0.0
        public var answers = 0
        public var answerSeconds = 0.0
        public var declarations = 0
        public var broadcastID: UUID?
    }

    /// A fictional establishment and the state its figures drift from.
    struct Member {
        var id: UUID
        var secret: String
        var card: Snapshot.EstablishmentCard
        var random: SimulationRandom
        /// 0–1: how far along its security programme is.
        var maturity: Double
        var size: Int
    }

    static let towns = [
        "Valbrune", "Mireval", "Sainte-Aude", "Montclaret", "Lussac-en-Brie", "Roche-Vive", "Bellefont", "Castelnoir",
        "Port-Avril", "Saint-Ombre", "Vaulmont", "Chantereine", "Les Aubiers", "Fontmerle", "Brionne-la-Haute",
        "Escaudières", "Marvielle", "Val-Sorin", "Hautrive", "Clairbois", "Pierrelune", "Sauvetat", "Monteil",
        "Grandcombe", "Villerose", "Aigueblanche", "Coudray-sur-Lis", "Ormeval", "Saint-Liboire", "Tessancourt",
    ]
    static let kinds: [(prefix: String, kind: String, size: ClosedRange<Int>)] = [
        ("CHU de", "chu", 6000...12000), ("Centre hospitalier de", "ch", 800...3000),
        ("Clinique de", "clinique", 150...600),
        ("EHPAD de", "ehpad", 40...120), ("Centre de rééducation de", "ssr", 80...300), ("HAD de", "had", 30...150),
    ]
    static let themes = [
        ("p1", "PSSI signée"), ("p2", "Organisation du PCRA"), ("o1", "Gouvernance de la continuité"),
        ("o2", "Sauvegardes hors ligne"), ("o3", "Restauration testée"), ("o4", "Exercice de crise"),
        ("o5", "Annuaires audités"), ("o6", "Exposition Internet"),
    ]

    /// Runs the whole simulation for the coordinator's establishment.
    public func run(establishments count: Int, days: Int, seed: UInt64, in scope: TenantScope) async throws -> Report {
        try scope.require(HubService.coordinators)
        guard (1...20_000).contains(count), (1...730).contains(days) else {
            throw FederationServiceError.invalid("1 to 20,000 establishments over 1 to 730 days")
        }
        var report = Report()
        var started = Date()
        var members: [Member] = []
        var random = SimulationRandom(seed: seed)
        for index in 0..<count {
            let kind = Self.kinds[index < 3 ? 0 : 1 + random.next(5)]
            let town = Self.towns[index % Self.towns.count]
            let suffix = index < Self.towns.count ? "" : " \(index / Self.towns.count + 1)"
            let card = Snapshot.EstablishmentCard(
                name: "\(kind.prefix) \(town)\(suffix)", finess: String(format: "99%07d", index + 1), kind: kind.kind)
            let enrolment = try await hub.createEnrolment(label: card.name, days: 1, in: scope)
            let answer = try await post(
                "/federation/v1/enrol", HubService.Enrolment(token: enrolment.token, establishment: card), member: nil)
            let object = (try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: String]) ?? [:]
            guard answer.status == 201, let id = object["member_id"].flatMap(UUID.init(uuidString:)),
                let secret = object["secret"]
            else { throw FederationServiceError.invalid("enrolment refused: HTTP \(answer.status)") }
            members.append(
                Member(
                    id: id, secret: secret, card: card, random: SimulationRandom(seed: seed &+ UInt64(index) &* 7919),
                    maturity: 0.15 + 0.5 * random.unit(), size: Int.random(in: kind.size, using: &random)))
        }
        report.establishments = members.count
        report.enrolSeconds = Date().timeIntervalSince(started)

        // History: one snapshot a day per establishment, written in batches, with the dashboards' daily sums.
        started = Date()
        let now = clock.now()
        let sql = database.sql
        var rollups: [String: (day: Int64, key: String, total: Double, samples: Int64)] = [:]
        for day in stride(from: days - 1, through: 1, by: -1) {
            let takenAt = now.addingTimeInterval(-Double(day) * 86_400)
            let dayNumber = takenAt.dayNumber
            var rows: [[any Encodable & Sendable]] = []
            for index in members.indices {
                let snapshot = Self.snapshot(&members[index], at: takenAt, progress: 1 - Double(day) / Double(days))
                let body = String(decoding: try HubService.encoder.encode(snapshot), as: UTF8.self)
                rows.append([
                    members[index].id, snapshot.snapshotID, snapshot.takenAt.milliseconds, takenAt.milliseconds, body,
                ])
                for value in HubService.values(of: snapshot) where value.trend {
                    let key = "\(dayNumber)|\(value.key)"
                    var sum = rollups[key] ?? (dayNumber, value.key, 0, 0)
                    sum.total += value.value
                    sum.samples += 1
                    rollups[key] = sum
                }
                if rows.count == 1000 {
                    try await Self.insertSnapshots(rows, on: sql)
                    report.historySnapshots += rows.count
                    rows.removeAll(keepingCapacity: true)
                }
            }
            if !rows.isEmpty {
                try await Self.insertSnapshots(rows, on: sql)
                report.historySnapshots += rows.count
            }
        }
        let coordinator = scope.establishmentID.uuid
        let sums = Array(rollups.values)
        for start in stride(from: 0, to: sums.count, by: 1000) {
            let rows: [[any Encodable & Sendable]] = sums[start..<min(start + 1000, sums.count)].map {
                [coordinator, $0.day, $0.key, $0.total, $0.samples]
            }
            try await sql.insert(into: "fed_rollups")
                .columns("coordinator_establishment_id", "day", "key", "total", "samples").rows(Self.binds(rows)).run()
        }
        report.historySeconds = Date().timeIntervalSince(started)

        // Today: every establishment pushes through the protocol, some with a declaration.
        started = Date()
        for index in members.indices {
            let snapshot = Self.snapshot(&members[index], at: now, progress: 1)
            let response = try await post("/federation/v1/snapshots", snapshot, member: members[index])
            guard response.status == 201 else {
                throw FederationServiceError.invalid("push refused: \(response.status)")
            }
            report.pushes += 1
            if members[index].random.unit() < 0.06 {
                var random = members[index].random
                let copy = Self.declaration(for: members[index], now: now, random: &random)
                members[index].random = random
                _ = try await post("/federation/v1/declarations", copy, member: members[index])
                report.declarations += 1
            }
        }
        report.pushSeconds = Date().timeIntervalSince(started)

        // A broadcast, answered by every establishment (the share affected follows their maturity).
        let broadcast = try await hub.publish(
            BroadcastDraft(
                title: "Ivanti Connect Secure : contournement d'authentification exploité",
                summary: "Exploitation active signalée par le CERT Santé. Appliquer le correctif, réinitialiser les "
                    + "comptes, rechercher les indicateurs.",
                severity: "critical", tlp: "amber", references: ["CVE-2024-21887", "CVE-2023-46805"],
                productLines: ["ivanti connect_secure < 22.7R2.5"],
                indicatorLines: ["192.0.2.41", "cdn-update.example"], answerBy: now.addingTimeInterval(3 * 86_400)),
            in: scope)
        started = Date()
        for index in members.indices {
            var random = members[index].random
            let inventory = 20 + Int(Double(members[index].size) / 10)
            let roll = random.unit()
            let affected = roll < 0.12 * (1.2 - members[index].maturity) ? 1 + random.next(3) : 0
            let unknown = affected == 0 && roll > 0.9 ? 1 : 0
            let answer = BroadcastAnswer(
                broadcastUID: broadcast.uid,
                status: BroadcastAnswer.decide(
                    affectedAssets: affected, unknownVersionAssets: unknown, inventoryAssets: inventory,
                    indicatorHits: 0),
                automatic: true, affectedAssets: affected, exposedAssets: affected > 0 ? 1 : 0,
                unknownVersionAssets: unknown, inventoryAssets: inventory, indicatorHits: 0, comment: "",
                answeredAt: now)
            members[index].random = random
            // One in twenty has not answered yet.
            guard random.unit() > 0.05 else { continue }
            let response = try await post("/federation/v1/answers", answer, member: members[index])
            guard response.status == 200 else {
                throw FederationServiceError.invalid("answer refused: \(response.status)")
            }
            report.answers += 1
        }
        report.answerSeconds = Date().timeIntervalSince(started)
        report.broadcastID = UUID(uuidString: broadcast.uid)
        return report
    }

    /// A day's snapshot: scores drift upward with the programme, noise on top.
    static func snapshot(_ member: inout Member, at time: Date, progress: Double) -> Snapshot {
        var random = member.random
        defer { member.random = random }
        func around(_ center: Double, _ spread: Double) -> Double {
            (min(100, max(0, center + (random.unit() - 0.5) * spread)) * 10).rounded() / 10
        }
        let level = member.maturity + (1 - member.maturity) * 0.35 * progress
        let themes = themes.enumerated().map { position, theme in
            Snapshot.ThemeScore(
                ref: theme.0, name: theme.1, score: around(100 * level - Double(position % 4) * 6, 12))
        }
        let score = themes.compactMap(\.score).reduce(0, +) / Double(themes.count)
        return Snapshot(
            snapshotID: UUID().uuidString.lowercased(), takenAt: time, establishment: member.card,
            indicators: [
                .init(
                    key: "awareness.trained-12m", value: around(100 * level + 5, 10), basis: member.size,
                    measuredAt: time),
                .init(
                    key: "awareness.report-rate", value: around(60 * level, 10), basis: member.size / 4,
                    measuredAt: time),
                .init(
                    key: "vuln.kev-overdue-exposed", value: Double(max(0, Int((1 - level) * 6) - random.next(3))),
                    basis: nil, measuredAt: time),
                .init(
                    key: "detection.silent-sources", value: Double(random.next(max(1, Int((1 - level) * 5)))),
                    basis: nil,
                    measuredAt: time),
            ],
            compliance: [
                .init(
                    urn: "urn:hygie:risk:framework:care-d2",
                    name: "CaRE — Domaine 2 (continuité, sauvegarde, restauration)",
                    score: (score * 10).rounded() / 10, progress: around(100 * level + 10, 10), level: nil,
                    status: "in_progress", themes: themes)
            ])
    }

    static func declaration(for member: Member, now: Date, random: inout SimulationRandom) -> DeclarationCopy {
        let aware = now.addingTimeInterval(-Double(2 + random.next(40)) * 3600)
        let sent = random.unit() < 0.7
        let types = ["phishing", "ransomware", "malware", "account_compromise", "unavailability"]
        let tlp = random.unit() < 0.2 ? "red" : "amber"
        return DeclarationCopy(
            uid: "\(member.id.uuidString.lowercased()):sim-\(random.next(1_000_000))", regime: "cert_sante",
            status: sent ? "sent" : "draft", dueAt: aware.addingTimeInterval(24 * 3600),
            sentAt: sent ? aware.addingTimeInterval(Double(3 + random.next(18)) * 3600) : nil,
            reference: sent ? "CS-\(random.next(90_000) + 10_000)" : "", incidentType: types[random.next(types.count)],
            severity: ["low", "medium", "high"][random.next(3)], significant: true, personalData: random.unit() < 0.3,
            nis2: member.size >= 250, awareAt: aware,
            title: tlp == "red" ? nil : "Incident simulé — \(member.card.name)", tlp: tlp)
    }

    static func insertSnapshots(_ rows: [[any Encodable & Sendable]], on sql: any SQLDatabase) async throws {
        try await sql.insert(into: "fed_snapshots").columns(
            "member_id", "snapshot_uid", "taken_at", "received_at", "body"
        )
        .rows(binds(rows)).run()
    }

    static func binds(_ rows: [[any Encodable & Sendable]]) -> [[any SQLExpression]] {
        rows.map { $0.map { SQLBind($0) } }
    }

    /// Posts a protocol request, signed for `member` (unsigned for the enrolment).
    func post(_ path: String, _ value: some Encodable, member: Member?) async throws -> FederationResponse {
        let body = Array(try HubService.encoder.encode(value))
        let headers =
            member.map {
                RequestSigner.headers(member: $0.id, secret: $0.secret, path: path, body: body, now: clock.now())
            } ?? ["Content-Type": "application/json"]
        return try await transport.post(hubURL, path: path, headers: headers, body: body)
    }
}

/// The hub's dispatcher, called in process (headers lower-cased as the HTTP layer passes them).
struct InProcessTransport: FederationTransport {
    let hub: HubService

    func post(_ url: String, path: String, headers: [String: String], body: [UInt8]) async throws -> FederationResponse
    {
        await hub.handle(
            method: "POST", path: path,
            headers: Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value) }), body: body)
    }
}

/// SplitMix64: the same seed gives the same region.
struct SimulationRandom: RandomNumberGenerator, Sendable {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func next(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }
}
