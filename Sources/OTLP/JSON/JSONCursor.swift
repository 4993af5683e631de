/// A position in a JSON text (RFC 8259, UTF-8), read byte by byte.
///
/// The cursor only checks the syntax and says where tokens are; it builds no tree. Strings
/// and numbers come back as token ranges, so a caller turns into values only what it keeps.
/// Containers may nest `maxDepth` deep, and nothing here recurses, so no input can exhaust
/// the stack. Every syntax error throws `JSONReadError.syntax`.
struct JSONCursor {
    enum Kind { case object, array, string, number, bool, null }

    /// As deep as Foundation's `JSONDecoder` allows, so the same documents are accepted.
    static let maxDepth = 512

    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    /// Containers entered and not yet left.
    private(set) var depth = 0

    /// A cursor at the start of `bytes`, after a UTF-8 byte order mark if there is one.
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        let hasByteOrderMark = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        index = hasByteOrderMark ? 3 : 0
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case .space, .tab, .newline, .carriageReturn: index += 1
            default: return
            }
        }
    }

    /// What the next value is, without reading it.
    mutating func peek() throws(JSONReadError) -> Kind {
        skipWhitespace()
        guard index < bytes.count else { throw .syntax }
        switch bytes[index] {
        case .openBrace: return .object
        case .openBracket: return .array
        case .quote: return .string
        case .minus, UInt8.digit0 ... UInt8.digit9: return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: throw .syntax
        }
    }

    /// Ends the text: only whitespace may follow the top-level value.
    mutating func finish() throws(JSONReadError) {
        skipWhitespace()
        guard index == bytes.count else { throw .syntax }
    }

    // MARK: Containers

    /// Reads the `{` that `peek()` found.
    mutating func enterObject() throws(JSONReadError) {
        try enter()
    }

    /// The key of the next member, with its `:` read; `nil` once the closing `}` is read.
    /// `first` is true until the first member has been returned.
    mutating func nextKey(first: inout Bool) throws(JSONReadError) -> JSONStringToken? {
        skipWhitespace()
        guard index < bytes.count else { throw .syntax }
        if bytes[index] == .closeBrace {
            index += 1
            depth -= 1
            return nil
        }
        if first {
            first = false
        } else {
            guard bytes[index] == .comma else { throw .syntax }
            index += 1
            skipWhitespace()
        }
        guard index < bytes.count, bytes[index] == .quote else { throw .syntax }
        let key = try readString()
        skipWhitespace()
        guard index < bytes.count, bytes[index] == .colon else { throw .syntax }
        index += 1
        return key
    }

    /// Reads the `[` that `peek()` found.
    mutating func enterArray() throws(JSONReadError) {
        try enter()
    }

    /// True when another element follows (the cursor is then at it); false once the closing
    /// `]` is read. `first` is true until the first element has been announced.
    mutating func nextElement(first: inout Bool) throws(JSONReadError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw .syntax }
        if bytes[index] == .closeBracket {
            index += 1
            depth -= 1
            return false
        }
        if first {
            first = false
        } else {
            guard bytes[index] == .comma else { throw .syntax }
            index += 1
        }
        return true
    }

    private mutating func enter() throws(JSONReadError) {
        index += 1
        depth += 1
        guard depth <= Self.maxDepth else { throw .syntax }
    }

    // MARK: Literals

    mutating func readBool() throws(JSONReadError) -> Bool {
        if try readLiteral(Self.trueBytes) { return true }
        if try readLiteral(Self.falseBytes) { return false }
        throw .syntax
    }

    mutating func readNull() throws(JSONReadError) {
        guard try readLiteral(Self.nullBytes) else { throw .syntax }
    }

    private static let trueBytes: StaticString = "true"
    private static let falseBytes: StaticString = "false"
    private static let nullBytes: StaticString = "null"

    private mutating func readLiteral(_ literal: StaticString) throws(JSONReadError) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw .syntax }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { return false }
        index += count
        return true
    }

    // MARK: Skipping

    /// Reads past one value of any kind, checking its syntax.
    mutating func skipValue() throws(JSONReadError) {
        var open = ContainerStack()
        while true {
            // A value starts here.
            switch try peek() {
            case .object:
                try enterObject()
                var first = true
                if try nextKey(first: &first) != nil {
                    open.push(isObject: true)
                    continue
                }
            case .array:
                try enterArray()
                var first = true
                if try nextElement(first: &first) {
                    open.push(isObject: false)
                    continue
                }
            case .string: _ = try readString()
            case .number: _ = try readNumber()
            case .bool: _ = try readBool()
            case .null: try readNull()
            }
            // A value ended: go to the next value of the innermost open container, leaving
            // the containers that end here.
            while let isObject = open.top {
                var first = false
                let more = isObject ? try nextKey(first: &first) != nil : try nextElement(first: &first)
                if more { break }
                open.pop()
            }
            if open.isEmpty { return }
        }
    }
}

/// Whether each container opened while skipping is an object or an array, innermost on top.
private struct ContainerStack {
    /// One bit per container, innermost in bit 0; `spilled` holds the words pushed out.
    private var word: UInt64 = 0
    private var count = 0
    private var spilled: [UInt64] = []

    var isEmpty: Bool { count == 0 }
    var top: Bool? { count == 0 ? nil : word & 1 == 1 }

    mutating func push(isObject: Bool) {
        if count > 0, count % 64 == 0 {
            spilled.append(word)
            word = 0
        }
        word = word << 1 | (isObject ? 1 : 0)
        count += 1
    }

    mutating func pop() {
        count -= 1
        word >>= 1
        if count > 0, count % 64 == 0 { word = spilled.removeLast() }
    }
}

extension UInt8 {
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let digit0 = UInt8(ascii: "0")
    static let digit9 = UInt8(ascii: "9")
}
