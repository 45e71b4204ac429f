/// Where one loop's ``WebSocketServer`` stands among the loops of a process that share its
/// address: its number, how many there are, and, past the first, how to join the first's listener.
public struct LoopPlacement: Sendable {
    /// This loop's number, from 0.
    public var index: Int
    /// The loops in all.
    public var count: Int
    /// The first loop's listening socket and port (nil on the first loop): a TCP port is bound
    /// again with `SO_REUSEPORT`, a Unix-domain socket is shared.
    public var first: (descriptor: Int32, port: Int)?

    /// One loop alone.
    public static let alone = LoopPlacement(index: 0, count: 1, first: nil)

    /// Creates a placement.
    public init(index: Int, count: Int, first: (descriptor: Int32, port: Int)?) {
        self.index = index
        self.count = count
        self.first = first
    }

    /// How this loop's TCP listener shares its port.
    var portSharing: PortSharing {
        count == 1 ? .alone : first == nil ? .firstOfSeveral : .joining
    }

    /// The `serial`th connection's id (from 0): unique across the loops.
    func connectionID(serial: Int) -> Int { serial * count + index + 1 }
}
