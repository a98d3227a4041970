import GigyaKit

/// The subset of `accounts.search`'s SQL-like language the emulator understands (docs/gigya-protocol.md §13):
/// `SELECT * | <fields> FROM accounts [WHERE <condition> [AND <condition>]…] [LIMIT n]`.
///
/// Keywords are case-insensitive, field names are not; string literals take double or single quotes, with `\` escaping
/// the next character.
struct AccountSearchQuery: Sendable {
    /// A selectable field.
    enum Field: String, Sendable, CaseIterable {
        case uid = "UID"
        case identitiesProvider = "identities.provider"
        case identitiesProviderUID = "identities.providerUID"
        case identities
        case isRegistered
        case created
        case lastLogin
        case profile
        case data
    }

    /// A `WHERE` condition; every condition must hold (`AND`).
    enum Condition: Sendable, Equatable {
        /// `UID = "x"`.
        case uid(String)
        /// `UID IN ("a", "b", …)`.
        case uidIn(Set<String>)
        /// `identities.provider = "x"`.
        case provider(String)
        /// `identities.providerUID = "y"`.
        case providerUID(String)
    }

    /// What the emulator supports, for the refusal of anything else.
    static let supportedForms = """
        the emulator supports SELECT * or SELECT <fields> FROM accounts [WHERE <condition> [AND <condition>]...] [LIMIT n] \
        with fields among \(Field.allCases.map(\.rawValue).joined(separator: ", ")) and conditions UID = "x", \
        UID IN ("a", "b"), identities.provider = "x", identities.providerUID = "y"
        """

    /// The selected fields, in query order (every field for `*`).
    let fields: [Field]
    /// The conditions.
    let conditions: [Condition]
    /// `LIMIT n`, if given.
    let limit: Int?

    /// Parses a query; anything outside the supported subset is a refusal (400006) that says what is supported.
    init(parsing text: String) throws(Refusal) {
        var parser = Parser(tokens: try Self.tokens(of: text))
        try parser.expectKeyword("select")
        var fields: [Field] = []
        if parser.takeSymbol("*") {
            fields = Field.allCases
        } else {
            repeat {
                let name = try parser.word()
                guard let field = Field(rawValue: name) else {
                    throw Self.unsupported("the field \(name) is not supported")
                }
                if !fields.contains(field) {
                    fields.append(field)
                }
            } while parser.takeSymbol(",")
        }
        try parser.expectKeyword("from")
        guard try parser.word().lowercased() == "accounts" else {
            throw Self.unsupported("only FROM accounts is supported")
        }
        var conditions: [Condition] = []
        if parser.takeKeyword("where") {
            repeat {
                conditions.append(try parser.condition())
            } while parser.takeKeyword("and")
        }
        var limit: Int?
        if parser.takeKeyword("limit") {
            guard case .number(let value)? = parser.next() else {
                throw Self.unsupported("LIMIT takes a whole number")
            }
            limit = value
        }
        guard parser.atEnd else {
            throw Self.unsupported("unexpected \(parser.describeNext()) after the query")
        }
        self.fields = fields
        self.conditions = conditions
        self.limit = limit
    }

    /// Whether a live account satisfies every condition; identity conditions must hold for one and the same identity.
    func matches(_ user: EmulatorUserState) -> Bool {
        var providers: [String] = []
        var providerUIDs: [String] = []
        for condition in conditions {
            switch condition {
            case .uid(let uid): if user.UID != uid { return false }
            case .uidIn(let uids): if !uids.contains(user.UID) { return false }
            case .provider(let provider): providers.append(provider)
            case .providerUID(let providerUID): providerUIDs.append(providerUID)
            }
        }
        guard !providers.isEmpty || !providerUIDs.isEmpty else {
            return true
        }
        return user.sessions.contains { provider, session in
            providers.allSatisfy { $0 == provider } && providerUIDs.allSatisfy { $0 == session.providerUID }
        }
    }

    /// A refusal naming the problem and the supported forms.
    static func unsupported(_ problem: String) -> Refusal {
        .error(.invalidParameterValue, "Invalid parameter value: query: \(problem); \(supportedForms)")
    }

    /// A lexical token.
    enum Token: Equatable {
        /// A keyword or field name (letters, digits, `_`, `.`).
        case word(String)
        /// A quoted string literal, unescaped.
        case string(String)
        /// A whole number.
        case number(Int)
        /// `*`, `,`, `(`, `)` or `=`.
        case symbol(Character)
    }

    /// Splits a query into tokens.
    static func tokens(of text: String) throws(Refusal) -> [Token] {
        var tokens: [Token] = []
        var characters = Array(text)[...]
        while let first = characters.first {
            if first.isWhitespace {
                characters.removeFirst()
            } else if first == "\"" || first == "'" {
                characters.removeFirst()
                var literal = ""
                var closed = false
                while let next = characters.popFirst() {
                    if next == "\\" {
                        guard let escaped = characters.popFirst() else {
                            break
                        }
                        literal.append(escaped)
                    } else if next == first {
                        closed = true
                        break
                    } else {
                        literal.append(next)
                    }
                }
                guard closed else {
                    throw unsupported("a string literal is not closed")
                }
                tokens.append(.string(literal))
            } else if "*,()=".contains(first) {
                tokens.append(.symbol(first))
                characters.removeFirst()
            } else if first.isASCII && (first.isLetter || first.isNumber || first == "_" || first == ".") {
                let word = String(characters.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") })
                characters.removeFirst(word.count)
                if word.allSatisfy(\.isNumber) {
                    guard let number = Int(word), number <= Int(Int32.max) else {
                        throw unsupported("the number \(word) is too large")
                    }
                    tokens.append(.number(number))
                } else {
                    tokens.append(.word(word))
                }
            } else {
                throw unsupported("the character \(first) is not supported")
            }
        }
        return tokens
    }

    /// A cursor over the tokens.
    struct Parser {
        let tokens: [Token]
        var position = 0

        /// Whether every token was read.
        var atEnd: Bool {
            position == tokens.count
        }

        /// The next token, consumed.
        mutating func next() -> Token? {
            guard position < tokens.count else {
                return nil
            }
            defer { position += 1 }
            return tokens[position]
        }

        /// The next token, for an error message.
        func describeNext() -> String {
            guard position < tokens.count else {
                return "the end"
            }
            switch tokens[position] {
            case .word(let word): return word
            case .string: return "a string"
            case .number(let number): return String(number)
            case .symbol(let symbol): return String(symbol)
            }
        }

        /// Consumes a keyword (any case) when it comes next.
        mutating func takeKeyword(_ keyword: String) -> Bool {
            guard position < tokens.count, case .word(let word) = tokens[position], word.lowercased() == keyword else {
                return false
            }
            position += 1
            return true
        }

        /// Requires a keyword.
        mutating func expectKeyword(_ keyword: String) throws(Refusal) {
            guard takeKeyword(keyword) else {
                throw AccountSearchQuery.unsupported("expected \(keyword.uppercased()), found \(describeNext())")
            }
        }

        /// Consumes a symbol when it comes next.
        mutating func takeSymbol(_ symbol: Character) -> Bool {
            guard position < tokens.count, tokens[position] == .symbol(symbol) else {
                return false
            }
            position += 1
            return true
        }

        /// Requires a symbol.
        mutating func expectSymbol(_ symbol: Character) throws(Refusal) {
            guard takeSymbol(symbol) else {
                throw AccountSearchQuery.unsupported("expected \(symbol), found \(describeNext())")
            }
        }

        /// Requires a word (a keyword or field name).
        mutating func word() throws(Refusal) -> String {
            let found = describeNext()
            guard case .word(let word)? = next() else {
                throw AccountSearchQuery.unsupported("expected a name, found \(found)")
            }
            return word
        }

        /// Requires a string literal.
        mutating func string() throws(Refusal) -> String {
            let found = describeNext()
            guard case .string(let value)? = next() else {
                throw AccountSearchQuery.unsupported("expected a quoted string, found \(found)")
            }
            return value
        }

        /// One condition of the supported forms.
        mutating func condition() throws(Refusal) -> Condition {
            let field = try word()
            switch field {
            case "UID":
                if takeKeyword("in") {
                    try expectSymbol("(")
                    var values: Set<String> = [try string()]
                    while takeSymbol(",") {
                        values.insert(try string())
                    }
                    try expectSymbol(")")
                    return .uidIn(values)
                }
                try expectSymbol("=")
                return .uid(try string())
            case "identities.provider":
                try expectSymbol("=")
                return .provider(try string())
            case "identities.providerUID":
                try expectSymbol("=")
                return .providerUID(try string())
            default:
                throw AccountSearchQuery.unsupported("conditions on \(field) are not supported")
            }
        }
    }
}
