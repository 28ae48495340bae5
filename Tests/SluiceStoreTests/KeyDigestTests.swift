import SluiceStore
import Testing

@Suite("Key digests")
struct KeyDigestTests {
    @Test("the digest is SHA-256 of the key text, round-trips through hex, and compares by value")
    func digest() {
        // SHA-256("abc"), from FIPS 180-2.
        let digest = KeyDigest(of: "abc")
        #expect(digest.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(KeyDigest(hex: digest.hex) == digest)
        #expect(KeyDigest(hex: "zz") == nil)
        #expect(digest.constantTimeEquals(KeyDigest(of: "abc")))
        #expect(!digest.constantTimeEquals(KeyDigest(of: "abd")))
        #expect(digest.bucket == 0xba7816bf8f01cfea)
    }
}
