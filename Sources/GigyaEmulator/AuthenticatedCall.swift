/// A REST call that passed every request check.
struct AuthenticatedCall {
    /// The site of its `apiKey`.
    let site: SiteKeys
    /// Every received parameter.
    let params: [String: String]
    /// `http`, or `https` when a trusted proxy says so.
    let scheme: String

    /// The `UID` parameter (the REST docs' spelling), or `uid` as the Python vectors send it.
    var uid: String? {
        params["UID"].flatMap { $0.isEmpty ? nil : $0 } ?? params["uid"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
