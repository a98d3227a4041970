public import Hummingbird
public import NIOCore
import Logging
public import VaultStore

/// The per-request context: Hummingbird's core storage plus the access key that authenticated the request, if any.
public struct VaultRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection's remote address (nil in router-level tests).
    public let remoteAddress: SocketAddress?
    /// Set by `AccessKeyAuthenticator` on the read API.
    public var accessKey: AccessKeyRecord?
    /// Set by the admin page's session check.
    public var adminSession: AdminSessionRecord?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.accessKey = nil
        self.adminSession = nil
    }

    /// Login callbacks are small: anything over 16 KiB is refused before it is parsed.
    public var maxUploadSize: Int { LoginCallbackController.maxBodyBytes }
}
