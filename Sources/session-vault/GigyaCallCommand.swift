import ArgumentParser
import AsyncHTTPClient
import Foundation
import GigyaClient
import GigyaKit
import Logging

/// `gigya call`: sends one signed REST call to a configured site and prints Gigya's answer, secrets masked.
struct GigyaCall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Send a signed REST call and print the response JSON (tokens masked unless --show-secrets).",
        discussion: """
            The site comes from the flags, else from GIGYA_API_KEY, GIGYA_SECRET, GIGYA_USER_KEY, GIGYA_API_DOMAIN and \
            GIGYA_BASE_URL. Exits 1 when Gigya answers with an errorCode other than 0 (the body is still printed).
            """
    )

    @Argument(help: "The API method, such as socialize.getUserInfo (no namespace means socialize).")
    var method: String

    @Argument(help: "Request parameters as key=value.")
    var parameters: [String] = []

    @Option(help: "The site API key (default: $GIGYA_API_KEY).")
    var apiKey: String?

    @Option(help: "The partner secret, or the user key's secret with --user-key, base64 (default: $GIGYA_SECRET). Visible to other local users in the process list: prefer the environment, --secret-file or --secret-stdin.")
    var secret: String?

    @Option(help: "Read the secret from this file (its first line).")
    var secretFile: String?

    @Flag(help: "Read the secret from standard input (its first line).")
    var secretStdin = false

    @Option(help: "A user or application key (default: $GIGYA_USER_KEY).")
    var userKey: String?

    @Option(help: "The data centre or API domain: us1, eu1, au1, ru1, cn1 or a full domain (default: $GIGYA_API_DOMAIN, else us1).")
    var apiDomain: String?

    @Option(help: "Send to this base URL instead of https://<ns>.<apiDomain>, e.g. an emulator (default: $GIGYA_BASE_URL).")
    var baseURL: String?

    @Option(help: "Seconds to wait for each attempt.")
    var timeoutSeconds: Int = 10

    @Flag(help: "Print tokens, secrets and decrypted values in clear.")
    var showSecrets = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let site = try siteConfiguration(environment: environment)
        let params = try parsedParameters()
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let client = GigyaRESTClient(site: site, httpClient: httpClient, logger: Logger(label: "session-vault.gigya"))
        let outcome: Result<GigyaJSON, GigyaCallError>
        do {
            outcome = .success(try await client.response(method: method, params: params))
        } catch {
            outcome = .failure(error)
        }
        try await httpClient.shutdown()
        switch outcome {
        case .success(let body):
            let shown = ResponseMasking.present(body, decryptingWith: site.partnerSecret ?? site.secret, showSecrets: showSecrets)
            print(shown.jsonText())
            if let code = body["errorCode"]?.intValue, code != 0 {
                throw ExitCode(1)
            }
        case .failure(let error):
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The site from flags, else the environment; names every missing setting.
    func siteConfiguration(environment: [String: String]) throws -> GigyaSiteConfiguration {
        /// A flag's value, else the environment's; empty counts as missing.
        func setting(_ flag: String?, _ variable: String) -> String? {
            (flag ?? environment[variable]).flatMap { $0.isEmpty ? nil : $0 }
        }
        let key = setting(apiKey, "GIGYA_API_KEY")
        guard [secret != nil, secretFile != nil, secretStdin].filter({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --secret, --secret-file and --secret-stdin")
        }
        if secret != nil {
            FileHandle.standardError.write(Data("warning: a secret given as a flag is visible in the process list and shell history\n".utf8))
        }
        let secretText: String?
        if let secretFile {
            guard let contents = try? String(contentsOfFile: secretFile, encoding: .utf8) else {
                throw ValidationError("--secret-file: cannot read the file")
            }
            secretText = Self.firstLine(contents)
        } else if secretStdin {
            secretText = readLine(strippingNewline: true).flatMap(Self.firstLine)
        } else {
            secretText = setting(secret, "GIGYA_SECRET")
        }
        let missing = [key == nil ? "--api-key or GIGYA_API_KEY" : nil, secretText == nil ? "--secret-file, --secret-stdin or GIGYA_SECRET" : nil]
            .compactMap { $0 }
        guard let key, let secretText else {
            throw ValidationError("missing " + missing.joined(separator: " and "))
        }
        let parsedSecret: GigyaSecret
        do {
            parsedSecret = try GigyaSecret(base64: secretText)
        } catch {
            throw ValidationError("the secret: \(error)")
        }
        guard timeoutSeconds > 0 else {
            throw ValidationError("--timeout-seconds must be positive")
        }
        return GigyaSiteConfiguration(
            apiKey: key,
            secret: parsedSecret,
            userKey: setting(userKey, "GIGYA_USER_KEY"),
            apiDomain: setting(apiDomain, "GIGYA_API_DOMAIN") ?? DataCenter.us1.apiDomain,
            baseURL: setting(baseURL, "GIGYA_BASE_URL"),
            timeout: .seconds(timeoutSeconds)
        )
    }

    /// The first line of a secret file or stream, trimmed; nil when empty.
    static func firstLine(_ text: String) -> String? {
        let line = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) }
        return line?.isEmpty == false ? line : nil
    }

    /// `key=value` arguments as params; the value may be empty or hold `=`.
    func parsedParameters() throws -> [String: String] {
        var params: [String: String] = [:]
        for pair in parameters {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("parameter '\(pair)' is not key=value")
            }
            params[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return params
    }
}

/// What `gigya call` prints: encrypted getSessionInfo fields decrypted, and secret-looking values masked.
enum ResponseMasking {
    /// The fields getSessionInfo may encrypt under `IV` (docs/gigya-protocol.md §4).
    static let encryptedFields = ["tokenSecret", "sessionHandle", "authToken"]

    /// Decrypts what `IV` covers (a field that does not decrypt is left as sent), then masks unless `showSecrets`.
    static func present(_ body: GigyaJSON, decryptingWith secret: GigyaSecret, showSecrets: Bool) -> GigyaJSON {
        var shown = body
        if case .object(var members) = body, let iv = members["IV"]?.stringValue, let cipher = try? TokenCipher(secret: secret) {
            for field in encryptedFields {
                if let value = members[field]?.stringValue, let plain = try? cipher.decrypt(value, ivBase64: iv, padding: .pkcs7) {
                    members[field] = .string(plain)
                }
            }
            shown = .object(members)
        }
        return showSecrets ? shown : mask(shown)
    }

    /// Replaces every string under a key named like `*secret*`, `*token*`, `*signature*`, `*Sig`, `sessionHandle` or
    /// `cookieValue` by "•••" and its length.
    static func mask(_ value: GigyaJSON, key: String? = nil) -> GigyaJSON {
        switch value {
        case .object(let members):
            return .object(Dictionary(uniqueKeysWithValues: members.map { ($0.key, mask($0.value, key: $0.key)) }))
        case .array(let elements):
            return .array(elements.map { mask($0, key: key) })
        case .string(let text) where key.map(isSensitive) == true:
            return .string("•••\(text.count)")
        default:
            return value
        }
    }

    /// Whether a key names a secret or a signature; expiry times such as `tokenExpirationUTC` are not secrets and stay
    /// readable. Signatures (`UIDSignature`, `UIDSig`, `providerUIDSig`) let a holder replay a login result, and
    /// `cookieValue` is a session.
    static func isSensitive(_ key: String) -> Bool {
        let lowered = key.lowercased()
        guard !lowered.contains("expiration"), !lowered.contains("expires") else {
            return false
        }
        return lowered.contains("secret") || lowered.contains("token") || lowered == "sessionhandle" || lowered.contains("signature")
            || lowered.hasSuffix("sig") || lowered == "cookievalue"
    }
}
