import Foundation

/// Splits a migration file into statements at `;` outside quotes, dollar-quoted bodies and comments.
enum SQLStatementSplitter {
    /// The statements of `sql`, trimmed, without empty or comment-only pieces.
    static func split(_ sql: String) -> [String] {
        let chars = Array(sql.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var hasCode = false
        var index = 0

        func flush() {
            let text = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if hasCode, !text.isEmpty { statements.append(text) }
            current = String.UnicodeScalarView()
            hasCode = false
        }
        func at(_ offset: Int) -> Unicode.Scalar? { index + offset < chars.count ? chars[index + offset] : nil }

        while index < chars.count {
            let char = chars[index]
            if char == "-", at(1) == "-" {
                while index < chars.count, chars[index] != "\n" {
                    current.append(chars[index])
                    index += 1
                }
                continue
            }
            if char == "/", at(1) == "*" {
                var depth = 0
                repeat {
                    if chars[index] == "/", at(1) == "*" {
                        depth += 1
                        current.append(contentsOf: [chars[index], chars[index + 1]])
                        index += 2
                    } else if chars[index] == "*", at(1) == "/" {
                        depth -= 1
                        current.append(contentsOf: [chars[index], chars[index + 1]])
                        index += 2
                    } else {
                        current.append(chars[index])
                        index += 1
                    }
                } while depth > 0 && index < chars.count
                continue
            }
            if char == "'" || char == "\"" {
                current.append(char)
                index += 1
                // A doubled quote inside the literal is an escaped quote and keeps the literal open.
                while index < chars.count {
                    current.append(chars[index])
                    if chars[index] == char {
                        if at(1) == char {
                            current.append(chars[index + 1])
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    index += 1
                }
                hasCode = true
                continue
            }
            if char == "$", let tag = dollarTag(chars, at: index) {
                current.append(contentsOf: tag)
                index += tag.count
                while index < chars.count {
                    if chars[index] == "$", index + tag.count <= chars.count, Array(chars[index..<(index + tag.count)]) == tag {
                        current.append(contentsOf: tag)
                        index += tag.count
                        break
                    }
                    current.append(chars[index])
                    index += 1
                }
                hasCode = true
                continue
            }
            if char == ";" {
                index += 1
                flush()
                continue
            }
            if !char.properties.isWhitespace { hasCode = true }
            current.append(char)
            index += 1
        }
        flush()
        return statements
    }

    /// The `$tag$` opening a dollar-quoted body at `start`, if any (`$1` parameters are not tags).
    private static func dollarTag(_ chars: [Unicode.Scalar], at start: Int) -> [Unicode.Scalar]? {
        var end = start + 1
        func isTagCharacter(_ scalar: Unicode.Scalar, first: Bool) -> Bool {
            scalar == "_" || scalar.properties.isAlphabetic || (!first && scalar.properties.numericType != nil)
        }
        while end < chars.count, isTagCharacter(chars[end], first: end == start + 1) { end += 1 }
        guard end < chars.count, chars[end] == "$" else { return nil }
        return Array(chars[start...end])
    }
}
