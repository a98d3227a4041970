public import GigyaKit

/// The body of `POST /_emulator/jwt`: an id_token with chosen claims, lifetime, header and key, to prove each refusal.
public struct EmulatorJWTRequest: Sendable, Codable, Equatable {
    /// The site; required when the emulator serves several. Fixes `iss`, `apiKey` and the data centre's key.
    public var apiKey: String?
    /// `sub`.
    public var uid: String
    /// `aud`, when set.
    public var audience: String?
    /// `iat` in Unix seconds; the emulator clock when nil.
    public var issuedAt: Int64?
    /// `exp − iat` in seconds; 300 (Gigya's default) when nil.
    public var lifetimeSeconds: Int64?
    /// Claims to add or replace; a JSON `null` removes a claim (to drop `exp`, say).
    public var claims: [String: GigyaJSON]?
    /// The header's `alg`; follows `signing` when nil.
    public var alg: String?
    /// The header's key id; the signing key's when nil.
    public var kid: String?
    /// Write the key id as `keyid`, as older Gigya tokens do, instead of `kid`.
    public var legacyKeyIDHeader: Bool?
    /// How to sign; `.currentKey` when nil.
    public var signing: EmulatorJWTSigning?
    /// With `.publishedKey`: which published key signs.
    public var signingKeyID: String?

    /// Creates a mint request.
    public init(
        apiKey: String? = nil, uid: String, audience: String? = nil, issuedAt: Int64? = nil, lifetimeSeconds: Int64? = nil,
        claims: [String: GigyaJSON]? = nil, alg: String? = nil, kid: String? = nil, legacyKeyIDHeader: Bool? = nil,
        signing: EmulatorJWTSigning? = nil, signingKeyID: String? = nil
    ) {
        self.apiKey = apiKey
        self.uid = uid
        self.audience = audience
        self.issuedAt = issuedAt
        self.lifetimeSeconds = lifetimeSeconds
        self.claims = claims
        self.alg = alg
        self.kid = kid
        self.legacyKeyIDHeader = legacyKeyIDHeader
        self.signing = signing
        self.signingKeyID = signingKeyID
    }
}

/// How `POST /_emulator/jwt` signs.
public enum EmulatorJWTSigning: String, Sendable, Codable, Equatable {
    /// RS256 with the data centre's current key, as Gigya signs.
    case currentKey
    /// RS256 with the published key named by `signingKeyID` (an older one, after a rotation).
    case publishedKey
    /// RS256 with a fresh key that is published nowhere.
    case foreignKey
    /// HS256 keyed with the current public key's PEM: the algorithm-confusion attack.
    case hmacWithPublicKey
    /// `alg: none` and an empty signature.
    case unsigned
}

/// A minted token.
public struct EmulatorJWT: Sendable, Codable, Equatable {
    /// The compact JWS.
    public var idToken: String
    /// The header's key id.
    public var kid: String?
    /// The claims it carries.
    public var claims: [String: GigyaJSON]

    enum CodingKeys: String, CodingKey {
        case idToken = "id_token"
        case kid
        case claims
    }
}

/// The body of `POST /_emulator/jwt/rotate`.
public struct EmulatorJWTRotation: Sendable, Codable, Equatable {
    /// The site whose data centre rotates; required when the emulator serves several data centres.
    public var apiKey: String?
    /// Stop publishing the previous keys (tokens they signed then fail with an unknown kid).
    public var dropPrevious: Bool?

    /// Creates a rotation request.
    public init(apiKey: String? = nil, dropPrevious: Bool? = nil) {
        self.apiKey = apiKey
        self.dropPrevious = dropPrevious
    }
}

/// A data centre's published keys, as `POST /_emulator/jwt/rotate` answers.
public struct EmulatorJWTKeys: Sendable, Codable, Equatable {
    /// The data centre.
    public var dataCenter: String
    /// The key that signs new tokens.
    public var currentKeyID: String
    /// Every published key, current last.
    public var keys: [JWTPublicKey]
}
