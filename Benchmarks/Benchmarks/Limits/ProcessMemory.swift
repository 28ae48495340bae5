#if canImport(Glibc)
import Glibc
#endif

/// The process's resident memory as the kernel counts it (`/proc/self/statm`), and a way to
/// tell memory still in use from memory the C allocator only keeps for reuse.
enum ProcessMemory {
    /// Resident bytes now; 0 where `/proc` is not available.
    static func residentBytes() -> Int {
        #if os(Linux)
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        // Fields: total, resident, shared, text, lib, data, dirty pages.
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return 0
        #endif
    }

    #if os(Linux)
    private typealias MallocTrim = @convention(c) (Int) -> Int32
    private static let mallocTrim: MallocTrim? = dlsym(nil, "malloc_trim").map { unsafeBitCast($0, to: MallocTrim.self) }
    #endif

    /// Asks the C allocator to hand its free pages back to the kernel (`malloc_trim(0)`).
    static func returnFreePages() {
        #if os(Linux)
        // Not in the Glibc module map; looked up once in the C library.
        if let trim = mallocTrim { _ = trim(0) }
        #endif
    }
}
