public import Foundation
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
    /// The largest body the route accepts (`BodyLimitMiddleware` sets it per group): login callbacks by default.
    public var maxUploadSize: Int

    /// Bodies decoded by the house rules (bounded, by media type, 400s that name the field).
    public var requestDecoder: VaultRequestDecoder { VaultRequestDecoder() }
    /// JSON with ISO-8601 dates and sorted keys.
    public var responseEncoder: JSONEncoder { .vault }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.accessKey = nil
        self.adminSession = nil
        self.maxUploadSize = LoginCallbackController.maxBodyBytes
    }
}
