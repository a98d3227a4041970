/// What a caller should do about a Gigya `errorCode` (docs/gigya-protocol.md §1.5, §5).
public enum GigyaErrorDisposition: String, Sendable, Hashable {
    /// The call succeeded (0, 2000xx "responses", 206001/206002).
    case success
    /// Transient: retry with backoff.
    case retryable
    /// The request timestamp was refused: correct the clock offset from the response `Date` and retry once.
    case clockSkew
    /// The API key lives in another data centre: retry once against the returned `apiDomain`.
    case wrongDataCenter
    /// The user has no live provider session: for getSessionInfo, "no provider token".
    case noSession
    /// Retrying cannot help.
    case permanent
}

/// A Gigya `errorCode`, with the canonical message and the HTTP-like status of the "Response Codes and Errors" table.
public struct GigyaErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int

    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// 0: OK.
    public static let ok = Self(rawValue: 0)
    /// 100001: data still being processed.
    public static let dataPending = Self(rawValue: 100_001)
    /// 200001: operation canceled.
    public static let operationCanceled = Self(rawValue: 200_001)
    /// 200008: OK, with errors.
    public static let okWithErrors = Self(rawValue: 200_008)
    /// 200009: accounts linked.
    public static let accountsLinked = Self(rawValue: 200_009)
    /// 200010: OK, login identifier exists.
    public static let okWithLoginIdentifierExists = Self(rawValue: 200_010)
    /// 206001: account pending registration.
    public static let accountPendingRegistration = Self(rawValue: 206_001)
    /// 206002: account pending verification.
    public static let accountPendingVerification = Self(rawValue: 206_002)
    /// 206003: account missing a login ID.
    public static let accountMissingLoginID = Self(rawValue: 206_003)
    /// 301001: the API key is served by another data centre.
    public static let invalidDataCenter = Self(rawValue: 301_001)
    /// 400001: invalid request format.
    public static let invalidRequestFormat = Self(rawValue: 400_001)
    /// 400002: a required parameter is missing.
    public static let missingRequiredParameter = Self(rawValue: 400_002)
    /// 400006: invalid parameter value.
    public static let invalidParameterValue = Self(rawValue: 400_006)
    /// 400009: validation error.
    public static let validationError = Self(rawValue: 400_009)
    /// 400093: invalid API key.
    public static let invalidAPIKey = Self(rawValue: 400_093)
    /// 403000: forbidden.
    public static let forbidden = Self(rawValue: 403_000)
    /// 403002: the request has expired (clock skew).
    public static let requestHasExpired = Self(rawValue: 403_002)
    /// 403003: invalid request signature.
    public static let invalidRequestSignature = Self(rawValue: 403_003)
    /// 403004: duplicate nonce.
    public static let duplicateNonce = Self(rawValue: 403_004)
    /// 403005: unauthorized user.
    public static let unauthorizedUser = Self(rawValue: 403_005)
    /// 403006: a secret was sent over HTTP.
    public static let secretSentOverHTTP = Self(rawValue: 403_006)
    /// 403007: permission denied.
    public static let permissionDenied = Self(rawValue: 403_007)
    /// 403009: the provider session has expired.
    public static let providerSessionExpired = Self(rawValue: 403_009)
    /// 403010: invalid secret.
    public static let invalidSecret = Self(rawValue: 403_010)
    /// 403011: the session has expired.
    public static let sessionHasExpired = Self(rawValue: 403_011)
    /// 403012: no valid session.
    public static let noValidSession = Self(rawValue: 403_012)
    /// 403025: invalid token.
    public static let invalidToken = Self(rawValue: 403_025)
    /// 403048: API rate limit exceeded.
    public static let rateLimitExceeded = Self(rawValue: 403_048)
    /// 404003: UID not found.
    public static let uidNotFound = Self(rawValue: 404_003)
    /// 409030: concurrent updates not allowed.
    public static let concurrentUpdatesNotAllowed = Self(rawValue: 409_030)
    /// 500000: general server error (also the SDKs' local catch-all).
    public static let generalServerError = Self(rawValue: 500_000)
    /// 500001: general server error.
    public static let generalServerErrorRetry = Self(rawValue: 500_001)
    /// 500028: general database error.
    public static let generalDatabaseError = Self(rawValue: 500_028)
    /// 504001: timeout.
    public static let timeout = Self(rawValue: 504_001)
    /// 504002: request timeout.
    public static let requestTimeout = Self(rawValue: 504_002)

    /// Every code of the docs/gigya-protocol.md §5 table.
    public static let known: [GigyaErrorCode] = [
        .ok, .dataPending, .operationCanceled, .okWithErrors, .accountsLinked, .okWithLoginIdentifierExists,
        .accountPendingRegistration, .accountPendingVerification, .accountMissingLoginID, .invalidDataCenter,
        .invalidRequestFormat, .missingRequiredParameter, .invalidParameterValue, .validationError, .invalidAPIKey,
        .forbidden, .requestHasExpired, .invalidRequestSignature, .duplicateNonce, .unauthorizedUser, .secretSentOverHTTP,
        .permissionDenied, .providerSessionExpired, .invalidSecret, .sessionHasExpired, .noValidSession, .invalidToken,
        .rateLimitExceeded, .uidNotFound, .concurrentUpdatesNotAllowed, .generalServerError, .generalServerErrorRetry,
        .generalDatabaseError, .timeout, .requestTimeout,
    ]

    /// Gigya's `errorMessage` text for the code (names from docs/gigya-protocol.md §5).
    public var message: String {
        switch rawValue {
        case 0: "OK"
        case 100_001: "Data pending"
        case 200_001: "Operation canceled"
        case 200_008: "OK with errors"
        case 200_009: "Accounts linked"
        case 200_010: "OK with login identifier exists"
        case 206_001: "Account pending registration"
        case 206_002: "Account pending verification"
        case 206_003: "Account missing loginID"
        case 301_001: "Invalid data center"
        case 400_001: "Invalid request format"
        case 400_002: "Missing required parameter"
        case 400_006: "Invalid parameter value"
        case 400_009: "Validation error"
        case 400_093: "Invalid ApiKey parameter"
        case 403_000: "Forbidden"
        case 403_002: "Request has expired"
        case 403_003: "Invalid request signature"
        case 403_004: "Duplicate nonce"
        case 403_005: "Unauthorized user"
        case 403_006: "Secret Sent Over Http"
        case 403_007: "Permission denied"
        case 403_009: "Provider session expired"
        case 403_010: "Invalid secret"
        case 403_011: "Session has expired"
        case 403_012: "No valid session"
        case 403_025: "Invalid token"
        case 403_048: "Api rate limit exceeded"
        case 404_003: "UID not found"
        case 409_030: "Concurrent updates not allowed"
        case 500_000: "General server error"
        case 500_001: "General Server Error"
        case 500_028: "General database error"
        case 504_001: "Timeout"
        case 504_002: "Request Timeout"
        default: "Error \(rawValue)"
        }
    }

    /// The HTTP-like `statusCode`: the code's first three digits for six-digit codes, 200 for 0.
    public var statusCode: Int {
        rawValue >= 100_000 ? rawValue / 1000 : (rawValue == 0 ? 200 : 500)
    }

    /// The `statusReason` matching `statusCode`.
    public var statusReason: String {
        switch statusCode {
        case 100: "Continue"
        case 200: "OK"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 409: "Conflict"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Error"
        }
    }

    /// What to do about the code.
    ///
    /// Retryable: 100001 (its message asks to query again), 403048 and 409030, 500000/500001/500028, 504001/504002
    /// (the community Node client retries 500001, 504001, 409030 and 403048, docs/gigya-protocol.md §1.5; the other server errors and
    /// timeouts are transient by nature). 2000xx and 206001/206002 are "responses", not errors (docs/gigya-protocol.md §5).
    public var disposition: GigyaErrorDisposition {
        switch rawValue {
        case 0, 200_001, 200_008, 200_009, 200_010, 206_001, 206_002: .success
        case 100_001, 403_048, 409_030, 500_000, 500_001, 500_028, 504_001, 504_002: .retryable
        case 403_002: .clockSkew
        case 301_001: .wrongDataCenter
        case 403_009, 403_011, 403_012: .noSession
        default: .permanent
        }
    }

    public var description: String { "\(rawValue) \(message)" }
}
