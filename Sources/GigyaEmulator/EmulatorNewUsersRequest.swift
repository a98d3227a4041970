/// The body of `POST /_emulator/users`: many users at once, without webhooks, for populations in tests and benchmarks.
public struct EmulatorNewUsersRequest: Sendable, Codable, Equatable {
    /// The site; required when the emulator serves several.
    public var apiKey: String?
    /// The users to create; none of their UIDs may be taken.
    public var users: [EmulatorNewUser]

    /// Creates a bulk request.
    public init(apiKey: String? = nil, users: [EmulatorNewUser]) {
        self.apiKey = apiKey
        self.users = users
    }
}
