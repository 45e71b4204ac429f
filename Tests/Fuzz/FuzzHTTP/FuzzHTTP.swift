import CLibFuzzer
import HavenNet

/// Feeds libFuzzer's inputs to the HTTP request parser with Haven's limits, split at a point the
/// input chooses (bytes arrive in pieces on a socket): any bytes must parse, ask for more or
/// throw an ``HTTPParseError``, never crash, and a complete request never consumes more than it was
/// given. Built and run by `Scripts/fuzz.sh`, with `-sanitize=fuzzer,address`.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size > 0, let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let split = bytes.isEmpty ? 0 : Int(data[0]) % (bytes.count + 1)
    let parser = HTTPParser(kind: .request)
    parser.bodyAllowance = { head in head.method == "POST" ? .success(64 * 1024) : .success(0) }
    var pieces = [Array(bytes[..<split]), Array(bytes[split...])]
    while !pieces.isEmpty {
        let piece = pieces.removeFirst()
        let progress = piece.withUnsafeBytes { try? parser.feed($0) }
        guard let progress else { return 0 }
        if case .complete(_, let consumed) = progress {
            precondition(consumed <= piece.count, "the parser consumed more than it was given")
            if consumed < piece.count { pieces.insert(Array(piece[consumed...]), at: 0) }
        }
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to `FuzzHTTP_main`): libFuzzer's driver, with
/// ``fuzz(_:_:)`` as the test.
@_cdecl("FuzzHTTP_main")
func fuzzHTTPMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzz(data, size) }
}
