/// The texts Gigya signs with HMAC-SHA1 (docs/gigya-protocol.md §2, §3, §4).
public enum SignatureBase {
    /// The `UIDSignature` of a login: `timestamp_UID` (docs/gigya-protocol.md §2, `validateUserSignature`).
    public static func user(timestamp: String, uid: String) -> String {
        timestamp + "_" + uid
    }

    /// The friend signature: `timestamp_friendUID_UID` (docs/gigya-protocol.md §2, `validateFriendSignature`).
    public static func friend(timestamp: String, friendUID: String, uid: String) -> String {
        timestamp + "_" + friendUID + "_" + uid
    }

    /// getSessionInfo's `providerUIDSig`: `timestamp_providerUID` (docs/gigya-protocol.md §4).
    public static func providerUID(timestamp: String, providerUID: String) -> String {
        timestamp + "_" + providerUID
    }

    /// The client-side `UIDSig` of `socialize.setUID` / `notifyLogin`: `UIDTimestamp_siteUID`.
    ///
    /// UNCONFIRMED by any source (docs/gigya-protocol.md §3 and §9.1): it follows the pattern of every other Gigya signature.
    /// Prefer the REST calls, which need only request signing.
    public static func siteUID(uidTimestamp: String, siteUID: String) -> String {
        uidTimestamp + "_" + siteUID
    }

    /// The dynamic session cookie text: `glt_expiration`, or `glt_expiration_userKey` when signed with a user key
    /// (docs/gigya-protocol.md §2, `getDynamicSessionSignature[UserSigned]`).
    public static func dynamicSession(loginToken: String, expiration: Int64, userKey: String? = nil) -> String {
        if let userKey {
            return loginToken + "_" + String(expiration) + "_" + userKey
        }
        return loginToken + "_" + String(expiration)
    }

    /// The dynamic session cookie value: `expiration_sig` or `expiration_userKey_sig`, expiring `timeoutSeconds` after `now`.
    public static func dynamicSessionCookie(
        loginToken: String,
        timeoutSeconds: Int64,
        now: Int64,
        secret: GigyaSecret,
        userKey: String? = nil
    ) -> String {
        let expiration = now + timeoutSeconds
        let signature = secret.signature(for: dynamicSession(loginToken: loginToken, expiration: expiration, userKey: userKey))
        if let userKey {
            return String(expiration) + "_" + userKey + "_" + signature
        }
        return String(expiration) + "_" + signature
    }
}
