public import Hummingbird
public import VaultStore

// Store values the API answers with as they are: encoded by the context's response encoder.
extension SessionMetadata: ResponseGenerator, ResponseEncodable {}
extension AccountEventReceipt: ResponseGenerator, ResponseEncodable {}
