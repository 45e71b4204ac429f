import HavenNet

/// Plain HTTP requests on a connection loop: answered by the core, at once on its own loop and
/// across to it from any other (the answer, an upload's parts and a download's parts cross back).
extension ConnectionLoop {
    func respond(to request: HTTPMessage, from peer: [UInt8], reply: @escaping (HTTPResponse) -> Void) {
        if let coreHere = coreHereForHTTP { return coreHere.respond(to: request, from: peer, reply: reply) }
        let loop = loop
        let replyHere = LoopBound(reply, loop: loop)
        tell(.perform { core in
            core.respond(to: request, from: peer) { response in loop.execute { replyHere.value(response) } }
        })
    }

    func readPart(_ index: Int, of body: StreamedBody, then deliver: @escaping ([UInt8]?) -> Void) {
        if let coreHere = coreHereForHTTP { return coreHere.readPart(index, of: body, then: deliver) }
        let loop = loop
        let deliverHere = LoopBound(deliver, loop: loop)
        tell(.perform { core in
            core.readPart(index, of: body) { bytes in loop.execute { deliverHere.value(bytes) } }
        })
    }

    /// Only an upload's head goes to the core, which decides from it alone (its upload tokens and
    /// budgets are the core's): from another loop this loop waits for the answer, which takes one
    /// turn of the core's loop, after what this loop has already told it (a session's close, say).
    /// The body's parts then go to the core as they come, in order with the body's end and the
    /// request itself, and its holding back of the body comes back.
    func bodyAllowance(for head: HTTPMessage, from client: [UInt8]) -> Result<BodyAllowance, HTTPParseError>? {
        guard HavenServer.isUpload(head) else { return nil }
        if let coreHere = coreHereForHTTP { return coreHere.bodyAllowance(for: head, from: client) }
        tellNow()
        let core = core
        // The work cannot throw; the core's loop stops only after every other loop has (`stop()`).
        let answer = try! coreLoop.submitAndWait { CoreAllowance(value: core.value.bodyAllowance(for: head, from: client)) }
        return answer.value.map { $0.map(crossing) }
    }

    /// `allowance`, whose closures run on the core, taken from this loop.
    private func crossing(_ allowance: BodyAllowance) -> BodyAllowance {
        let coreLoop = coreLoop
        let loop = loop
        let readHere = LoopBound(FlowHolder(), loop: loop)
        let flowOnCore = LoopBound(BodyFlow(
            stopReading: { loop.execute { readHere.value.flow?.pause() } },
            startReading: { loop.execute { readHere.value.flow?.resume() } }), loop: coreLoop)
        let receive = allowance.receive.map { LoopBound($0, loop: coreLoop) }
        let whenEnded = allowance.whenEnded.map { LoopBound($0, loop: coreLoop) }
        return BodyAllowance(
            maxBytes: allowance.maxBytes,
            receive: receive.map { receive in
                { bytes, flow in
                    readHere.value.flow = flow
                    let part = Array(bytes)
                    self.tell(.perform { _ in part.withUnsafeBytes { receive.value($0, flowOnCore.value) } })
                }
            },
            whenEnded: whenEnded.map { whenEnded in { arrived in self.tell(.perform { _ in whenEnded.value(arrived) }) } })
    }

    private var coreHereForHTTP: HavenServer? { loop === coreLoop ? core.value : nil }
}

/// The body's own flow on the loop that reads it, once its first part has come.
private final class FlowHolder {
    var flow: BodyFlow?
}

/// The core's answer to a request head, carried back to the loop that asked: its closures are
/// bound to the core's loop and called there only (``ConnectionLoop/bodyAllowance(for:from:)``).
private struct CoreAllowance: @unchecked Sendable {
    // @unchecked Sendable: the allowance's closures are wrapped in LoopBound for the core's loop
    // before any of them is called off it.
    let value: Result<BodyAllowance, HTTPParseError>?
}
