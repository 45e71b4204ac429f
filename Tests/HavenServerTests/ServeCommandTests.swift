import Foundation
import HavenTestSupport
import Testing

/// `haven serve` refuses a bad configuration with one clear line and a non-zero exit.
@Suite struct ServeCommandTests {
    func run(_ arguments: [String]) throws -> (status: Int32, errors: String) { try ServerProcess.run(arguments) }

    @Test func badListenAddressIsRefused() throws {
        let result = try run(["serve", "--listen", "localhost", "--data", "/tmp/haven-unused"])
        #expect(result.status != 0)
        #expect(result.errors.contains("--listen must be HOST:PORT"))
    }

    @Test func invalidTOMLIsRefusedWithItsLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).toml").path
        try "listen = \"127.0.0.1:0\"\n[limits\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try run(["serve", "--config", path])
        #expect(result.status != 0)
        #expect(result.errors.contains("is not valid TOML (line 2)"))
    }

    @Test func aQuickExitToAnUnsafeAddressIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("exit-\(UUID().uuidString).toml").path
        try "[widget]\nquick_exit_url = \"javascript:alert(1)\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try run(["serve", "--config", path, "--data", "/tmp/haven-unused"])
        #expect(result.status != 0)
        #expect(result.errors.contains("quick_exit_url must be an https:// address or a path on this site"))
    }

    /// docs/haven.example.toml is what operators copy: it must be a configuration `serve` accepts
    /// (an unbindable address then stops it, after the file was read).
    @Test func theExampleConfigurationInTheDocsIsAccepted() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/haven.example.toml").path
        let result = try run(["serve", "--config", example, "--listen", "203.0.113.1:80",
                              "--data", FileManager.default.temporaryDirectory.path + "/haven-example-\(UUID().uuidString)"])
        #expect(result.status == 1)
        #expect(result.errors.contains("cannot start"), "\(result.errors)")
    }

    @Test func unknownSynchronousLevelIsRefused() throws {
        let result = try run(["serve", "--synchronous", "sometimes", "--data", "/tmp/haven-unused"])
        #expect(result.status != 0)
        #expect(result.errors.contains(#"synchronous must be "full" or "normal""#))
    }

    @Test func unbindableAddressFailsToStart() throws {
        let result = try run(["serve", "--listen", "203.0.113.1:80", "--data", FileManager.default.temporaryDirectory.path + "/haven-bind-\(UUID().uuidString)"])
        #expect(result.status == 1)
        #expect(result.errors.contains("cannot start"))
    }
}
