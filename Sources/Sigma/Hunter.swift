import Foundation
public import RecordInput

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A field of the event that a rule read, with its value.
public struct MatchedField: Sendable, Hashable {
    public var field: String
    public var value: String
}

/// One detection: a rule (or correlation) that fired, with the rule's attribution (DRL 1.1: author shown with
/// every match) and where the event came from.
public struct HuntDetection: Sendable {
    public enum Kind: String, Sendable { case rule, correlation }
    public var kind: Kind
    public var ruleID: String
    public var title: String
    public var level: SigmaLevel
    public var author: String?
    public var tags: [String]
    public var time: Double?
    public var host: String?
    public var input: String
    /// Record number in the input (1-based); 0 for correlations.
    public var record: Int
    public var matched: [MatchedField]

    public var timestamp: String? { time.map(DateParts.iso8601) }

    init(
        metadata: RuleMetadata, kind: Kind, time: Double?, host: String?, input: String, record: Int,
        matched: [MatchedField]
    ) {
        self.kind = kind
        ruleID = metadata.displayID
        title = metadata.title
        level = metadata.level ?? .medium
        author = metadata.author
        tags = metadata.tags
        self.time = time
        self.host = host
        self.input = input
        self.record = record
        self.matched = matched
    }
}

/// Figures of a hunt run.
public struct HuntStatistics: Sendable {
    public var events = 0
    public var parseErrors = 0
    public var outOfRange = 0
    public var bytes = 0
    public var detections = 0
    public var correlationHits = 0
    public var untimedForCorrelation = 0
    public var seconds = 0.0
    public var cpuSeconds = 0.0
    public var peakMemoryMB = 0.0
    public var eventKinds = 0
    /// Rules evaluated in full, over all events (what the prefilter let through).
    public var evaluations = 0
    /// First parse errors, with their input and record.
    public var errorSamples: [String] = []

    mutating func absorb(_ other: HuntStatistics) {
        events += other.events
        parseErrors += other.parseErrors
        outOfRange += other.outOfRange
        detections += other.detections
        eventKinds = max(eventKinds, other.eventKinds)
        evaluations += other.evaluations
        for sample in other.errorSamples where errorSamples.count < 10 { errorSamples.append(sample) }
    }
}

/// Runs a rule set over files: reads them block by block (gzip, JSON lines or arrays, Windows XML, syslog),
/// evaluates blocks on `jobs` threads, hands detections back in input order, then runs correlations.
public final class Hunter: @unchecked Sendable {
    public let ruleSet: RuleSet
    public let jobs: Int
    public let from: Double?
    public let to: Double?
    public let syslogYear: Int
    public let format: InputFormat?

    public init(
        ruleSet: RuleSet, jobs: Int = 1, from: Double? = nil, to: Double? = nil, format: InputFormat? = nil,
        syslogYear: Int? = nil
    ) {
        self.ruleSet = ruleSet
        self.jobs = max(1, jobs)
        self.from = from
        self.to = to
        self.format = format
        self.syslogYear = syslogYear ?? DateParts.fromEpoch(Date().timeIntervalSince1970).year
    }

    /// Per-thread state.
    final class Worker: @unchecked Sendable {
        let matcher: Matcher
        let event: Event
        var correlation: CorrelationEngine
        var statistics = HuntStatistics()
        let hunter: Hunter
        let inputs: [String]

        init(hunter: Hunter, inputs: [String]) {
            self.hunter = hunter
            self.inputs = inputs
            matcher = Matcher(ruleSet: hunter.ruleSet)
            event = matcher.makeEvent()
            correlation = CorrelationEngine(ruleSet: hunter.ruleSet)
        }

        func process(_ block: RecordBlock) -> [HuntDetection] {
            var detections: [HuntDetection] = []
            let ruleSet = hunter.ruleSet
            block.data.withUnsafeBufferPointer { data in
                for record in 0..<block.count {
                    let range = Int(block.bounds[2 * record])..<Int(block.bounds[2 * record + 1])
                    let bytes = UnsafeBufferPointer(rebasing: data[range])
                    do {
                        switch block.format {
                        case .jsonLines, .json: try JSONEventParser.parse(bytes, into: event)
                        case .xml: try WindowsXMLParser.parse(bytes, into: event)
                        case .syslog: try SyslogParser.parse(bytes, into: event, year: hunter.syslogYear)
                        }
                    } catch {
                        statistics.parseErrors += 1
                        if statistics.errorSamples.count < 10 {
                            statistics.errorSamples.append(
                                "\(inputs[block.input]): record \(block.firstRecord + record): \(error)")
                        }
                        continue
                    }
                    statistics.events += 1
                    var time: Double?
                    var timeRead = false
                    if hunter.from != nil || hunter.to != nil {
                        time = eventTime()
                        timeRead = true
                        if let time {
                            if let from = hunter.from, time < from {
                                statistics.outOfRange += 1
                                continue
                            }
                            if let to = hunter.to, time > to {
                                statistics.outOfRange += 1
                                continue
                            }
                        }
                    }
                    matcher.forEachMatch(event) { ruleIndex in
                        let rule = ruleSet.rules[ruleIndex]
                        if !timeRead {
                            time = eventTime()
                            timeRead = true
                        }
                        if rule.reported {
                            statistics.detections += 1
                            detections.append(
                                HuntDetection(
                                    metadata: rule.metadata, kind: .rule, time: time, host: host(),
                                    input: inputs[block.input], record: block.firstRecord + record,
                                    matched: rule.fields.compactMap { field in
                                        event.string(field).map {
                                            MatchedField(field: ruleSet.registry.names[Int(field)], value: $0)
                                        }
                                    }))
                        }
                        if !rule.correlations.isEmpty {
                            guard let time else {
                                correlation.addUntimed()
                                return
                            }
                            var fields: [String: String] = [:]
                            for (name, id) in rule.correlationFields { fields[name] = event.string(id) }
                            correlation.add(CorrelationInput(time: time, source: .rule(ruleIndex), fields: fields))
                        }
                    }
                }
            }
            statistics.eventKinds = matcher.groupCount
            statistics.evaluations = matcher.evaluations
            return detections
        }

        func eventTime() -> Double? { hunter.ruleSet.time(of: event) }

        func host() -> String? { hunter.ruleSet.host(of: event) }
    }

    /// Runs over `inputs`. `emit` receives detections in input order (on the calling thread); `progress` receives
    /// (bytes read, total bytes). Correlation hits come last.
    public func run(
        inputs: [String], progress: ((Int, Int) -> Void)? = nil, emit: ([HuntDetection]) -> Void
    ) throws -> HuntStatistics {
        let started = Date()
        var totals = HuntStatistics()
        let totalBytes = inputs.reduce(0) { total, path in
            total + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        }
        var finishedBytes = 0
        var workers: [Worker] = []
        /// Reads every input block by block, in order, reporting progress.
        func forEachBlock(_ body: (RecordBlock) throws -> Void) throws {
            for (index, path) in inputs.enumerated() {
                let reader = try RecordReader(path: path, input: index, format: format)
                while let block = try reader.next() {
                    try body(block)
                    progress?(finishedBytes + reader.consumed, totalBytes)
                }
                finishedBytes += reader.consumed
                totals.bytes += reader.consumed
            }
        }

        if jobs == 1 {
            let worker = Worker(hunter: self, inputs: inputs)
            workers.append(worker)
            try forEachBlock { emit(worker.process($0)) }
        } else {
            let pipeline = Pipeline(capacity: jobs * 2)
            for _ in 0..<jobs {
                let worker = Worker(hunter: self, inputs: inputs)
                workers.append(worker)
                let thread = Thread {
                    while let (sequence, block) = pipeline.take() {
                        pipeline.deliver(sequence, worker.process(block))
                    }
                    pipeline.workerDone()
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
            var sequence = 0
            var nextToEmit = 0
            var readError: (any Error)?
            do {
                try forEachBlock { block in
                    pipeline.put(sequence, block)
                    sequence += 1
                    while let ready = pipeline.collect(nextToEmit, wait: false) {
                        emit(ready)
                        nextToEmit += 1
                    }
                }
            } catch {
                readError = error
            }
            pipeline.close()
            while nextToEmit < sequence, let ready = pipeline.collect(nextToEmit, wait: true) {
                emit(ready)
                nextToEmit += 1
            }
            pipeline.waitForWorkers(jobs)
            if let readError { throw readError }
        }

        var correlation = CorrelationEngine(ruleSet: ruleSet)
        for worker in workers {
            totals.absorb(worker.statistics)
            correlation.merge(worker.correlation)
        }
        totals.untimedForCorrelation = correlation.untimed
        if !ruleSet.correlations.isEmpty {
            let hits = correlation.run().filter { ruleSet.correlations[$0.correlation].reported }
            totals.correlationHits = hits.count
            totals.detections += hits.count
            emit(
                hits.map { hit in
                    let compiled = ruleSet.correlations[hit.correlation]
                    var matched = compiled.correlation.groupBy.map {
                        MatchedField(field: $0, value: hit.group[$0] ?? "")
                    }
                    matched.append(
                        MatchedField(field: compiled.correlation.type.rawValue, value: Self.format(hit.value)))
                    matched.append(MatchedField(field: "events", value: String(hit.events)))
                    matched.append(MatchedField(field: "first", value: DateParts.iso8601(hit.first)))
                    return HuntDetection(
                        metadata: compiled.metadata, kind: .correlation, time: hit.last,
                        host: hit.group.first(where: {
                            ["computer", "host", "hostname", "computername"].contains($0.key.lowercased())
                        })?.value,
                        input: inputs.count == 1 ? inputs[0] : "\(inputs.count) inputs", record: 0, matched: matched)
                })
        }
        totals.seconds = Date().timeIntervalSince(started)
        var usage = rusage()
        getrusage(RUSAGE_SELF_VALUE, &usage)
        totals.cpuSeconds =
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
        totals.peakMemoryMB = Double(usage.ru_maxrss) / 1024
        return totals
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// Bounded hand-off of blocks to worker threads, and of their results back in sequence order.
final class Pipeline: @unchecked Sendable {
    let condition = NSCondition()
    var queue: [(Int, RecordBlock)] = []
    var results: [Int: [HuntDetection]] = [:]
    var closed = false
    var finishedWorkers = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func put(_ sequence: Int, _ block: RecordBlock) {
        condition.lock()
        while queue.count >= capacity { condition.wait() }
        queue.append((sequence, block))
        condition.broadcast()
        condition.unlock()
    }

    func take() -> (Int, RecordBlock)? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !closed { condition.wait() }
        if queue.isEmpty { return nil }
        let item = queue.removeFirst()
        condition.broadcast()
        return item
    }

    func deliver(_ sequence: Int, _ detections: [HuntDetection]) {
        condition.lock()
        results[sequence] = detections
        condition.broadcast()
        condition.unlock()
    }

    func collect(_ sequence: Int, wait: Bool) -> [HuntDetection]? {
        condition.lock()
        defer { condition.unlock() }
        while results[sequence] == nil {
            if !wait { return nil }
            condition.wait()
        }
        let value = results.removeValue(forKey: sequence)
        condition.broadcast()
        return value
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    func workerDone() {
        condition.lock()
        finishedWorkers += 1
        condition.broadcast()
        condition.unlock()
    }

    func waitForWorkers(_ count: Int) {
        condition.lock()
        while finishedWorkers < count { condition.wait() }
        condition.unlock()
    }
}

#if canImport(Glibc)
    let RUSAGE_SELF_VALUE = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
    let RUSAGE_SELF_VALUE = RUSAGE_SELF
#endif
