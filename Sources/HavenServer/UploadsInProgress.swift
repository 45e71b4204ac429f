/// Uploads whose bodies are arriving now, in all and per client address: each holds its body in
/// memory until it is stored, so only a few may arrive at once. Loop thread only.
struct UploadsInProgress {
    private var perAddress: [[UInt8]: Int] = [:]

    /// Uploads arriving now.
    private(set) var count = 0

    /// Uploads arriving now from `address`.
    func from(_ address: [UInt8]) -> Int { perAddress[address, default: 0] }

    /// An upload from `address` began.
    mutating func start(from address: [UInt8]) {
        count += 1
        perAddress[address, default: 0] += 1
    }

    /// An upload from `address` ended, whole or not.
    mutating func end(from address: [UInt8]) {
        count -= 1
        let left = perAddress[address, default: 1] - 1
        perAddress[address] = left > 0 ? left : nil
    }
}
