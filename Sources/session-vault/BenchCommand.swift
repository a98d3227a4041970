import ArgumentParser
import Foundation
import GigyaKit

/// `session-vault bench …`: single-threaded micro-benchmarks.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure session-vault's hot paths.",
        subcommands: [
            BenchCrypto.self,
            BenchIntake.self,
            BenchPipeline.self,
            BenchReads.self,
            BenchReconcile.self,
        ]
    )
}

/// `bench crypto`: user-signature verifications and token decryptions per second, on one thread.
struct BenchCrypto: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crypto",
        abstract: "Login-signature verifications and AES-CBC token decryptions per second, single-threaded."
    )

    @Option(help: "Seconds to run each measurement.")
    var seconds: Double = 3

    @Option(help: "The partner secret to use (base64; 24 bytes for AES-192 like a real one).")
    var secret: String = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"

    func validate() throws {
        guard seconds > 0 else {
            throw ValidationError("--seconds must be positive")
        }
    }

    func run() throws {
        let secret: GigyaSecret
        do {
            secret = try GigyaSecret(base64: self.secret)
        } catch {
            throw ValidationError("--secret: \(error)")
        }
        let now: Int64 = 1_700_000_000
        let verifier = LoginSignatureVerifier(secret: secret, clock: ManualWallClock(now))
        // Realistic inputs: 32-hex-digit UIDs, timestamps inside the window, signatures computed beforehand.
        let logins: [(uid: String, timestamp: String, signature: String)] = (0..<1024).map { index in
            let uid = String(format: "%08x6f1bf2b8d7e14c0f9c1f0e1e", index)
            let timestamp = String(now - Int64(index % 300))
            return (uid, timestamp, secret.signature(for: SignatureBase.user(timestamp: timestamp, uid: uid)))
        }
        let verifyRate = try measure(label: "verify", seconds: seconds) { iteration in
            let login = logins[iteration & 1023]
            try verifier.verifyUser(uid: login.uid, timestamp: login.timestamp, signature: login.signature)
        }

        let cipher: TokenCipher
        do {
            cipher = try TokenCipher(secret: secret)
        } catch {
            throw ValidationError("--secret: \(error)")
        }
        let iv = TokenCipher.randomIV()
        let ivBase64 = Data(iv).base64EncodedString()
        // A typical OAuth1 tokenSecret is about 24 characters: two AES blocks with PKCS#7 padding.
        let tokens = try (0..<64).map { index in
            try cipher.encrypt("oauthTokenSecret-XYZ-\(String(index + 100))", iv: iv, padding: .pkcs7)
        }
        let decryptRate = try measure(label: "decrypt", seconds: seconds) { iteration in
            let plaintext = try cipher.decrypt(tokens[iteration & 63], ivBase64: ivBase64, padding: .pkcs7)
            if plaintext.utf8.count != 24 {
                throw ValidationError("decryption produced the wrong plaintext")
            }
        }
        print("verify_per_s=\(Int(verifyRate)) decrypt_per_s=\(Int(decryptRate))")
    }

    /// Runs `body` in batches until `seconds` have passed and returns operations per second.
    private func measure(label: String, seconds: Double, _ body: (Int) throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        // Warm caches and the allocator first.
        for iteration in 0..<10_000 {
            try body(iteration)
        }
        let budget = Duration.milliseconds(Int64(seconds * 1000))
        let start = clock.now
        var operations = 0
        var elapsed = Duration.zero
        while elapsed < budget {
            for iteration in operations..<(operations + 4096) {
                try body(iteration)
            }
            operations += 4096
            elapsed = clock.now - start
        }
        let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(operations) / elapsedSeconds
        print("\(label): \(operations) operations in \(formatted(elapsedSeconds)) s = \(Int(rate))/s (\(formatted(1e9 / rate)) ns each)")
        return rate
    }

    /// Two decimals.
    private func formatted(_ value: Double) -> String {
        String(format: "%.2f", value)
    }
}
