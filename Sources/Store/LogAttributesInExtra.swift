/// How a log record's typed attributes (OTLP/JSON) follow from its flat `extra` object and the
/// columns the mapping lifted attributes into (`user_email`, `endpoint`, `exception_traceback`,
/// ...), so that `structured_logs.attributes` need not repeat them (docs/partitioning.md,
/// "Attributes stored once"). The mapping says so per record; a row without it keeps its typed
/// form as it is.
///
/// What `structured_logs.attributes` holds (`LogRow.storedAttributes`, read back by
/// `StoredLogAttributes.typed`):
/// - NULL: the attributes are the members of `extra`, in the order the store gives them back;
/// - a JSON string of tokens, `"0,u0,1,e0,2"`: attribute *i* is given by token *i*, a number
///   being that member of `extra` (in the order the store gives them back: on PostgreSQL
///   `jsonb`'s), a letter and a number a string attribute lifted into a column
///   (`LogAttributeColumn`: the letter names the column, the number the key among its keys);
/// - the typed OTLP/JSON array: a value neither can give back (as for spans, `AttributesInTags`;
///   or a lifted value that is not a string).
public struct LogAttributesInExtra: Sendable, Hashable {
    /// Where one attribute comes from.
    public enum Source: Sendable, Hashable {
        /// Member number *n* of `extra` as written.
        case extra(Int)
        /// The column's text, under key number *key* of the column's keys.
        case column(LogAttributeColumn, key: Int)
    }

    /// One per attribute, in the order sent.
    public var sources: [Source]
    /// For each member of `extra` as written, its position in `jsonb`'s order; nil when they
    /// are in that order already.
    public var extraJSONBPositions: [Int]?
    /// Whether every object nested in a value of `extra` is already in `jsonb`'s order.
    public var nestedOrderSurvivesJSONB: Bool

    public init(sources: [Source], extraJSONBPositions: [Int]?, nestedOrderSurvivesJSONB: Bool) {
        self.sources = sources
        self.extraJSONBPositions = extraJSONBPositions
        self.nestedOrderSurvivesJSONB = nestedOrderSurvivesJSONB
    }

    /// The stored tokens on `dialect`; nil when they are `extra`'s members in order (NULL).
    func tokens(_ dialect: SQLDialect) -> String? {
        var inOrder = true
        var tokens: [String] = []
        tokens.reserveCapacity(sources.count)
        for source in sources {
            switch source {
            case .extra(let member):
                let position = dialect == .postgres ? extraJSONBPositions?[member] ?? member : member
                if position != tokens.count { inOrder = false }
                tokens.append(String(position))
            case .column(let column, let key):
                inOrder = false
                tokens.append(column.rawValue + String(key))
            }
        }
        return inOrder ? nil : "\"" + tokens.joined(separator: ",") + "\""
    }
}

/// The columns of `structured_logs` an attribute can be lifted into, each named in the stored
/// tokens by one letter, with the attribute keys it is lifted from (first present wins;
/// docs/architecture.md, "Where OTLP fields go").
public enum LogAttributeColumn: String, Sendable, Hashable, CaseIterable {
    case loggerName = "l"
    case userEmail = "u"
    case department = "d"
    case sessionID = "s"
    case endpoint = "e"
    case exceptionType = "t"
    case exceptionMessage = "m"
    case exceptionTraceback = "b"

    public var keys: [String] {
        switch self {
        case .loggerName: ["logger.name"]
        case .userEmail: ["user.email", "enduser.id", "user_email"]
        case .department: ["department", "enterprise.department"]
        case .sessionID: ["session.id", "session_id"]
        case .endpoint: ["http.route", "url.path", "http.target"]
        case .exceptionType: ["exception.type"]
        case .exceptionMessage: ["exception.message"]
        case .exceptionTraceback: ["exception.stacktrace"]
        }
    }

    /// The column's name in `structured_logs`.
    public var name: String {
        switch self {
        case .loggerName: "logger_name"
        case .userEmail: "user_email"
        case .department: "department"
        case .sessionID: "session_id"
        case .endpoint: "endpoint"
        case .exceptionType: "exception_type"
        case .exceptionMessage: "exception_message"
        case .exceptionTraceback: "exception_traceback"
        }
    }
}

extension LogRow {
    /// What `structured_logs.attributes` holds for this row on `dialect` (see
    /// `LogAttributesInExtra`): nil for NULL.
    func storedAttributes(_ dialect: SQLDialect) -> String? {
        guard let inExtra = attributesInExtra else { return attributes }
        if dialect == .postgres, !inExtra.nestedOrderSurvivesJSONB { return attributes }
        return inExtra.tokens(dialect)
    }
}

/// The columns a log record's string attributes are lifted into (`LogAttributeColumn`), as a
/// row to write and a stored record both hold them.
protocol LiftedLogColumns {
    var loggerName: String { get }
    var userEmail: String? { get }
    var department: String? { get }
    var sessionID: String? { get }
    var endpoint: String? { get }
    var exceptionType: String? { get }
    var exceptionMessage: String? { get }
    var exceptionTraceback: String? { get }
}

extension LiftedLogColumns {
    /// The column's value in this row or record.
    func value(of column: LogAttributeColumn) -> String? {
        switch column {
        case .loggerName: loggerName
        case .userEmail: userEmail
        case .department: department
        case .sessionID: sessionID
        case .endpoint: endpoint
        case .exceptionType: exceptionType
        case .exceptionMessage: exceptionMessage
        case .exceptionTraceback: exceptionTraceback
        }
    }
}

extension LogRow: LiftedLogColumns {}
extension StoredLogRecord: LiftedLogColumns {}

extension StoredLogRecord {
    /// The record with its typed attributes rebuilt from what the store keeps
    /// (`StoredLogAttributes`), as read with `attributes` NULL read as "".
    func withTypedAttributes() -> StoredLogRecord {
        var record = self
        record.attributes = JSONText(StoredLogAttributes.typed(stored: attributes.text, extra: extra?.text, column: value(of:)))
        return record
    }
}
