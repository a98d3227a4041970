/// Why an id_token was refused: one case per check, each with its own machine-readable `code` (docs/gigya-protocol.md §10).
///
/// Descriptions name the check and at most the header's `alg`/`kid` or a claim's name, never the token or a claim's value.
public enum IDTokenRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a JWS at all: too large, wrong part count, bad base64url, header or payload not a JSON object.
    case malformed(IDTokenMalformation)
    /// The header's `alg` is not RS256 (`none`, `HS256`, … are never accepted); nil when the header has none.
    case algorithmNotAllowed(String?)
    /// No key of the set has the header's `kid` (or `keyid`); nil when the header names none. Refetch the key set once.
    case unknownKeyID(String?)
    /// The RS256 signature does not verify under the key the header names.
    case badSignature
    /// `exp` or `iat` is absent or not a number.
    case missingTimeClaim(String)
    /// `iss` is not exactly `https://fidm.gigya.com/jwt/<API key>/`.
    case wrongIssuer
    /// `apiKey` is present and not the site's.
    case wrongAPIKey
    /// `sub` is not the UID the login result names.
    case subjectMismatch
    /// `exp` is in the past, beyond the leeway.
    case expired
    /// `iat` is in the future, beyond the leeway.
    case issuedInFuture
    /// An audience is configured and `aud` does not hold it.
    case audienceMismatch
    /// `iat` is further in the past than the site's maximum age (`idToken.maxAgeSeconds`), whatever `exp` says.
    case tooOld(maximumSeconds: Int64)

    /// A stable code for APIs, logs and metrics.
    public var code: String {
        switch self {
        case .malformed: "id_token_malformed"
        case .algorithmNotAllowed: "id_token_alg_not_allowed"
        case .unknownKeyID: "id_token_unknown_kid"
        case .badSignature: "id_token_bad_signature"
        case .missingTimeClaim: "id_token_missing_time_claim"
        case .wrongIssuer: "id_token_wrong_issuer"
        case .wrongAPIKey: "id_token_wrong_api_key"
        case .subjectMismatch: "id_token_subject_mismatch"
        case .expired: "id_token_expired"
        case .issuedInFuture: "id_token_issued_in_future"
        case .audienceMismatch: "id_token_audience_mismatch"
        case .tooOld: "id_token_too_old"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let why): "id_token is malformed: \(why)"
        // The header's values are the sender's: named, never quoted back.
        case .algorithmNotAllowed: "id_token alg is not RS256"
        case .unknownKeyID(let kid): kid == nil ? "id_token header has no kid" : "id_token kid is not in the key set"
        case .badSignature: "id_token signature does not verify"
        case .missingTimeClaim(let name): "id_token has no numeric \(name) claim"
        case .wrongIssuer: "id_token iss is not this site's issuer"
        case .wrongAPIKey: "id_token apiKey is not this site's"
        case .subjectMismatch: "id_token sub is not the login's UID"
        case .expired: "id_token has expired"
        case .issuedInFuture: "id_token iat is in the future"
        case .audienceMismatch: "id_token aud does not hold the configured audience"
        case .tooOld(let maximum): "id_token was issued more than \(maximum) s ago"
        }
    }
}

/// What is structurally wrong with a token.
public enum IDTokenMalformation: Sendable, Equatable, CustomStringConvertible {
    /// Longer than `IDTokenVerifier.maximumTokenBytes`.
    case tooLarge
    /// Not three dot-separated parts.
    case wrongPartCount
    /// A part is not canonical unpadded base64url.
    case badBase64URL
    /// The header is not a JSON object.
    case headerNotJSON
    /// The payload is not a JSON object.
    case payloadNotJSON

    public var description: String {
        switch self {
        case .tooLarge: "larger than \(IDTokenVerifier.maximumTokenBytes) bytes"
        case .wrongPartCount: "not three dot-separated parts"
        case .badBase64URL: "a part is not canonical unpadded base64url"
        case .headerNotJSON: "the header is not a JSON object"
        case .payloadNotJSON: "the payload is not a JSON object"
        }
    }
}
