import NIOSSL

extension UpstreamFailure {
    /// What a transport error says, for the caller's 502 and the operator's log: a TLS failure as
    /// `TLS handshake failed: CERTIFICATE_VERIFY_FAILED`, not BoringSSL's whole error stack with
    /// numeric codes and the paths of the library's sources; anything else as it describes itself.
    public static func reason(_ error: any Error) -> String {
        if let tls = error as? NIOSSLError, case .handshakeFailed(let boringSSL) = tls {
            return "TLS handshake failed: " + reasons(boringSSL)
        }
        return String(describing: error)
    }

    private static func reasons(_ error: BoringSSLError) -> String {
        guard case .sslError(let stack) = error, !stack.isEmpty else { return String(describing: error) }
        return stack.map { reasonCode($0.description) }.joined(separator: ", ")
    }

    /// `CERTIFICATE_VERIFY_FAILED` from `Error: 268435581 error:1000007d:SSL
    /// routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at …/handshake.cc:320`; the whole
    /// text when it is not of that shape.
    static func reasonCode(_ description: String) -> String {
        let beforeLocation = description.split(separator: " at ", maxSplits: 1, omittingEmptySubsequences: false).first ?? Substring(description)
        guard beforeLocation.contains("error:"), let colon = beforeLocation.lastIndex(of: ":") else { return description }
        let code = beforeLocation[beforeLocation.index(after: colon)...]
        return code.isEmpty ? description : String(code)
    }
}
