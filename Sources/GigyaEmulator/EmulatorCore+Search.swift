import Foundation
import GigyaKit

/// `accounts.search` (docs/gigya-protocol.md §13), the subset `AccountSearchQuery` describes, with cursors.
extension EmulatorCore {
    /// Accounts a page holds when the query has no `LIMIT` (Gigya's default).
    static let defaultSearchLimit = 300
    /// The largest `LIMIT` with `openCursor=true` (§13).
    static let maximumCursorLimit = 1000
    /// The largest `LIMIT` without a cursor.
    static let maximumSearchLimit = 10_000

    /// `accounts.search`: `query` (with `openCursor=true` for paging) or `cursorId` alone; answers `results`,
    /// `objectsCount`, `totalCount`, and `nextCursorId` while a cursor has more. Only live accounts are found.
    func search(_ call: AuthenticatedCall) -> GigyaReply {
        let apiKey = call.site.site.apiKey
        let now = clock.now()
        let queryText = call.params["query"] ?? ""
        if let cursorID = call.params["cursorId"], !cursorID.isEmpty {
            guard queryText.isEmpty else {
                return .error(.invalidParameterValue, "Invalid parameter value: cursorId continues a search; send it without query")
            }
            switch cursors.take(cursorID, apiKey: apiKey, now: now) {
            case .success(let cursor):
                // The next accounts the search matched; one deleted or merged since is left out, as a live search would.
                let uids = cursor.remaining.prefix(cursor.pageSize)
                let page = store.accounts(apiKey: apiKey, gigyaUIDs: Array(uids)).filter { $0.isLive && cursor.query.matches($0) }
                let rest = cursor.remaining.dropFirst(uids.count)
                return answer(page, query: cursor.query, total: cursor.total, apiKey: apiKey, pageSize: cursor.pageSize, rest: rest, now: now)
            case .failure(.expired):
                return .error(
                    .invalidParameterValue,
                    "Invalid parameter value: cursorId has expired (unused for more than \(SearchCursors.idleLimitSeconds) seconds)"
                )
            case .failure(.unknown):
                return .error(.invalidParameterValue, "Invalid parameter value: cursorId is unknown or finished")
            }
        }
        guard !queryText.isEmpty else {
            return .error(.missingRequiredParameter, "Missing required parameter: query")
        }
        let query: AccountSearchQuery
        do {
            query = try AccountSearchQuery(parsing: queryText)
        } catch {
            return error.reply
        }
        let paging = call.params["openCursor"]?.lowercased() == "true"
        let limit = query.limit ?? Self.defaultSearchLimit
        if paging {
            guard (1...Self.maximumCursorLimit).contains(limit) else {
                return .error(.invalidParameterValue, "Invalid parameter value: LIMIT must be 1 to \(Self.maximumCursorLimit) with openCursor")
            }
        } else {
            guard (0...Self.maximumSearchLimit).contains(limit) else {
                return .error(.invalidParameterValue, "Invalid parameter value: LIMIT must be 0 to \(Self.maximumSearchLimit) without a cursor")
            }
        }
        let matching = store.liveAccounts(apiKey: apiKey, where: query.matches).sorted { SearchOrderKey($0) < SearchOrderKey($1) }
        let page = Array(matching.prefix(limit))
        let rest = paging ? ArraySlice(matching.dropFirst(page.count).map(\.gigyaUID)) : []
        return answer(page, query: query, total: matching.count, apiKey: apiKey, pageSize: limit, rest: rest, now: now)
    }

    /// A page of results, with a new cursor over `rest` when any account is left.
    private func answer(
        _ page: [EmulatorUserState], query: AccountSearchQuery, total: Int, apiKey: String, pageSize: Int, rest: ArraySlice<String>, now: Int64
    ) -> GigyaReply {
        var fields: [String: Any] = [
            "results": page.map { Self.searchResult($0, fields: query.fields) },
            "objectsCount": page.count,
            "totalCount": total,
        ]
        if !rest.isEmpty {
            fields["nextCursorId"] = cursors.open(
                SearchCursors.Cursor(apiKey: apiKey, query: query, pageSize: pageSize, remaining: rest, total: total, lastUsed: now)
            )
        }
        return .ok(fields)
    }

    /// One account of a search answer, with the selected fields.
    static func searchResult(_ user: EmulatorUserState, fields: [AccountSearchQuery.Field]) -> [String: Any] {
        var result: [String: Any] = [:]
        let selected = Set(fields)
        for field in fields {
            switch field {
            case .uid:
                result["UID"] = user.UID
                result["isSiteUID"] = user.siteUID != nil
            case .identities:
                result["identities"] = identities(user)
            case .identitiesProvider, .identitiesProviderUID:
                // The whole identities win when selected too; otherwise only the selected members.
                guard !selected.contains(.identities) else {
                    continue
                }
                result["identities"] = providers(user).compactMap { provider -> [String: Any]? in
                    guard let session = user.sessions[provider] else {
                        return nil
                    }
                    var identity: [String: Any] = [:]
                    if selected.contains(.identitiesProvider) {
                        identity["provider"] = provider
                    }
                    if selected.contains(.identitiesProviderUID) {
                        identity["providerUID"] = session.providerUID
                    }
                    return identity
                }
            case .isRegistered:
                result["isRegistered"] = user.isRegistered
            case .created:
                result["created"] = GigyaTime.format(unixMilliseconds: user.created * 1000)
                result["createdTimestamp"] = user.created * 1000
            case .lastLogin:
                result["lastLogin"] = GigyaTime.format(unixMilliseconds: user.lastLogin * 1000)
                result["lastLoginTimestamp"] = user.lastLogin * 1000
            case .profile:
                var profile: [String: Any] = [:]
                profile["email"] = user.email
                profile["firstName"] = user.firstName
                profile["lastName"] = user.lastName
                result["profile"] = profile
            case .data:
                result["data"] = user.data.mapValues(\.serializable)
            }
        }
        return result
    }
}

extension Array {
    /// The index of the first element for which `isAfter` holds, in an array where it holds for a suffix (binary search).
    fileprivate func partitionPoint(_ isAfter: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if isAfter(self[middle]) {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return low
    }
}
