import Foundation
import GigyaEmulator
import Testing

/// `session-vault gigya call`, run as the real executable: secrets never printed, and where the secret may come from.
@Suite("gigya call: masking and secret input")
struct GigyaCallCommandTests {
    /// The built executable; `swift build` (which `.ci/run` runs first) makes it.
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/session-vault").path

    @Test("tokens and signatures in Gigya's answer are masked; the secret comes from a file or stdin, and a flag warns")
    func masksAndTakesSecretsSafely() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "\(Self.binary) is missing: run `swift build` before `swift test`")
        let site = GigyaEmulator.demoSite()
        let emulator = try await GigyaEmulator.start(configuration: EmulatorConfiguration(sites: [site]))
        defer { Task { await emulator.stop() } }
        let login = try await EmulatorControlClient(emulator).login(apiKey: site.apiKey, provider: "facebook")
        let truth = try #require(try await EmulatorControlClient(emulator).user(uid: login.UID).sessions["facebook"])
        let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("sv-secret-\(UUID().uuidString)").path
        try (site.partnerSecret + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        let call = ["gigya", "call", "socialize.getSessionInfo", "UID=\(login.UID)", "provider=facebook", "signIDs=true",
                    "--api-key", site.apiKey, "--base-url", emulator.baseURL]

        let fromFile = try Self.run(call + ["--secret-file", secretFile])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(fromFile.stdout.contains("providerUIDSig"))
        for plaintext in [truth.authToken, truth.tokenSecret, truth.sessionHandle, site.partnerSecret] {
            #expect(!fromFile.stdout.contains(plaintext) && !fromFile.stderr.contains(plaintext))
        }
        #expect(!fromFile.stderr.contains("warning"))
        // Masked values print as their length only: the tokens, the session handle and providerUIDSig (a signature).
        #expect(fromFile.stdout.components(separatedBy: "•••").count - 1 >= 4, "\(fromFile.stdout)")

        let fromStdin = try Self.run(call + ["--secret-stdin"], input: site.partnerSecret + "\n")
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        #expect(!fromStdin.stdout.contains(truth.tokenSecret))

        let fromFlag = try Self.run(call + ["--secret", site.partnerSecret])
        #expect(fromFlag.status == 0)
        #expect(fromFlag.stderr.contains("warning: a secret given as a flag"))
        #expect(!fromFlag.stdout.contains(site.partnerSecret))

        let both = try Self.run(call + ["--secret", site.partnerSecret, "--secret-file", secretFile])
        #expect(both.status != 0)
        #expect(!both.stderr.contains(site.partnerSecret) && !both.stdout.contains(site.partnerSecret))
        await emulator.stop()
    }

    /// Runs the executable with `arguments` and optional standard input; returns its exit status and output.
    static func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for name in ["GIGYA_API_KEY", "GIGYA_SECRET", "GIGYA_USER_KEY", "GIGYA_BASE_URL", "GIGYA_API_DOMAIN"] { environment[name] = nil }
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}
