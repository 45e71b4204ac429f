/// Tells when wslay's reader sits between messages holding none of the peer's bytes, so that an
/// idle session can free its framing context (two 4 KiB buffers) and make a fresh one when bytes
/// arrive.
///
/// wslay reads ahead: what it was handed may include the start of the next frame, parsed into its
/// private state with no callback yet. So this counts the bytes handed to wslay against the bytes
/// of the frames wslay reported whole (each frame's length from its payload length and RFC 6455
/// §5.2's header sizes). Only when they are equal, and no fragmented message is open, does wslay
/// hold nothing. A miscount can only make them differ, which keeps the context: it errs on the
/// side of memory, never of a lost byte.
struct WebSocketReadBoundary {
    /// Whether frames arriving on this side are masked (a server's are, a client's are not).
    let incomingMasked: Bool
    private var bytesHandedOver = 0
    private var bytesInWholeFrames = 0
    private var frameInProgress = 0
    private var messageOpen = false

    init(incomingMasked: Bool) {
        self.incomingMasked = incomingMasked
    }

    /// wslay took `count` more bytes.
    mutating func handedOver(_ count: Int) {
        bytesHandedOver += count
    }

    /// wslay began a frame: a data frame without `fin` opens a fragmented message, one with
    /// `fin` closes it; control frames (which may come in between) change neither.
    mutating func frameStarted(opcode: UInt8, fin: Bool, payloadLength: UInt64) {
        let lengthBytes = payloadLength < 126 ? 0 : payloadLength <= 0xFFFF ? 2 : 8
        frameInProgress = 2 + lengthBytes + (incomingMasked ? 4 : 0) + Int(clamping: payloadLength)
        if opcode < 0x8 { messageOpen = !fin }
    }

    /// wslay finished the frame it last began.
    mutating func frameEnded() {
        bytesInWholeFrames += frameInProgress
        frameInProgress = 0
    }

    /// True when every byte handed over belongs to a whole frame and no message is half-read.
    var isBetweenMessages: Bool {
        bytesHandedOver == bytesInWholeFrames && !messageOpen
    }
}
