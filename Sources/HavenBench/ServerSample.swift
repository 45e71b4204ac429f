import Foundation
import HavenNet

/// What the server under test has used up to one moment: CPU time per thread, by the thread's
/// kernel name (`haven-loop`, `haven-store`, the rest as `other`), and its store's counters from
/// `/metrics`. Two samples give a window's costs.
struct ServerSample {
    var cpuSecondsByThread: [String: Double] = [:]
    var storeCommits = 0.0
    var storeOperations = 0.0
    var storeCommitSeconds = 0.0

    /// Reads `/proc/<pid>/task/*/stat` and the server's `/metrics`.
    init(pid: Int32, port: Int) {
        cpuSecondsByThread = Self.cpuSecondsByThread(pid: pid)
        guard let answer = try? HTTPProbe.get(.tcp(host: "127.0.0.1", port: port), path: "/metrics", hostHeader: "127.0.0.1", tls: nil)
        else { return }
        for line in String(decoding: answer.body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            switch parts[0] {
            case "haven_store_commits_total": storeCommits = value
            case "haven_store_operations_total": storeOperations = value
            case "haven_store_commit_seconds_sum": storeCommitSeconds = value
            default: break
            }
        }
    }

    /// CPU seconds the threads of process `pid` have used, by kernel name (`haven-…`, the rest
    /// as `other`), from `/proc/<pid>/task/*/stat`.
    static func cpuSecondsByThread(pid: Int32) -> [String: Double] {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var seconds: [String: Double] = [:]
        for task in tasks {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let name = String(stat[stat.index(after: open)..<close])
            // After the name: state is field 3; utime and stime are fields 14 and 15.
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            let key = name.hasPrefix("haven-") ? name : "other"
            seconds[key, default: 0] += (user + system) / ticksPerSecond
        }
        return seconds
    }

    /// The server's costs between `earlier` and this sample, over `seconds` of wall time, for
    /// `deliveries` delivered messages: CPU per thread (as a share of one core), CPU per delivery,
    /// and the store's transactions.
    func costs(since earlier: ServerSample, seconds: Double, deliveries: Int) -> [String: Any] {
        var cores: [String: Double] = [:]
        var total = 0.0
        for (thread, used) in cpuSecondsByThread {
            let delta = used - (earlier.cpuSecondsByThread[thread] ?? 0)
            cores[thread] = (delta / seconds * 100).rounded() / 100
            total += delta
        }
        let commits = storeCommits - earlier.storeCommits
        let operations = storeOperations - earlier.storeOperations
        let commitSeconds = storeCommitSeconds - earlier.storeCommitSeconds
        return [
            "cores_by_thread": cores,
            "cpu_us_per_delivery": deliveries > 0 ? (total / Double(deliveries) * 1e7).rounded() / 10 : 0,
            "store": [
                "commits_per_s": (commits / seconds).rounded(),
                "operations_per_commit": commits > 0 ? (operations / commits * 10).rounded() / 10 : 0,
                "commit_ms_mean": commits > 0 ? (commitSeconds / commits * 1e5).rounded() / 100 : 0,
                "busy_share": (commitSeconds / seconds * 100).rounded() / 100,
            ] as [String: Any],
        ]
    }
}
