import Foundation
import Testing

@testable import GigyaKit

/// Endpoints, percent-encoding, error codes and the JSON wire models.
@Suite struct WireTests {
    @Test(arguments: [
        ("socialize.getSessionInfo", "us1.gigya.com", "https", "https://socialize.us1.gigya.com/socialize.getSessionInfo"),
        ("getUserInfo", "us1.gigya.com", "http", "http://socialize.us1.gigya.com/socialize.getUserInfo"),
        ("/accounts.setAccountInfo", "eu1", "https", "https://accounts.eu1.gigya.com/accounts.setAccountInfo"),
        ("accounts.getAccountInfo", "cn1", "https", "https://accounts.cn1.gigya-api.cn/accounts.getAccountInfo"),
        ("socialize.setUID", "au1.gigya.com", "HTTPS", "https://socialize.au1.gigya.com/socialize.setUID"),
        ("ids.search", "us1-st1.gigya.com", "https", "https://ids.us1-st1.gigya.com/ids.search"),
    ])
    func endpointURL(method: String, apiDomain: String, scheme: String, url: String) {
        #expect(GigyaEndpoint(method: method, apiDomain: apiDomain, scheme: scheme).url == url)
    }

    @Test func endpointWithABaseURLOverride() {
        let endpoint = GigyaEndpoint(method: "getUserInfo", baseURL: "http://127.0.0.1:4010/")
        #expect(endpoint.url == "http://127.0.0.1:4010/socialize.getUserInfo")
        #expect(endpoint.namespace == "socialize")
        #expect(endpoint.method == "socialize.getUserInfo")
        #expect(endpoint.host == "127.0.0.1:4010")
        #expect(endpoint.scheme == "http")
        #expect(endpoint.path == "/socialize.getUserInfo")
    }

    @Test func dataCenters() {
        #expect([DataCenter.us1, .eu1, .au1, .ru1, .cn1].map(\.apiDomain) == [
            "us1.gigya.com", "eu1.gigya.com", "au1.gigya.com", "ru1.gigya.com", "cn1.gigya-api.cn",
        ])
        #expect(DataCenter("EU1") == .eu1)
        #expect(DataCenter("cn1") == .cn1)
        #expect(DataCenter("global.gigya.com").apiDomain == "global.gigya.com")
    }

    @Test func percentEncodingMatchesTheJavaSDKTest() {
        #expect(PercentEncoding.rfc3986("!*'();:@&=+$,/?%#[] ") == "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%25%23%5B%5D%20")
        #expect(PercentEncoding.rfc3986("AZaz09-._~") == "AZaz09-._~")
        #expect(PercentEncoding.rfc3986("ö✓\u{1F600}") == "%C3%B6%E2%9C%93%F0%9F%98%80")
        #expect(PercentEncoding.rfc3986("") == "")
    }

    @Test func errorCodeDispositions() {
        #expect(GigyaErrorCode.ok.disposition == .success)
        #expect(GigyaErrorCode.accountsLinked.disposition == .success)
        #expect(GigyaErrorCode.requestHasExpired.disposition == .clockSkew)
        #expect(GigyaErrorCode.invalidDataCenter.disposition == .wrongDataCenter)
        #expect([403_009, 403_011, 403_012].map { GigyaErrorCode(rawValue: $0).disposition } == [.noSession, .noSession, .noSession])
        for retryable in [100_001, 403_048, 409_030, 500_000, 500_001, 500_028, 504_001, 504_002] {
            #expect(GigyaErrorCode(rawValue: retryable).disposition == .retryable)
        }
        #expect(GigyaErrorCode.invalidRequestSignature.disposition == .permanent)
        #expect(GigyaErrorCode(rawValue: 999_999).disposition == .permanent)
        #expect(GigyaErrorCode.rateLimitExceeded.message == "Api rate limit exceeded")
        #expect(GigyaErrorCode.rateLimitExceeded.statusCode == 403)
        #expect(GigyaErrorCode.rateLimitExceeded.statusReason == "Forbidden")
        #expect(GigyaErrorCode.ok.statusCode == 200)
        #expect(Set(GigyaErrorCode.known).count == GigyaErrorCode.known.count)
        #expect(GigyaErrorCode.known.allSatisfy { !$0.message.hasPrefix("Error ") })
    }

    @Test func decodesTheLiveErrorResponseOfProtocolSection5() throws {
        let json = #"{"callId":"f8800f","errorCode":403048,"errorDetails":"Api rate limit exceeded","errorMessage":"Api rate limit exceeded","apiVersion":2,"statusCode":403,"statusReason":"Forbidden","time":"2018-11-02T19:33:33.883Z"}"#
        let status = try JSONDecoder().decode(GigyaResponseStatus.self, from: Data(json.utf8))
        #expect(status.code == .rateLimitExceeded)
        #expect(status.callId == "f8800f")
        #expect(status.statusCode == 403)
        #expect(status.time.flatMap(GigyaTime.parse) == 1_541_187_213_883)
        #expect(try JSONDecoder().decode(GigyaResponseStatus.self, from: Data("{}".utf8)).errorCode == 0)
        let built = GigyaResponseStatus(code: .invalidDataCenter, details: "use eu1")
        let roundTrip = try JSONDecoder().decode(GigyaResponseStatus.self, from: JSONEncoder().encode(built))
        #expect(roundTrip == built)
        #expect(roundTrip.statusReason == "Moved Permanently")
    }

    @Test func sessionInfoTimestampsDecodeFromStringsOrNumbers() throws {
        let asNumber = #"{"authToken":"t","tokenSecret":"s","IV":"iv","timestamp":1700000000,"tokenExpirationUTC":1700003600,"providerUIDSig":"x"}"#
        let asString = #"{"authToken":"t","tokenSecret":"s","IV":"iv","timestamp":"1700000000","tokenExpiration":"1700003600","providerUIDSig":"x"}"#
        let first = try JSONDecoder().decode(SessionInfoPayload.self, from: Data(asNumber.utf8))
        let second = try JSONDecoder().decode(SessionInfoPayload.self, from: Data(asString.utf8))
        #expect(first == second)
        #expect(first.timestamp == "1700000000")
        #expect(first.tokenExpiration == "1700003600")
        #expect(try JSONDecoder().decode(SessionInfoPayload.self, from: JSONEncoder().encode(first)) == first)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(SessionInfoPayload.self, from: Data(#"{"timestamp":{"a":1}}"#.utf8))
        }
        #expect(try JSONDecoder().decode(SessionInfoPayload.self, from: Data(#"{"timestamp":null}"#.utf8)).timestamp == nil)
    }

    @Test(arguments: [
        (Int64(1_541_187_213_883), "2018-11-02T19:33:33.883Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_001, "2000-02-29T00:00:00.001Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
    ])
    func gigyaTimeFormatsAndParses(milliseconds: Int64, text: String) {
        #expect(GigyaTime.format(unixMilliseconds: milliseconds) == text)
        #expect(GigyaTime.parse(text) == milliseconds)
    }

    @Test func gigyaTimeRefusesOtherShapes() {
        #expect(GigyaTime.parse("2018-11-02 19:33:33.883Z") == nil)
        #expect(GigyaTime.parse("2018-13-02T19:33:33.883Z") == nil)
        #expect(GigyaTime.parse("2018-11-02T19:33:33.883") == nil)
        #expect(GigyaTime.parse("2018-11-02T19:33:33Z") == 1_541_187_213_000)
        let now = Date()
        #expect(GigyaTime.parse(GigyaTime.format(now)) == Int64((now.timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
