import Foundation
import HavenNet
import HavenProtocol
import HavenStore
import Sodium

extension HavenServer {
    func respond(to request: HTTPMessage, from peer: [UInt8], reply: @escaping (HTTPResponse) -> Void) {
        // A widget the provider hosts on its own origin reads the configuration and the blobs
        // across origins: allowed for the configured origins only. Every response says not to
        // sniff, not to refer, and (unless it is a page of the widget) to run nothing.
        let crossOrigin = corsHeaders(for: request)
        // Reached over TLS (at a trusted proxy): browsers are told to keep to it.
        let transport = request.arrivedOverTLS ? ["Strict-Transport-Security": "max-age=31536000"] : [:]
        let reply = { (response: HTTPResponse) in
            var response = response
            response.headers.merge(crossOrigin) { $1 }
            response.headers.merge(transport) { $1 }
            response.headers.merge(Self.safeHeaders) { current, _ in current }
            reply(response)
        }
        let addressKey = addresses.key(for: peer, wallClockSeconds: UInt64(configuration.now()))
        // An upload whose body was admitted (and budgeted) from its head is not refused at its end.
        let admittedUpload = request.method == "POST" && request.path == "/v1/blobs"
            && Self.bearerToken(request).map { arrivingUploads[$0] != nil } == true
        guard admittedUpload || addresses.allowRequest(addressKey, now: loop.nowMilliseconds) else {
            counters.rateLimited += 1
            reply(.error(status: 429, code: "too_many_requests", message: "too many requests from this network; wait a moment",
                         headers: ["Retry-After": "1"]))
            return
        }
        if request.path == "/metrics" && !metricsAllowed(request, from: peer) {
            reply(.error(status: 403, code: "forbidden", message: "metrics are served to this machine (or with the metrics token) only"))
            return
        }
        if request.method == "OPTIONS", !crossOrigin.isEmpty {
            reply(HTTPResponse(status: 204, headers: [
                "Access-Control-Allow-Methods": "GET, POST", "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            ]))
            return
        }
        if request.path.hasPrefix("/v1/blobs") {
            serveBlob(request, addressKey: addressKey, reply: reply)
            return
        }
        reply(respond(to: request))
    }

    /// Headers on every response (a response's own take precedence).
    static let safeHeaders = [
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    ]

    /// `/metrics` is for the machine itself (a scraper on loopback), or for whoever presents the
    /// configured token (`Authorization: Bearer …`, compared in constant time).
    func metricsAllowed(_ request: HTTPMessage, from peer: [UInt8]) -> Bool {
        let loopback = (peer.count == 4 && peer[0] == 127) || peer == Array(repeating: 0, count: 15) + [1]
            || (peer.count == 16 && peer[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] && peer[12] == 127)
        if loopback { return true }
        guard let token = configuration.metricsToken, let header = request.header("Authorization"), header.hasPrefix("Bearer ") else { return false }
        return ConstantTime.equals(Array(header.dropFirst("Bearer ".count).utf8), token)
    }

    /// CORS headers for a request from an allowed origin to the configuration, the availability or
    /// the blobs.
    func corsHeaders(for request: HTTPMessage) -> [String: String] {
        let origins = configuration.network.allowedOrigins
        guard ["/config.json", "/v1/availability"].contains(request.path) || request.path.hasPrefix("/v1/blobs"), let origin = request.header("Origin"),
              origins.contains(origin) || origins.contains("*")
        else { return [:] }
        return ["Access-Control-Allow-Origin": origin, "Vary": "Origin"]
    }

    /// The requests answered at once: the widget's files, its configuration, availability, health,
    /// metrics.
    func respond(to request: HTTPMessage) -> HTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            return .error(status: 405, code: "method_not_allowed", message: "only GET is served here")
        }
        let path = request.path == "/" ? "/index.html" : String(request.path)
        if let web = configuration.web, let file = web.files[path] {
            return HTTPResponse(status: 200, headers: [
                "Content-Type": file.type,
                "Content-Security-Policy": WebRoot.contentSecurityPolicy(frameAncestors: configuration.network.allowedOrigins),
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
            ], body: request.method == "HEAD" ? [] : file.body)
        }
        switch request.path {
        case "/config.json":
            // The provider's presentation only: the organisation key staff chains end in is
            // pinned by the embedding page, never taken from here (docs/threat-model.md).
            let widget = configuration.widget
            var config: [String: Any] = [
                "name": widget.name, "colour": widget.colour, "rules": widget.rules, "rooms": widget.rooms,
                "crisisContacts": (widget.crisisContacts.isEmpty ? WidgetSettings.generalCrisisContacts : widget.crisisContacts)
                    .map { ["name": $0.name, "contact": $0.contact] },
                "crisisContactsAreGeneral": widget.crisisContacts.isEmpty, "quickExit": widget.quickExitURL,
            ]
            config["logo"] = widget.logo
            config["openingHours"] = widget.openingHours
            config["relayOnlyCalls"] = configuration.turn?.relayOnly ?? false
            // Without a relay a call shows each side's address: members are asked first.
            config["relayAvailable"] = configuration.turn != nil
            let body = (try? JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])).map(Array.init) ?? []
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: body)
        case "/v1/availability":
            // What the widget shows before its member starts: counsellors online, members waiting.
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"], body: FrameCodec.encodeValue(availability))
        case "/":
            let body = #"{"name":"haven","websocket":"\#(configuration.network.webSocketPath)","health":"/healthz","metrics":"/metrics"}"#
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(body.utf8))
        case "/healthz":
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(#"{"status":"ok"}"#.utf8))
        case "/metrics":
            return HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4"], body: Array(metricsText().utf8))
        default:
            return .error(status: 404, code: "not_found", message: "nothing here")
        }
    }

    /// The Prometheus text exposition of the server's and the store's counters.
    func metricsText() -> String {
        let store = store.metrics
        let lines: [(name: String, type: String, help: String, value: String)] = [
            ("haven_connections", "gauge", "Open WebSocket connections.", "\(networkTotal(\.webSocketConnections))"),
            ("haven_sessions_authenticated", "gauge", "Logged-in connections.", "\(sessionsByMember.values.reduce(0) { $0 + $1.count })"),
            ("haven_connections_accepted_total", "counter", "WebSocket connections accepted.", "\(counters.connectionsAccepted)"),
            ("haven_logins_total", "counter", "Successful logins.", "\(counters.logins)"),
            ("haven_new_identities_total", "counter", "Identities that logged in for the first time.", "\(counters.newIdentities)"),
            ("haven_new_identities_per_minute", "gauge", "New identities over the last minute.",
             "\(newIdentityRate.perMinute(now: loop.nowMilliseconds))"),
            ("haven_proof_of_work_bits", "gauge", "The proof of work asked of a new identity now, in bits.",
             "\(newIdentityRate.bits(now: loop.nowMilliseconds))"),
            ("haven_proofs_refused_total", "counter", "New identities refused for a missing or short proof of work.", "\(counters.proofsRefused)"),
            ("haven_room_messages_stored_total", "counter", "Room messages committed.", "\(counters.roomMessagesStored)"),
            ("haven_direct_messages_stored_total", "counter", "Direct messages committed.", "\(counters.directMessagesStored)"),
            ("haven_cluster_deliveries_heard_total", "counter", "Deliveries heard from other nodes.", "\(counters.clusterDeliveriesHeard)"),
            ("haven_cluster_gaps_read_total", "counter", "Streams read from the store because a delivery from another node never came.",
             "\(counters.clusterGapsRead)"),
            ("haven_cluster_reconnections_total", "counter", "Times this node connected to Redis again.", "\(counters.clusterReconnections)"),
            ("haven_cluster_budget_spendings_heard_total", "counter", "Identities' budget spendings heard from other nodes.",
             "\(counters.clusterBudgetSpendingsHeard)"),
            ("haven_cluster_address_spendings_heard_total", "counter", "Client addresses' budget spendings heard from other nodes.",
             "\(counters.clusterAddressSpendingsHeard)"),
            ("haven_cluster_address_key_shared", "gauge", "1 when addresses are keyed with the day's key every node shares.",
             "\(addresses.keyIsShared ? 1 : 0)"),
            ("haven_cluster_nodes", "gauge", "Other nodes heard from lately.", "\(nodesHeard.count)"),
            ("haven_cluster_nodes_lost_total", "counter", "Other nodes taken to be gone after saying nothing for 16 s.", "\(counters.clusterNodesLost)"),
            ("haven_cluster_published_total", "counter", "Deliveries published to the other nodes.", "\(bus?.counts.published ?? 0)"),
            ("haven_cluster_publish_dropped_total", "counter", "Deliveries not published because Redis could not be reached.",
             "\(bus?.counts.dropped ?? 0)"),
            ("haven_duplicate_messages_total", "counter", "Resent or replayed messages answered without storing.", "\(counters.duplicates)"),
            ("haven_deliveries_total", "counter", "Messages written to recipients.", "\(loopLinks.reduce(0) { $0 + $1.figures.deliveries })"),
            ("haven_slow_consumers_disconnected_total", "counter", "Clients disconnected for not reading fast enough.",
             "\(networkTotal(\.slowConsumersDisconnected) + counters.stalledReadersLetGo)"),
            ("haven_reads_paused_total", "counter", "Times a connection was not read while its messages waited for the store.",
             "\(counters.readsPaused)"),
            ("haven_websocket_framing_contexts", "gauge", "WebSocket framing contexts alive (sessions busy with a frame, not idle).",
             "\(networkTotal(\.framingContexts))"),
            ("haven_connections_let_go_total", "counter", "Silent connections closed to make room for new ones at the server's most.",
             "\(networkTotal(\.connectionsLetGo))"),
            ("haven_connections_refused_at_capacity_total", "counter", "Connections closed on arrival because the server held its most and none was silent.",
             "\(networkTotal(\.connectionsRefusedAtCapacity))"),
            ("haven_rate_limited_total", "counter", "Messages and connections refused by rate limits.", "\(counters.rateLimited)"),
            ("haven_refused_while_busy_total", "counter", "Messages refused (to be sent again) while the store had too much waiting.",
             "\(counters.refusedWhileBusy)"),
            ("haven_receivers_fell_behind_total", "counter", "Times a receiver's live messages paused while it caught up from the store.",
             "\(counters.receiversFellBehind)"),
            ("haven_store_operations_in_flight", "gauge", "Store operations submitted and not yet answered.", "\(storeOperationsInFlight)"),
            ("haven_protocol_errors_total", "counter", "Frames refused as invalid.", "\(counters.protocolErrors)"),
            ("haven_calls_rung_total", "counter", "Calls that started ringing.", "\(counters.callsRung)"),
            ("haven_calls_answered_total", "counter", "Calls that were answered.", "\(counters.callsAnswered)"),
            ("haven_uploads_arriving", "gauge", "Attachment bodies arriving now.", "\(uploadsInProgress.count)"),
            ("haven_replays_running", "gauge", "Replays of stored history being sent.", "\(replayTurns.runningCount)"),
            ("haven_replays_waiting", "gauge", "Replays of stored history waiting for their network's turn.", "\(replayTurns.waitingCount)"),
            ("haven_replays_waiting_for_clients", "gauge", "Replays of stored history waiting, without a turn, for their client to read what it has.",
             "\(sessions.values.reduce(0) { $0 + $1.replaysWaiting.count })"),
            ("haven_calls_active", "gauge", "Calls ringing or in progress.", "\(callRules.calls.count)"),
            ("haven_moderation_actions_total", "counter", "Moderation actions applied.", "\(counters.moderationActions)"),
            ("haven_reports_total", "counter", "Reports filed.", "\(counters.reports)"),
            ("haven_invites_redeemed_total", "counter", "Staff invites redeemed.", "\(counters.invitesRedeemed)"),
            ("haven_retention_purged_rows_total", "counter", "Rows deleted by the retention purge.", "\(counters.purgedRows)"),
            ("haven_wal_wipes_incomplete_total", "counter", "Times a wipe of the WAL (after a deletion or a purge) had to wait for a reader.",
             "\(counters.wipesIncomplete)"),
            ("haven_store_queue_depth", "gauge", "Store operations waiting for the writer.", "\(store.queueDepth)"),
            ("haven_store_commits_total", "counter", "Store transactions committed.", "\(store.commits)"),
            ("haven_store_operations_total", "counter", "Store operations run.", "\(store.operations)"),
            ("haven_store_commit_seconds_sum", "counter", "Total time spent in store transactions.", "\(store.commitSecondsTotal)"),
            ("haven_store_commit_seconds_max", "gauge", "Longest store transaction.", "\(store.commitSecondsMax)"),
        ]
        let perLoop: [(name: String, type: String, help: String, value: (NetworkFigures) -> Int)] = [
            ("haven_loop_connections", "gauge", "Open WebSocket connections on each connection loop.", \.webSocketConnections),
            ("haven_loop_connections_accepted_total", "counter", "Connections each connection loop accepted (plain HTTP too).", \.connectionsAccepted),
        ]
        return lines.map { "# HELP \($0.name) \($0.help)\n# TYPE \($0.name) \($0.type)\n\($0.name) \($0.value)\n" }.joined()
            + perLoop.map { metric in
                "# HELP \(metric.name) \(metric.help)\n# TYPE \(metric.name) \(metric.type)\n"
                    + loopLinks.map { #"\#(metric.name){loop="\#($0.index)"} \#(metric.value($0.figures.network))"# + "\n" }.joined()
            }.joined()
    }

    /// One of the connection loops' network counters, added up over the loops.
    private func networkTotal(_ figure: KeyPath<NetworkFigures, Int>) -> Int {
        loopLinks.reduce(0) { $0 + $1.figures.network[keyPath: figure] }
    }
}
