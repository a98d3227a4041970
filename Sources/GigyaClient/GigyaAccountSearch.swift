public import GigyaKit

/// One `accounts.search` call (docs/gigya-protocol.md §13): a query that opens a cursor, or the next page of a cursor.
/// With a cursor a page holds at most 1,000 accounts, and the cursor must be used again within five minutes.
public enum GigyaAccountSearch: Sendable, Equatable {
    /// Every live account's UID and identities, `pageSize` a page (at most 1,000), opening a cursor.
    case allAccounts(pageSize: Int)
    /// The next page of an open cursor.
    case next(cursorID: String)

    /// The most accounts a cursor page may hold.
    public static let maximumPageSize = 1000

    /// The call's parameters.
    var params: [String: String] {
        switch self {
        case .allAccounts(let pageSize):
            let limit = min(max(pageSize, 1), Self.maximumPageSize)
            return [
                "query": "SELECT UID, identities.provider, identities.providerUID FROM accounts LIMIT \(limit)",
                "openCursor": "true",
            ]
        case .next(let cursorID):
            return ["cursorId": cursorID]
        }
    }
}

/// One page of `accounts.search`.
public struct GigyaAccountPage: Sendable, Equatable {
    /// One account: its UID (the site UID when linked) and its provider identities.
    public struct Account: Sendable, Equatable {
        public var uid: String
        public var identities: [Identity]

        public init(uid: String, identities: [Identity]) {
            self.uid = uid
            self.identities = identities
        }
    }

    /// A provider identity of an account.
    public struct Identity: Sendable, Hashable {
        public var provider: String
        public var providerUID: String

        public init(provider: String, providerUID: String) {
            self.provider = provider
            self.providerUID = providerUID
        }
    }

    public var accounts: [Account]
    /// The cursor of the next page; nil on the last page.
    public var nextCursorID: String?
    /// How many accounts the query matches, when Gigya says.
    public var totalCount: Int?

    public init(accounts: [Account], nextCursorID: String?, totalCount: Int?) {
        self.accounts = accounts
        self.nextCursorID = nextCursorID
        self.totalCount = totalCount
    }

    /// Reads an answer: `results[]` with `UID` and `identities[{provider, providerUID}]`, `nextCursorId`, `totalCount`.
    public init?(response body: GigyaJSON) {
        guard let results = body["results"]?.arrayValue else { return nil }
        accounts = results.compactMap { result in
            guard let uid = result["UID"]?.stringValue else { return nil }
            let identities = (result["identities"]?.arrayValue ?? []).compactMap { identity -> Identity? in
                guard let provider = identity["provider"]?.stringValue, let providerUID = identity["providerUID"]?.stringValue else { return nil }
                return Identity(provider: provider, providerUID: providerUID)
            }
            return Account(uid: uid, identities: identities)
        }
        nextCursorID = body["nextCursorId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        totalCount = body["totalCount"]?.intValue
    }
}
