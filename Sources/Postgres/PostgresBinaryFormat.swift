/// PostgreSQL's binary wire format for the types Haven uses, keyed by type OID. Parameters of
/// other types go in text format, which the server parses; results of other types are refused.
enum PostgresBinaryFormat {
    enum TypeOID {
        static let bool: UInt32 = 16
        static let bytea: UInt32 = 17
        static let name: UInt32 = 19
        static let int8: UInt32 = 20
        static let int2: UInt32 = 21
        static let int4: UInt32 = 23
        static let text: UInt32 = 25
        static let oid: UInt32 = 26
        static let float4: UInt32 = 700
        static let float8: UInt32 = 701
        static let unknown: UInt32 = 705
        static let bpchar: UInt32 = 1042
        static let varchar: UInt32 = 1043
        static let textual: Set<UInt32> = [name, text, unknown, bpchar, varchar]
    }

    /// A parameter ready to send: its bytes and whether they are binary (1) or text (0).
    struct Encoded {
        let bytes: [UInt8]
        let format: Int32
    }

    /// `value` encoded for a parameter the server typed `type`; nil for NULL.
    static func encode(_ value: PostgresValue, as type: UInt32) throws(PostgresError) -> Encoded? {
        switch (value, type) {
        case (.null, _): return nil
        case (.integer(let number), TypeOID.int8): return binary(number.bigEndian)
        case (.integer(let number), TypeOID.int4):
            guard let narrow = Int32(exactly: number) else { throw outOfRange(type) }
            return binary(narrow.bigEndian)
        case (.integer(let number), TypeOID.int2):
            guard let narrow = Int16(exactly: number) else { throw outOfRange(type) }
            return binary(narrow.bigEndian)
        case (.integer(let number), TypeOID.bool): return Encoded(bytes: [number != 0 ? 1 : 0], format: 1)
        case (.integer(let number), TypeOID.float8): return binary(Double(number).bitPattern.bigEndian)
        case (.boolean(let flag), TypeOID.bool): return Encoded(bytes: [flag ? 1 : 0], format: 1)
        case (.boolean(let flag), TypeOID.int8): return binary(Int64(flag ? 1 : 0).bigEndian)
        case (.boolean(let flag), TypeOID.int4): return binary(Int32(flag ? 1 : 0).bigEndian)
        case (.real(let number), TypeOID.float8): return binary(number.bitPattern.bigEndian)
        case (.real(let number), TypeOID.float4): return binary(Float(number).bitPattern.bigEndian)
        case (.bytes(let bytes), TypeOID.bytea): return Encoded(bytes: bytes, format: 1)
        case (.text(let text), _) where TypeOID.textual.contains(type): return Encoded(bytes: Array(text.utf8), format: 1)
        case (.bytes, _): throw PostgresError.unsupportedType(oid: type, operation: "bind bytes")
        // Any other pairing goes as text, which the server parses for the parameter's type
        // (and refuses with a clear error when it cannot). libpq reads a text parameter up to its
        // NUL, whatever its length says: each ends with one.
        case (.integer(let number), _): return text(String(number))
        case (.real(let number), _): return text(String(number))
        case (.text(let text), _): return Self.text(text)
        case (.boolean(let flag), _): return text(flag ? "t" : "f")
        }
    }

    /// A result column of type `type`, read from its binary bytes.
    static func decode(_ bytes: UnsafeRawBufferPointer, as type: UInt32) throws(PostgresError) -> PostgresValue {
        switch type {
        case TypeOID.int8: return .integer(Int64(bigEndian: load(bytes)))
        case TypeOID.int4: return .integer(Int64(Int32(bigEndian: load(bytes))))
        case TypeOID.int2: return .integer(Int64(Int16(bigEndian: load(bytes))))
        case TypeOID.oid: return .integer(Int64(UInt32(bigEndian: load(bytes))))
        case TypeOID.bool: return .boolean(bytes.first == 1)
        case TypeOID.float8: return .real(Double(bitPattern: UInt64(bigEndian: load(bytes))))
        case TypeOID.float4: return .real(Double(Float(bitPattern: UInt32(bigEndian: load(bytes)))))
        case TypeOID.bytea: return .bytes(Array(bytes))
        case _ where TypeOID.textual.contains(type): return .text(String(decoding: bytes, as: UTF8.self))
        default: throw PostgresError.unsupportedType(oid: type, operation: "read a column")
        }
    }

    private static func text(_ value: String) -> Encoded {
        Encoded(bytes: Array(value.utf8) + [0], format: 0)
    }

    private static func binary<Number: FixedWidthInteger>(_ number: Number) -> Encoded {
        Encoded(bytes: withUnsafeBytes(of: number) { Array($0) }, format: 1)
    }

    private static func load<Number: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer) -> Number {
        var number = Number.zero
        withUnsafeMutableBytes(of: &number) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(MemoryLayout<Number>.size))) }
        return number
    }

    private static func outOfRange(_ type: UInt32) -> PostgresError {
        .statementFailed(operation: "bind an integer", sqlState: "22003", reason: "the value does not fit the parameter's type \(type)")
    }
}
