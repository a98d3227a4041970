/// Which key signs the `X-Gigya-Sig-JWT` of `POST /_emulator/webhooks/sign`.
public enum EmulatorWebhookSigning: String, Sendable, Codable, Equatable {
    /// The site's data-centre current key, the one `accounts.getJWTPublicKey` publishes: a valid signature.
    case currentKey
    /// A fresh RSA key published nowhere: the signature verifies under no published key.
    case foreignKey
}
