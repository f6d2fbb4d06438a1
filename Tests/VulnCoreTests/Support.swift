import Foundation
import RecordInput

/// `../shared/data/vuln` beside the checkout (or `HYGIE_SHARED_DATA/vuln`).
let vulnData: String = {
    if let shared = ProcessInfo.processInfo.environment["HYGIE_SHARED_DATA"] {
        return (shared as NSString).appendingPathComponent("vuln")
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.deletingLastPathComponent().appendingPathComponent("shared/data/vuln").path
}()

func dataFile(_ relative: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: (vulnData as NSString).appendingPathComponent(relative))))
}

/// Each line of a (gzip) JSON lines file.
func eachLine(_ relative: String, _ body: ([UInt8]) throws -> Void) throws {
    let reader = try RecordReader(
        path: (vulnData as NSString).appendingPathComponent(relative), input: 0, format: .jsonLines)
    while let block = try reader.next() {
        for index in 0..<block.count {
            let start = Int(block.bounds[2 * index])
            let end = Int(block.bounds[2 * index + 1])
            try body(Array(block.data[start..<end]))
        }
    }
}
