public import Hummingbird
import Logging
public import VaultStore

/// The per-request context: Hummingbird's core storage plus the access key that authenticated the request, if any.
public struct VaultRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AccessKeyAuthenticator` on the read API.
    public var accessKey: AccessKeyRecord?
    /// Set by the admin page's session check.
    public var adminSession: AdminSessionRecord?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.accessKey = nil
        self.adminSession = nil
    }

    /// Login callbacks are small: anything over 16 KiB is refused before it is parsed.
    public var maxUploadSize: Int { LoginCallbackController.maxBodyBytes }
}
