import Dispatch
import Histogram
import HavenProtocol

/// Send-to-receive latency in microseconds, in an HDR histogram. Loop thread only.
struct LatencyRecorder {
    private var sent: [MessageID: UInt64] = [:]
    private(set) var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)

    static func nowMicroseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1000 }

    mutating func markSent(_ id: MessageID) {
        sent[id] = Self.nowMicroseconds()
    }

    mutating func markReceived(_ id: MessageID) {
        guard let start = sent[id] else { return }
        _ = histogram.record(Self.nowMicroseconds() - start)
    }

    /// Records an operation that began at `start` (from ``nowMicroseconds()``) and ended now.
    mutating func recordSince(_ start: UInt64) {
        _ = histogram.record(Self.nowMicroseconds() - start)
    }

    mutating func reset() {
        sent.removeAll(keepingCapacity: true)
        histogram.reset()
    }

    /// p50, p99 and p99.9 in milliseconds.
    var percentilesMilliseconds: [String: Double] {
        guard histogram.totalCount > 0 else { return ["p50": 0, "p99": 0, "p999": 0] }
        return [
            "p50": Double(histogram.valueAtPercentile(50)) / 1000,
            "p99": Double(histogram.valueAtPercentile(99)) / 1000,
            "p999": Double(histogram.valueAtPercentile(99.9)) / 1000,
        ]
    }
}
