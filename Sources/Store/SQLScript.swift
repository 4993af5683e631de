/// Splits an SQL script into statements, for drivers that run one statement at a time.
///
/// Semicolons inside quotes, comments, PostgreSQL dollar-quoted bodies and SQLite trigger
/// bodies (`BEGIN … END;`) do not end a statement.
public enum SQLScript {
    public static func statements(in script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var index = script.startIndex
        func peek(_ offset: Int) -> Character? {
            var position = index
            for _ in 0..<offset {
                guard position < script.endIndex else { return nil }
                position = script.index(after: position)
            }
            return position < script.endIndex ? script[position] : nil
        }
        func flush() {
            let statement = current.trimmingCharacters()
            if !statement.isEmpty { statements.append(statement) }
            current = ""
        }
        while index < script.endIndex {
            let character = script[index]
            switch character {
            case "'", "\"":
                // Quoted text: copy through the closing quote (doubled quotes stay inside).
                current.append(character)
                index = script.index(after: index)
                while index < script.endIndex {
                    current.append(script[index])
                    if script[index] == character { break }
                    index = script.index(after: index)
                }
            case "-" where peek(1) == "-":
                while index < script.endIndex, script[index] != "\n" { index = script.index(after: index) }
                continue
            case "/" where peek(1) == "*":
                while index < script.endIndex, !(script[index] == "*" && peek(1) == "/") { index = script.index(after: index) }
                if index < script.endIndex { index = script.index(index, offsetBy: 2); continue }
            case "$" where peek(1) == "$":
                current.append("$$")
                index = script.index(index, offsetBy: 2)
                while index < script.endIndex, !(script[index] == "$" && peek(1) == "$") {
                    current.append(script[index])
                    index = script.index(after: index)
                }
                if index < script.endIndex {
                    current.append("$$")
                    index = script.index(index, offsetBy: 2)
                }
                continue
            case ";":
                let upper = current.uppercased()
                let isTrigger = upper.trimmingCharacters().hasPrefix("CREATE TRIGGER")
                    || upper.trimmingCharacters().hasPrefix("CREATE TEMP TRIGGER")
                if isTrigger, !upper.trimmingCharacters().hasSuffix("END") {
                    current.append(character)
                } else {
                    flush()
                }
            default:
                current.append(character)
            }
            if index < script.endIndex { index = script.index(after: index) }
        }
        flush()
        return statements
    }
}

extension String {
    func trimmingCharacters() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
