#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address: its 4 or 16 bytes in network order.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes.count == 4 }

    init(bytes: [UInt8]) {
        precondition(bytes.count == 4 || bytes.count == 16, "an IP address has 4 or 16 bytes")
        self.bytes = bytes
    }

    /// An address written as `inet_pton` reads it (`192.0.2.1`, `::1`, `::ffff:10.0.0.1`; IPv6
    /// also in brackets, `[::1]`): the forms NIO and async-http-client connect to without a
    /// name lookup. `nil` for anything else, host names and zone ids (`fe80::1%eth0`) included.
    public init?(_ text: String) {
        var text = Substring(text)
        if text.first == "[", text.last == "]" { text = text.dropFirst().dropLast() }
        var v4 = in_addr()
        if inet_pton(AF_INET, String(text), &v4) == 1 {
            self.bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, String(text), &v6) == 1 {
            self.bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    /// An IPv4 address in any form `inet_aton` (and so `getaddrinfo`) reads: besides the dotted
    /// quad also `127.1`, `0x7f.0.0.1`, `017700000001` and `2130706433`. For spotting such a
    /// host in a URL before it is ever looked up.
    static func anyIPv4Notation(_ text: String) -> IPAddress? {
        guard !text.isEmpty, text.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X" }) else { return nil }
        var v4 = in_addr()
        guard inet_aton(text, &v4) != 0 else { return nil }
        return IPAddress(bytes: withUnsafeBytes(of: &v4) { Array($0) })
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        bytes.withUnsafeBytes { raw in
            _ = inet_ntop(isIPv4 ? AF_INET : AF_INET6, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The IPv4 address of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), which a dual-stack
    /// socket connects to as that IPv4 address; otherwise the address itself.
    public var unmapped: IPAddress {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else { return self }
        return IPAddress(bytes: Array(bytes[12..<16]))
    }

    /// The IPv4 address inside a NAT64 address of the well-known prefix (`64:ff9b::a.b.c.d`),
    /// where a NAT64 gateway would connect.
    var translatedIPv4: IPAddress? {
        guard bytes.count == 16, bytes[0..<12] == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] else { return nil }
        return IPAddress(bytes: Array(bytes[12..<16]))
    }

    /// The special-purpose range the address is in (loopback, private-use, link-local, …), or
    /// `nil` for a global unicast address. IPv4-mapped and NAT64 (`64:ff9b::/96`) IPv6
    /// addresses are judged by the IPv4 address they carry. docs/security-egress.md lists the
    /// ranges.
    public var specialPurpose: SpecialPurpose? {
        let address = translatedIPv4 ?? unmapped
        if let match = SpecialPurpose.ranges.first(where: { $0.network.contains(address) }) { return match.purpose }
        if !address.isIPv4, !SpecialPurpose.globalUnicastIPv6.contains(address) { return .reserved }
        return nil
    }
}

/// Why an address is not on the public internet: the special-purpose registries' ranges
/// (RFC 6890 and its updates) that a notification must not reach unless allowed.
public enum SpecialPurpose: String, Sendable, CaseIterable {
    case unspecified
    case loopback
    case privateUse = "private-use"
    case sharedAddressSpace = "shared address space"
    case linkLocal = "link-local"
    case multicast
    case broadcast
    case documentation
    case benchmarking
    case protocolAssignments = "IETF protocol assignments"
    case relayAnycast = "6to4 relay anycast"
    case ipv4Compatible = "IPv4-compatible"
    case localNAT64 = "local-use NAT64"
    case discardOnly = "discard-only"
    case sixToFour = "6to4"
    case segmentRouting = "SRv6 SIDs"
    case uniqueLocal = "unique-local"
    case siteLocal = "site-local"
    case reserved

    /// First match wins: the more specific ranges come first.
    static let ranges: [(network: IPNetwork, purpose: SpecialPurpose)] = ([
        ("0.0.0.0/8", .unspecified),
        ("10.0.0.0/8", .privateUse),
        ("100.64.0.0/10", .sharedAddressSpace),
        ("127.0.0.0/8", .loopback),
        ("169.254.0.0/16", .linkLocal),
        ("172.16.0.0/12", .privateUse),
        ("192.0.0.0/24", .protocolAssignments),
        ("192.0.2.0/24", .documentation),
        ("192.88.99.0/24", .relayAnycast),
        ("192.168.0.0/16", .privateUse),
        ("198.18.0.0/15", .benchmarking),
        ("198.51.100.0/24", .documentation),
        ("203.0.113.0/24", .documentation),
        ("224.0.0.0/4", .multicast),
        ("255.255.255.255/32", .broadcast),
        ("240.0.0.0/4", .reserved),
        ("::/128", .unspecified),
        ("::1/128", .loopback),
        ("::/96", .ipv4Compatible),
        ("64:ff9b:1::/48", .localNAT64),
        ("100::/64", .discardOnly),
        ("2001::/23", .protocolAssignments),
        ("2001:db8::/32", .documentation),
        ("2002::/16", .sixToFour),
        ("3fff::/20", .documentation),
        ("5f00::/16", .segmentRouting),
        ("fc00::/7", .uniqueLocal),
        ("fe80::/10", .linkLocal),
        ("fec0::/10", .siteLocal),
        ("ff00::/8", .multicast),
    ] as [(String, SpecialPurpose)]).map { (IPNetwork($0.0)!, $0.1) }

    /// IPv6 outside this block (and not caught above) is reserved by IANA.
    static let globalUnicastIPv6 = IPNetwork("2000::/3")!
}

/// An address block in CIDR notation (`10.0.0.0/8`, `fd00::/8`).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The first address of the block (host bits cleared).
    public let address: IPAddress
    public let prefixLength: Int

    public init(_ address: IPAddress, prefixLength: Int) {
        precondition((0...address.bytes.count * 8).contains(prefixLength), "prefix longer than the address")
        let masked = address.bytes.enumerated().map { index, byte -> UInt8 in
            let bits = min(8, max(0, prefixLength - index * 8))
            return bits == 0 ? 0 : byte & ~UInt8(0xff >> bits)
        }
        self.address = IPAddress(bytes: masked)
        self.prefixLength = prefixLength
    }

    /// `address/prefix`; a prefix beyond the address's length, or any other text, is `nil`.
    /// Host bits may be set (`127.0.0.1/8` is `127.0.0.0/8`).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(String(parts[0])), !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              let length = Int(parts[1]), (0...address.bytes.count * 8).contains(length) else { return nil }
        // An IPv4-mapped block (`::ffff:10.0.0.0/104`) is the IPv4 block it maps.
        if address.unmapped.isIPv4, !address.isIPv4, length >= 96 {
            self.init(address.unmapped, prefixLength: length - 96)
        } else {
            self.init(address, prefixLength: length)
        }
    }

    /// Whether `address` is in the block; an IPv4-mapped IPv6 address counts as its IPv4 address.
    public func contains(_ address: IPAddress) -> Bool {
        let candidate = address.unmapped
        guard candidate.bytes.count == self.address.bytes.count else { return false }
        return IPNetwork(candidate, prefixLength: prefixLength).address == self.address
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
