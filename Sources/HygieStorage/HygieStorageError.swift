public import HygieCore

/// Errors of the storage layer.
public enum HygieStorageError: ClassifiedError {
    /// Settings that cannot work (bad URL, unwritable directory).
    case configuration(String)
    /// The audit chain is broken at the given sequence number.
    case auditChainBroken(sequence: Int64, reason: String)

    public var kind: ErrorKind {
        switch self {
        case .configuration: .validation
        case .auditChainBroken: .internalFailure
        }
    }

    public var publicMessage: String {
        switch self {
        case .configuration(let message): message
        case .auditChainBroken(let sequence, let reason): "audit chain broken at event #\(sequence): \(reason)"
        }
    }
}
