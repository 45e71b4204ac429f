internal import Sodium

extension SigningPublicKey {
    /// Checks `signature` over `bytes`, as the protocol reports a failure: `what` names the signed
    /// thing ("room message", "moderation action"...), never its content.
    ///
    /// - Throws: ``ProtocolError/signatureInvalid(what:)``.
    func verify(_ signature: [UInt8], of bytes: [UInt8], what: String) throws(ProtocolError) {
        do {
            try verify(signature: signature, of: bytes)
        } catch {
            throw .signatureInvalid(what: what)
        }
    }
}
