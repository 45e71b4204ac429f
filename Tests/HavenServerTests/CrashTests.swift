import Foundation
import HavenClient
import HavenProtocol
import HavenTestSupport
import Testing

/// Kill -9 the real server while clients send; after a restart every acknowledged message is there.
@Suite(.serialized) struct CrashTests {
    let lobby = try! RoomID("lobby")

    func config(in directory: String) throws -> String {
        let path = directory + "/haven.toml"
        try """
            [rate_limits]
            messages_per_second = 100000.0
            message_burst = 100000.0
            new_identity_messages_per_second = 100000.0
            new_identity_message_burst = 100000.0
            address_messages_per_second = 100000.0
            address_message_burst = 100000.0
            address_connections_per_second = 100000.0
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func everyAcknowledgedMessageSurvivesAKill9() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("haven-crash-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = directory + "/data"
        let configPath = try config(in: directory)
        let clients = try ClientLoop()

        let first = try ServerProcess(data: data, arguments: ["--config", configPath])
        let keeper = try TestClient("Key Keeper", loop: clients.loop)
        try await keeper.client.connect(host: "127.0.0.1", port: first.port)
        _ = try await keeper.client.join(lobby)
        await keeper.client.waitForKey(lobby)
        var senders: [TestClient] = []
        for index in 0..<3 {
            let sender = try TestClient("Sender \(index)", loop: clients.loop)
            try await sender.client.connect(host: "127.0.0.1", port: first.port)
            _ = try await sender.client.join(lobby)
            await sender.client.waitForKey(lobby)
            senders.append(sender)
        }

        let counted = AckCounter()
        let acknowledged = try await withThrowingTaskGroup(of: [String].self) { group in
            for (index, sender) in senders.enumerated() {
                group.addTask {
                    var acked: [String] = []
                    for count in 0..<100_000 {
                        let text = "sender \(index) message \(count)"
                        do {
                            _ = try await sender.client.send(text, to: lobby)
                            acked.append(text)
                            counted.add()
                        } catch {
                            return acked
                        }
                    }
                    return acked
                }
            }
            // Killed once the senders are well under way, however fast this machine is.
            _ = try await waitFor("some acknowledgements", timeout: 60) { counted.value > 20 ? true : nil }
            first.kill()
            var all: [String] = []
            for try await acked in group { all += acked }
            return all
        }
        #expect(acknowledged.count > 20, "the senders got some messages acknowledged before the kill")

        let second = try ServerProcess(data: data, arguments: ["--config", configPath])
        defer { #expect(second.terminate() == 0, "a clean stop exits 0") }
        try await keeper.client.connect(host: "127.0.0.1", port: second.port)
        let reader = try TestClient("Reader", loop: clients.loop)
        try await reader.client.connect(host: "127.0.0.1", port: second.port)
        _ = try await reader.client.join(lobby, replayHistory: true)
        await reader.client.waitForKey(lobby)
        let texts = try await reader.log.wait(timeout: 30, "the replay of every acknowledged message") { _ in
            let texts = reader.texts(in: lobby)
            return Set(texts).isSuperset(of: acknowledged) ? texts : nil
        }
        #expect(texts.count == Set(texts).count, "nothing stored twice")
    }
}

/// Acknowledgements counted from the senders' tasks.
final class AckCounter: @unchecked Sendable {
    // @unchecked Sendable: `count` is guarded by `lock`.
    private let lock = NSLock()
    private var count = 0

    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
