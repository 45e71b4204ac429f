import Foundation

/// Process-wide resource limits a server sets at start.
public enum ProcessLimits {
    /// Disables core dumps (RLIMIT_CORE = 0), so keys and messages in memory never land on disk
    /// in a crash dump. Returns false if the kernel refused.
    @discardableResult
    public static func disableCoreDumps() -> Bool {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        return setrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0
    }

    /// Raises the open-files limit (RLIMIT_NOFILE) to `wanted`, or to the hard limit if that is
    /// lower, and returns the limit now in force.
    public static func raiseOpenFiles(to wanted: UInt64) -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let target = min(wanted, UInt64(limit.rlim_max))
        if target > UInt64(limit.rlim_cur) {
            limit.rlim_cur = rlim_t(target)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }
        }
        return UInt64(limit.rlim_cur)
    }
}
