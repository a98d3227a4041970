/// A fault asked for with `POST /_emulator/faults`: what to do to the next calls of a method.
public struct EmulatorFault: Sendable, Codable, Equatable {
    /// Assigned by the emulator, for listing.
    public var id: Int?
    /// The REST method it applies to (`socialize.getSessionInfo`), or `*` for every method.
    public var method: String
    /// Added delay before the call is handled (or failed).
    public var latencyMs: Int?
    /// A Gigya error code to answer with.
    public var errorCode: Int?
    /// An HTTP status (500-599) to answer with.
    public var httpStatus: Int?
    /// Close the TCP connection without any HTTP response.
    public var dropConnection: Bool?
    /// Apply to this many calls, then disappear; nil means until cleared.
    public var count: Int?
    /// Apply to this fraction (0…1) of calls; nil means every call.
    public var fraction: Double?

    /// Creates a fault.
    public init(
        method: String,
        latencyMs: Int? = nil,
        errorCode: Int? = nil,
        httpStatus: Int? = nil,
        dropConnection: Bool? = nil,
        count: Int? = nil,
        fraction: Double? = nil
    ) {
        self.method = method
        self.latencyMs = latencyMs
        self.errorCode = errorCode
        self.httpStatus = httpStatus
        self.dropConnection = dropConnection
        self.count = count
        self.fraction = fraction
    }

    /// Why the fault cannot be installed, or nil.
    var problem: String? {
        if method.isEmpty {
            return "method is empty"
        }
        if let latencyMs, latencyMs < 0 || latencyMs > 600_000 {
            return "latencyMs must be 0...600000"
        }
        if let httpStatus, !(500...599).contains(httpStatus) {
            return "httpStatus must be 500...599"
        }
        if let errorCode, errorCode <= 0 {
            return "errorCode must be positive"
        }
        if let count, count < 1 {
            return "count must be at least 1"
        }
        if let fraction, !(0...1).contains(fraction) {
            return "fraction must be 0...1"
        }
        if latencyMs == nil, errorCode == nil, httpStatus == nil, dropConnection != true {
            return "a fault needs latencyMs, errorCode, httpStatus or dropConnection"
        }
        return nil
    }
}
