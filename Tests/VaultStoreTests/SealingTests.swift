import Foundation
import Testing
import VaultStore

/// AES-256-GCM sealing: round trips, binding to row and field, key ids, ring syntax.
@Suite struct SealingTests {
    static let keyA = Data(repeating: 0x11, count: 32).base64EncodedString()
    static let keyB = Data(repeating: 0x22, count: 32).base64EncodedString()
    static let context = SealContext(site: "3_site", uid: "user-1", provider: "facebook", field: "auth_token")

    @Test func sealThenOpenReturnsThePlaintext() throws {
        let ring = try DataKeyRing.parse("a:\(Self.keyA)")
        let sealed = try ring.seal("EAAB-token", context: Self.context)
        #expect(sealed.count == 12 + "EAAB-token".utf8.count + 16)
        #expect(try ring.open(sealed, keyID: "a", context: Self.context) == "EAAB-token")
    }

    @Test func sealingTwiceGivesDifferentCiphertexts() throws {
        let ring = try DataKeyRing.parse("a:\(Self.keyA)")
        #expect(try ring.seal("same", context: Self.context) != ring.seal("same", context: Self.context))
    }

    @Test(arguments: [
        SealContext(site: "3_other", uid: "user-1", provider: "facebook", field: "auth_token"),
        SealContext(site: "3_site", uid: "user-2", provider: "facebook", field: "auth_token"),
        SealContext(site: "3_site", uid: "user-1", provider: "google", field: "auth_token"),
        SealContext(site: "3_site", uid: "user-1", provider: "facebook", field: "token_secret"),
        // Same concatenation, different split: length prefixes keep these apart.
        SealContext(site: "3_sit", uid: "euser-1", provider: "facebook", field: "auth_token"),
    ])
    func aCiphertextMovedToAnotherRowOrFieldFailsToOpen(other: SealContext) throws {
        let ring = try DataKeyRing.parse("a:\(Self.keyA)")
        let sealed = try ring.seal("EAAB-token", context: Self.context)
        #expect(throws: SealError.authenticationFailed) { try ring.open(sealed, keyID: "a", context: other) }
    }

    @Test func tamperedBytesFailToOpen() throws {
        let ring = try DataKeyRing.parse("a:\(Self.keyA)")
        var sealed = try ring.seal("EAAB-token", context: Self.context)
        sealed[14] ^= 0x01
        #expect(throws: SealError.authenticationFailed) { try ring.open(sealed, keyID: "a", context: Self.context) }
        #expect(throws: SealError.authenticationFailed) { try ring.open([1, 2, 3], keyID: "a", context: Self.context) }
    }

    @Test func theWrongKeyFailsAndAnUnknownKeyIDIsNamed() throws {
        let ring = try DataKeyRing.parse("a:\(Self.keyA),b:\(Self.keyB)")
        let sealed = try ring.seal("EAAB-token", context: Self.context)
        #expect(throws: SealError.authenticationFailed) { try ring.open(sealed, keyID: "b", context: Self.context) }
        #expect(throws: SealError.unknownKeyID("zz")) { try ring.open(sealed, keyID: "zz", context: Self.context) }
    }

    @Test func theFirstKeySealsAndEveryKeyOpens() throws {
        let old = try DataKeyRing.parse("old:\(Self.keyB)")
        let sealedByOld = try old.seal("v", context: Self.context)
        let ring = try DataKeyRing.parse(" new:\(Self.keyA) , old:\(Self.keyB) ")
        #expect(ring.primaryID == "new")
        #expect(ring.ids == ["new", "old"])
        #expect(try ring.open(sealedByOld, keyID: "old", context: Self.context) == "v")
        let sealedByNew = try ring.seal("w", context: Self.context)
        #expect(throws: SealError.authenticationFailed) { try old.open(sealedByNew, keyID: "old", context: Self.context) }
    }

    @Test(arguments: [
        ("", DataKeyError.emptyRing),
        ("nocolon", DataKeyError.malformedEntry(index: 0)),
        ("a:\(keyA),b:", DataKeyError.malformedEntry(index: 1)),
        (":\(keyA)", DataKeyError.invalidID(index: 0)),
        ("a b:\(keyA)", DataKeyError.invalidID(index: 0)),
        ("a:not*base64", DataKeyError.notBase64(index: 0)),
        ("a:\(Data(repeating: 1, count: 16).base64EncodedString())", DataKeyError.wrongLength(index: 0, bytes: 16)),
        ("a:\(keyA),a:\(keyB)", DataKeyError.duplicateID(index: 1)),
        // A swapped entry: what parses as the id is the key.
        ("a:\(keyB),\(keyA):b", DataKeyError.notBase64(index: 1)),
        ("\(keyA):\(keyA),\(keyA):\(keyB)", DataKeyError.duplicateID(index: 1)),
    ])
    func malformedRingsAreRejectedWithoutEchoingKeys(spec: String, expected: DataKeyError) {
        #expect(throws: expected) { try DataKeyRing.parse(spec) }
        #expect(!expected.description.contains(Self.keyA))
        #expect(!expected.description.contains(Self.keyA.prefix(8)))
    }

    @Test func generatedKeysAreUsableAndDescriptionsAreRedacted() throws {
        let (key, base64) = DataKey.generate(id: "k1")
        #expect(Data(base64Encoded: base64)?.count == 32)
        let ring = try DataKeyRing(keys: [key])
        #expect(try ring.open(ring.seal("x", context: Self.context), keyID: "k1", context: Self.context) == "x")
        #expect(!String(describing: key).contains(base64))
        #expect(!String(reflecting: ring).contains(base64))
        let record = SessionRecord(site: "s", uid: "u", provider: "p", authToken: "SECRET-TOKEN", tokenSecret: "SECRET-2")
        #expect(!String(describing: record).contains("SECRET"))
        #expect(!String(reflecting: record).contains("SECRET"))
        var dumped = ""
        dump(record, to: &dumped)
        #expect(!dumped.contains("SECRET"))
    }
}
