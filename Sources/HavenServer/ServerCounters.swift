/// Counters exported on /metrics. Loop thread only.
struct ServerCounters {
    var connectionsAccepted = 0
    var logins = 0
    var roomMessagesStored = 0
    var directMessagesStored = 0
    var duplicates = 0
    var rateLimited = 0
    /// Messages refused because the store had too much waiting (not the sender's doing).
    var refusedWhileBusy = 0
    /// Times a connection was not read for a while because its messages waited for the store.
    var readsPaused = 0
    /// Times a receiver's live messages were paused to let it catch up from the store.
    var receiversFellBehind = 0
    /// Deliveries heard from other nodes.
    var clusterDeliveriesHeard = 0
    /// Times a stream was read from the store because a delivery before the one heard never came.
    var clusterGapsRead = 0
    /// Times the bus connected to Redis again (what was published meanwhile is read from the store).
    var clusterReconnections = 0
    /// Other nodes taken to be gone (silent for a while).
    var clusterNodesLost = 0
    /// Budget spendings heard from other nodes (an identity's, of one budget, in a second).
    var clusterBudgetSpendingsHeard = 0
    /// Budget spendings of client addresses heard from other nodes (an address's, of one
    /// budget, in a second).
    var clusterAddressSpendingsHeard = 0
    /// Clients let go because a replay of their history waited too long for them to read.
    var stalledReadersLetGo = 0
    var protocolErrors = 0
    var purgedRows = 0
    /// Times a wipe of the WAL (after a deletion or a purge) could not complete at once.
    var wipesIncomplete = 0
    var invitesRedeemed = 0
    var moderationActions = 0
    var reports = 0
    var callsRung = 0
    var callsAnswered = 0
    /// Identities that logged in for the first time.
    var newIdentities = 0
    /// New identities refused for a missing or insufficient proof of work.
    var proofsRefused = 0
}
