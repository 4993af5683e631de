import W3CTraceContext

/// Reads `traceparent` and `tracestate` as the W3C Trace Context recommendation says
/// (docs/architecture.md, "Self-tracing"), before swift-w3c-trace-context parses what passed.
///
/// `traceparent` is refused (and a new trace started) when it is duplicated (combined values no
/// longer parse), has version `ff`, is not lower-case hex, has the wrong lengths or all-zero
/// ids, or carries anything after its four fields in version 00. A later version is read by its
/// first four fields. `tracestate` follows the second edition's key grammar (a lower-case letter,
/// then up to 255 of `a-z 0-9 _ - * / @`, so `foo@`, `foo@@bar` and long tenant or system parts
/// are keys) and the W3C test suite's strict level: a repeated key keeps its first member; the
/// whole header is dropped when any member is invalid or there are more than 32 members; the
/// traceparent is kept either way.
public enum TraceContextHeaders {
    public static let maxTraceStateMembers = 32

    /// The incoming context, or `nil` when `traceparent` is absent or invalid.
    public static func parse(traceparent: String?, tracestate: String?) -> TraceContext? {
        guard let traceparent, let normalised = normalisedTraceParent(traceparent) else { return nil }
        guard let context = try? TraceContext(traceParentHeaderValue: normalised) else { return nil }
        // Built from the members directly: swift-w3c-trace-context parses keys by the first
        // edition's grammar, which refuses `foo@` and system parts over 14 characters.
        guard let tracestate, let members = traceStateMembers(tracestate) else { return context }
        let state = TraceState(members.map { (TraceState.Vendor(rawValue: String($0.key)), String($0.value)) })
        return TraceContext(traceID: context.traceID, spanID: context.spanID, flags: context.flags, state: state)
    }

    /// `00-<trace>-<span>-<flags>` when `value` is a valid traceparent of any version.
    static func normalisedTraceParent(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        guard bytes.count >= 55 else { return nil }
        let version = bytes[0..<2]
        guard version.allSatisfy(isLowerHex), version != [UInt8(ascii: "f"), UInt8(ascii: "f")] else { return nil }
        guard bytes[2] == dash, bytes[35] == dash, bytes[52] == dash else { return nil }
        if version == [UInt8(ascii: "0"), UInt8(ascii: "0")] {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55 {
            // A later version may add fields, after a dash.
            guard bytes[55] == dash else { return nil }
        }
        let traceID = bytes[3..<35], spanID = bytes[36..<52], flags = bytes[53..<55]
        guard traceID.allSatisfy(isLowerHex), spanID.allSatisfy(isLowerHex), flags.allSatisfy(isLowerHex) else { return nil }
        guard traceID.contains(where: { $0 != zero }), spanID.contains(where: { $0 != zero }) else { return nil }
        return "00-" + String(decoding: bytes[3..<55], as: UTF8.self)
    }

    /// The members, in order, when each is `key=value` as the recommendation defines them
    /// (white space around members and empty members are allowed, and left out; a repeated key
    /// keeps its first member); else `nil`.
    static func traceStateMembers(_ value: String) -> [(key: Substring, value: Substring)]? {
        var keys: Set<Substring> = []
        var members: [(key: Substring, value: Substring)] = []
        var count = 0
        for rawMember in value.split(separator: ",", omittingEmptySubsequences: false) {
            var text = rawMember[...]
            while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
            while let last = text.last, last == " " || last == "\t" { text.removeLast() }
            if text.isEmpty { continue }
            guard let equals = text.firstIndex(of: "=") else { return nil }
            let key = text[..<equals], memberValue = text[text.index(after: equals)...]
            guard isValidKey(key), isValidValue(memberValue) else { return nil }
            count += 1
            if keys.insert(key).inserted { members.append((key, memberValue)) }
        }
        guard !members.isEmpty, count <= maxTraceStateMembers else { return nil }
        return members
    }

    /// A lower-case letter, then up to 255 of `a-z 0-9 _ - * / @` (the second edition's key
    /// grammar; the first edition's `tenant@system` keys are among them, and a tenant may
    /// still start with a digit).
    static func isValidKey(_ key: Substring) -> Bool {
        func isLowerAlpha(_ c: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) }
        func isDigit(_ c: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) }
        func isKeyCharacter(_ c: UInt8) -> Bool {
            isLowerAlpha(c) || isDigit(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: "*")
                || c == UInt8(ascii: "/") || c == UInt8(ascii: "@")
        }
        let bytes = Array(key.utf8)
        guard let first = bytes.first, bytes.count <= 256, bytes.allSatisfy(isKeyCharacter) else { return false }
        return isLowerAlpha(first) || (isDigit(first) && bytes.contains(UInt8(ascii: "@")))
    }

    /// Up to 256 printable ASCII characters except `,` and `=`, not ending in a space.
    static func isValidValue(_ value: Substring) -> Bool {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty, bytes.count <= 256, bytes.last != UInt8(ascii: " ") else { return false }
        return bytes.allSatisfy { (0x20...0x7E).contains($0) && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "=") }
    }

    private static let dash = UInt8(ascii: "-")
    private static let zero = UInt8(ascii: "0")

    private static func isLowerHex(_ c: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c)
    }
}
