import NIOCore
import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// The server's socket could not be opened: said in the operator's words (which address, and
/// why) rather than as the system call's error.
enum ListenFailure {
    /// Runs the server; a failure to bind `address` becomes a `CommandError` naming it.
    static func explained(_ address: ListenAddress, _ run: () async throws -> Void) async throws {
        do {
            try await run()
        } catch let error as IOError {
            let reason: String
            switch error.errnoCode {
            case EADDRINUSE: reason = "the address is already in use (is another Sluice or server running on it?)"
            case EADDRNOTAVAIL: reason = "no network interface of this machine has that address"
            case EACCES: reason = "permission denied (ports below 1024 need privileges)"
            default: throw error
            }
            throw CommandError(message: "cannot listen on \(address.host):\(address.port): \(reason); choose another with --listen or server.listen")
        }
    }
}
