public import AsyncHTTPClient
import Foundation
public import GigyaKit
import NIOCore
import NIOHTTP1

/// Where id_token verification gets Gigya's public keys; a protocol so a cache or a test can stand in.
public protocol GigyaJWTKeySource: Sendable {
    /// The current key set of a data centre (`us1.gigya.com`, `eu1`, …).
    func jwtPublicKeys(dataCenter: DataCenter) async throws(GigyaCallError) -> JWTKeySet
}

/// Fetches `accounts.getJWTPublicKey` with `V2=true` for one site's API key; no secret is sent (docs/gigya-protocol.md §10).
///
/// Keys are per data centre, so one fetch per data centre serves every site there; callers cache and refetch on an unknown kid.
public struct GigyaJWTKeyClient: GigyaJWTKeySource {
    /// The API key sent with the call (Gigya needs one to route it; the answer is the data centre's).
    public let apiKey: String
    /// A fixed base URL (the emulator, a proxy) instead of `https://accounts.<apiDomain>`.
    public let baseURL: String?
    /// How long one fetch may take.
    public let timeout: Duration
    private let httpClient: HTTPClient

    /// A key client; `baseURL` replaces Gigya's hosts for every data centre when set.
    public init(apiKey: String, baseURL: String? = nil, httpClient: HTTPClient = .shared, timeout: Duration = .seconds(10)) {
        self.apiKey = apiKey
        self.baseURL = baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.httpClient = httpClient
        self.timeout = timeout
    }

    /// The URL of the call for a data centre.
    public func url(dataCenter: DataCenter) -> String {
        let base = baseURL ?? "https://accounts.\(dataCenter.apiDomain)"
        let query = FormEncoding.encode(["apiKey": apiKey, "V2": "true", "httpStatusCodes": "false"])
        return base + "/accounts.getJWTPublicKey?" + query
    }

    /// Fetches and parses the data centre's key set; a Gigya error, a transport failure or an unusable set is a `GigyaCallError`.
    public func jwtPublicKeys(dataCenter: DataCenter) async throws(GigyaCallError) -> JWTKeySet {
        var request = HTTPClientRequest(url: url(dataCenter: dataCenter))
        request.method = .GET
        let data: Data
        do {
            let response = try await httpClient.execute(request, timeout: TimeAmount(timeout))
            guard response.status.code < 500 else {
                throw GigyaCallError.transport("HTTP \(response.status.code)")
            }
            data = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        } catch let error as GigyaCallError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .timeout
        } catch {
            throw .transport(String(describing: type(of: error)))
        }
        guard let status = try? JSONDecoder().decode(GigyaResponseStatus.self, from: data) else {
            throw .invalidResponse("accounts.getJWTPublicKey did not answer Gigya JSON")
        }
        guard status.errorCode == 0 else {
            throw .gigya(code: status.errorCode, message: status.errorMessage ?? "", details: status.errorDetails, callId: status.callId)
        }
        do {
            return try JWTKeySet(json: data)
        } catch {
            throw .invalidResponse("accounts.getJWTPublicKey: \(error)")
        }
    }
}
