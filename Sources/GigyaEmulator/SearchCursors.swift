import Synchronization

/// The open `accounts.search` cursors (docs/gigya-protocol.md §13): each remembers its query, page size and the accounts
/// its search matched that it has not returned yet, in order, and expires when unused for five minutes on the emulator
/// clock. Matching once, when the cursor opens, keeps every page O(page size) however large the site.
final class SearchCursors: Sendable {
    /// Gigya's limit between successive calls of one cursor.
    static let idleLimitSeconds: Int64 = 300

    /// An open cursor.
    struct Cursor: Sendable {
        /// The site it belongs to.
        let apiKey: String
        /// Its query.
        let query: AccountSearchQuery
        /// Accounts per page.
        let pageSize: Int
        /// The Gigya UIDs of the matched accounts not returned yet, in result order.
        let remaining: ArraySlice<String>
        /// How many accounts the search matched when the cursor opened (`totalCount`).
        let total: Int
        /// When it was last used, Unix seconds on the emulator clock.
        let lastUsed: Int64
    }

    /// Why a cursor cannot be continued.
    enum Failure: Error {
        /// No such cursor (never opened, already finished, or of another site).
        case unknown
        /// Unused for longer than `idleLimitSeconds`.
        case expired
    }

    private let cursors = Mutex<[String: Cursor]>([:])

    /// Opens a cursor and returns its id.
    func open(_ cursor: Cursor) -> String {
        let id = GigyaEmulator.randomHex(20)
        cursors.withLock { cursors in
            cursors = cursors.filter { cursor.lastUsed - $0.value.lastUsed <= Self.idleLimitSeconds }
            cursors[id] = cursor
        }
        return id
    }

    /// Takes a cursor to continue it (it is gone afterwards: the next page gets a new id).
    func take(_ id: String, apiKey: String, now: Int64) -> Result<Cursor, Failure> {
        cursors.withLock { cursors in
            guard let cursor = cursors[id], cursor.apiKey == apiKey else {
                return .failure(.unknown)
            }
            cursors[id] = nil
            guard now - cursor.lastUsed <= Self.idleLimitSeconds else {
                return .failure(.expired)
            }
            return .success(cursor)
        }
    }
}
