/// How a span's typed events (OTLP/JSON, `[{"timeUnixNano":"…","name":"…","attributes":[…]}]`)
/// follow from its flat `logs` (`[{"timestamp":"…Z","name":"…","attributes":{…}}]`), so that
/// `trace_spans.events` need not repeat them on PostgreSQL (docs/partitioning.md, "Span events
/// (migration 016)"). The mapping says so per span; SQLite keeps the typed form (its spans
/// are under half of the bytes of the first layout without it).
///
/// What `trace_spans.events` holds on PostgreSQL (`SpanRow.storedEvents`, read back by
/// `StoredEvents.typed`):
/// - NULL: every event of `logs` at its microsecond, its attributes in `jsonb`'s order (and a
///   span without events);
/// - a JSON string, one part per event joined by `;`: `"789"` or `"789:2.0.1"`, the
///   nanoseconds below the microsecond `logs` keeps, then, when `jsonb`'s order is not the
///   order sent, attribute *i* being member number *p[i]* of the event's `attributes` object;
/// - the typed OTLP/JSON array: what `logs` cannot give back (an attribute that is not a plain
///   scalar, or one `tags` would lose, `AttributesInTags`; dropped attributes; a repeated key; a
///   time whose text in `logs` does not read back to its microsecond, as before 1970).
public struct EventsInLogs: Sendable, Hashable {
    public struct Part: Sendable, Hashable {
        /// `timeUnixNano % 1000`.
        public var nanoseconds: Int
        /// The event's attribute positions in `jsonb`'s order; nil when already in that order.
        public var jsonbPositions: [Int]?

        public init(nanoseconds: Int, jsonbPositions: [Int]?) {
            self.nanoseconds = nanoseconds
            self.jsonbPositions = jsonbPositions
        }
    }

    /// One per event, in order.
    public var parts: [Part]

    public init(parts: [Part]) { self.parts = parts }

    /// The stored string; nil when every part is empty (NULL).
    var stored: String? {
        guard parts.contains(where: { $0.nanoseconds != 0 || $0.jsonbPositions != nil }) else { return nil }
        let text = parts.map { part in
            String(part.nanoseconds) + (part.jsonbPositions.map { ":" + $0.map(String.init).joined(separator: ".") } ?? "")
        }.joined(separator: ";")
        return "\"" + text + "\""
    }
}

extension SpanRow {
    /// What `trace_spans.events` holds for this row on `dialect` (see `EventsInLogs`): nil for NULL.
    func storedEvents(_ dialect: SQLDialect) -> String? {
        guard dialect == .postgres, let inLogs = eventsInLogs else { return events }
        return inLogs.stored
    }
}

/// The typed events of a stored span, from its `events` column and its `logs`.
enum StoredEvents {
    /// The column's text, CAST to text and NULL read as "", for a select list.
    static func column(of row: String) -> String {
        "coalesce(CAST(\(row).events AS TEXT), '')"
    }

    /// The events as TraceQL's conditions read them, typed, on `dialect`: the column where it
    /// holds the typed array, else the events of `logs` with their names and typed attributes
    /// (times and attribute order are not read by conditions).
    static func typedForConditions(of row: String, _ dialect: SQLDialect) -> String {
        guard dialect == .postgres else { return "\(row).events" }
        return """
            (CASE WHEN jsonb_typeof(\(row).events) = 'array' THEN \(row).events ELSE (SELECT coalesce(jsonb_agg(\
            jsonb_build_object('name', l -> 'name', 'attributes', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', a.key, \
            'value', CASE jsonb_typeof(a.value) WHEN 'string' THEN jsonb_build_object('stringValue', a.value) \
            WHEN 'boolean' THEN jsonb_build_object('boolValue', a.value) \
            WHEN 'number' THEN CASE WHEN a.value #>> '{}' ~ '^-?[0-9]+$' THEN jsonb_build_object('intValue', a.value #>> '{}') \
            ELSE jsonb_build_object('doubleValue', a.value) END ELSE '{}'::jsonb END)), '[]'::jsonb) \
            FROM jsonb_each(CASE WHEN jsonb_typeof(l -> 'attributes') = 'object' THEN l -> 'attributes' ELSE '{}'::jsonb END) a))), \
            '[]'::jsonb) FROM jsonb_array_elements(CASE WHEN jsonb_typeof(\(row).logs) = 'array' THEN \(row).logs ELSE '[]'::jsonb END) l) END)
            """
    }
}

extension Timestamp {
    /// The microseconds since 1970 of `Timestamp.iso8601`'s text (`2026-12-07T10:00:00.123456Z`,
    /// from 1970 on); nil for any other text.
    public static func unixMicros<Text: StringProtocol>(iso8601 text: Text) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 27, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "."),
              bytes[26] == UInt8(ascii: "Z") else { return nil }
        func number(_ start: Int, _ width: Int) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[start..<start + width] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), let fraction = number(20, 6),
              year >= 1970, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
        // Howard Hinnant's days-from-civil algorithm.
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000_000) + fraction
    }
}
