import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import GigyaKit

/// A locally generated Gigya-like signer, independent of the emulator's, for unit tests of the verifier.
struct LocalTokenSigner {
    /// The key id it publishes.
    let kid: String
    /// Its private key.
    let key: _RSA.Signing.PrivateKey

    /// A fresh 2048-bit signer.
    init(kid: String) throws {
        self.kid = kid
        self.key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    /// The public key as `accounts.getJWTPublicKey` publishes it.
    var published: JWTPublicKey {
        let primitives = try! key.publicKey.getKeyPrimitives()
        return JWTPublicKey(kid: kid, n: Base64URL.encode(primitives.modulus), e: Base64URL.encode(primitives.publicExponent))
    }

    /// A compact JWS of JSON texts, RS256-signed with this key unless `signature` overrides the signature part.
    func token(header: String, payload: String, signature: String? = nil) throws -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        let signed = try key.signature(for: SHA256.hash(data: Data(input.utf8)), padding: .insecurePKCS1v1_5)
        return input + "." + (signature ?? Base64URL.encode(Array(signed.rawRepresentation)))
    }
}

/// id_token verification: one test per refusal, with keys made here.
@Suite struct IDTokenVerifierTests {
    static let apiKey = "3_SITE"
    static let now: Int64 = 1_700_000_000
    static let signer = try! LocalTokenSigner(kid: "key-1")
    static let keys = try! JWTKeySet(keys: [signer.published])

    let verifier = IDTokenVerifier(apiKey: apiKey, leewaySeconds: 60, clock: ManualWallClock(now))

    /// Gigya's header.
    static func header(alg: String = "RS256", kid: String = "key-1") -> String {
        #"{"alg":"\#(alg)","kid":"\#(kid)","typ":"JWT"}"#
    }

    /// Gigya's claims, with overrides; a nil value drops the claim.
    static func payload(_ overrides: [String: String?] = [:]) -> String {
        var claims: [String: String] = [
            "iss": #""https://fidm.gigya.com/jwt/3_SITE/""#, "apiKey": #""3_SITE""#, "sub": #""uid-1""#,
            "iat": String(now - 10), "exp": String(now + 290),
        ]
        for (name, value) in overrides {
            claims[name] = value
        }
        return "{" + claims.sorted { $0.key < $1.key }.map { #""\#($0.key)":\#($0.value)"# }.joined(separator: ",") + "}"
    }

    /// Verifies and returns the refusal, or nil when the token passed.
    func refusal(_ token: String, uid: String = "uid-1", verifier: IDTokenVerifier? = nil) async -> IDTokenRefusal? {
        do {
            _ = try await (verifier ?? self.verifier).verify(token, expectedUID: uid, keys: Self.keys)
            return nil
        } catch {
            return error
        }
    }

    @Test func aGigyaShapedTokenVerifiesAndYieldsItsClaims() async throws {
        let token = try Self.signer.token(header: Self.header(), payload: Self.payload(["email": #""a@example.com""#]))
        let claims = try await verifier.verify(token, expectedUID: "uid-1", keys: Self.keys)
        #expect(claims.subject == "uid-1")
        #expect(claims.issuer == "https://fidm.gigya.com/jwt/3_SITE/")
        #expect(claims.apiKey == "3_SITE")
        #expect(claims.expiresAt == Self.now + 290)
        #expect(claims.keyID == "key-1")
        #expect(claims.all["email"] == .string("a@example.com"))
    }

    @Test func anOlderTokenNamingItsKeyKeyidVerifies() async throws {
        let token = try Self.signer.token(header: #"{"alg":"RS256","keyid":"key-1"}"#, payload: Self.payload())
        #expect(await refusal(token) == nil)
    }

    @Test func aPaddedSignatureIsRefused() async throws {
        let token = try Self.signer.token(header: Self.header(), payload: Self.payload())
        let parts = token.split(separator: ".").map(String.init)
        // Padding the signature leaves the signed bytes alone: a lenient decoder would take it as a second spelling.
        let padding = String(repeating: "=", count: (4 - parts[2].count % 4) % 4)
        #expect(!padding.isEmpty)
        #expect(await refusal(parts[0] + "." + parts[1] + "." + parts[2] + padding) == .malformed(.badBase64URL))
    }

    @Test(arguments: [
        ("a.b", IDTokenMalformation.wrongPartCount),
        ("a.b.c.d", .wrongPartCount),
        ("", .wrongPartCount),
        ("e30.e30.a+b/", .badBase64URL),
        ("!!!.e30.AA", .badBase64URL),
        ("bm90IGpzb24.e30.AA", .headerNotJSON),
        ("W10.e30.AA", .headerNotJSON),
        ("e30.bm90IGpzb24.AA", .payloadNotJSON),
    ])
    func malformedTokensAreRefusedAsMalformed(token: String, reason: IDTokenMalformation) async {
        #expect(await refusal(token) == .malformed(reason))
    }

    @Test func anOversizeTokenIsRefusedBeforeParsing() async {
        let huge = String(repeating: "A", count: IDTokenVerifier.maximumTokenBytes) + ".e30.AA"
        #expect(await refusal(huge) == .malformed(.tooLarge))
    }

    @Test(arguments: ["none", "HS256", "RS512", "PS256", "rs256"])
    func anyAlgorithmButRS256IsRefused(alg: String) async throws {
        let token = try Self.signer.token(header: Self.header(alg: alg), payload: Self.payload())
        #expect(await refusal(token) == .algorithmNotAllowed(alg))
    }

    @Test func aHeaderWithoutAlgIsRefused() async throws {
        let token = try Self.signer.token(header: #"{"kid":"key-1"}"#, payload: Self.payload())
        #expect(await refusal(token) == .algorithmNotAllowed(nil))
    }

    @Test func anHMACTokenKeyedWithThePublicKeyIsRefused() async throws {
        let input = Base64URL.encode(Array(Self.header(alg: "HS256").utf8)) + "." + Base64URL.encode(Array(Self.payload().utf8))
        let pem = Self.signer.key.publicKey.pemRepresentation
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(pem.utf8)))
        #expect(await refusal(input + "." + Base64URL.encode(Array(mac))) == .algorithmNotAllowed("HS256"))
    }

    @Test func anUnknownOrMissingKidIsRefused() async throws {
        #expect(await refusal(try Self.signer.token(header: Self.header(kid: "key-2"), payload: Self.payload())) == .unknownKeyID("key-2"))
        #expect(await refusal(try Self.signer.token(header: #"{"alg":"RS256"}"#, payload: Self.payload())) == .unknownKeyID(nil))
    }

    @Test func aTokenSignedByAnotherKeyIsRefused() async throws {
        let stranger = try LocalTokenSigner(kid: "key-1")
        #expect(await refusal(try stranger.token(header: Self.header(), payload: Self.payload())) == .badSignature)
    }

    @Test func aTamperedPayloadIsRefused() async throws {
        let token = try Self.signer.token(header: Self.header(), payload: Self.payload())
        let parts = token.split(separator: ".").map(String.init)
        let forged = Base64URL.encode(Array(Self.payload(["sub": #""uid-2""#]).utf8))
        #expect(await refusal(parts[0] + "." + forged + "." + parts[2], uid: "uid-2") == .badSignature)
    }

    @Test func aMissingOrNonNumericTimeClaimIsRefused() async throws {
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["exp": nil]))) == .missingTimeClaim("exp"))
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["iat": nil]))) == .missingTimeClaim("iat"))
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["exp": #""soon""#]))) == .missingTimeClaim("exp"))
    }

    @Test(arguments: [
        #""https://fidm.gigya.com/jwt/3_SITE""#, #""https://fidm.gigya.com/jwt/3_OTHER/""#, #""http://fidm.gigya.com/jwt/3_SITE/""#, "null",
    ])
    func anIssuerThatIsNotExactlyTheSitesIsRefused(issuer: String) async throws {
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["iss": issuer]))) == .wrongIssuer)
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["iss": nil]))) == .wrongIssuer)
    }

    @Test func anotherSitesAPIKeyIsRefusedButAnAbsentOneIsNot() async throws {
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["apiKey": #""3_OTHER""#]))) == .wrongAPIKey)
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["apiKey": nil]))) == nil)
    }

    @Test func aSubjectOtherThanTheLoginsUIDIsRefused() async throws {
        let token = try Self.signer.token(header: Self.header(), payload: Self.payload())
        #expect(await refusal(token, uid: "uid-2") == .subjectMismatch)
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["sub": nil]))) == .subjectMismatch)
    }

    @Test func expiryHonoursTheLeewayAndNoMore() async throws {
        let justInLeeway = try Self.signer.token(header: Self.header(), payload: Self.payload(["exp": String(Self.now - 60)]))
        #expect(await refusal(justInLeeway) == nil)
        let pastLeeway = try Self.signer.token(header: Self.header(), payload: Self.payload(["exp": String(Self.now - 61)]))
        #expect(await refusal(pastLeeway) == .expired)
    }

    @Test func anIssueTimeInTheFutureBeyondTheLeewayIsRefused() async throws {
        let inLeeway = try Self.signer.token(header: Self.header(), payload: Self.payload(["iat": String(Self.now + 60)]))
        #expect(await refusal(inLeeway) == nil)
        let beyond = try Self.signer.token(header: Self.header(), payload: Self.payload(["iat": String(Self.now + 61)]))
        #expect(await refusal(beyond) == .issuedInFuture)
    }

    @Test func theLeewayIsClampedToTwoMinutes() {
        #expect(IDTokenVerifier(apiKey: "k", leewaySeconds: 3600).leewaySeconds == 120)
        #expect(IDTokenVerifier(apiKey: "k", leewaySeconds: -5).leewaySeconds == 0)
    }

    @Test func aConfiguredAudienceMustBeInAud() async throws {
        let strict = IDTokenVerifier(apiKey: Self.apiKey, audience: "vault", clock: ManualWallClock(Self.now))
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload()), verifier: strict) == .audienceMismatch)
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["aud": #""other""#])), verifier: strict) == .audienceMismatch)
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["aud": #""vault""#])), verifier: strict) == nil)
        #expect(await refusal(try Self.signer.token(header: Self.header(), payload: Self.payload(["aud": #"["x","vault"]"#])), verifier: strict) == nil)
    }

    @Test func everyRefusalHasItsOwnCodeAndNoMessageQuotesTheToken() async throws {
        let refusals: [IDTokenRefusal] = [
            .malformed(.tooLarge), .algorithmNotAllowed("none"), .unknownKeyID("k"), .badSignature, .missingTimeClaim("exp"), .wrongIssuer,
            .wrongAPIKey, .subjectMismatch, .expired, .issuedInFuture, .audienceMismatch, .tooOld(maximumSeconds: 300),
        ]
        #expect(Set(refusals.map(\.code)).count == refusals.count)
        let token = try Self.signer.token(header: Self.header(), payload: Self.payload())
        let failure = try #require(await refusal(token, uid: "someone-else"))
        #expect(!failure.description.contains(token.split(separator: ".")[1]))
        // Nothing the sender chose in the header is quoted back either.
        for refusal in [IDTokenRefusal.algorithmNotAllowed("<script>x</script>"), .unknownKeyID("<script>x</script>")] {
            #expect(!refusal.description.contains("script"), "\(refusal.description)")
        }
    }

    @Test func theReplayDigestIsTheSHA256OfTheDecodedSignature() async throws {
        let token = try Self.signer.token(header: Self.header(), payload: Self.payload())
        let claims = try await verifier.verify(token, expectedUID: "uid-1", keys: Self.keys)
        let signature = try #require(Base64URL.decode(token.split(separator: ".")[2]))
        #expect(claims.replayDigest == Array(SHA256.hash(data: signature)))
        #expect(IDTokenVerifier.keyID(of: token) == "key-1")
    }

    /// Every other spelling of a token's parts: padded, or with the unused trailing bits of the last character set.
    static func respellings(of token: String) -> [String] {
        let parts = token.split(separator: ".").map(String.init)
        var spellings: [String] = []
        for index in parts.indices {
            var padded = parts
            padded[index] += String(repeating: "=", count: (4 - parts[index].count % 4) % 4)
            if padded[index] != parts[index] { spellings.append(padded.joined(separator: ".")) }
            // The last character of a part whose length is not a multiple of 4 carries 2 or 4 ignored bits.
            guard parts[index].count % 4 != 0, let last = parts[index].last else { continue }
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            let value = alphabet.firstIndex(of: last)!
            let unused = parts[index].count % 4 == 2 ? 0b1111 : 0b11
            for flip in 1...unused {
                var changed = parts
                changed[index] = String(parts[index].dropLast()) + String(alphabet[value ^ flip])
                spellings.append(changed.joined(separator: "."))
            }
        }
        return spellings
    }

    @Test func onlyTheCanonicalUnpaddedSpellingIsAccepted() async throws {
        // A signature of 256 bytes leaves 4 ignored bits in its last character; the JSON parts leave 2 or 4 or none.
        let token = try Self.signer.token(header: Self.header(), payload: Self.payload())
        #expect(await refusal(token) == nil)
        let spellings = Self.respellings(of: token)
        #expect(spellings.count >= 16, "\(spellings.count) spellings")
        for spelling in spellings {
            #expect(await refusal(spelling) == .malformed(.badBase64URL), "\(spelling.suffix(8))")
        }
    }

    @Test func aTokenOlderThanTheMaximumAgeIsRefusedWhateverItsExp() async throws {
        let verifier = IDTokenVerifier(apiKey: Self.apiKey, leewaySeconds: 60, maxAgeSeconds: 300, clock: ManualWallClock(Self.now))
        // Issued 30 days ago with a long exp: as old as no UIDSignature may be.
        let old = try Self.signer.token(header: Self.header(), payload: Self.payload(["iat": String(Self.now - 30 * 86_400), "exp": String(Self.now + 86_400)]))
        #expect(await refusal(old, verifier: verifier) == .tooOld(maximumSeconds: 300))
        let edge = try Self.signer.token(header: Self.header(), payload: Self.payload(["iat": String(Self.now - 359), "exp": String(Self.now + 86_400)]))
        #expect(await refusal(edge, verifier: verifier) == nil, "300 s plus the 60 s leeway")
        #expect(verifier.acceptableUntil(issuedAt: Self.now, expiresAt: Self.now + 86_400) == Self.now + 360)
        #expect(verifier.acceptableUntil(issuedAt: Self.now, expiresAt: Self.now + 100) == Self.now + 160)
    }
}

/// Parsing `accounts.getJWTPublicKey` answers.
@Suite struct JWTKeySetTests {
    @Test func parsesTheV2KeysArrayAndSkipsKeysOfOtherKinds() throws {
        let key = IDTokenVerifierTests.signer.published
        let json = #"""
            {"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":"\#(key.kid)","n":"\#(key.n)","e":"\#(key.e)"},
            {"kty":"EC","alg":"ES256","use":"sig","kid":"ec","crv":"P-256","x":"AA","y":"AA"}],
            "errorCode":0,"statusCode":200}
            """#
        let set = try JWTKeySet(json: Data(json.utf8))
        #expect(set.keyIDs == [key.kid])
        #expect(set.contains(kid: key.kid))
        #expect(!set.contains(kid: "ec"))
    }

    @Test func parsesTheSingleKeyOfV1() throws {
        let key = IDTokenVerifierTests.signer.published
        let json = #"{"n":"\#(key.n)","e":"\#(key.e)","alg":"RS256","kid":"\#(key.kid)","kty":"RSA","use":"sig","errorCode":0}"#
        #expect(try JWTKeySet(json: Data(json.utf8)).keyIDs == [key.kid])
    }

    @Test func refusesUnusableSets() throws {
        let key = IDTokenVerifierTests.signer.published
        #expect(throws: JWTKeySetError.malformedDocument) { try JWTKeySet(json: Data("[1,2]".utf8)) }
        #expect(throws: JWTKeySetError.noUsableKeys) { try JWTKeySet(keys: []) }
        #expect(throws: JWTKeySetError.duplicateKeyID(key.kid)) { try JWTKeySet(keys: [key, key]) }
        var broken = key
        broken.n = "not+base64url"
        #expect(throws: JWTKeySetError.invalidKey(kid: key.kid, reason: "n or e is not base64url")) { try JWTKeySet(keys: [broken]) }
        var small = key
        small.n = Base64URL.encode([UInt8](repeating: 0xC3, count: 64))
        #expect(throws: JWTKeySetError.self) { try JWTKeySet(keys: [small]) }
    }

    @Test func base64URLRoundTripsAndRefusesTheStandardAlphabet() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF, 0x00, 0x01]
        let text = Base64URL.encode(bytes)
        #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
        #expect(Base64URL.decode(text) == bytes)
        #expect(Base64URL.decode(text + "=") == bytes)
        #expect(Base64URL.decode("+/8") == nil)
        #expect(Base64URL.decodeCanonical(text) == bytes)
        #expect(Base64URL.decodeCanonical(text + "=") == nil)
        #expect(Base64URL.decodeCanonical("+/8") == nil)
        #expect(Base64URL.decodeCanonical("A") == nil)
        #expect(Base64URL.decodeCanonical("AB") == nil, "trailing bits set")
        #expect(Base64URL.decodeCanonical("AA") == [0])
        #expect(Base64URL.decodeCanonical("") == [])
    }
}
