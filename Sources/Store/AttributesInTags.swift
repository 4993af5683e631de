/// How a span's typed attributes (OTLP/JSON, `[{"key":"k","value":{"intValue":"1"}}]`) follow
/// from its flat `tags` object (`{"k":1}`), so that `trace_spans.attributes` need not repeat them
/// (docs/partitioning.md, "Attributes stored once"). The mapping writes both forms and says so;
/// a row without it keeps its typed form as it is.
///
/// What `trace_spans.attributes` holds (`SpanRow.storedAttributes`, read back by
/// `StoredAttributes.typed`):
/// - NULL: the attributes are the members of `tags`, in the order the store gives them back;
/// - a JSON string of numbers, `"2,0,1"` (PostgreSQL only): the same, attribute *i* being member
///   number *p[i]* of `tags` (`jsonb` orders an object's members: shorter keys first, then by
///   their bytes; this is the order they were sent in). A string, not an array of numbers: 30
///   bytes a span where the array took 130;
/// - the typed OTLP/JSON array: a value `tags` cannot give back (bytes, which it holds as base64;
///   a double written with an exponent or not finite; a repeated key; a nested object whose
///   order `jsonb` would change, on PostgreSQL).
public struct AttributesInTags: Sendable, Hashable {
    /// For each attribute in order, its member's position among the `tags` members in `jsonb`'s
    /// order; nil when the attributes are already in that order.
    public var jsonbPositions: [Int]?
    /// Whether every object nested in a value (a kvlist) is already in `jsonb`'s order.
    public var nestedOrderSurvivesJSONB: Bool

    public init(jsonbPositions: [Int]?, nestedOrderSurvivesJSONB: Bool) {
        self.jsonbPositions = jsonbPositions
        self.nestedOrderSurvivesJSONB = nestedOrderSurvivesJSONB
    }

    /// Whether `jsonb` puts a member named `a` before one named `b`.
    public static func jsonbOrders(_ a: String, before b: String) -> Bool {
        let (left, right) = (a.utf8, b.utf8)
        if left.count != right.count { return left.count < right.count }
        return left.lexicographicallyPrecedes(right)
    }

    /// The positions of `keys` in `jsonb`'s order; nil when they are in that order already.
    public static func jsonbPositions(of keys: [String]) -> [Int]? {
        let ranked = keys.indices.sorted { jsonbOrders(keys[$0], before: keys[$1]) }
        guard ranked != Array(keys.indices) else { return nil }
        var positions = [Int](repeating: 0, count: keys.count)
        for (rank, index) in ranked.enumerated() { positions[index] = rank }
        return positions
    }
}

extension SpanRow {
    /// What `trace_spans.attributes` holds for this row on `dialect` (see `AttributesInTags`):
    /// nil for NULL.
    func storedAttributes(_ dialect: SQLDialect) -> String? {
        guard let inTags = attributesInTags else { return attributes }
        switch dialect {
        case .sqlite:
            return nil
        case .postgres:
            guard inTags.nestedOrderSurvivesJSONB else { return attributes }
            return inTags.jsonbPositions.map { "\"" + $0.map(String.init).joined(separator: ",") + "\"" }
        }
    }
}

/// The typed attributes of a stored span, from its `attributes` column and its `tags`.
enum StoredAttributes {
    /// The column's text, CAST to text and NULL read as "", for a select list.
    static func column(of row: String) -> String {
        "coalesce(CAST(\(row).attributes AS TEXT), '')"
    }

    /// The typed OTLP/JSON attributes of a span whose `attributes` column read `stored`
    /// (`column(of:)`: "" for NULL) and whose `tags` read `tags`.
    static func typed(stored: String, tags: String?) -> String {
        let trimmed = stored.drop { $0 == " " }
        if !trimmed.isEmpty {
            guard let positions = positions(trimmed) else { return stored }
            return derived(tags: tags, positions: positions)
        }
        return derived(tags: tags, positions: nil)
    }

    /// `"2,0,1"` as its numbers; nil for anything else (a typed array).
    private static func positions(_ text: Substring) -> [Int]? {
        guard text.count >= 2, text.first == "\"", text.last == "\"" else { return nil }
        let numbers = text.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        return numbers.contains(nil) ? nil : numbers.compactMap { $0 }
    }

    private static func derived(tags: String?, positions: [Int]?) -> String {
        var parser = FlatJSONParser(Array((tags ?? "{}").utf8))
        guard case .object(let members)? = parser.parse() else { return "[]" }
        var order = Array(members.indices)
        if let positions, positions.count == members.count, positions.allSatisfy(members.indices.contains) {
            order = positions
        }
        var out: [UInt8] = []
        out.reserveCapacity(parser.bytes.count * 2 + 2)
        out.append(UInt8(ascii: "["))
        for (number, index) in order.enumerated() {
            if number > 0 { out.append(UInt8(ascii: ",")) }
            parser.writeAttribute(key: members[index].key, value: members[index].value, into: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// A plain JSON value with its strings and numbers kept as the bytes they were written in.
private indirect enum FlatValue {
    case string(Range<Int>)
    case number(Range<Int>)
    case bool(Bool)
    case null
    case array([FlatValue])
    case object([(key: Range<Int>, value: FlatValue)])
}

/// Reads `tags` (a plain JSON object, as the store gives it back) and writes its members in
/// OTLP/JSON form, copying each string and number as written.
private struct FlatJSONParser {
    let bytes: [UInt8]
    private var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func parse() -> FlatValue? {
        let value = self.value()
        skipSpace()
        return at == bytes.count ? value : nil
    }

    private mutating func skipSpace() {
        while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
    }

    private mutating func value() -> FlatValue? {
        skipSpace()
        guard at < bytes.count else { return nil }
        switch bytes[at] {
        case UInt8(ascii: "\""): return string().map(FlatValue.string)
        case UInt8(ascii: "{"):
            at += 1
            var members: [(key: Range<Int>, value: FlatValue)] = []
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { return nil }
                at += 1
                guard let member = value() else { return nil }
                members.append((key, member))
                skipSpace()
                guard at < bytes.count else { return nil }
                at += 1
                if bytes[at - 1] == UInt8(ascii: "}") { return .object(members) }
                guard bytes[at - 1] == UInt8(ascii: ",") else { return nil }
            }
        case UInt8(ascii: "["):
            at += 1
            var elements: [FlatValue] = []
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(elements) }
            while true {
                guard let element = value() else { return nil }
                elements.append(element)
                skipSpace()
                guard at < bytes.count else { return nil }
                at += 1
                if bytes[at - 1] == UInt8(ascii: "]") { return .array(elements) }
                guard bytes[at - 1] == UInt8(ascii: ",") else { return nil }
            }
        case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return literal("null") ? .null : nil
        default:
            let start = at
            while at < bytes.count, Self.numberBytes.contains(bytes[at]) { at += 1 }
            return at > start ? .number(start..<at) : nil
        }
    }

    private static let numberBytes = Set("-+0123456789.eE".utf8)

    /// A string's bytes, quotes included.
    private mutating func string() -> Range<Int>? {
        guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { return nil }
        let start = at
        at += 1
        while at < bytes.count, bytes[at] != UInt8(ascii: "\"") {
            at += bytes[at] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard at < bytes.count else { return nil }
        at += 1
        return start..<at
    }

    private mutating func literal(_ word: String) -> Bool {
        let text = Array(word.utf8)
        guard at + text.count <= bytes.count, Array(bytes[at..<at + text.count]) == text else { return false }
        at += text.count
        return true
    }

    func writeAttribute(key: Range<Int>, value: FlatValue, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"key":"#.utf8)
        out.append(contentsOf: bytes[key])
        out.append(contentsOf: #","value":"#.utf8)
        write(value, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// The OTLP/JSON `AnyValue` the flat value was written from.
    func write(_ value: FlatValue, into out: inout [UInt8]) {
        switch value {
        case .string(let range):
            out.append(contentsOf: #"{"stringValue":"#.utf8)
            out.append(contentsOf: bytes[range])
            out.append(UInt8(ascii: "}"))
        case .number(let range) where bytes[range].contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }):
            out.append(contentsOf: #"{"doubleValue":"#.utf8)
            out.append(contentsOf: bytes[range])
            out.append(UInt8(ascii: "}"))
        case .number(let range):
            out.append(contentsOf: #"{"intValue":""#.utf8)
            out.append(contentsOf: bytes[range])
            out.append(contentsOf: #""}"#.utf8)
        case .bool(let flag):
            out.append(contentsOf: (flag ? #"{"boolValue":true}"# : #"{"boolValue":false}"#).utf8)
        case .null:
            out.append(contentsOf: "{}".utf8)
        case .array(let elements):
            out.append(contentsOf: #"{"arrayValue":{"#.utf8)
            if !elements.isEmpty {
                out.append(contentsOf: #""values":["#.utf8)
                for (index, element) in elements.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    write(element, into: &out)
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(contentsOf: "}}".utf8)
        case .object(let members):
            out.append(contentsOf: #"{"kvlistValue":{"#.utf8)
            if !members.isEmpty {
                out.append(contentsOf: #""values":["#.utf8)
                for (index, member) in members.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    writeAttribute(key: member.key, value: member.value, into: &out)
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(contentsOf: "}}".utf8)
        }
    }
}

// The readers of log records' attributes and of span events share the flat JSON reader above,
// which is private to this file.

/// The typed attributes of a stored log record, from its `attributes` column, its `extra` and
/// the columns attributes are lifted into.
enum StoredLogAttributes {
    /// The typed OTLP/JSON attributes of a record whose `attributes` column read `stored` (""
    /// for NULL), whose `extra` read `extra`, and whose lifted columns read `column`.
    static func typed(stored: String, extra: String?, column: (LogAttributeColumn) -> String?) -> String {
        let trimmed = stored.drop { $0 == " " }
        var tokens: [Substring]?
        if !trimmed.isEmpty {
            guard trimmed.count >= 2, trimmed.first == "\"", trimmed.last == "\"" else { return stored }
            tokens = trimmed.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
        }
        var parser = FlatJSONParser(Array((extra ?? "{}").utf8))
        let members: [(key: Range<Int>, value: FlatValue)]
        if case .object(let parsed)? = parser.parse() { members = parsed } else { members = [] }

        var out: [UInt8] = []
        out.reserveCapacity(parser.bytes.count * 2 + 2)
        out.append(UInt8(ascii: "["))
        var written = 0
        func separate() {
            if written > 0 { out.append(UInt8(ascii: ",")) }
            written += 1
        }
        guard let tokens else {
            for member in members {
                separate()
                parser.writeAttribute(key: member.key, value: member.value, into: &out)
            }
            out.append(UInt8(ascii: "]"))
            return String(decoding: out, as: UTF8.self)
        }
        for token in tokens {
            if let number = Int(token) {
                guard members.indices.contains(number) else { continue }
                separate()
                parser.writeAttribute(key: members[number].key, value: members[number].value, into: &out)
            } else if let letter = token.first, let lifted = LogAttributeColumn(rawValue: String(letter)),
                      let key = Int(token.dropFirst()), lifted.keys.indices.contains(key), let value = column(lifted) {
                separate()
                out.append(contentsOf: #"{"key":"#.utf8)
                appendQuoted(lifted.keys[key], to: &out)
                out.append(contentsOf: #","value":{"stringValue":"#.utf8)
                appendQuoted(value, to: &out)
                out.append(contentsOf: "}}".utf8)
            }
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// `text` as a JSON string, escaped as the mapping's JSON writer escapes it (`\n`, `\r`,
    /// `\t`, other control bytes as `\u00XX`).
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case ..<0x20: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                                  hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension StoredEvents {
    /// The typed OTLP/JSON events of a span whose `events` column read `stored` (`column(of:)`:
    /// "" for NULL) and whose `logs` read `logs`.
    static func typed(stored: String, logs: String?) -> String {
        let trimmed = stored.drop { $0 == " " }
        var parts: [Substring] = []
        if !trimmed.isEmpty {
            guard trimmed.count >= 2, trimmed.first == "\"", trimmed.last == "\"" else { return stored }
            parts = trimmed.dropFirst().dropLast().split(separator: ";", omittingEmptySubsequences: false)
        }
        var parser = FlatJSONParser(Array((logs ?? "[]").utf8))
        guard case .array(let events)? = parser.parse() else { return "[]" }
        var out: [UInt8] = []
        out.reserveCapacity(parser.bytes.count * 2 + 2)
        out.append(UInt8(ascii: "["))
        for index in events.indices {
            let event = events[index]
            guard case .object(let members) = event else { continue }
            let timestamp = member("timestamp", of: members, parser)
            let name = member("name", of: members, parser)
            let attributesValue = member("attributes", of: members, parser)
            var nanoseconds: Int64 = 0
            var positions: [Int]?
            if index < parts.count {
                let fields = parts[index].split(separator: ":", maxSplits: 1)
                nanoseconds = fields.first.flatMap { Int64($0) } ?? 0
                if fields.count == 2 { positions = fields[1].split(separator: ".").compactMap { Int($0) } }
            }
            var time: Int64 = 0
            if case .string(let range)? = timestamp,
               let micros = Timestamp.unixMicros(iso8601: String(decoding: parser.bytes[range].dropFirst().dropLast(), as: UTF8.self)) {
                time = micros * 1_000 + nanoseconds
            }
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"timeUnixNano":""#.utf8)
            out.append(contentsOf: String(time).utf8)
            out.append(contentsOf: #"","name":"#.utf8)
            if case .string(let range)? = name { out.append(contentsOf: parser.bytes[range]) } else { out.append(contentsOf: #""""#.utf8) }
            if case .object(let attributes)? = attributesValue, !attributes.isEmpty {
                var order = Array(attributes.indices)
                if let positions, positions.count == attributes.count, positions.allSatisfy(attributes.indices.contains) { order = positions }
                out.append(contentsOf: #","attributes":["#.utf8)
                for (number, position) in order.enumerated() {
                    if number > 0 { out.append(UInt8(ascii: ",")) }
                    parser.writeAttribute(key: attributes[position].key, value: attributes[position].value, into: &out)
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }
}

extension StoredEvents {
    /// The value of the member named `name` (unescaped) of an object `parser` read.
    private static func member(_ name: String, of members: [(key: Range<Int>, value: FlatValue)], _ parser: FlatJSONParser) -> FlatValue? {
        let quoted = Array(("\"" + name + "\"").utf8)
        for member in members where parser.bytes[member.key].elementsEqual(quoted) { return member.value }
        return nil
    }
}
