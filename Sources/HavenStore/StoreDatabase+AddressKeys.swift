extension StoreDatabase {
    /// The key every node sharing this database hashes visitors' addresses with on `day` (days
    /// since 1970): `candidate`, unless a node stored its own first. Keys of days before
    /// yesterday are deleted: with them, a day's hashed addresses could be linked to addresses.
    ///
    /// - Throws: ``StoreError``.
    public func agreeOnAddressKey(day: Int64, candidate: [UInt8]) throws -> [UInt8] {
        try run("DELETE FROM address_keys WHERE day < ?", [.integer(day - 1)])
        try run("INSERT INTO address_keys (day, key) VALUES (?, ?) ON CONFLICT DO NOTHING", [.integer(day), .blob(candidate)])
        guard let key = try run("SELECT key FROM address_keys WHERE day = ?", [.integer(day)]).first?.first?.blob else {
            throw StoreError.noRow(operation: "read the day's address key")
        }
        return key
    }
}
