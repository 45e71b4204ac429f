import ArgumentParser
import Foundation
import HavenKeys
import HavenProtocol
import Sodium

/// `haven widget`: the code a provider pastes, or the whole widget for the provider to host.
struct Widget: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the embedding snippet, or export the widget for the provider to host.",
        discussion: """
            The widget never takes the organisation key from the chat server: the provider's page
            pins it. `snippet` prints an iframe for the widget that `haven serve` serves, with the
            key (and the server's name) in the URL fragment. `export` writes the widget as static
            files for the provider's own web server, with Subresource Integrity on every script,
            the WebAssembly checked against a pinned hash, and the key and the server's address in
            the page, so the Haven server serves only the WebSocket, the configuration and blobs.

            Examples:
              haven widget snippet --url https://chat.example.org/ --server-name chat.example.org
              haven widget export --out ./haven-widget --server https://chat.example.org --server-name chat.example.org
            """,
        subcommands: [Snippet.self, Export.self]
    )

    struct Snippet: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the iframe that embeds the widget served by `haven serve`.")
        @Option(help: "The keys folder (its organisation.pub is pinned).")
        var keys = InstalledFiles.defaultKeys
        @Option(help: "The widget's https address.")
        var url: String
        @Option(help: "The server's name (server_name).")
        var serverName: String?

        func run() throws {
            try reportingOperatorErrors {
                let organisation = try KeyDirectory(path: keys).organisationPublicKey()
                let fragment = OrganisationAnchor.fragment(organisation: organisation, serverName: serverName)
                print(WidgetPage.iframe(source: "\(url)#\(fragment)"))
                print("<!-- organisation key fingerprint: \(OrganisationAnchor.fingerprint(of: organisation)) -->")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the widget as static files for the provider to host.")
        @Option(help: "The keys folder (its organisation.pub is pinned).")
        var keys = InstalledFiles.defaultKeys
        @Option(help: "The widget's files (built by Scripts/build-sodium-wasm.sh).")
        var web = InstalledFiles.defaultWeb
        @Option(help: "The folder to write (created; files in it are replaced).")
        var out: String
        @Option(help: "The Haven server's https origin, e.g. https://chat.example.org.")
        var server: String
        @Option(help: "The server's name (server_name).")
        var serverName: String?
        @Flag(help: "Allow an http:// server (a test on this machine only).")
        var allowHttp = false

        func validate() throws {
            guard server.hasPrefix("https://") || (allowHttp && server.hasPrefix("http://")) else {
                throw ValidationError("--server must start with https://; --allow-http for a test on this machine")
            }
        }

        func run() throws {
            var organisation: SigningPublicKey?
            try reportingOperatorErrors { organisation = try KeyDirectory(path: keys).organisationPublicKey() }
            guard let organisation else { throw ExitCode.failure }
            let origin = server.hasSuffix("/") ? String(server.dropLast()) : server
            let page = try WidgetPage(web: web, origin: origin, organisation: organisation, serverName: serverName)
            try page.write(to: out)
            print("wrote the widget to \(out): serve it from your own site over https, for example at https://your-site/support/")
            print("start the Haven server with --allowed-origin set to that site's origin, then paste:")
            print(WidgetPage.iframe(source: "https://your-site/support/index.html"))
            print("<!-- organisation key fingerprint: \(OrganisationAnchor.fingerprint(of: organisation)) -->")
        }
    }
}
