import Foundation

/// Where Haven's files are, whether it runs from a clone or from the installed package, so the
/// binary works away from its source tree.
enum InstalledFiles {
    /// Whether this is the packaged binary (in /usr/bin), whose files are in the system's places.
    /// Read from /proc/self/exe: typed as a bare `haven`, the first argument names no folder.
    static var isInstalled: Bool {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path.hasPrefix("/usr/")
    }

    /// The data folder commands work on by default: the service's when installed, else ./data.
    static var defaultData: String { isInstalled ? "/var/lib/haven" : "./data" }

    /// The keys folder by default: the service's when installed, else ./Keys.
    static var defaultKeys: String { isInstalled ? "/etc/haven/Keys" : "./Keys" }

    /// The web widget's folder: the source tree's when run from a clone, otherwise the package's
    /// (next to the binary's `share/haven/web`, or `/usr/share/haven/web`).
    static var defaultWeb: String {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let candidates = ["./Sources/HavenWeb/Public", binary + "/../share/haven/web", "/usr/share/haven/web"]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/index.html") } ?? candidates[0]
    }
}
