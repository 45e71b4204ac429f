/// A value bound to, or read from, a statement of either engine.
public enum StoreValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

extension StoreValue {
    var integer: Int64 {
        if case .integer(let value) = self { return value }
        return 0
    }

    var text: String {
        if case .text(let value) = self { return value }
        return ""
    }

    var blob: [UInt8] {
        if case .blob(let value) = self { return value }
        return []
    }
}
