import Foundation

/// Byte sizes as Loki reads them (go-humanize's `ParseBytes`): a number and a unit, `B`, `KB`
/// (1000), `KiB` (1024), … up to `EB`/`EiB`, case-insensitive, with an optional space: `10KB`,
/// `1.5 MiB`, `42` (bytes).
public enum ByteSize {
    static let units: [String: Double] = [
        "": 1, "b": 1,
        "k": 1e3, "kb": 1e3, "kib": 1024, "ki": 1024,
        "m": 1e6, "mb": 1e6, "mib": 1_048_576, "mi": 1_048_576,
        "g": 1e9, "gb": 1e9, "gib": 1_073_741_824, "gi": 1_073_741_824,
        "t": 1e12, "tb": 1e12, "tib": 1_099_511_627_776, "ti": 1_099_511_627_776,
        "p": 1e15, "pb": 1e15, "pib": 1_125_899_906_842_624, "pi": 1_125_899_906_842_624,
        "e": 1e18, "eb": 1e18, "eib": 1_152_921_504_606_846_976, "ei": 1_152_921_504_606_846_976,
    ]

    /// The size in bytes, or nil when `text` is not a size.
    public static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !number.isEmpty, let value = Double(number) else { return nil }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard let factor = units[unit] else { return nil }
        return value * factor
    }
}
