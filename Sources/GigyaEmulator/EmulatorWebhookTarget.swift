/// The body and answer of `POST /_emulator/webhooks/target`: where notifications go from now on (nil: nowhere).
public struct EmulatorWebhookTarget: Sendable, Codable, Equatable {
    /// An `http` or `https` URL, or nil to stop delivering (notifications are then logged as undeliverable).
    public var url: String?

    /// Creates a target.
    public init(url: String?) {
        self.url = url
    }

    /// Encodes `url` even when nil, so `{"url": null}` clears the target explicitly.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(url, forKey: .url)
    }
}
