/// Why a login signature was refused; never carries the signature or the secret.
public enum SignatureFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// An input has the wrong shape (which field, and how).
    case malformed(field: String, reason: String)
    /// The secret is not usable base64.
    case invalidSecret
    /// `now - timestamp` lies outside the window; the sign is kept (positive: the timestamp is in the past).
    case timestampOutsideWindow(skewSeconds: Int64)
    /// The signature does not match the signed text.
    case signatureMismatch

    /// Every `code` a failure can have, for callers that label or pre-register by reason.
    public static let codes = ["malformed_input", "invalid_secret", "timestamp_out_of_window", "signature_mismatch"]

    /// A stable machine-readable code.
    public var code: String {
        switch self {
        case .malformed: "malformed_input"
        case .invalidSecret: "invalid_secret"
        case .timestampOutsideWindow: "timestamp_out_of_window"
        case .signatureMismatch: "signature_mismatch"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let field, let reason): "malformed \(field): \(reason)"
        case .invalidSecret: "the secret is not valid base64"
        case .timestampOutsideWindow(let skew):
            skew >= 0
                ? "the timestamp is \(skew) s in the past, outside the allowed window"
                : "the timestamp is \(-skew) s in the future, outside the allowed window"
        case .signatureMismatch: "the signature does not match"
        }
    }
}

/// Checks the signatures Gigya hands to the browser (`UIDSignature`, friend and `providerUIDSig`).
///
/// Unlike the official SDKs (docs/gigya-protocol.md §2), it always enforces a time window and compares in constant time.
/// Checks run in a fixed order: malformed input, then the time window, then the signature.
public struct LoginSignatureVerifier: Sendable {
    /// The partner secret (user-key secrets never sign a `UIDSignature`, docs/gigya-protocol.md §2).
    public let secret: GigyaSecret
    /// The largest accepted `|now - timestamp|`, in seconds.
    public let windowSeconds: Int64
    /// The source of "now".
    public let clock: any WallClock

    /// Creates a verifier; the docs' five minutes is the default window (docs/gigya-protocol.md §9.2).
    public init(secret: GigyaSecret, windowSeconds: Int64 = 300, clock: any WallClock = SystemWallClock()) {
        self.secret = secret
        self.windowSeconds = windowSeconds
        self.clock = clock
    }

    /// Verifies a login's `UIDSignature` over `timestamp_UID` and returns the verified time in Unix seconds.
    @discardableResult
    public func verifyUser(uid: String, timestamp: String, signature: String) throws(SignatureFailure) -> Int64 {
        try requireNonEmpty(uid, field: "uid")
        let (seconds, presented) = try checkedTimeAndSignature(timestamp: timestamp, signature: signature)
        guard secret.matches(presented, timestamp, uid) else {
            throw .signatureMismatch
        }
        return seconds
    }

    /// Verifies a friend signature over `timestamp_friendUID_UID`.
    public func verifyFriend(uid: String, friendUID: String, timestamp: String, signature: String) throws(SignatureFailure) {
        try requireNonEmpty(uid, field: "uid")
        try requireNonEmpty(friendUID, field: "friendUID")
        let (_, presented) = try checkedTimeAndSignature(timestamp: timestamp, signature: signature)
        guard secret.matches(presented, timestamp, friendUID, uid) else {
            throw .signatureMismatch
        }
    }

    /// Verifies getSessionInfo's `providerUIDSig` over `timestamp_providerUID`.
    public func verifyProviderUID(providerUID: String, timestamp: String, signature: String) throws(SignatureFailure) {
        try requireNonEmpty(providerUID, field: "providerUID")
        let (_, presented) = try checkedTimeAndSignature(timestamp: timestamp, signature: signature)
        guard secret.matches(presented, timestamp, providerUID) else {
            throw .signatureMismatch
        }
    }

    /// Creates a verifier from a secret given as base64 (as tools receive it); a bad secret is `.invalidSecret`.
    public init(secretBase64: String, windowSeconds: Int64 = 300, clock: any WallClock = SystemWallClock()) throws(SignatureFailure) {
        do {
            self.init(secret: try GigyaSecret(base64: secretBase64), windowSeconds: windowSeconds, clock: clock)
        } catch {
            throw .invalidSecret
        }
    }

    /// Parses the timestamp and the presented signature, then applies the window; returns both parsed.
    @inline(__always)
    private func checkedTimeAndSignature(timestamp: String, signature: String) throws(SignatureFailure) -> (seconds: Int64, signature: SHA1MACBytes) {
        guard let seconds = Self.parseSeconds(timestamp) else {
            throw .malformed(field: "timestamp", reason: "not a decimal integer of Unix seconds")
        }
        guard let presented = SHA1MACBytes(base64: signature) else {
            throw .malformed(field: "signature", reason: "not 28 characters of base64 encoding 20 bytes")
        }
        // A clock set near Int64.min could overflow; such a skew is simply out of any window.
        let (difference, overflow) = clock.now().subtractingReportingOverflow(seconds)
        let skew = overflow ? Int64.min : difference
        guard skew <= windowSeconds, skew >= -windowSeconds else {
            throw .timestampOutsideWindow(skewSeconds: skew)
        }
        return (seconds, presented)
    }

    /// Requires a non-empty identifier.
    @inline(__always)
    private func requireNonEmpty(_ value: String, field: String) throws(SignatureFailure) {
        guard !value.isEmpty else {
            throw .malformed(field: field, reason: "empty")
        }
    }

    /// Parses 1 to 18 ASCII digits (docs/gigya-protocol.md §2: `signatureTimestamp` is integer seconds); nil otherwise.
    static func parseSeconds(_ text: String) -> Int64? {
        var value: Int64 = 0
        var count = 0
        for byte in text.utf8 {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10, count < 18 else {
                return nil
            }
            value = value * 10 + Int64(digit)
            count += 1
        }
        return count > 0 ? value : nil
    }
}
