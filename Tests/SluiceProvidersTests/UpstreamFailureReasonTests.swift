@testable import SluiceProviders
import Testing

@Suite("Upstream failure reasons")
struct UpstreamFailureReasonTests {
    @Test("BoringSSL's error text gives its reason code; other text is kept whole")
    func reasonCode() {
        #expect(UpstreamFailure.reasonCode("Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at /src/ssl/handshake.cc:320")
            == "CERTIFICATE_VERIFY_FAILED")
        #expect(UpstreamFailure.reasonCode("Error: 1 error:10000410:SSL routines:OPENSSL_internal:SSLV3_ALERT_HANDSHAKE_FAILURE") == "SSLV3_ALERT_HANDSHAKE_FAILURE")
        #expect(UpstreamFailure.reasonCode("connection reset by peer") == "connection reset by peer")
        #expect(UpstreamFailure.reasonCode("error:trailing:") == "error:trailing:")
    }
}
