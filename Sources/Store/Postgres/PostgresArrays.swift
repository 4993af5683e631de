import Foundation
import NIOCore
import PostgresNIO

/// A `text[]` parameter whose elements may be NULL (postgres-nio's arrays have no NULL
/// elements). Binary array format: dimensions, has-null flag, element type, then per
/// dimension length and lower bound, then each element as length (-1 for NULL) and bytes.
struct NullableTextArray: PostgresNonThrowingEncodable, PostgresDynamicTypeEncodable {
    var elements: [String?]

    static var psqlType: PostgresDataType { .textArray }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(elements.contains(where: { $0 == nil }) ? 1 : 0, as: Int32.self)
        buffer.writeInteger(PostgresDataType.text.rawValue, as: UInt32.self)
        guard !elements.isEmpty else { return }
        buffer.writeInteger(Int32(elements.count), as: Int32.self)
        buffer.writeInteger(1, as: Int32.self)
        for element in elements {
            if let element {
                let lengthIndex = buffer.writerIndex
                buffer.writeInteger(0, as: Int32.self)
                let written = buffer.writeString(element)
                buffer.setInteger(Int32(written), at: lengthIndex, as: Int32.self)
            } else {
                buffer.writeInteger(-1, as: Int32.self)
            }
        }
    }
}

