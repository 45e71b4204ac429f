import Foundation

/// The web widget's files (HTML, JavaScript, CSS, the WebAssembly module), read once at start
/// and served from memory with a strict Content-Security-Policy. Nothing is loaded from a third
/// party: the policy allows this origin only (and the privacy-preserving YouTube embed host,
/// which the page contacts only after a click).
public struct WebRoot: Sendable {
    /// Path → (content type, bytes).
    let files: [String: (type: String, body: [UInt8])]

    /// Largest total size read into memory.
    static let maxBytes = 16 * 1024 * 1024

    static let types = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "mjs": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8", "wasm": "application/wasm", "json": "application/json", "svg": "image/svg+xml",
        "png": "image/png", "ico": "image/x-icon",
    ]

    /// Reads every file directly in `directory` with a known type.
    public init(directory: String) throws {
        var files: [String: (String, [UInt8])] = [:]
        var total = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
            guard let type = Self.types[(name as NSString).pathExtension.lowercased()],
                  let data = FileManager.default.contents(atPath: directory + "/" + name)
            else { continue }
            total += data.count
            guard total <= Self.maxBytes else { break }
            files["/" + name] = (type, Array(data))
        }
        self.files = files
    }

    /// The Content-Security-Policy for the widget; `frameAncestors` lists the provider pages
    /// that may embed it.
    static func contentSecurityPolicy(frameAncestors: [String]) -> String {
        let ancestors = frameAncestors.isEmpty || frameAncestors.contains("*") ? "'self'" : (["'self'"] + frameAncestors).joined(separator: " ")
        return "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; img-src 'self' blob: data:; "
            + "style-src 'self'; frame-src https://www.youtube-nocookie.com; object-src 'none'; base-uri 'none'; "
            + "form-action 'none'; frame-ancestors \(ancestors)"
    }
}
