import Foundation

/// Where notifications may go when their destination was set through the API (a rule's
/// `notification_config`): not to loopback, private, link-local or other special-purpose
/// addresses unless `SIGHTLINE_ALERT_ALLOWED_HOSTS` opens them, and e-mail only to the domains
/// of `SIGHTLINE_ALERT_EMAIL_DOMAINS` when that is set. Destinations from the operator's
/// environment (`SLACK_WEBHOOK_URL`, `ALERT_WEBHOOK_URL`, `ALERTMANAGER_URL`, `SMTP_*`,
/// `ALERT_EMAIL_TO`) are not subject to it. Pure decisions; `HostResolver` does the lookups and
/// `JSONPoster` the connecting. docs/security-egress.md describes it for operators.
public struct EgressPolicy: Sendable, Equatable {
    /// An entry of `SIGHTLINE_ALERT_ALLOWED_HOSTS`.
    public enum Allowance: Sendable, Equatable {
        /// A URL whose host is this name or address (compared as `EgressPolicy.hostKey` writes
        /// it), on any port or only on `port`.
        case host(String, port: Int?)
        /// A destination whose addresses are all in this block (or global).
        case network(IPNetwork)
    }

    /// `SIGHTLINE_ALERT_ALLOWED_HOSTS`: destinations opened despite their addresses.
    public var allowances: [Allowance]
    /// `SIGHTLINE_ALERT_EMAIL_DOMAINS`, lowercased: the only domains a rule's `email_to` may
    /// name. Empty: any domain.
    public var emailDomains: [String]

    public init(allowances: [Allowance] = [], emailDomains: [String] = []) {
        self.allowances = allowances
        self.emailDomains = emailDomains
    }

    // MARK: settings

    /// The entries of `SIGHTLINE_ALERT_ALLOWED_HOSTS` (`allowance`), and a problem per entry
    /// that is none, naming `setting` and the entry.
    public static func allowances(_ entries: [String], setting: String) -> ([Allowance], [String]) {
        var allowances: [Allowance] = []
        var problems: [String] = []
        for entry in entries {
            if let allowance = allowance(entry) {
                allowances.append(allowance)
            } else {
                problems.append("\(setting) entry \"\(entry)\": expected host, host:port, [IPv6]:port or address/prefix")
            }
        }
        return (allowances, problems)
    }

    /// The entries of `SIGHTLINE_ALERT_EMAIL_DOMAINS` as `emailDomains` keeps them (lowercased,
    /// without a leading `@` or a trailing dot), and a problem per entry that is not a domain
    /// with a dot, naming `setting` and the entry.
    public static func emailDomains(_ entries: [String], setting: String) -> ([String], [String]) {
        var domains: [String] = []
        var problems: [String] = []
        for entry in entries {
            var domain = entry.lowercased()
            if domain.hasPrefix("@") { domain.removeFirst() }
            if domain.hasSuffix(".") { domain.removeLast() }
            if isHostName(domain), domain.contains(".") {
                domains.append(domain)
            } else {
                problems.append("\(setting) entry \"\(entry)\": expected a domain such as example.com")
            }
        }
        return (domains, problems)
    }

    /// One entry: `host`, `host:port`, `[IPv6]`, `[IPv6]:port`, a bare IPv6 address, or
    /// `address/prefix`.
    static func allowance(_ entry: String) -> Allowance? {
        if entry.contains("/") { return IPNetwork(entry).map(Allowance.network) }
        var host = Substring(entry)
        var portText: Substring?
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { return nil }
            host = entry[entry.index(after: entry.startIndex)..<close]
            let rest = entry[entry.index(after: close)...]
            guard IPAddress(String(host))?.isIPv4 == false, rest.isEmpty || rest.hasPrefix(":") else { return nil }
            portText = rest.isEmpty ? nil : rest.dropFirst()
        } else if entry.filter({ $0 == ":" }).count == 1, let colon = entry.firstIndex(of: ":") {
            host = entry[..<colon]
            portText = entry[entry.index(after: colon)...]
        } else if entry.contains(":") {
            guard IPAddress(entry) != nil else { return nil }
        }
        var port: Int?
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(portText), (1...65535).contains(number) else { return nil }
            port = number
        }
        let key = hostKey(String(host))
        guard IPAddress(key) != nil || isHostName(key) else { return nil }
        return .host(key, port: port)
    }

    /// How hosts are compared: an address in its canonical form (`::1`, not `0:0::1`), a name
    /// lowercased without a trailing dot.
    static func hostKey(_ host: String) -> String {
        if let address = IPAddress(host) { return address.description }
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }

    private static func isHostName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 253 && !text.hasPrefix(".") && !text.contains("..")
            && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "." || $0 == "_") }
    }

    // MARK: decisions

    /// A notification URL as async-http-client reads it (Foundation's `URL`): where it connects.
    struct Destination: Sendable, Equatable {
        /// The host as the client looks it up, IPv6 brackets removed (the key of its `dnsOverride`).
        var host: String
        var port: Int
        /// The host, when it is an address the client connects to without a lookup.
        var address: IPAddress?
    }

    /// The destination of `url`, or why it cannot be one: only `http` and `https`, a host, and
    /// no user information (`user:password@`).
    static func destination(of url: String) -> Result<Destination, URLProblem> {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
              var host = parsed.host, !host.isEmpty else { return .failure(.notHTTP) }
        guard parsed.user == nil, parsed.password == nil else { return .failure(.userInformation) }
        if host.hasPrefix("[") { host.removeFirst() }
        if host.hasSuffix("]") { host.removeLast() }
        return .success(Destination(host: host, port: parsed.port ?? (scheme == "https" ? 443 : 80), address: IPAddress(host)))
    }

    enum URLProblem: Error, Sendable, Equatable, CustomStringConvertible {
        case notHTTP, userInformation
        case refused(SpecialPurpose)

        var description: String {
            switch self {
            case .notHTTP: "expected an http:// or https:// URL"
            case .userInformation: "must not contain user information (user:password@)"
            case .refused(let purpose): "\(purpose.rawValue) address refused by the egress policy (SIGHTLINE_ALERT_ALLOWED_HOSTS can allow it)"
            }
        }
    }

    /// What can be known of `url` without a lookup, for a rule being saved: its form, and an
    /// address written in it. A host name is judged at each send (it may resolve differently).
    func problem(withURL url: String) -> URLProblem? {
        let destination: Destination
        switch Self.destination(of: url) {
        case .failure(let problem): return problem
        case .success(let found): destination = found
        }
        guard !opens(destination), let address = destination.address ?? IPAddress.anyIPv4Notation(destination.host) else { return nil }
        return refusal(of: [address]).map(URLProblem.refused)
    }

    /// Whether a host entry of `SIGHTLINE_ALERT_ALLOWED_HOSTS` names the destination.
    func opens(_ destination: Destination) -> Bool {
        let key = Self.hostKey(destination.host)
        return allowances.contains { allowance in
            guard case .host(let host, let port) = allowance else { return false }
            return host == key && (port == nil || port == destination.port)
        }
    }

    /// The special purpose of the first of `addresses` that is neither global nor in a block
    /// of `SIGHTLINE_ALERT_ALLOWED_HOSTS`; `nil` when every one may be reached.
    func refusal(of addresses: [IPAddress]) -> SpecialPurpose? {
        for address in addresses {
            guard let purpose = address.specialPurpose else { continue }
            let allowed = allowances.contains { allowance in
                if case .network(let network) = allowance { return network.contains(address) }
                return false
            }
            if !allowed { return purpose }
        }
        return nil
    }

    /// Where a send to a destination connects: the URL's `host` pinned to each of `addresses`
    /// in turn (the client's `dnsOverride`, so the `Host` header and the TLS name stay the
    /// URL's), or, with no addresses, the URL as it is (its host is an address already checked,
    /// or a name the policy opens).
    struct Route: Sendable, Equatable {
        var host: String
        var addresses: [IPAddress] = []

        /// One `dnsOverride` per connection to try, in order.
        var dnsOverrides: [[String: String]] { addresses.isEmpty ? [[:]] : addresses.map { [host: $0.description] } }
    }

    /// Decides, just before each send, where `url` may connect. A name is looked up and every
    /// one of its addresses must pass, so a name cannot slip a private address in among public
    /// ones, nor resolve differently between the check and the connection. Throws `.refused`
    /// (saying nothing of the addresses) or, when the lookup fails, `.transport`.
    func route(_ url: String, lookupTimeout: Duration,
               lookup: @Sendable (String, Duration) async throws(HostResolver.Failure) -> [IPAddress] = HostResolver.addresses)
        async throws(NotificationError) -> Route {
        guard case .success(let destination) = Self.destination(of: url) else { throw .refused }
        if opens(destination) { return Route(host: destination.host) }
        if let address = destination.address {
            guard refusal(of: [address]) == nil else { throw .refused }
            return Route(host: destination.host)
        }
        let addresses: [IPAddress]
        do {
            addresses = try await lookup(destination.host, lookupTimeout)
        } catch {
            throw .transport(error == .timedOut ? "name lookup timed out" : "name lookup failed")
        }
        guard !addresses.isEmpty else { throw .transport("name lookup failed") }
        guard refusal(of: addresses) == nil else { throw .refused }
        return Route(host: destination.host, addresses: addresses)
    }

    /// The first of `recipients` whose domain `SIGHTLINE_ALERT_EMAIL_DOMAINS` does not list
    /// (an address with other than one `@` counts as outside); `nil` when all pass or the
    /// setting is empty.
    func refusedRecipient(in recipients: [String]) -> String? {
        guard !emailDomains.isEmpty else { return nil }
        return recipients.first { recipient in
            let parts = recipient.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2 else { return true }
            var domain = parts[1].lowercased()
            if domain.hasSuffix(".") { domain.removeLast() }
            return !emailDomains.contains(domain)
        }
    }
}

/// A destination the egress policy refused before any connection (a rule's `email_to` outside
/// `SIGHTLINE_ALERT_EMAIL_DOMAINS`): every send fails with `.refused`.
struct RefusedDestination: Notifier {
    let channel: NotificationChannel

    func send(_ notification: AlertNotification, headers: [(String, String)], timeout: Duration) async throws(NotificationError) -> NotificationOutcome {
        throw .refused
    }
}
