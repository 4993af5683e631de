/// Why reading a value stopped.
enum JSONReadError: Error {
    /// The body is not JSON: bad syntax or UTF-8, or nesting beyond `JSONCursor.maxDepth`.
    case syntax
    /// Well-formed JSON that breaks an OTLP/JSON rule. Thrown only once the offending value
    /// has been read to its end, so the caller can go on with the next member or element.
    case invalid(InvalidValue)

    /// An invalid value, reported where it is thrown (the path is added on the way out).
    static func invalid(_ message: String) -> JSONReadError { .invalid(InvalidValue(message: message)) }
}

/// What is wrong with a value, and where it is relative to the value being read.
struct InvalidValue {
    var message: String
    /// Innermost first: each enclosing member or element adds itself as the error passes.
    var reversedPath: [PathComponent] = []

    enum PathComponent {
        case key(String)
        case index(Int)
    }

    /// `resourceSpans[0].scopeSpans[1].spans[3].traceId`, given the path of the value read.
    func path(under parents: [PathComponent] = []) -> String {
        var path = ""
        for component in parents + reversedPath.reversed() {
            switch component {
            case .key(let name): path += path.isEmpty ? name : "." + name
            case .index(let index): path += "[\(index)]"
            }
        }
        return path
    }
}

/// Reads OTLP/JSON messages straight into the wire model: the state of one decode.
///
/// Every function starts at a value (or, for a message, just after its `{`) and returns
/// with the cursor past it, also when it throws `JSONReadError.invalid`. Items (spans, log
/// records) that are invalid are recorded in `rejected` and left out.
struct OTLPJSONReader {
    var cursor: JSONCursor
    let maxValueDepth: Int
    let maxAttributes: Int
    var rejected: [OTLPDecodingError] = []
    /// Where the items being read are: `resourceSpans[resourceIndex].scopeSpans[scopeIndex]`.
    var resourceIndex = 0
    var scopeIndex = 0

    init(bytes: UnsafeBufferPointer<UInt8>, limits: OTLPJSONDecoder) {
        cursor = JSONCursor(bytes)
        maxValueDepth = limits.maxValueDepth
        maxAttributes = limits.maxAttributes
    }

    /// The whole text: one object read by `read`, then nothing but whitespace. A body that
    /// is not JSON fails as such even when an earlier value broke an OTLP rule.
    mutating func document<Message>(_ read: (inout Self) throws(JSONReadError) -> Message) throws(JSONReadError) -> Message {
        let message: Result<Message, JSONReadError>
        do throws(JSONReadError) {
            message = .success(try element(read))
        } catch {
            guard case .invalid = error else { throw error }
            message = .failure(error)
        }
        try cursor.finish()
        return try message.get()
    }

    // MARK: Containers

    /// An object field: `nil` when null; otherwise `read` on its members.
    @inline(__always)
    mutating func object<Message>(_ read: (inout Self) throws(JSONReadError) -> Message) throws(JSONReadError) -> Message? {
        if try cursor.peek() == .null {
            try cursor.readNull()
            return nil
        }
        return try element(read)
    }

    /// A value that must be an object, such as an array element: `read` on its members.
    @inline(__always)
    mutating func element<Message>(_ read: (inout Self) throws(JSONReadError) -> Message) throws(JSONReadError) -> Message {
        switch try cursor.peek() {
        case .object:
            try cursor.enterObject()
            return try read(&self)
        case .null:
            try cursor.readNull()
            throw .invalid("expected an object, found null")
        default:
            try cursor.skipValue()
            throw .invalid("expected an object")
        }
    }

    /// An array of objects; a null element is an error.
    mutating func objects<Message>(_ read: (inout Self) throws(JSONReadError) -> Message) throws(JSONReadError) -> [Message] {
        try array { reader, _ throws(JSONReadError) in try reader.element(read) }
    }

    /// An array field: empty when null; otherwise `read` for each element (given its index).
    /// The first invalid element is reported, with its index, once the array has been read.
    @inline(__always)
    mutating func array<Element>(_ read: (inout Self, Int) throws(JSONReadError) -> Element) throws(JSONReadError) -> [Element] {
        var elements: [Element] = []
        try forEachElement { reader, index throws(JSONReadError) in
            // Skips the smallest steps of growing, which would each allocate.
            if index == 0 { elements.reserveCapacity(4) }
            elements.append(try read(&reader, index))
        }
        return elements
    }

    /// Calls `body` for each element of an array field (none when null). After the first
    /// invalid element the others are only skipped; its error, with its index, is thrown once
    /// the array has been read.
    mutating func forEachElement(_ body: (inout Self, Int) throws(JSONReadError) -> Void) throws(JSONReadError) {
        switch try cursor.peek() {
        case .null:
            try cursor.readNull()
            return
        case .array:
            try cursor.enterArray()
        default:
            try cursor.skipValue()
            throw .invalid("expected an array")
        }
        var index = 0
        var failure: InvalidValue?
        var first = true
        while try cursor.nextElement(first: &first) {
            defer { index += 1 }
            if failure != nil {
                try cursor.skipValue()
                continue
            }
            do throws(JSONReadError) {
                try body(&self, index)
            } catch {
                guard case .invalid(var invalid) = error else { throw error }
                invalid.reversedPath.append(.index(index))
                failure = invalid
            }
        }
        if let failure { throw .invalid(failure) }
    }

    /// An array of spans or log records (`key` in a scope of `resourceKey`/`scopeKey`): an
    /// invalid item is recorded in `rejected` and dropped, and its neighbours are kept.
    mutating func items<Item>(_ key: String, in resourceKey: String, _ scopeKey: String,
                              _ read: (inout Self) throws(JSONReadError) -> Item) throws(JSONReadError) -> [Item] {
        var items: [Item] = []
        try forEachElement { reader, itemIndex throws(JSONReadError) in
            do throws(JSONReadError) {
                items.append(try reader.element(read))
            } catch {
                guard case .invalid(let invalid) = error else { throw error }
                let parents: [InvalidValue.PathComponent] = [
                    .key(resourceKey), .index(reader.resourceIndex), .key(scopeKey), .index(reader.scopeIndex),
                    .key(key), .index(itemIndex),
                ]
                reader.rejected.append(OTLPDecodingError(path: invalid.path(under: parents), message: invalid.message))
            }
        }
        return items
    }
}

extension OTLPJSONReader {
    /// Reads the members of a message (the reader is just past its `{`), calling `read` for
    /// each field present; see `Members`.
    mutating func members<Field: MessageField>(
        _ type: Field.Type, _ read: (inout Self, Field) throws(JSONReadError) -> Void
    ) throws(JSONReadError) {
        var members = Members<Field>()
        while let field = try members.next(&cursor) {
            do throws(JSONReadError) {
                try read(&self, field)
            } catch {
                try members.record(error, in: field)
            }
        }
        try members.finish()
    }
}

/// The fields of one message, in the order its rules are checked: when several members are
/// invalid, the first in this order is reported, whatever their order in the text. The case
/// names are the JSON keys.
protocol MessageField: RawRepresentable<Int>, CaseIterable {
    static var keys: JSONKeys { get }
    /// The fields that must be present.
    static var required: [Self] { get }
}

extension MessageField {
    static var required: [Self] { [] }
}

/// The keys of a message's fields as UTF-8, matched without making strings.
struct JSONKeys: Sendable {
    let names: [String]
    private let entries: [Entry]
    /// The bytes of each key after its first eight, back to back.
    private let tails: [UInt8]

    private struct Entry {
        var count: Int
        /// The first eight bytes, packed into a word.
        var prefix: UInt64
        var tailStart: Int
    }

    init<Field: MessageField>(_ type: Field.Type) {
        names = Field.allCases.map { "\($0)" }
        var tails: [UInt8] = []
        entries = names.map { name in
            defer { tails += name.utf8.dropFirst(8) }
            return Entry(count: name.utf8.count, prefix: Self.prefix(name.utf8), tailStart: tails.count)
        }
        self.tails = tails
    }

    /// The position of `key` in the list, if it is there. The search starts at `hint`:
    /// members tend to come in the order of their fields.
    func index(of key: UnsafeBufferPointer<UInt8>, hint: Int) -> Int? {
        let prefix = Self.prefix(key)
        var index = hint < entries.count ? hint : 0
        for _ in 0..<entries.count {
            let entry = entries[index]
            if entry.count == key.count, entry.prefix == prefix,
               key.count <= 8 || tails[entry.tailStart..<entry.tailStart + key.count - 8].elementsEqual(key[8...]) {
                return index
            }
            index = index + 1 == entries.count ? 0 : index + 1
        }
        return nil
    }

    private static func prefix(_ utf8: some Collection<UInt8>) -> UInt64 {
        var word: UInt64 = 0
        for (shift, byte) in zip(stride(from: 0, to: 64, by: 8), utf8) { word |= UInt64(byte) << UInt64(shift) }
        return word
    }
}

/// Walks the members of one object for a message of `Field`s.
///
/// Unknown members are skipped. A repeated member keeps its first value (as Foundation's
/// `JSONDecoder` did). Once a member is invalid, members later in `Field` order are only
/// skipped: their problems would not be the one reported. A required field that is absent
/// is reported as such when the object ends.
struct Members<Field: MessageField> {
    private var first = true
    private var seen: UInt32 = 0
    /// Where to start looking for the next key: just after the last one.
    private var hint = 0
    private var failure: (field: Field, invalid: InvalidValue)?
    private var skipsRest = false

    /// The next member to read, with the cursor at its value; `nil` after the closing `}`.
    mutating func next(_ cursor: inout JSONCursor) throws(JSONReadError) -> Field? {
        while let key = try cursor.nextKey(first: &first) {
            guard let index = cursor.withUTF8(key, { Field.keys.index(of: $0, hint: hint) }), let field = Field(rawValue: index) else {
                try cursor.skipValue()
                continue
            }
            let bit: UInt32 = 1 << index
            let isRepeated = seen & bit != 0
            seen |= bit
            hint = index + 1
            let isAfterFailure = failure.map { $0.field.rawValue < index } ?? false
            if isRepeated || isAfterFailure || skipsRest {
                try cursor.skipValue()
                continue
            }
            return field
        }
        return nil
    }

    /// Skips the remaining members.
    mutating func skipRest() {
        skipsRest = true
    }

    /// Records `error`, thrown while reading `field`; a syntax error is thrown on.
    mutating func record(_ error: JSONReadError, in field: Field) throws(JSONReadError) {
        guard case .invalid(let invalid) = error else { throw error }
        fail(field, invalid)
    }

    /// Records that `field` is invalid.
    private mutating func fail(_ field: Field, _ invalid: InvalidValue) {
        if let failure, failure.field.rawValue <= field.rawValue { return }
        var invalid = invalid
        invalid.reversedPath.append(.key(Field.keys.names[field.rawValue]))
        failure = (field, invalid)
    }

    /// Throws the failure to report, if any; call after `next` has returned `nil`.
    mutating func finish() throws(JSONReadError) {
        for field in Field.required where seen & 1 << field.rawValue == 0 {
            fail(field, InvalidValue(message: "is required"))
        }
        if let failure { throw .invalid(failure.invalid) }
    }
}
