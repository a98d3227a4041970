/// Comparisons of secrets whose time does not depend on where the inputs first differ.
public enum ConstantTime {
    /// Whether `left` and `right` hold the same bytes: every byte is visited and differences are OR-accumulated. Only
    /// the lengths may leak, which for tokens, MACs and signatures of a fixed form is public anyway.
    public static func equals(_ left: some Collection<UInt8>, _ right: some Collection<UInt8>) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(left, right) { difference |= a ^ b }
        return difference == 0
    }

    /// Whether two strings hold the same UTF-8 bytes, in constant time.
    public static func equals(_ left: String, _ right: String) -> Bool {
        equals(left.utf8, right.utf8)
    }
}
