import HavenProtocol

/// The shape of the mix phase: which rooms, how large, and who acts in them.
public enum MixPlan {
    /// Room sizes, used in turn: the common case is a small support room.
    public static let roomSizes = [5, 10, 15, 20, 30, 50]

    /// The mix rooms' ids (the server is configured with them).
    static func roomIDs(count: Int) -> [RoomID] {
        (0..<count).map { try! RoomID("mix-\($0)") }
    }

    /// Members in each of `count` rooms.
    public static func sizes(count: Int) -> [Int] {
        (0..<count).map { roomSizes[$0 % roomSizes.count] }
    }
}
