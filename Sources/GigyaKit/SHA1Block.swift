// SHA-1 as specified in FIPS 180-4 §6.1, written out in Swift so the HMAC hot path never touches the heap.
//
// It is used only inside HMAC-SHA1 (RFC 2104), which every Gigya signature is (docs/gigya-protocol.md §1.3). SHA-1's broken
// collision resistance does not weaken HMAC, whose security rests on the compression function being a PRF.
//
// Why not swift-crypto: `Insecure.SHA1` keeps its BoringSSL context in a copy-on-write class, so copying a pre-keyed
// state and finalising it allocates about four times per MAC, and the retain/release/dealloc traffic cost more in
// `bench crypto` than the SHA-1 arithmetic. Everything here is a value type on the stack.
//
// Timing does not depend on the data: no table lookups and no branches on message or key bytes, only on lengths.

/// The five-word SHA-1 chaining value (FIPS 180-4 §6.1.1), advanced one 64-byte block at a time.
struct SHA1State: Sendable {
    /// H0…H4.
    private var h0: UInt32
    private var h1: UInt32
    private var h2: UInt32
    private var h3: UInt32
    private var h4: UInt32

    /// The initial hash value H(0) (FIPS 180-4 §5.3.1).
    static let initial = SHA1State(h0: 0x6745_2301, h1: 0xEFCD_AB89, h2: 0x98BA_DCFE, h3: 0x1032_5476, h4: 0xC3D2_E1F0)

    /// Sets the five words.
    private init(h0: UInt32, h1: UInt32, h2: UInt32, h3: UInt32, h4: UInt32) {
        self.h0 = h0
        self.h1 = h1
        self.h2 = h2
        self.h3 = h3
        self.h4 = h4
    }

    /// The chaining value as a digest: the five words in big-endian order.
    var digest: SHA1Digest {
        SHA1Digest(words: (h0.bigEndian, h1.bigEndian, h2.bigEndian, h3.bigEndian, h4.bigEndian))
    }

    /// Processes exactly 64 bytes: the 80 rounds of FIPS 180-4 §6.1.2, big-endian words.
    ///
    /// The message schedule lives in a 16-word window (§6.1.3's alternative method) and each word is computed in the
    /// round that uses it, so the schedule's own dependency chain overlaps the rounds instead of preceding them. Rounds
    /// go five at a time with the roles of `a`…`e` rotating, which spares the register shuffle of §6.1.2 step 3.
    @inline(__always)
    mutating func compress(_ block: UnsafeRawBufferPointer) {
        precondition(block.count == 64, "a SHA-1 block is 64 bytes")
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { w in
            for t in 0..<16 {
                w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t &* 4, as: UInt32.self))
            }
            /// W(t): read for t < 16, else computed and stored over W(t - 16).
            @inline(__always)
            func word(_ t: Int) -> UInt32 {
                guard t >= 16 else {
                    return w[t]
                }
                let word = (w[(t &- 3) & 15] ^ w[(t &- 8) & 15] ^ w[(t &- 14) & 15] ^ w[t & 15]).rotatedLeft(1)
                w[t & 15] = word
                return word
            }
            var a = h0
            var b = h1
            var c = h2
            var d = h3
            var e = h4
            for t in stride(from: 0, to: 20, by: 5) {
                Self.round(a, &b, &e, d ^ (b & (c ^ d)), 0x5A82_7999 &+ word(t))
                Self.round(e, &a, &d, c ^ (a & (b ^ c)), 0x5A82_7999 &+ word(t &+ 1))
                Self.round(d, &e, &c, b ^ (e & (a ^ b)), 0x5A82_7999 &+ word(t &+ 2))
                Self.round(c, &d, &b, a ^ (d & (e ^ a)), 0x5A82_7999 &+ word(t &+ 3))
                Self.round(b, &c, &a, e ^ (c & (d ^ e)), 0x5A82_7999 &+ word(t &+ 4))
            }
            for t in stride(from: 20, to: 40, by: 5) {
                Self.round(a, &b, &e, b ^ c ^ d, 0x6ED9_EBA1 &+ word(t))
                Self.round(e, &a, &d, a ^ b ^ c, 0x6ED9_EBA1 &+ word(t &+ 1))
                Self.round(d, &e, &c, e ^ a ^ b, 0x6ED9_EBA1 &+ word(t &+ 2))
                Self.round(c, &d, &b, d ^ e ^ a, 0x6ED9_EBA1 &+ word(t &+ 3))
                Self.round(b, &c, &a, c ^ d ^ e, 0x6ED9_EBA1 &+ word(t &+ 4))
            }
            for t in stride(from: 40, to: 60, by: 5) {
                Self.round(a, &b, &e, (b & c) | (d & (b | c)), 0x8F1B_BCDC &+ word(t))
                Self.round(e, &a, &d, (a & b) | (c & (a | b)), 0x8F1B_BCDC &+ word(t &+ 1))
                Self.round(d, &e, &c, (e & a) | (b & (e | a)), 0x8F1B_BCDC &+ word(t &+ 2))
                Self.round(c, &d, &b, (d & e) | (a & (d | e)), 0x8F1B_BCDC &+ word(t &+ 3))
                Self.round(b, &c, &a, (c & d) | (e & (c | d)), 0x8F1B_BCDC &+ word(t &+ 4))
            }
            for t in stride(from: 60, to: 80, by: 5) {
                Self.round(a, &b, &e, b ^ c ^ d, 0xCA62_C1D6 &+ word(t))
                Self.round(e, &a, &d, a ^ b ^ c, 0xCA62_C1D6 &+ word(t &+ 1))
                Self.round(d, &e, &c, e ^ a ^ b, 0xCA62_C1D6 &+ word(t &+ 2))
                Self.round(c, &d, &b, d ^ e ^ a, 0xCA62_C1D6 &+ word(t &+ 3))
                Self.round(b, &c, &a, c ^ d ^ e, 0xCA62_C1D6 &+ word(t &+ 4))
            }
            h0 = h0 &+ a
            h1 = h1 &+ b
            h2 = h2 &+ c
            h3 = h3 &+ d
            h4 = h4 &+ e
        }
    }

    /// One round with the roles renamed: `e += ROTL5(a) + f + K + W` becomes the new `a`, and `b = ROTL30(b)`.
    @inline(__always)
    private static func round(_ a: UInt32, _ b: inout UInt32, _ e: inout UInt32, _ f: UInt32, _ constantPlusWord: UInt32) {
        e = e &+ a.rotatedLeft(5) &+ f &+ constantPlusWord
        b = b.rotatedLeft(30)
    }

    /// Pads and compresses the message's last `count` bytes, which sit at the start of the 128-byte `scratch`.
    ///
    /// `totalLength` counts every byte hashed since `initial`, these included. Up to 55 bytes take one block, up to
    /// 119 take two (FIPS 180-4 §5.1.1: a `1` bit, zeros, then the 64-bit big-endian bit length).
    @inline(__always)
    mutating func finish(scratch: UnsafeMutableRawBufferPointer, count: Int, totalLength: Int) -> SHA1Digest {
        precondition(scratch.count == 128 && count <= 119, "the final blocks are at most 128 bytes")
        let end = count <= 55 ? 64 : 128
        scratch[count] = 0x80
        UnsafeMutableRawBufferPointer(rebasing: scratch[(count &+ 1)..<(end &- 8)]).initializeMemory(as: UInt8.self, repeating: 0)
        scratch.storeBytes(of: UInt64(totalLength &* 8).bigEndian, toByteOffset: end &- 8, as: UInt64.self)
        compress(UnsafeRawBufferPointer(rebasing: scratch[0..<64]))
        if end == 128 {
            compress(UnsafeRawBufferPointer(rebasing: scratch[64..<128]))
        }
        return digest
    }
}

/// A 20-byte SHA-1 digest held inline.
struct SHA1Digest: Sendable {
    /// The bytes, as five words already in big-endian order.
    let words: (UInt32, UInt32, UInt32, UInt32, UInt32)

    /// Lends the 20 bytes.
    @inline(__always)
    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try Swift.withUnsafeBytes(of: words, body)
    }
}

/// SHA-1 over a message of any length fed in pieces, without allocating: a state, a block of pending bytes, a count.
struct SHA1Hasher: Sendable {
    /// The chaining value after every complete block so far.
    private var state: SHA1State
    /// Pending bytes in the first 64, and room for `finish` to pad into two blocks.
    private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                          UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// How many of `pending`'s bytes hold message.
    private var pendingCount = 0
    /// Every byte absorbed, including those behind `state`.
    private var totalLength: Int

    /// Continues from `state`, which has already absorbed `absorbed` bytes (a multiple of 64).
    init(state: SHA1State = .initial, absorbed: Int = 0) {
        precondition(absorbed % 64 == 0, "a chaining value stands for whole blocks")
        self.state = state
        self.totalLength = absorbed
    }

    /// The SHA-1 of `bytes`.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> SHA1Digest {
        var hasher = SHA1Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Absorbs more message bytes.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        totalLength += bytes.count
        var state = state
        var pendingCount = pendingCount
        var remaining = bytes
        withUnsafeMutableBytes(of: &pending) { buffer in
            if pendingCount > 0 {
                let taken = min(64 &- pendingCount, remaining.count)
                UnsafeMutableRawBufferPointer(rebasing: buffer[pendingCount..<(pendingCount &+ taken)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: remaining[0..<taken]))
                pendingCount &+= taken
                remaining = UnsafeRawBufferPointer(rebasing: remaining[taken...])
                guard pendingCount == 64 else {
                    return
                }
                state.compress(UnsafeRawBufferPointer(rebasing: buffer[0..<64]))
                pendingCount = 0
            }
            while remaining.count >= 64 {
                state.compress(UnsafeRawBufferPointer(rebasing: remaining[0..<64]))
                remaining = UnsafeRawBufferPointer(rebasing: remaining[64...])
            }
            if !remaining.isEmpty {
                UnsafeMutableRawBufferPointer(rebasing: buffer[0..<remaining.count]).copyMemory(from: remaining)
                pendingCount = remaining.count
            }
        }
        self.state = state
        self.pendingCount = pendingCount
    }

    /// Pads what is pending and returns the digest.
    mutating func finalize() -> SHA1Digest {
        var state = state
        let digest = withUnsafeMutableBytes(of: &pending) { buffer in
            state.finish(scratch: buffer, count: pendingCount, totalLength: totalLength)
        }
        self.state = state
        return digest
    }
}

extension UInt32 {
    /// The word rotated left by `count` bits (`ROTL`, FIPS 180-4 §3.2), with `0 < count < 32`.
    @inline(__always)
    fileprivate func rotatedLeft(_ count: UInt32) -> UInt32 {
        self &<< count | self &>> (32 &- count)
    }
}
