/// One provider session of an emulated user, in plaintext (the emulator is a test tool; see `GET /_emulator/users/{uid}`).
public struct EmulatorProviderSession: Sendable, Codable, Equatable {
    /// The provider's access token, returned as is by getSessionInfo.
    public var authToken: String
    /// The token secret, returned AES-CBC encrypted over HTTP.
    public var tokenSecret: String
    /// The session handle, returned AES-CBC encrypted over HTTP.
    public var sessionHandle: String
    /// The user's id at the provider.
    public var providerUID: String
    /// Unix seconds when the token expires.
    public var tokenExpiration: Int64
    /// Unix seconds when the session expires.
    public var sessionExpiration: Int64
}
