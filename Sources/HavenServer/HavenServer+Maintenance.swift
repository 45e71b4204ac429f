import HavenNet
import HavenProtocol
import HavenStore

extension HavenServer {
    func startMaintenance() throws {
        let retention = try LoopTimer(loop: loop) { [unowned self] in purgeExpired() }
        retention.start(after: configuration.retentionIntervalMilliseconds, repeatEvery: configuration.retentionIntervalMilliseconds)
        retentionTimer = retention
        let reload = try LoopTimer(loop: loop) { [unowned self] in reloadRooms() }
        reload.start(after: configuration.roomReloadMilliseconds, repeatEvery: configuration.roomReloadMilliseconds)
        roomReloadTimer = reload
    }

    func stopMaintenance() {
        retentionTimer?.close()
        retentionTimer = nil
        roomReloadTimer?.close()
        roomReloadTimer = nil
    }

    /// Deletes expired data in passes of at most ``ServerConfiguration/retentionBatch`` rows per
    /// kind. Each pass is one short store transaction queued behind live traffic, so a large
    /// purge never holds the writer for long; when it is done, the WAL is truncated (the result
    /// checked, and tried again at the next room reload if a reader held it) and free pages are
    /// returned, so the deleted bytes are gone from disk.
    func purgeExpired(total: PurgeReport = PurgeReport()) {
        guard !purgeRunning || total.total > 0 || total.hasMore else { return }
        purgeRunning = true
        let now = configuration.now()
        let limit = configuration.retentionBatch
        withStore({ try $0.purgeExpired(now: now, limit: limit) }) { [unowned self] result in
            guard case .success(let pass) = result else {
                purgeRunning = false
                ServerLog.warning("retention: a purge pass failed; it will be retried at the next interval")
                return
            }
            var sum = total
            sum.add(pass)
            if pass.hasMore {
                purgeExpired(total: sum)
                return
            }
            // The WAL is wiped after every pass, even one that deleted nothing: a room deleted
            // with the CLI while the server read the WAL leaves it there until now. PostgreSQL is
            // vacuumed only after a pass that deleted something (every node purges, and a vacuum
            // holds this node's store meanwhile).
            guard sum.total > 0 || configuration.storeLocation.engine == .sqlite else {
                purgeRunning = false
                return
            }
            let reclaim = LoopBound({ [unowned self] (result: Result<Void, StoreError>) in
                purgeRunning = false
                if case .failure(let error) = result {
                    counters.wipesIncomplete += 1
                    wipePending = true
                    ServerLog.warning("retention: the WAL is not yet wiped (tried again shortly): \(error)")
                }
                guard sum.total > 0 else { return }
                counters.purgedRows += sum.total
                let kinds = sum.deleted.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }
                ServerLog.info("retention: purged \(sum.total) rows (\(kinds.joined(separator: ", "))) and reclaimed the space")
            }, loop: loop)
            store.performOutsideTransaction({ try $0.reclaimSpace() }) { result in reclaim.value(result) }
        }
    }

    /// Picks up rooms created, renamed, re-kinded, given a retention, or archived with the CLI
    /// while the server runs, and moves rooms whose rotation period has passed to a new epoch.
    func reloadRooms() {
        reloadStaffRoster()
        reconcileSanctions()
        if wipePending {
            wipePending = false
            wipeDeleted()
        }
        let now = configuration.now()
        // Rooms already live keep their log in memory: only new rooms' logs are read.
        let live = Set(rooms.keys)
        withStore({ database -> (rooms: [LoadedRoom], rotated: [(String, Int64)]) in
            let rotated = try database.roomsDueForRotation(now: now).map { ($0, try database.advanceEpoch(room: $0, now: now)) }
            return (try LoadedRoom.loadAll(from: database) { !live.contains($0) }, rotated)
        }) { [unowned self] result in
            guard case .success(let (loaded, rotated)) = result else { return }
            for (room, epoch) in rotated {
                guard let id = try? RoomID(room), rooms[id] != nil else { continue }
                rotate(id, to: UInt64(epoch), without: nil)
            }
            let current = Set(loaded.map(\.id))
            for room in loaded {
                // Another node moved the room on (its schedule, or a removal there): this one follows.
                if let live = rooms[room.id], bus != nil, room.epoch > live.epoch { rotate(room.id, to: room.epoch, without: nil) }
                if let live = rooms[room.id] { live.update(from: room) } else { rooms[room.id] = LiveRoom(room, organisation: configuration.organisationPublicKey) }
            }
            for (id, room) in rooms where !current.contains(id) {
                rooms[id] = nil
                lastConnectionHereLeft(room)
                for session in room.sessions.values { unsubscribe(session, from: id) }
            }
        }
    }
}
