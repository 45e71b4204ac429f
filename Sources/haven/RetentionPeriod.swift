import ArgumentParser

/// A period typed on the command line: "45s", "90m", "72h", "30d", "2w", or "forever".
struct RetentionPeriod: ExpressibleByArgument, CustomStringConvertible {
    /// Seconds, or nil for forever.
    let seconds: Int64?

    init?(argument: String) {
        if argument == "forever" {
            seconds = nil
            return
        }
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
        guard let unit = argument.last, let multiplier = units[unit], let count = Int64(argument.dropLast()), count > 0,
              count <= Int64.max / multiplier
        else { return nil }
        seconds = count * multiplier
    }

    static var defaultValueDescription: String { "a period such as 30d, 72h, 90m or forever" }

    var description: String { seconds.map(Self.describe) ?? "forever" }

    /// "30d", "72h", "90m" or "45s": the largest unit that divides the period.
    static func describe(_ seconds: Int64) -> String {
        for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3_600), ("m", 60)] where seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }
}
