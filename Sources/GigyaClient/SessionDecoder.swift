import GigyaKit

/// Turns a getSessionInfo body into a `ProviderSession`: decrypts with the partner secret whenever `IV` is present and checks
/// `providerUIDSig` when Gigya signed the ids (docs/gigya-protocol.md §4). Built once per client: the cipher is keyed once.
struct SessionDecoder: Sendable {
    /// Keys the `providerUIDSig` check.
    let partnerSecret: GigyaSecret
    /// Gigya's time as best known, for the `providerUIDSig` window.
    let clock: any WallClock
    /// AES-CBC under the partner secret, or why the secret cannot key AES.
    let cipher: Result<TokenCipher, TokenCipherError>

    init(partnerSecret: GigyaSecret, clock: any WallClock) {
        self.partnerSecret = partnerSecret
        self.clock = clock
        self.cipher = Result { () throws(TokenCipherError) in try TokenCipher(secret: partnerSecret) }
    }

    /// The plaintext session, or `.decryption` / `.invalidResponse` naming the field that failed (never its value).
    func providerSession(provider: String, body: GigyaJSON) throws(GigyaCallError) -> ProviderSession {
        let payload = SessionInfoPayload(
            authToken: body["authToken"]?.textValue,
            tokenSecret: body["tokenSecret"]?.textValue,
            sessionHandle: body["sessionHandle"]?.textValue,
            tokenExpiration: body["tokenExpirationUTC"]?.textValue ?? body["tokenExpiration"]?.textValue,
            sessionExpiration: body["sessionExpiration"]?.textValue,
            IV: body["IV"]?.textValue,
            providerUID: body["providerUID"]?.textValue,
            timestamp: body["timestamp"]?.textValue,
            providerUIDSig: body["providerUIDSig"]?.textValue
        )
        try verifyProviderUID(payload)
        var session = ProviderSession(
            provider: provider,
            authToken: payload.authToken,
            tokenSecret: payload.tokenSecret,
            sessionHandle: payload.sessionHandle,
            tokenExpiration: payload.tokenExpiration,
            sessionExpiration: payload.sessionExpiration,
            providerUID: payload.providerUID
        )
        guard let iv = payload.IV, !iv.isEmpty else {
            // No IV: Gigya sent the fields in clear (docs/gigya-protocol.md §4, §9.4).
            return session
        }
        let cipher: TokenCipher
        switch self.cipher {
        case .success(let keyed): cipher = keyed
        case .failure(let error): throw .decryption("the partner secret cannot key AES: \(error)")
        }
        session.tokenSecret = try decrypt(payload.tokenSecret, field: "tokenSecret", iv: iv, cipher: cipher)
        session.sessionHandle = try decrypt(payload.sessionHandle, field: "sessionHandle", iv: iv, cipher: cipher)
        session.authToken = decryptIfEncrypted(payload.authToken, iv: iv, cipher: cipher)
        return session
    }

    /// Decrypts a field documented as always encrypted; with an IV present, failure is an error, never a plaintext guess.
    private func decrypt(_ value: String?, field: String, iv: String, cipher: TokenCipher) throws(GigyaCallError) -> String? {
        guard let value, !value.isEmpty else {
            return value
        }
        do {
            return try cipher.decrypt(value, ivBase64: iv, padding: .pkcs7)
        } catch {
            throw .decryption("\(field): \(error)")
        }
    }

    /// `authToken` is encrypted only under `encryptAll` (docs/gigya-protocol.md §4); a token that is not a valid PKCS7 ciphertext under
    /// this key and IV is the provider's plain token.
    private func decryptIfEncrypted(_ value: String?, iv: String, cipher: TokenCipher) -> String? {
        guard let value, !value.isEmpty else {
            return value
        }
        return (try? cipher.decrypt(value, ivBase64: iv, padding: .pkcs7)) ?? value
    }

    /// Checks `providerUIDSig` over `timestamp_providerUID` when Gigya sent one (`signIDs=true`).
    private func verifyProviderUID(_ payload: SessionInfoPayload) throws(GigyaCallError) {
        guard let signature = payload.providerUIDSig else {
            return
        }
        guard let timestamp = payload.timestamp, let providerUID = payload.providerUID else {
            throw .invalidResponse("providerUIDSig without timestamp or providerUID")
        }
        do {
            try LoginSignatureVerifier(secret: partnerSecret, clock: clock)
                .verifyProviderUID(providerUID: providerUID, timestamp: timestamp, signature: signature)
        } catch {
            throw .invalidResponse("providerUIDSig rejected: \(error.code)")
        }
    }
}
