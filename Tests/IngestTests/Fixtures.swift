import Foundation

/// The conformance payloads copied under `Tests/Fixtures/` (not SwiftPM resources: they are
/// found from this file's path, so every test target can read the same copies).
enum Fixtures {
    /// `Tests/Fixtures/`.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // Tests/IngestTests
        .deletingLastPathComponent()   // Tests
        .appendingPathComponent("Fixtures", isDirectory: true)

    /// The bytes of `Tests/Fixtures/<path>`, e.g. `python-sdk/python-json-traces.json`.
    static func data(_ path: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(path))
    }
}
