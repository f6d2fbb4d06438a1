/// A FINESS number (Fichier national des établissements sanitaires et sociaux): nine characters, the
/// first two the département ("2A"/"2B" for Corsica), the rest digits.
///
/// ```swift
/// let finess = try FINESS("750712184")
/// ```
public struct FINESS: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    /// Parses and normalises (trims spaces, upper-cases Corsican letters) a FINESS number.
    /// - Throws: ``ValidationError`` when the text is not nine characters of the expected shape.
    public init(_ text: String) throws {
        let trimmed = text.filter { $0 != " " }.uppercased()
        let chars = Array(trimmed)
        guard chars.count == 9 else {
            throw ValidationError(field: "finess", message: "a FINESS number has 9 characters", key: "finessLength")
        }
        let department = String(chars[0...1])
        let departmentOK = department.allSatisfy(\.isASCIIDigit) || department == "2A" || department == "2B"
        guard departmentOK, chars[2...].allSatisfy(\.isASCIIDigit) else {
            throw ValidationError(
                field: "finess", message: "a FINESS number is digits (2A/2B allowed for Corsica)", key: "finessDigits")
        }
        self.value = trimmed
    }

    public var description: String { value }

    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
