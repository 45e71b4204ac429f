import Foundation
@testable import HavenNet
import Testing

@Suite struct EventLoopTests {
    @Test func workFromOtherThreadsRunsOnTheLoopThreadInOrder() async throws {
        let loop = try EventLoop()
        loop.start()
        let results = Results()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                for value in 0..<100 {
                    loop.execute { results.append(value, onLoop: loop.inLoop) }
                }
                loop.execute { done.resume() }
            }
        }
        loop.shutdown()
        #expect(results.values == Array(0..<100))
        #expect(results.allOnLoop)
        #expect(!loop.inLoop)
    }

    @Test func libuvErrorsCarryTheFunctionAndName() {
        let error = UVError(code: -98, function: "uv_tcp_bind")
        #expect(error.name == "EADDRINUSE")
        #expect(error.description == "uv_tcp_bind failed: address already in use (EADDRINUSE)")
    }
}

/// Collects values appended from the loop thread; read after the loop has stopped.
private final class Results: @unchecked Sendable {
    // @unchecked Sendable: written only on the loop thread, read only after shutdown joined it.
    private(set) var values: [Int] = []
    private(set) var allOnLoop = true

    func append(_ value: Int, onLoop: Bool) {
        values.append(value)
        allOnLoop = allOnLoop && onLoop
    }
}

@Suite struct LibCryptoTests {
    @Test func hmacSHA1MatchesRFC2202() {
        // RFC 2202, test case 1.
        let mac = HMACSHA1.authenticate(Array("Hi There".utf8), key: [UInt8](repeating: 0x0b, count: 20))
        #expect(mac.map { String(format: "%02x", $0) }.joined() == "b617318655057264e28bc0b6fb378c8ef146be00")
    }
}
