/// Whose requests a rate-limit policy counts together (the `s=` parameter of SPEC §4).
public enum PolicySegment: Sendable, Hashable {
    /// All requests of the key share one counter (`s` absent or empty).
    case global
    /// One counter per user id, from the `Helicone-User-Id` header, else the body's `user` field (`s=user`).
    case user
    /// One counter per value of the `Helicone-Property-<name>` header; the name is lower-cased
    /// (header names are case-insensitive).
    case property(String)
}
