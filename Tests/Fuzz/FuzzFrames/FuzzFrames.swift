import CLibFuzzer
import HavenProtocol

/// Feeds libFuzzer's inputs to the frame decoder, as a hostile client's WebSocket text would
/// arrive: any bytes must decode or throw a ``ProtocolError``, never crash or hang.
/// Built and run by `Scripts/fuzz.sh`, with `-sanitize=fuzzer,address`.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let frame = try? FrameCodec.decode(bytes) {
        // A frame that decodes must encode and decode to itself.
        precondition((try? FrameCodec.decode(FrameCodec.encode(frame))) == frame, "a decoded frame did not survive re-encoding")
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to `FuzzFrames_main`): libFuzzer's driver, with
/// ``fuzz(_:_:)`` as the test.
@_cdecl("FuzzFrames_main")
func fuzzFramesMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzz(data, size) }
}
