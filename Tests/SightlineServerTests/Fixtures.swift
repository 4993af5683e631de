import Foundation
@_exported import ServerTestSupport
@_exported import StoreTestSupport

/// A fixture payload from Tests/Fixtures.
func fixture(_ name: String) throws -> [UInt8] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/\(name)").standardized
    return Array(try Data(contentsOf: url))
}
