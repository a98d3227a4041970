/// The content of the accounts file (`EmulatorConfiguration.accountsFile`): every account with its history, and the
/// site UIDs, per site. Seen nonces are not kept: a restart forgets them, as it forgets faults and webhook deliveries.
struct EmulatorAccountsSnapshot: Codable {
    /// The layout version; 1 is the only one.
    var format: Int
    /// Every account of every site, live or not, ordered by site, creation and Gigya UID.
    var users: [EmulatorUserState]
    /// Site UID → Gigya UID, per API key (deleted and merged accounts keep theirs, so the control routes find them).
    var siteUIDs: [String: [String: String]]

    /// The layout this version writes and reads.
    static let currentFormat = 1

    /// A snapshot of a store's state, in a stable order so the file diffs well.
    init(users: [String: [String: EmulatorUserState]], siteUIDs: [String: [String: String]]) {
        self.format = Self.currentFormat
        self.users = users.keys.sorted().flatMap { apiKey in
            users[apiKey]!.values.sorted { ($0.created, $0.gigyaUID) < ($1.created, $1.gigyaUID) }
        }
        self.siteUIDs = siteUIDs
    }

    /// Why the snapshot cannot be loaded as it is, or nil: the format, unique Gigya UIDs per site, and site UIDs that
    /// lead to accounts of their site.
    var inconsistency: String? {
        guard format == Self.currentFormat else {
            return "format \(format) is not \(Self.currentFormat)"
        }
        var seen = Set<String>()
        for user in users where !seen.insert(user.apiKey + "\u{0}" + user.gigyaUID).inserted {
            return "account \(user.gigyaUID) of site \(user.apiKey) appears twice"
        }
        for (apiKey, links) in siteUIDs {
            for (siteUID, gigyaUID) in links where !seen.contains(apiKey + "\u{0}" + gigyaUID) {
                return "site UID \(siteUID) of site \(apiKey) leads to no account"
            }
        }
        return nil
    }
}
