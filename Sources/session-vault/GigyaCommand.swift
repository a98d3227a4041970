import ArgumentParser
import Foundation
import GigyaKit

/// `session-vault gigya …`: Gigya's protocol at the command line, for debugging "invalid signature" errors.
struct GigyaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gigya",
        abstract: "Sign, verify and decrypt exactly as Gigya's server SDKs do.",
        subcommands: [
            GigyaSignRequest.self,
            GigyaVerifyLogin.self,
            GigyaVerifyFriend.self,
            GigyaDecrypt.self,
            GigyaCall.self,
        ]
    )
}

/// Parses a base64 secret or exits with the reason.
private func parseSecret(_ base64: String) throws -> GigyaSecret {
    do {
        return try GigyaSecret(base64: base64)
    } catch {
        throw ValidationError("--secret: \(error)")
    }
}

/// `gigya sign-request`: prints the signed request without sending it.
struct GigyaSignRequest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-request",
        abstract: "Print the URL, base string, sig and params of a signed REST call, without sending it."
    )

    @Argument(help: "The API method, such as socialize.getSessionInfo (no namespace means socialize).")
    var method: String

    @Argument(help: "Request parameters as key=value.")
    var parameters: [String] = []

    @Option(help: "The site API key.")
    var apiKey: String

    @Option(help: "The partner secret, or the user key's secret with --user-key (base64).")
    var secret: String

    @Option(help: "A user or application key, sent and signed as userKey.")
    var userKey: String?

    @Option(help: "The data centre or API domain (us1, eu1, au1, ru1, cn1, or a full domain).")
    var apiDomain: String = "us1.gigya.com"

    @Option(help: "https or http; the scheme is part of the signature.")
    var scheme: String = "https"

    @Option(help: "The Unix timestamp to sign (default: now).")
    var timestamp: Int64?

    @Option(help: "The nonce to sign (default: a fresh one).")
    var nonce: String?

    @Option(help: "The sdk parameter, to reproduce a request signed by another SDK.")
    var sdk: String = RequestSigner.defaultSDK

    @Flag(help: "Print JSON: {\"url\", \"baseString\", \"sig\", \"params\"} with sorted keys.")
    var json = false

    func validate() throws {
        guard ["https", "http"].contains(scheme.lowercased()) else {
            throw ValidationError("--scheme must be https or http")
        }
    }

    func run() throws {
        var params: [String: String] = [:]
        for pair in parameters {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("parameter '\(pair)' is not key=value")
            }
            params[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        let endpoint = GigyaEndpoint(method: method, apiDomain: apiDomain, scheme: scheme)
        let nowMilliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let signer = RequestSigner(apiKey: apiKey, secret: try parseSecret(secret), userKey: userKey, sdk: sdk)
        let signed = signer.sign(
            method: endpoint.method,
            params: params,
            url: endpoint.url,
            timestamp: timestamp ?? nowMilliseconds / 1000,
            nonce: nonce ?? RequestSigner.makeNonce(nowMilliseconds: nowMilliseconds)
        )
        if json {
            let object: [String: Any] = ["url": signed.url, "baseString": signed.baseString, "sig": signed.signature, "params": signed.params]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(signed.httpMethod) \(signed.url)")
            print("base string: \(signed.baseString)")
            print("sig:         \(signed.signature)")
            print("params:")
            for key in signed.params.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                print("  \(key)=\(signed.params[key]!)")
            }
            print("body:        \(signed.formBody)")
        }
    }
}

/// Options shared by the two login-signature checks.
struct SignatureCheckOptions: ParsableArguments {
    @Option(help: "The signature timestamp (signatureTimestamp), in Unix seconds.")
    var timestamp: String

    @Option(help: "The signature to check (base64).")
    var signature: String

    @Option(help: "The partner secret (base64).")
    var secret: String

    @Option(help: "The allowed |now - timestamp|, in seconds.")
    var windowSeconds: Int64 = 300

    @Option(help: "Check as if the time were this Unix timestamp (default: now).")
    var now: Int64?

    /// The clock the check runs against.
    var clock: any WallClock {
        now.map { ManualWallClock($0) } ?? SystemWallClock()
    }

    /// Runs a check with a verifier built from these options: prints `valid`, or the reason and exits 1.
    func report(_ check: (LoginSignatureVerifier) throws(SignatureFailure) -> Void) throws {
        do throws(SignatureFailure) {
            try check(LoginSignatureVerifier(secretBase64: secret, windowSeconds: windowSeconds, clock: clock))
            print("valid")
        } catch {
            print("invalid: \(error.code): \(error.description)")
            throw ExitCode(1)
        }
    }
}

/// `gigya verify-login`: checks a login's `UIDSignature`.
struct GigyaVerifyLogin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-login",
        abstract: "Check a login's UIDSignature over timestamp_UID: prints valid (exit 0) or the reason (exit 1)."
    )

    @Option(help: "The user's UID.")
    var uid: String

    @OptionGroup var check: SignatureCheckOptions

    func run() throws {
        try check.report { verifier throws(SignatureFailure) in
            try verifier.verifyUser(uid: uid, timestamp: check.timestamp, signature: check.signature)
        }
    }
}

/// `gigya verify-friend`: checks a friend signature.
struct GigyaVerifyFriend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-friend",
        abstract: "Check a friend signature over timestamp_friendUID_UID: prints valid (exit 0) or the reason (exit 1)."
    )

    @Option(help: "The user's UID.")
    var uid: String

    @Option(help: "The friend's UID.")
    var friendUID: String

    @OptionGroup var check: SignatureCheckOptions

    func run() throws {
        try check.report { verifier throws(SignatureFailure) in
            try verifier.verifyFriend(uid: uid, friendUID: friendUID, timestamp: check.timestamp, signature: check.signature)
        }
    }
}

/// `gigya decrypt`: decrypts a getSessionInfo `tokenSecret` or `sessionHandle`.
struct GigyaDecrypt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt",
        abstract: "Decrypt a getSessionInfo tokenSecret or sessionHandle (AES-CBC, key = the partner secret)."
    )

    @Option(help: "The partner secret (base64).")
    var secret: String

    @Option(help: "The IV field of the response (base64).")
    var iv: String

    @Option(help: "The paddingMode the call asked for: PKCS7, PKCS5 or ZEROS.", transform: { text in
        guard let mode = PaddingMode(parsing: text) else {
            throw ValidationError("--padding must be PKCS7, PKCS5 or ZEROS")
        }
        return mode
    })
    var padding: PaddingMode = .pkcs7

    @Argument(help: "The encrypted field (base64).")
    var ciphertextBase64: String

    func run() throws {
        do {
            let cipher = try TokenCipher(secret: try GigyaSecret(base64: secret))
            print(try cipher.decrypt(ciphertextBase64, ivBase64: iv, padding: padding))
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
