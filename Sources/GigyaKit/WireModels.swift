public import Foundation

/// The fields every Gigya JSON response carries (docs/gigya-protocol.md §5).
public struct GigyaResponseStatus: Codable, Sendable, Equatable {
    /// 0 on success; missing means 0, as the Java SDK reads it.
    public var errorCode: Int
    /// A short message.
    public var errorMessage: String?
    /// A longer explanation.
    public var errorDetails: String?
    /// The HTTP-like status (the HTTP status is always 200 with `httpStatusCodes=false`).
    public var statusCode: Int?
    /// The reason phrase of `statusCode`.
    public var statusReason: String?
    /// The transaction id, for support and logs.
    public var callId: String?
    /// The server time, ISO-8601 UTC with milliseconds (see `GigyaTime`).
    public var time: String?
    /// The API version.
    public var apiVersion: Int?
    /// The data centre to use instead, on 301001.
    public var apiDomain: String?

    /// Creates a status.
    public init(
        errorCode: Int = 0,
        errorMessage: String? = nil,
        errorDetails: String? = nil,
        statusCode: Int? = nil,
        statusReason: String? = nil,
        callId: String? = nil,
        time: String? = nil,
        apiVersion: Int? = nil,
        apiDomain: String? = nil
    ) {
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.errorDetails = errorDetails
        self.statusCode = statusCode
        self.statusReason = statusReason
        self.callId = callId
        self.time = time
        self.apiVersion = apiVersion
        self.apiDomain = apiDomain
    }

    /// A status for an error code, with its canonical message, status and reason.
    public init(code: GigyaErrorCode, details: String? = nil, callId: String? = nil, time: String? = nil) {
        self.init(
            errorCode: code.rawValue,
            errorMessage: code.message,
            errorDetails: details,
            statusCode: code.statusCode,
            statusReason: code.statusReason,
            callId: callId,
            time: time,
            apiVersion: 2
        )
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        errorCode = try container.decodeIfPresent(Int.self, forKey: .errorCode) ?? 0
        errorMessage = try container.decodeIfPresent(String.self, forKey: .errorMessage)
        errorDetails = try container.decodeIfPresent(String.self, forKey: .errorDetails)
        statusCode = try container.decodeIfPresent(Int.self, forKey: .statusCode)
        statusReason = try container.decodeIfPresent(String.self, forKey: .statusReason)
        callId = try container.decodeIfPresent(String.self, forKey: .callId)
        time = try container.decodeIfPresent(String.self, forKey: .time)
        apiVersion = try container.decodeIfPresent(Int.self, forKey: .apiVersion)
        apiDomain = try container.decodeIfPresent(String.self, forKey: .apiDomain)
    }

    /// Reads the status from an already parsed body, so a response is parsed once; nil unless the body is a JSON object
    /// whose status fields have the types `Decodable` would accept.
    public init?(body: GigyaJSON) {
        guard case .object = body else {
            return nil
        }
        /// A field that is absent or null, or of the wanted type; `.some(nil)` is "absent", `nil` is "wrong type".
        func field<T>(_ key: String, _ read: (GigyaJSON) -> T?) -> T?? {
            guard let value = body[key], value != .null else {
                return .some(nil)
            }
            return read(value).map { .some($0) } ?? nil
        }
        guard let errorCode = field("errorCode", \.intValue), let errorMessage = field("errorMessage", \.stringValue),
            let errorDetails = field("errorDetails", \.stringValue), let statusCode = field("statusCode", \.intValue),
            let statusReason = field("statusReason", \.stringValue), let callId = field("callId", \.stringValue),
            let time = field("time", \.stringValue), let apiVersion = field("apiVersion", \.intValue),
            let apiDomain = field("apiDomain", \.stringValue)
        else {
            return nil
        }
        self.init(
            errorCode: errorCode ?? 0, errorMessage: errorMessage, errorDetails: errorDetails, statusCode: statusCode,
            statusReason: statusReason, callId: callId, time: time, apiVersion: apiVersion, apiDomain: apiDomain
        )
    }

    /// The error code as a typed value.
    public var code: GigyaErrorCode { GigyaErrorCode(rawValue: errorCode) }
}

/// getSessionInfo's provider-session fields (docs/gigya-protocol.md §4); encrypted fields stay base64 here.
public struct SessionInfoPayload: Codable, Sendable, Equatable {
    /// The provider's access token.
    public var authToken: String?
    /// The provider token secret, AES-CBC encrypted and base64 when `IV` is present.
    public var tokenSecret: String?
    /// The provider session handle, encrypted like `tokenSecret`.
    public var sessionHandle: String?
    /// The token expiry (documented as `tokenExpirationUTC`; `tokenExpiration` is accepted too).
    public var tokenExpiration: String?
    /// The session expiry.
    public var sessionExpiration: String?
    /// The base64 IV of the encrypted fields.
    public var IV: String?
    /// The user's id at the provider.
    public var providerUID: String?
    /// The signing time of `providerUIDSig` (only with `signIDs=true`); a string or a number on the wire.
    public var timestamp: String?
    /// The signature over `timestamp_providerUID`.
    public var providerUIDSig: String?

    /// Creates a payload.
    public init(
        authToken: String? = nil,
        tokenSecret: String? = nil,
        sessionHandle: String? = nil,
        tokenExpiration: String? = nil,
        sessionExpiration: String? = nil,
        IV: String? = nil,
        providerUID: String? = nil,
        timestamp: String? = nil,
        providerUIDSig: String? = nil
    ) {
        self.authToken = authToken
        self.tokenSecret = tokenSecret
        self.sessionHandle = sessionHandle
        self.tokenExpiration = tokenExpiration
        self.sessionExpiration = sessionExpiration
        self.IV = IV
        self.providerUID = providerUID
        self.timestamp = timestamp
        self.providerUIDSig = providerUIDSig
    }

    /// The wire names.
    private enum CodingKeys: String, CodingKey {
        case authToken, tokenSecret, sessionHandle, tokenExpiration, tokenExpirationUTC, sessionExpiration, IV, providerUID
        case timestamp, providerUIDSig
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        authToken = try Self.lenientString(container, .authToken)
        tokenSecret = try Self.lenientString(container, .tokenSecret)
        sessionHandle = try Self.lenientString(container, .sessionHandle)
        tokenExpiration = try Self.lenientString(container, .tokenExpirationUTC) ?? Self.lenientString(container, .tokenExpiration)
        sessionExpiration = try Self.lenientString(container, .sessionExpiration)
        IV = try Self.lenientString(container, .IV)
        providerUID = try Self.lenientString(container, .providerUID)
        timestamp = try Self.lenientString(container, .timestamp)
        providerUIDSig = try Self.lenientString(container, .providerUIDSig)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(authToken, forKey: .authToken)
        try container.encodeIfPresent(tokenSecret, forKey: .tokenSecret)
        try container.encodeIfPresent(sessionHandle, forKey: .sessionHandle)
        try container.encodeIfPresent(tokenExpiration, forKey: .tokenExpirationUTC)
        try container.encodeIfPresent(sessionExpiration, forKey: .sessionExpiration)
        try container.encodeIfPresent(IV, forKey: .IV)
        try container.encodeIfPresent(providerUID, forKey: .providerUID)
        try container.encodeIfPresent(timestamp, forKey: .timestamp)
        try container.encodeIfPresent(providerUIDSig, forKey: .providerUIDSig)
    }

    /// Reads a value that Gigya may send as a string or a number (timestamps and expirations), as a string.
    private static func lenientString(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else {
            return nil
        }
        if let text = try? container.decode(String.self, forKey: key) {
            return text
        }
        if let integer = try? container.decode(Int64.self, forKey: key) {
            return String(integer)
        }
        if let number = try? container.decode(Double.self, forKey: key) {
            return String(number)
        }
        throw DecodingError.typeMismatch(
            String.self,
            DecodingError.Context(codingPath: container.codingPath + [key], debugDescription: "expected a string or a number")
        )
    }
}

/// The `time` field's format: ISO-8601 UTC with milliseconds, `2018-11-02T19:33:33.883Z` (docs/gigya-protocol.md §5).
public enum GigyaTime {
    /// Formats Unix milliseconds.
    public static func format(unixMilliseconds: Int64) -> String {
        let millisecondsInDay: Int64 = 86_400_000
        var days = unixMilliseconds / millisecondsInDay
        var rest = unixMilliseconds % millisecondsInDay
        if rest < 0 {
            rest += millisecondsInDay
            days -= 1
        }
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let hour = rest / 3_600_000
        let minute = rest / 60_000 % 60
        let second = rest / 1000 % 60
        let millisecond = rest % 1000
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":"
            + pad(second, 2) + "." + pad(millisecond, 3) + "Z"
    }

    /// Formats a date.
    public static func format(_ date: Date) -> String {
        format(unixMilliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS.mmmZ` (milliseconds optional) into Unix milliseconds; nil for any other shape.
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 || bytes.count == 24, bytes.last == UInt8(ascii: "Z") else {
            return nil
        }
        /// Reads `count` digits at `offset`.
        func number(_ offset: Int, _ count: Int) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[offset..<offset + count] {
                let digit = byte &- UInt8(ascii: "0")
                guard digit < 10 else {
                    return nil
                }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        let separators: [(Int, Character)] = [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":")]
        guard separators.allSatisfy({ bytes[$0.0] == $0.1.asciiValue }),
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else {
            return nil
        }
        var millisecond: Int64 = 0
        if bytes.count == 24 {
            guard bytes[19] == UInt8(ascii: "."), let parsed = number(20, 3) else {
                return nil
            }
            millisecond = parsed
        }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millisecond
    }

    /// Howard Hinnant's `civil_from_days`.
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a proleptic Gregorian date.
    public static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Left-pads a non-negative number with zeros.
    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
