import Crypto
import Foundation
import GigyaKit
import HTTPTypes
import Hummingbird
import Logging
import _CryptoExtras

/// id_tokens: the REST methods `accounts.getJWTPublicKey` and `accounts.getJWT`, and the `/_emulator/jwt` control routes.
extension EmulatorCore {
    /// Gigya's default and the emulator's token lifetime, in seconds (docs/gigya-protocol.md §10).
    static let defaultTokenLifetime: Int64 = 300

    // MARK: - REST

    /// `accounts.getJWTPublicKey`: `{keys: […]}` with `V2=true`, else the current key's fields at the top level.
    func getJWTPublicKey(_ request: Request, params: [String: String]) -> GigyaReply {
        let dataCenter: String
        if let apiKey = params["apiKey"], !apiKey.isEmpty {
            guard let site = sites[apiKey] else {
                return .error(.invalidAPIKey, "Invalid ApiKey parameter")
            }
            dataCenter = site.site.dataCenter
        } else if let only = onlyDataCenter {
            dataCenter = only
        } else if let named = hostDataCenter(request) {
            dataCenter = named
        } else {
            return .error(.missingRequiredParameter, "Missing required parameter: apiKey")
        }
        let keys = jwtKeys.keys(dataCenter: dataCenter).map(\.published)
        if params["V2"]?.lowercased() == "true" {
            return .ok(["keys": keys.map(Self.jwkObject)])
        }
        return .ok(Self.jwkObject(keys.last!))
    }

    /// The data centre of every site, when they share one.
    private var onlyDataCenter: String? {
        let dataCenters = Set(sites.values.map(\.site.dataCenter))
        return dataCenters.count == 1 ? dataCenters.first : nil
    }

    /// The data centre a `accounts.<dc>.gigya.com` Host names, when some site lives there.
    private func hostDataCenter(_ request: Request) -> String? {
        let labels = (request.head.authority ?? "").split(separator: ":").first?.split(separator: ".") ?? []
        guard labels.count >= 3 else {
            return nil
        }
        let candidate = String(labels[1]).lowercased()
        return sites.values.contains { $0.site.dataCenter == candidate } ? candidate : nil
    }

    /// A JWK as a JSON object.
    static func jwkObject(_ key: JWTPublicKey) -> [String: Any] {
        ["kty": key.kty, "alg": key.alg ?? "RS256", "use": key.use ?? "sig", "kid": key.kid, "n": key.n, "e": key.e]
    }

    /// `accounts.getJWT`: an id_token for `targetUID` with `fields` flat, `expiration` seconds (default 300), `audience`.
    func getJWT(_ call: AuthenticatedCall) -> GigyaReply {
        let apiKey = call.site.site.apiKey
        guard let user = store.activeUser(apiKey: apiKey, uid: call.params["targetUID"]!) else {
            return .error(.unauthorizedUser, "Unauthorized user")
        }
        var lifetime = Self.defaultTokenLifetime
        if let text = call.params["expiration"] {
            guard let parsed = Int64(text), parsed > 0, parsed <= 10 * 365 * 86_400 else {
                return .error(.invalidParameterValue, "Invalid parameter value: expiration")
            }
            lifetime = parsed
        }
        var claims = standardClaims(apiKey: apiKey, uid: user.UID, audience: call.params["audience"], issuedAt: clock.now(), lifetime: lifetime)
        var ignored: [String] = []
        for field in (call.params["fields"] ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !field.isEmpty {
            if let found = Self.accountField(field, of: user) {
                claims[found.name] = found.value
            } else {
                ignored.append(field)
            }
        }
        let key = jwtKeys.current(dataCenter: call.site.site.dataCenter)
        guard let token = Self.token(header: Self.header(alg: "RS256", kid: key.kid), claims: claims, signing: .rsa(key.privateKey)) else {
            return .error(.generalServerError, "token signing failed")
        }
        return .ok(["id_token": token, "ignoredFields": ignored.joined(separator: ",")])
    }

    /// A requested account field as a flat claim (`profile.email` and `email` both give `email`; `data.x` gives `x`).
    static func accountField(_ field: String, of user: EmulatorUserState) -> (name: String, value: GigyaJSON)? {
        let name = field.hasPrefix("profile.") ? String(field.dropFirst("profile.".count)) : field
        switch name {
        case "email": return user.email.map { ("email", .string($0)) }
        case "firstName": return user.firstName.map { ("firstName", .string($0)) }
        case "lastName": return user.lastName.map { ("lastName", .string($0)) }
        case "isLoggedIn": return ("isLoggedIn", .bool(true))
        default:
            guard name.hasPrefix("data.") else {
                return nil
            }
            let key = String(name.dropFirst("data.".count))
            return user.data[key].map { (key, $0) }
        }
    }

    // MARK: - Control routes

    /// The site a control request names, or the only one.
    func controlSite(apiKey: String?) -> Result<SiteKeys, ControlFailure> {
        if let apiKey {
            guard let found = sites[apiKey] else {
                return .failure(ControlFailure(response: controlError(.invalidAPIKey, "Invalid ApiKey parameter", status: 400)))
            }
            return .success(found)
        }
        guard apiKeys.count == 1 else {
            return .failure(ControlFailure(response: controlError(.invalidAPIKey, "apiKey is required when the emulator serves several sites", status: 400)))
        }
        return .success(sites[apiKeys[0]]!)
    }

    /// The id_token a Web SDK login asked for with `include: "id_token"`.
    func loginToken(site: SiteKeys, uid: String, audience: String?, now: Int64) -> String? {
        let key = jwtKeys.current(dataCenter: site.site.dataCenter)
        let claims = standardClaims(apiKey: site.site.apiKey, uid: uid, audience: audience, issuedAt: now, lifetime: Self.defaultTokenLifetime)
        return Self.token(header: Self.header(alg: "RS256", kid: key.kid), claims: claims, signing: .rsa(key.privateKey))
    }

    /// `POST /_emulator/jwt`: mints a token as asked.
    func mintJWT(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        let body: EmulatorJWTRequest
        do {
            let data = try await request.body.collect(upTo: 1 << 20)
            body = try JSONDecoder().decode(EmulatorJWTRequest.self, from: Data(data.readableBytesView))
        } catch {
            return controlError(.invalidRequestFormat, "the body must be JSON {uid, apiKey?, claims?, lifetimeSeconds?, alg?, kid?, signing?, …}", status: 400)
        }
        let site: SiteKeys
        switch controlSite(apiKey: body.apiKey) {
        case .success(let found): site = found
        case .failure(let failure): return failure.response
        }
        let lifetime = body.lifetimeSeconds ?? Self.defaultTokenLifetime
        let issuedAt = body.issuedAt ?? clock.now()
        guard abs(lifetime) <= 1 << 40, abs(issuedAt) <= 1 << 40 else {
            return controlError(.invalidParameterValue, "issuedAt and lifetimeSeconds must be within ±2^40", status: 400)
        }
        var claims = standardClaims(apiKey: site.site.apiKey, uid: body.uid, audience: body.audience, issuedAt: issuedAt, lifetime: lifetime)
        for (name, value) in body.claims ?? [:] {
            claims[name] = value == .null ? nil : value
        }
        let published = jwtKeys.keys(dataCenter: site.site.dataCenter)
        let current = published.last!
        var signing = TokenSigning.rsa(current.privateKey)
        var defaultAlg = "RS256"
        var keyID = current.kid
        switch body.signing ?? .currentKey {
        case .currentKey:
            break
        case .publishedKey:
            guard let chosen = published.first(where: { $0.kid == body.signingKeyID }) else {
                return controlError(.invalidParameterValue, "signingKeyID must name a published key", status: 400)
            }
            signing = .rsa(chosen.privateKey)
            keyID = chosen.kid
        case .foreignKey:
            signing = .rsa(EmulatorJWTKeyRing.Key.generate().privateKey)
        case .hmacWithPublicKey:
            signing = .hmac(Array(current.privateKey.publicKey.pemRepresentation.utf8))
            defaultAlg = "HS256"
        case .unsigned:
            signing = .unsigned
            defaultAlg = "none"
        }
        keyID = body.kid ?? keyID
        var header: [String: GigyaJSON] = ["alg": .string(body.alg ?? defaultAlg), "typ": .string("JWT")]
        header[body.legacyKeyIDHeader == true ? "keyid" : "kid"] = .string(keyID)
        guard let token = Self.token(header: header, claims: claims, signing: signing) else {
            return controlError(.generalServerError, "token signing failed", status: 500)
        }
        return GigyaEmulator.jsonResponse(encoding: EmulatorJWT(idToken: token, kid: keyID, claims: claims))
    }

    /// `POST /_emulator/jwt/rotate`: a new current key for the site's data centre; the old ones stay unless `dropPrevious`.
    func rotateJWTKeys(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        let data = try await request.body.collect(upTo: 1 << 20)
        let body: EmulatorJWTRotation
        if data.readableBytes == 0 {
            body = EmulatorJWTRotation()
        } else if let decoded = try? JSONDecoder().decode(EmulatorJWTRotation.self, from: Data(data.readableBytesView)) {
            body = decoded
        } else {
            return controlError(.invalidRequestFormat, "the body must be JSON {apiKey?, dropPrevious?}", status: 400)
        }
        let dataCenter: String
        if let apiKey = body.apiKey {
            guard let site = sites[apiKey] else {
                return controlError(.invalidAPIKey, "Invalid ApiKey parameter", status: 400)
            }
            dataCenter = site.site.dataCenter
        } else if let only = onlyDataCenter {
            dataCenter = only
        } else {
            return controlError(.invalidAPIKey, "apiKey is required when the emulator serves several data centres", status: 400)
        }
        let keys = jwtKeys.rotate(dataCenter: dataCenter, dropPrevious: body.dropPrevious == true)
        logger.info("JWT keys rotated", metadata: ["dataCenter": "\(dataCenter)", "keys": "\(keys.count)"])
        return GigyaEmulator.jsonResponse(encoding: EmulatorJWTKeys(dataCenter: dataCenter, currentKeyID: keys.last!.kid, keys: keys.map(\.published)))
    }

    // MARK: - Tokens

    /// How a token is signed.
    enum TokenSigning {
        /// RS256 (PKCS#1 v1.5, SHA-256).
        case rsa(_RSA.Signing.PrivateKey)
        /// HS256 with these key bytes.
        case hmac([UInt8])
        /// No signature.
        case unsigned
    }

    /// The claims Gigya always writes: `iss`, `apiKey`, `sub`, `iat`, `exp`, and `aud` when an audience was asked for.
    func standardClaims(apiKey: String, uid: String, audience: String?, issuedAt: Int64, lifetime: Int64) -> [String: GigyaJSON] {
        var claims: [String: GigyaJSON] = [
            "iss": .string(IDTokenVerifier.issuer(apiKey: apiKey)),
            "apiKey": .string(apiKey),
            "sub": .string(uid),
            "iat": .number(Double(issuedAt)),
            "exp": .number(Double(issuedAt + lifetime)),
        ]
        claims["aud"] = audience.map(GigyaJSON.string)
        return claims
    }

    /// Gigya's header: `alg`, `kid`, `typ`.
    static func header(alg: String, kid: String) -> [String: GigyaJSON] {
        ["alg": .string(alg), "kid": .string(kid), "typ": .string("JWT")]
    }

    /// A compact JWS; nil only if RSA signing fails.
    static func token(header: [String: GigyaJSON], claims: [String: GigyaJSON], signing: TokenSigning) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let headerJSON = try? encoder.encode(GigyaJSON.object(header)), let claimsJSON = try? encoder.encode(GigyaJSON.object(claims)) else {
            return nil
        }
        let input = Base64URL.encode(headerJSON) + "." + Base64URL.encode(claimsJSON)
        let signature: [UInt8]
        switch signing {
        case .rsa(let key):
            guard let signed = try? key.signature(for: SHA256.hash(data: Data(input.utf8)), padding: .insecurePKCS1v1_5) else {
                return nil
            }
            signature = Array(signed.rawRepresentation)
        case .hmac(let secret):
            signature = Array(HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret)))
        case .unsigned:
            signature = []
        }
        return input + "." + Base64URL.encode(signature)
    }
}

