import Foundation

/// Text as the stores keep it: U+0000 (which PostgreSQL text cannot hold and SQLite's C API
/// cuts at) becomes U+FFFD in both, so both stores keep the same value.
enum StoreText {
    static func safe(_ text: String) -> String {
        containsNUL(text) ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }

    /// `memchr` over native strings' bytes: the generic `contains` was 3% of ingest CPU.
    static func containsNUL(_ text: String) -> Bool {
        if let found = text.utf8.withContiguousStorageIfAvailable({ bytes in
            bytes.isEmpty ? false : memchr(bytes.baseAddress!, 0, bytes.count) != nil
        }) {
            return found
        }
        return text.utf8.contains(0)
    }

    static func safe(_ text: String?) -> String? { text.map(safe) }

    /// JSON text for a jsonb column: an escaped NUL (`\u0000`) is replaced the same way.
    static func safeJSON(_ json: String) -> String {
        guard containsEscapedNUL(json) else { return json }
        var result = ""
        result.reserveCapacity(json.utf8.count)
        var escaped = false
        var index = json.startIndex
        while index < json.endIndex {
            let character = json[index]
            if escaped {
                if character == "u", json[index...].hasPrefix("u0000") {
                    result += "ufffd"
                    index = json.index(index, offsetBy: 5)
                    escaped = false
                    continue
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            }
            result.append(character)
            index = json.index(after: index)
        }
        return result
    }

    static func safeJSON(_ json: String?) -> String? { json.map(safeJSON) }

    private static let escapedNUL = Array("\\u0000".utf8)

    /// Whether `json` holds the text `\u0000`, by `memchr` over its bytes. Foundation's
    /// `String.contains(_:)` goes through `NSString` and UTF-16: it was 40% of Sightline's CPU
    /// when ingesting into PostgreSQL (every span's five JSON columns pass here).
    static func containsEscapedNUL(_ json: String) -> Bool {
        if let found = json.utf8.withContiguousStorageIfAvailable({ bytes in
            guard let base = bytes.baseAddress, bytes.count >= escapedNUL.count else { return false }
            // Each backslash found by `memchr`, then the five bytes after it compared.
            var offset = 0
            let last = bytes.count - escapedNUL.count
            while offset <= last, let hit = memchr(base + offset, 0x5C, last - offset + 1) {
                let start = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(base + start, escapedNUL, escapedNUL.count) == 0 { return true }
                offset = start + 1
            }
            return false
        }) {
            return found
        }
        var copy = json
        copy.makeContiguousUTF8()
        return containsEscapedNUL(copy)
    }
}
