import Foundation
import GigyaVectors
import Testing

@testable import GigyaKit

/// Every `rest_request_signing` vector, reproduced byte for byte.
@Suite struct RequestSigningTests {
    /// The vectors that carry full SDK inputs.
    static let fullCases = OfficialSDKVectors.section("rest_request_signing").filter { ($0.value as? [String: Any])?["inputs"] != nil }.keys.sorted()

    @Test(arguments: fullCases)
    func signingReproducesTheOfficialSDK(name: String) throws {
        let vector = try #require(OfficialSDKVectors.section("rest_request_signing")[name] as? [String: Any])
        let inputs = try #require(vector["inputs"] as? [String: Any])
        let signedParams = try #require(vector["signedParams"] as? [String: String])
        let rawParams = try #require(inputs["params"] as? [String: Any])
        // A dict param is sent as its JSON text; the vector's signedParams hold the exact text the SDK produced.
        let params = Dictionary(uniqueKeysWithValues: rawParams.keys.map { ($0, signedParams[$0]!) })
        let useHTTPS = try #require(inputs["useHTTPS"] as? Bool)
        let endpoint = GigyaEndpoint(
            method: try #require(inputs["method"] as? String),
            apiDomain: try #require(inputs["apiDomain"] as? String),
            scheme: useHTTPS ? "https" : "http"
        )
        #expect(endpoint.url == vector["url"] as? String)

        let signer = RequestSigner(
            apiKey: try #require(inputs["apiKey"] as? String),
            secret: try GigyaSecret(base64: try #require(inputs["secret"] as? String)),
            userKey: inputs["userKey"] as? String,
            sdk: try #require(signedParams["sdk"])
        )
        let signed = signer.sign(
            method: endpoint.method,
            params: params,
            url: endpoint.url,
            timestamp: Int64(try #require(inputs["fixed_timestamp"] as? Int)),
            nonce: try #require(inputs["fixed_nonce"] as? String)
        )
        #expect(signed.baseString == vector["baseString"] as? String)
        #expect(signed.signature == vector["sig"] as? String)
        #expect(signed.params == signedParams)
        #expect(signed.formBody == vector["postBody"] as? String)
        #expect(signed.httpMethod == "POST")

        if let java = vector["java_sdk_same_params"] as? [String: Any] {
            #expect(signed.baseString == java["baseString"] as? String)
            #expect(signed.signature == java["sig"] as? String)
        }
        #expect(
            RequestSignatureCheck.isValid(httpMethod: "POST", url: endpoint.url, params: signed.params, secret: signer.secret)
        )
    }

    @Test(arguments: ["http_8080", "https_443"])
    func portNormalizationMatchesTheJavaSDK(name: String) throws {
        let section = try #require(OfficialSDKVectors.section("rest_request_signing")["port_normalization_java"] as? [String: Any])
        let vector = try #require(section[name] as? [String: Any])
        let params = try #require(section["params"] as? [String: String])
        let secret = try GigyaSecret(base64: try #require(section["secret"] as? String))
        let baseString = OAuth1BaseString.build(httpMethod: "POST", url: try #require(vector["url"] as? String), params: params)
        #expect(baseString == vector["baseString"] as? String)
        #expect(secret.signature(for: baseString) == vector["sig"] as? String)
    }

    @Test func javaSDKUnitTestVector() throws {
        let vector = try #require(OfficialSDKVectors.section("rest_request_signing")["java_sdk_unit_test_vector"] as? [String: Any])
        let secret = try GigyaSecret(base64: try #require(vector["secret_base64"] as? String))
        let baseString = OAuth1BaseString.build(
            httpMethod: "POST",
            url: try #require(vector["url"] as? String),
            params: try #require(vector["params"] as? [String: String])
        )
        #expect(baseString == vector["baseString"] as? String)
        #expect(secret.signature(for: baseString) == vector["sig_expected_by_test"] as? String)
        #expect(secret.signature(for: baseString) == vector["sig_java"] as? String)
        #expect(secret.keyBytes == Array((try #require(vector["secret_plain"] as? String)).utf8))
    }

    @Test func androidSDKUnitTestVectorWithUnpaddedSecret() throws {
        let vector = try #require(OfficialSDKVectors.section("rest_request_signing")["android_sdk_unit_test_vector"] as? [String: Any])
        let secret = try GigyaSecret(base64: try #require(vector["secret"] as? String))
        #expect(secret.byteCount == 13)
        let baseString = OAuth1BaseString.build(
            httpMethod: "post",
            url: try #require(vector["url"] as? String),
            params: try #require(vector["params"] as? [String: String])
        )
        #expect(baseString == vector["baseString"] as? String)
        #expect(secret.signature(for: baseString) == vector["sig_expected_by_test"] as? String)
    }

    @Test func gslibSingleEncodingDiffersFromTheOfficialDoubleEncoding() throws {
        let checks = try #require(OfficialSDKVectors.section("cross_checks")["gslib_vs_official"] as? [String: Any])
        let same = try #require(checks["same_params_as_getSessionInfo_http_signed"] as? [String: Any])
        let official = try #require(OfficialSDKVectors.section("rest_request_signing")["getSessionInfo_http_signed"] as? [String: Any])
        #expect(official["sig"] as? String == same["official_sig"] as? String)
        let special = try #require(checks["with_status_param_special_chars"] as? [String: Any])
        #expect(special["official_python_sig"] as? String != special["gslib_sig"] as? String)
        let secret = try GigyaSecret(base64: OfficialSDKVectors.testSecret)
        let user = try #require(checks["user_signature"] as? [String: String])
        #expect(secret.signature(for: "1700000000_6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a") == user["official"])
        let friend = try #require(checks["friend_signature"] as? [String: String])
        #expect(secret.signature(for: "1700000000_friend-uid-99_6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a") == friend["official"])
    }

    @Test func doubleEncodingAndEmptyValues() {
        let baseString = OAuth1BaseString.build(httpMethod: "post", url: "HTTPS://Example.COM:443/p", params: ["b": "a b", "a": ""])
        #expect(baseString == "POST&https%3A%2F%2Fexample.com%2Fp&a%3D%26b%3Da%2520b")
        #expect(OAuth1BaseString.normalizedURL("http://h.example:80/x?y=1#z") == "http://h.example/x")
        #expect(OAuth1BaseString.normalizedURL("http://127.0.0.1:4010/socialize.x") == "http://127.0.0.1:4010/socialize.x")
        #expect(OAuth1BaseString.normalizedURL("https://[::1]:8443/a") == "https://[::1]:8443/a")
    }

    @Test func keysSortByCodePoint() {
        #expect(OAuth1BaseString.canonicalQuery(["apiKey": "1", "UID": "2", "Zed": "3", "éa": "4", "z": "5"]) == "UID=2&Zed=3&apiKey=1&z=5&éa=4")
    }

    @Test func signerDefaultsCanBeOverriddenButTimestampAndNonceCannot() throws {
        let signer = RequestSigner(apiKey: "3_K", secret: try GigyaSecret(base64: OfficialSDKVectors.testSecret), userKey: "UK")
        let signed = signer.sign(
            method: "accounts.getAccountInfo",
            params: ["format": "xml", "httpStatusCodes": "true", "timestamp": "1", "sig": "forged"],
            url: "https://accounts.us1.gigya.com/accounts.getAccountInfo",
            timestamp: 1_700_000_000,
            nonce: "n1"
        )
        #expect(signed.params["format"] == "xml")
        #expect(signed.params["httpStatusCodes"] == "true")
        #expect(signed.params["sdk"] == "session-vault_1.0")
        #expect(signed.params["userKey"] == "UK")
        #expect(signed.params["timestamp"] == "1700000000")
        #expect(signed.params["nonce"] == "n1")
        #expect(signed.params["sig"] == signed.signature)
        #expect(!signed.baseString.contains("sig%3D"))
        var tampered = signed.params
        tampered["nonce"] = "n2"
        #expect(!RequestSignatureCheck.isValid(httpMethod: "POST", url: signed.url, params: tampered, secret: signer.secret))
        tampered["sig"] = nil
        #expect(!RequestSignatureCheck.isValid(httpMethod: "POST", url: signed.url, params: tampered, secret: signer.secret))
    }

    @Test func formBodyRoundTrips() throws {
        let params = ["status": "Hello wörld ~*+/&=?!'()@", "a b": "c+d", "empty": ""]
        let body = FormEncoding.encode(params)
        #expect(FormEncoding.decode(body) == params)
        #expect(FormEncoding.decode("a=b+c&d=%2B%zz") == ["a": "b c", "d": "+%zz"])
        #expect(FormEncoding.decode("a=%FF") == nil)
    }
}
