import ArgumentParser
import Foundation
import HavenKeys
import HavenServer

/// `haven doctor`: checks an installation and prints what to fix.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an installation and print what to fix.",
        discussion: """
            Checks the data folder and database (modes, schema), the keys (the organisation's public
            key, secret files others can read, the backup key), the settings (name, origins, the
            proxy, crisis contacts, the TURN relay), retention, free disk space and the open-files
            limit, that the server answers, and, with --url, that it is reached over TLS with HSTS.
            Run it as the service's user.

            Example: sudo -u haven haven doctor --config /etc/haven/haven.toml --keys /etc/haven/Keys \\
                       --url https://support.example.org

            Exit codes: 0 when nothing needs fixing (warnings may remain), 1 when something does.
            """)
    @Option(help: "The TOML config file the service runs with.")
    var config = "/etc/haven/haven.toml"
    @Option(help: "The data folder, when the config does not say.")
    var data: String?
    @Option(help: "The keys folder.")
    var keys = "/etc/haven/Keys"
    @Option(help: "The public https address, to check TLS in front.")
    var url: String?
    @Option(help: "Trust the certificates in this PEM file for --url instead of the system's.")
    var caFile: String?
    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() throws {
        var configuration = ServerConfiguration()
        var findings: [DoctorFinding] = []
        var backups: String?
        do {
            let file = try ServeConfigFile.load(config)
            try file.apply(to: &configuration)
            backups = file.backups
            findings.append(.ok("\(config) is valid"))
        } catch {
            findings.append(.problem("\(config): \(error)", fix: "fix the file (docs/operations.md lists every key)"))
        }
        if let data { configuration.dataDirectory = data }
        // What the service sees, as the service: root looks no further than its user could.
        try DataFolderOwner.become(ownerOf: configuration.dataDirectory)
        let checks = DoctorChecks(configuration: configuration, configPath: config, keys: KeyDirectory(path: keys))
        findings += checks.dataFolder() + checks.keyFolder() + checks.backups(in: backups) + checks.settings() + checks.retention() + checks.machine()
        findings += checks.reachability(url: url.flatMap(URL.init(string:)), caFile: caFile)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(findings), as: UTF8.self))
        } else {
            findings.forEach { print($0.printed) }
            let problems = findings.filter { $0.verdict == .problem }.count
            let warnings = findings.filter { $0.verdict == .warning }.count
            print("\n\(problems) to fix, \(warnings) to look at")
        }
        if findings.contains(where: { $0.verdict == .problem }) { throw ExitCode.failure }
    }
}
