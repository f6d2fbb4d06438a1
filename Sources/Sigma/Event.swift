#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Index of a field known to a rule set (see ``FieldRegistry``).
public typealias FieldID = Int32

/// Case-insensitive dictionary of the field names a rule set uses, looked up from raw bytes without allocating.
public final class FieldRegistry: @unchecked Sendable {
    /// Spelling as first registered (rules' spelling, preferred on case clashes).
    public private(set) var names: [String] = []
    private var canonical: [[UInt8]] = []
    private var lowered: [[UInt8]] = []
    private var table: [Int32] = Array(repeating: -1, count: 64)
    private var mask = 63
    private var frozen = false

    public init() {}

    public var count: Int { names.count }

    /// Registers `name` (if new) and returns its id. Only before the registry is frozen.
    @discardableResult
    public func intern(_ name: String) -> FieldID {
        let bytes = Array(name.utf8)
        let low = bytes.map(asciiLower)
        if let id = lookup(lowered: low) { return id }
        precondition(!frozen, "FieldRegistry is frozen")
        let id = FieldID(names.count)
        names.append(name)
        canonical.append(bytes)
        lowered.append(low)
        if names.count * 2 > table.count { grow() } else { insert(id) }
        return id
    }

    public func id(of name: String) -> FieldID? { lookup(lowered: Array(name.utf8).map(asciiLower)) }

    func freeze() { frozen = true }

    private func grow() {
        table = Array(repeating: -1, count: table.count * 2)
        mask = table.count - 1
        for id in 0..<names.count { insert(FieldID(id)) }
    }

    private func insert(_ id: FieldID) {
        var slot = Int(truncatingIfNeeded: hashBytes(lowered[Int(id)])) & mask
        while table[slot] >= 0 { slot = (slot + 1) & mask }
        table[slot] = id
    }

    private func lookup(lowered key: [UInt8]) -> FieldID? {
        key.withUnsafeBufferPointer { lookup(loweredKey: $0, hash: hashBytes($0)) }
    }

    /// `key` must already be ASCII-lowercased; `hash` is ``hashBytes(_:)`` of it.
    @inline(__always)
    func lookup(loweredKey key: UnsafeBufferPointer<UInt8>, hash: UInt64) -> FieldID? {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let id = table[slot]
            if id < 0 { return nil }
            let candidate = lowered[Int(id)]
            if candidate.count == key.count, candidate.withUnsafeBufferPointer({ memoryEqual($0, key) }) { return id }
            slot = (slot + 1) & mask
        }
    }

    func isCanonical(_ id: FieldID, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        canonical[Int(id)].withUnsafeBufferPointer { memoryEqual($0, key) }
    }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 { byte &- 65 < 26 ? byte | 0x20 : byte }

@inline(__always)
func hashBytes<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}

@inline(__always)
func memoryEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    guard a.count > 0, let left = a.baseAddress, let right = b.baseAddress else { return true }
    return memcmp(left, right, a.count) == 0
}

/// Kind of an event value.
public enum ValueKind: UInt8, Sendable {
    case string, number, bool, null
}

/// One event as a reusable field map: values are bytes in an arena (original and ASCII-lowercased copies), fields
/// known to the rule set point to chains of values. Reset and refilled for each event: no allocation once warm.
public final class Event {
    struct Value {
        var start: Int32
        var length: Int32
        var kind: ValueKind
        var next: Int32
        /// Filed under the rule's own spelling of the field.
        var preferred = false
    }

    public let registry: FieldRegistry
    @exclusivity(unchecked) var raw: [UInt8] = []
    @exclusivity(unchecked) var low: [UInt8] = []
    @exclusivity(unchecked) var values: [Value] = []
    @exclusivity(unchecked) var head: [Int32]
    @exclusivity(unchecked) var tail: [Int32]
    @exclusivity(unchecked) var stamp: [UInt32]
    @exclusivity(unchecked) var generation: UInt32 = 1
    /// Scratch buffer for lowered keys and dotted paths.
    @exclusivity(unchecked) var keyScratch: [UInt8] = []
    /// When set, ``add(key:value:kind:)`` also keeps each key and value (the syslog, CEF and auditd readers use it),
    /// so that a line-based event can be stored as flat JSON. JSON events keep their own text instead.
    public var recordsFields = false
    /// Keys and values kept while ``recordsFields`` is set, in order.
    public private(set) var recordedFields: [(key: String, value: String)] = []

    public init(registry: FieldRegistry) {
        self.registry = registry
        head = Array(repeating: -1, count: registry.count)
        tail = Array(repeating: -1, count: registry.count)
        stamp = Array(repeating: 0, count: registry.count)
        raw.reserveCapacity(16_384)
        low.reserveCapacity(16_384)
        values.reserveCapacity(256)
        keyScratch.reserveCapacity(256)
    }

    /// Empties the event for reuse.
    public func reset() {
        raw.removeAll(keepingCapacity: true)
        low.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        if recordsFields { recordedFields.removeAll(keepingCapacity: true) }
        generation &+= 1
        if generation == 0 {
            for index in stamp.indices { stamp[index] = 0 }
            generation = 1
        }
    }

    public var isEmpty: Bool { values.isEmpty }

    // MARK: Filling

    /// Starts a value: bytes appended with ``appendValueByte(_:)`` until ``finishValue(key:kind:start:)``.
    @inline(__always)
    var valueCursor: Int { raw.count }

    @inline(__always)
    func appendValueByte(_ byte: UInt8) {
        raw.append(byte)
        low.append(asciiLower(byte))
    }

    func appendValueBytes(_ bytes: UnsafeBufferPointer<UInt8>) {
        raw.append(contentsOf: bytes)
        for byte in bytes { low.append(asciiLower(byte)) }
    }

    /// Records a value whose bytes start at `start` in the arena, under `key` (raw bytes, any case).
    /// Returns the value's index.
    @discardableResult
    func finishValue(key: UnsafeBufferPointer<UInt8>, kind: ValueKind, start: Int) -> Int32 {
        let index = Int32(values.count)
        values.append(Value(start: Int32(start), length: Int32(raw.count - start), kind: kind, next: -1))
        if let id = resolve(key) { link(index, to: id, preferred: registry.isCanonical(id, key)) }
        return index
    }

    /// Files an already recorded value under one more name (a dotted path, say).
    func fileValue(_ index: Int32, underKey key: UnsafeBufferPointer<UInt8>) {
        guard let id = resolve(key) else { return }
        var copy = values[Int(index)]
        copy.next = -1
        let copyIndex = Int32(values.count)
        values.append(copy)
        link(copyIndex, to: id, preferred: registry.isCanonical(id, key))
    }

    @inline(__always)
    func resolve(_ key: UnsafeBufferPointer<UInt8>) -> FieldID? {
        keyScratch.removeAll(keepingCapacity: true)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key {
            let lowered = asciiLower(byte)
            keyScratch.append(lowered)
            hash = (hash ^ UInt64(lowered)) &* 0x100_0000_01b3
        }
        return keyScratch.withUnsafeBufferPointer { registry.lookup(loweredKey: $0, hash: hash) }
    }

    /// Adds a whole value in one call.
    @discardableResult
    public func add(key: String, value: String, kind: ValueKind = .string) -> Int32 {
        if recordsFields { recordedFields.append((key, value)) }
        let start = raw.count
        var valueCopy = value
        valueCopy.withUTF8 { appendValueBytes($0) }
        var keyCopy = key
        return keyCopy.withUTF8 { finishValue(key: $0, kind: kind, start: start) }
    }

    /// Links a fresh value entry into a field's chain (exact-case spellings first).
    func link(_ index: Int32, to id: FieldID, preferred: Bool) {
        let slot = Int(id)
        if stamp[slot] != generation {
            stamp[slot] = generation
            head[slot] = index
            tail[slot] = index
            values[Int(index)].preferred = preferred
            return
        }
        values[Int(index)].preferred = preferred
        if preferred && !values[Int(head[slot])].preferred {
            values[Int(index)].next = head[slot]
            head[slot] = index
        } else {
            values[Int(tail[slot])].next = index
            tail[slot] = index
        }
    }

    /// Makes `target` read the values of `source` when `target` has none.
    func alias(_ target: FieldID, from source: FieldID) {
        let t = Int(target)
        let s = Int(source)
        guard stamp[t] != generation, stamp[s] == generation else { return }
        stamp[t] = generation
        head[t] = head[s]
        tail[t] = tail[s]
    }

    // MARK: Reading

    /// Index of the first value of a field, or -1.
    @inline(__always)
    func first(_ id: FieldID) -> Int32 {
        let slot = Int(id)
        return stamp[slot] == generation ? head[slot] : -1
    }

    public func has(_ id: FieldID) -> Bool { first(id) >= 0 }

    /// The first value of a field, as text (nil if absent or null).
    public func string(_ id: FieldID) -> String? {
        let index = first(id)
        guard index >= 0 else { return nil }
        let value = values[Int(index)]
        if value.kind == .null { return nil }
        return String(decoding: raw[Int(value.start)..<Int(value.start + value.length)], as: UTF8.self)
    }

    /// Every value of a field, as text (nulls skipped).
    public func strings(_ id: FieldID) -> [String] {
        var result: [String] = []
        var index = first(id)
        while index >= 0 {
            let value = values[Int(index)]
            if value.kind != .null {
                result.append(String(decoding: raw[Int(value.start)..<Int(value.start + value.length)], as: UTF8.self))
            }
            index = value.next
        }
        return result
    }

    public func string(_ name: String) -> String? { registry.id(of: name).flatMap { string($0) } }

    /// Number of values (all fields, known or not).
    public var valueCount: Int { values.count }
}
