import Foundation

/// Turns error messages that differ only in their variable parts into one: numbers, hex ids,
/// UUIDs, e-mail addresses and quoted values become placeholders. The writer groups errors
/// with it when it adds them to `error_group_minutes`, so a change to it applies to errors
/// written after the change.
public enum ErrorNormaliser {
    public static func normalise(_ message: String) -> String {
        var output = ""
        var token = ""
        func flush() {
            guard !token.isEmpty else { return }
            output += placeholder(for: token) ?? token
            token = ""
        }
        var quote: Character?
        for character in message.prefix(2_000) {
            if let open = quote {
                if character == open { output += "<value>"; quote = nil }
                continue
            }
            if character == "'" || character == "\"" {
                flush()
                quote = character
                continue
            }
            if character.isLetter || character.isNumber || "@._-+".contains(character) {
                token.append(character)
            } else {
                flush()
                output.append(character)
            }
        }
        flush()
        if let open = quote { output += String(open) }
        let collapsed = output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return String(collapsed.prefix(300))
    }

    /// The placeholder for a word, when it is a variable part.
    static func placeholder(for word: String) -> String? {
        let trimmed = word.trimmingCharacters(in: CharacterSet(charactersIn: "._-+"))
        guard !trimmed.isEmpty else { return nil }
        if trimmed.contains("@"), trimmed.contains(".") { return word.replacingOccurrences(of: trimmed, with: "<email>") }
        if UUID(uuidString: trimmed) != nil { return word.replacingOccurrences(of: trimmed, with: "<uuid>") }
        if trimmed.allSatisfy(\.isNumber) || Double(trimmed) != nil { return word.replacingOccurrences(of: trimmed, with: "<n>") }
        let hex = trimmed.unicodeScalars.allSatisfy { CharacterSet(charactersIn: "0123456789abcdefABCDEF").contains($0) }
        if hex, trimmed.count >= 8, trimmed.contains(where: \.isNumber) { return word.replacingOccurrences(of: trimmed, with: "<id>") }
        if trimmed.contains(where: \.isNumber), trimmed.contains(where: \.isLetter), trimmed.count >= 6,
           trimmed.filter(\.isNumber).count * 3 >= trimmed.count {
            return word.replacingOccurrences(of: trimmed, with: "<id>")
        }
        return nil
    }

    /// A stable id for a group: 16 hex digits of FNV-1a over its key.
    public static func groupID(type: String, message: String, service: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in (type + "\u{1F}" + message + "\u{1F}" + service).utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16).leftPadded(to: 16)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
