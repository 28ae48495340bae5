import NIOSSL

/// A certificate authority and a server certificate it signed, for `localhost` and `127.0.0.1`,
/// valid 2026–2126: the TLS servers of the tests present the certificate and their clients trust
/// the authority, so a test's https provider is verified as a real one would be, with nothing
/// from the system's trust store. Made once with `openssl ca` (P-256); test material only.
public enum TestTLS {
    public static let authorityPEM = """
-----BEGIN CERTIFICATE-----
MIIBZjCCAQugAwIBAgIBATAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA5TbHVpY2Ug
VGVzdCBDQTAgFw0yNjAxMDEwMDAwMDBaGA8yMTI2MDEwMTAwMDAwMFowGTEXMBUG
A1UEAwwOU2x1aWNlIFRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATy
TLGiHPXwSQUYm9IiNSG18m9Pdq4ttKWOsj34Hfi7eFlj1wAkq6Y1bIwL1lXdSbL3
nPnva9sZaB7qU9IV7IfEo0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQE
AwIBBjAdBgNVHQ4EFgQUiNP/wCKzu3wZ77VABKTHS5KAtqMwCgYIKoZIzj0EAwID
SQAwRgIhAJKhgsnTSD/0esjWaquX2W4kVH+J9v4B3BDg+6sI0OEcAiEAzazJKiJe
f0LM9uzkL1VXBtj7a2Qq9b4ZsF7vdcWvb3k=
-----END CERTIFICATE-----
"""

    public static let certificatePEM = """
-----BEGIN CERTIFICATE-----
MIIBrzCCAVSgAwIBAgIBAjAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA5TbHVpY2Ug
VGVzdCBDQTAgFw0yNjAxMDEwMDAwMDBaGA8yMTI2MDEwMTAwMDAwMFowFDESMBAG
A1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7jqidRdV
yxRAQP80mZwVMi5ygBs5DSpzfIkFXAOBs3SgFKiiHAZoYIXGoceJ2dhcnYcVqEtW
maDPrsXQFfTCBqOBjzCBjDAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCQYD
VR0TBAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwHwYD
VR0jBBgwFoAUiNP/wCKzu3wZ77VABKTHS5KAtqMwHQYDVR0OBBYEFOWqBdLd5VD9
/eBOEwwsK6sa9d7qMAoGCCqGSM49BAMCA0kAMEYCIQDIFSVQq0smVGxhsJCv+cBf
myS95rBgbpG8mRVereHAlgIhAKRnrGgReF3ooY2mI8pCc9ygPzirKxAuJBMFRT/i
eZYQ
-----END CERTIFICATE-----
"""

    public static let privateKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+8eZsaa5X5zzYnxC
5bWHksiXRiE3lSJN0W1qMTmiWtmhRANCAATuOqJ1F1XLFEBA/zSZnBUyLnKAGzkN
KnN8iQVcA4GzdKAUqKIcBmhghcahx4nZ2FydhxWoS1aZoM+uxdAV9MIG
-----END PRIVATE KEY-----
"""

    /// What a test's https server presents.
    public static func serverConfiguration() throws -> TLSConfiguration {
        TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)))
    }

    /// A client that trusts the test authority only.
    public static func clientConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(authorityPEM.utf8), format: .pem)])
        return configuration
    }
}
