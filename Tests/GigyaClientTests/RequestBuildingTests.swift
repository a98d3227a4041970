import AsyncHTTPClient
import Foundation
import GigyaKit
import GigyaVectors
import Logging
import Testing

@testable import GigyaClient

/// A client that is never used to send: for request building, whose HTTP client is never started.
func offlineClient(site: GigyaSiteConfiguration, clock: any WallClock = SystemWallClock(), nonce: (@Sendable (Int64) -> String)? = nil)
    -> GigyaRESTClient
{
    GigyaRESTClient(site: site, httpClient: HTTPClient.shared, clock: clock, logger: Logger(label: "test"), nonceSource: nonce)
}

/// Request building: the bytes the client would send, pinned to the official SDKs.
@Suite struct RequestBuildingTests {
    @Test func theVectorFileHoldsTheRESTCases() {
        #expect(OfficialSDKVectors.restSigningCases.count >= 6)
    }

    @Test(arguments: OfficialSDKVectors.restSigningCases)
    func signsExactlyAsTheOfficialSDKs(_ vector: RESTSigningVector) throws {
        let secret = try GigyaSecret(base64: vector.secret)
        // The https vectors go to the derived host; the http ones can only be reached through a base URL override.
        let namespace = GigyaEndpoint(method: vector.method).namespace
        let site = GigyaSiteConfiguration(
            apiKey: vector.apiKey,
            secret: secret,
            userKey: vector.userKey,
            apiDomain: vector.apiDomain,
            baseURL: vector.useHTTPS ? nil : "http://\(namespace).\(vector.apiDomain)"
        )
        var callerParams = vector.signedParams
        for added in ["apiKey", "userKey", "format", "httpStatusCodes", "timestamp", "nonce", "sig"] {
            callerParams[added] = nil
        }
        let request = offlineClient(site: site)
            .signedRequest(method: vector.method, params: callerParams, timestamp: vector.timestamp, nonce: vector.nonce)
        #expect(request.url == vector.url)
        #expect(request.baseString == vector.baseString)
        #expect(request.signature == vector.sig)
        #expect(request.params == vector.signedParams)
        #expect(FormEncoding.decode(request.formBody) == vector.signedParams)
    }

    @Test func usesTheInjectedClockAndNonceAndItsOwnSDKName() throws {
        let clock = ManualWallClock(1_700_000_000)
        let site = GigyaSiteConfiguration(apiKey: "3_K", secret: try GigyaSecret(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"))
        let client = offlineClient(site: site, clock: clock, nonce: { _ in "fixed-nonce" })
        let request = client.signedRequest(method: "getUserInfo", params: ["UID": "u1"])
        #expect(request.url == "https://socialize.us1.gigya.com/socialize.getUserInfo")
        #expect(request.params["timestamp"] == "1700000000")
        #expect(request.params["nonce"] == "fixed-nonce")
        #expect(request.params["sdk"] == GigyaRESTClient.sdkName)
        #expect(request.params["httpStatusCodes"] == "false")
        #expect(request.httpMethod == "POST")
        #expect(RequestSignatureCheck.isValid(httpMethod: "POST", url: request.url, params: request.params, secret: site.secret))
    }

    @Test func defaultNoncesNeverRepeat() throws {
        let site = GigyaSiteConfiguration(apiKey: "3_K", secret: try GigyaSecret(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"))
        let client = offlineClient(site: site, clock: ManualWallClock(1_700_000_000))
        let nonces = (0..<2000).map { _ in client.signedRequest(method: "socialize.getUserInfo", params: [:]).params["nonce"] ?? "" }
        #expect(Set(nonces).count == nonces.count)
        #expect(!nonces.contains(""))
    }

    @Test func aDataCentreSwitchMovesLaterCallsAndAClockOffsetMovesLaterTimestamps() throws {
        let secret = try GigyaSecret(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX")
        let client = offlineClient(site: GigyaSiteConfiguration(apiKey: "3_K", secret: secret), clock: ManualWallClock(1_700_000_000))
        #expect(client.adopt(apiDomain: "EU1.gigya.com") == "eu1.gigya.com")
        let moved = client.signedRequest(method: "socialize.getSessionInfo", params: [:])
        #expect(moved.url == "https://socialize.eu1.gigya.com/socialize.getSessionInfo")
        client.adopt(clockOffsetSeconds: 600)
        #expect(client.signedRequest(method: "getUserInfo", params: [:]).params["timestamp"] == "1700000600")
        #expect(client.learnedState == GigyaRESTClient.LearnedState(clockOffsetSeconds: 600, apiDomain: "eu1.gigya.com"))
    }

    @Test func derivesHostsFromTheNamespaceAndDataCentre() throws {
        let secret = try GigyaSecret(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX")
        let eu = offlineClient(site: GigyaSiteConfiguration(apiKey: "3_K", secret: secret, apiDomain: "eu1"))
        #expect(eu.endpoint(for: "accounts.getAccountInfo").url == "https://accounts.eu1.gigya.com/accounts.getAccountInfo")
        let cn = offlineClient(site: GigyaSiteConfiguration(apiKey: "3_K", secret: secret, apiDomain: "cn1"))
        #expect(cn.endpoint(for: "getSessionInfo").url == "https://socialize.cn1.gigya-api.cn/socialize.getSessionInfo")
        let local = offlineClient(site: GigyaSiteConfiguration(apiKey: "3_K", secret: secret, baseURL: "http://127.0.0.1:4010/"))
        #expect(local.endpoint(for: "socialize.setUID").url == "http://127.0.0.1:4010/socialize.setUID")
    }
}
