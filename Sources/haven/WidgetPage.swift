import Foundation
import Sodium

/// The widget as static files for a provider to host: every script and the stylesheet carry
/// Subresource Integrity (the modules through an import map's `integrity`), the WebAssembly is
/// checked against a hash pinned in the page, and the page pins the organisation key and the
/// server's address, so nothing the chat server sends can change what runs or whom it trusts.
struct WidgetPage {
    /// File name → bytes, everything but index.html.
    let files: [String: [UInt8]]
    /// The rewritten index.html.
    let index: String

    init(web: String, origin: String, organisation: SigningPublicKey, serverName: String?) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: web).filter { ["js", "css", "wasm"].contains(($0 as NSString).pathExtension) }
        var files: [String: [UInt8]] = [:]
        for name in names {
            guard let data = FileManager.default.contents(atPath: "\(web)/\(name)") else { throw ExportError("cannot read \(web)/\(name)") }
            files[name] = Array(data)
        }
        guard let source = FileManager.default.contents(atPath: "\(web)/index.html"), let wasm = files["sodium.wasm"],
              files["widget.js"] != nil, let safetyFirst = files["safety-first.js"], let css = files["widget.css"]
        else { throw ExportError("\(web) lacks index.html, widget.js, safety-first.js, widget.css or sodium.wasm (run Scripts/build-sodium-wasm.sh)") }
        self.files = files

        let webSocket = (origin.hasPrefix("https://") ? "wss://" + origin.dropFirst(8) : "ws://" + origin.dropFirst(7)) + "/v1/ws"
        var pins: [String: String] = [
            "organisationKey": Base64URL.encode(organisation.bytes), "origin": origin, "webSocket": webSocket,
            "sodium": Self.integrity(wasm),
        ]
        pins["serverName"] = serverName
        let pinsJSON = String(decoding: try JSONSerialization.data(withJSONObject: pins, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        let modules = files.keys.filter { $0.hasSuffix(".js") }.sorted().reduce(into: [String: String]()) { $0["./\($1)"] = Self.integrity(files[$1]!) }
        let importMap = String(decoding: try JSONSerialization.data(withJSONObject: ["integrity": modules], options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        let importMapHash = Data(SHA2.sha256(Array(importMap.utf8))).base64EncodedString()
        let policy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-\(importMapHash)'; connect-src 'self' \(origin) \(webSocket); "
            + "img-src 'self' blob: data:; style-src 'self'; frame-src https://www.youtube-nocookie.com; object-src 'none'; "
            + "base-uri 'none'; form-action 'none'"

        var page = String(decoding: source, as: UTF8.self)
        try Self.replace(&page, #"<meta charset="utf-8">"#, with: """
            <meta charset="utf-8">
              <meta http-equiv="Content-Security-Policy" content="\(policy)">
              <script type="application/json" id="haven-pins">\(pinsJSON)</script>
            """)
        try Self.replace(&page, #"<link rel="stylesheet" href="widget.css">"#,
                         with: #"<link rel="stylesheet" href="widget.css" integrity="\#(Self.integrity(css))">"#)
        // The import map, which pins every module (widget.js too, which safety-first.js imports),
        // comes before the first module script.
        try Self.replace(&page, #"<script type="module" src="safety-first.js"></script>"#, with: """
            <script type="importmap">\(importMap)</script>
              <script type="module" src="safety-first.js" integrity="\(Self.integrity(safetyFirst))"></script>
            """)
        index = page
    }

    /// Writes the files into `folder`, creating it.
    func write(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (name, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/\(name)")) }
        try Data(index.utf8).write(to: URL(fileURLWithPath: "\(folder)/index.html"))
    }

    /// The iframe a provider pastes into its page.
    static func iframe(source: String) -> String {
        #"<iframe src="\#(source)" title="Support chat" allow="camera; microphone" style="width:100%;height:42rem;border:0"></iframe>"#
    }

    /// A Subresource Integrity value: `sha512-` and the standard base64 of the digest.
    static func integrity(_ bytes: [UInt8]) -> String { "sha512-" + Data(SHA2.sha512(bytes)).base64EncodedString() }

    private static func replace(_ page: inout String, _ marker: String, with replacement: String) throws {
        guard page.contains(marker) else { throw ExportError("index.html no longer contains \(marker)") }
        page = page.replacingOccurrences(of: marker, with: replacement)
    }
}

/// Why the widget could not be exported.
struct ExportError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
