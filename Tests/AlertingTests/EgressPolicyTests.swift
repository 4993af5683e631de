@testable import Alerting
import Foundation
import SightlineServer
import Synchronization
import Testing

/// The egress policy's decisions without a network: which addresses are special-purpose, how
/// `SIGHTLINE_ALERT_ALLOWED_HOSTS` entries read and match, what a rule may save, where a send
/// may connect (lookups injected), and which e-mail recipients pass.
@Suite("Egress policy for destinations set through the API")
struct EgressPolicyTests {
    // MARK: addresses

    /// Each range at its edges and inside, the neighbours just outside, and every IPv6 form that
    /// carries an IPv4 address.
    static let classified: [(String, SpecialPurpose?)] = [
        ("0.0.0.0", .unspecified), ("0.255.255.255", .unspecified), ("1.0.0.0", nil),
        ("9.255.255.255", nil), ("10.0.0.0", .privateUse), ("10.255.255.255", .privateUse), ("11.0.0.0", nil),
        ("100.63.255.255", nil), ("100.64.0.0", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace), ("100.128.0.0", nil),
        ("126.255.255.255", nil), ("127.0.0.0", .loopback), ("127.0.0.1", .loopback), ("127.255.255.255", .loopback), ("128.0.0.0", nil),
        ("169.253.255.255", nil), ("169.254.0.0", .linkLocal), ("169.254.169.254", .linkLocal), ("169.254.255.255", .linkLocal),
        ("169.255.0.0", nil),
        ("172.15.255.255", nil), ("172.16.0.0", .privateUse), ("172.31.255.255", .privateUse), ("172.32.0.0", nil),
        ("191.255.255.255", nil), ("192.0.0.0", .protocolAssignments), ("192.0.0.255", .protocolAssignments), ("192.0.1.0", nil),
        ("192.0.2.0", .documentation), ("192.0.2.255", .documentation), ("192.0.3.0", nil),
        ("192.88.99.1", .relayAnycast),
        ("192.167.255.255", nil), ("192.168.0.0", .privateUse), ("192.168.255.255", .privateUse), ("192.169.0.0", nil),
        ("198.17.255.255", nil), ("198.18.0.0", .benchmarking), ("198.19.255.255", .benchmarking), ("198.20.0.0", nil),
        ("198.51.100.7", .documentation), ("203.0.113.9", .documentation),
        ("223.255.255.255", nil), ("224.0.0.0", .multicast), ("224.0.0.1", .multicast), ("239.255.255.255", .multicast),
        ("240.0.0.0", .reserved), ("255.255.255.254", .reserved), ("255.255.255.255", .broadcast),
        ("8.8.8.8", nil), ("1.1.1.1", nil), ("93.184.215.14", nil),

        ("::", .unspecified), ("::1", .loopback), ("::2", .ipv4Compatible), ("::127.0.0.1", .ipv4Compatible),
        ("::ffff:127.0.0.1", .loopback), ("::ffff:7f00:1", .loopback), ("::ffff:0.0.0.0", .unspecified),
        ("::ffff:10.1.2.3", .privateUse), ("::ffff:169.254.169.254", .linkLocal), ("::ffff:100.64.0.1", .sharedAddressSpace),
        ("::ffff:224.0.0.1", .multicast), ("::ffff:255.255.255.255", .broadcast), ("::ffff:8.8.8.8", nil),
        ("::ffff:0:127.0.0.1", .reserved), // IPv4-translated (SIIT): outside 2000::/3
        ("64:ff9b::127.0.0.1", .loopback), ("64:ff9b::192.168.1.1", .privateUse), ("64:ff9b::8.8.8.8", nil),
        ("64:ff9b:1::1", .localNAT64), ("100::1", .discardOnly),
        ("2000::1", nil), ("2001::1", .protocolAssignments), ("2001:1ff:ffff:ffff::", .protocolAssignments), ("2001:200::1", nil),
        ("2001:db8::1", .documentation), ("2002:7f00:1::1", .sixToFour), ("3fff::1", .documentation), ("3fff:1000::1", nil),
        ("5f00::1", .segmentRouting), ("2606:4700:4700::1111", nil), ("2a00:1450:4001:80b::200e", nil),
        ("fbff:ffff::1", .reserved), ("fc00::", .uniqueLocal), ("fd12:3456::1", .uniqueLocal), ("fdff:ffff:ffff:ffff::1", .uniqueLocal),
        ("fe80::", .linkLocal), ("fe80::1", .linkLocal), ("febf:ffff::1", .linkLocal), ("fec0::1", .siteLocal),
        ("ff02::1", .multicast), ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .multicast),
        ("4000::1", .reserved), ("1fff:ffff::1", .reserved), ("e000::1", .reserved),
    ]

    @Test("each special-purpose range is recognised, at its edges, also inside IPv4-mapped and NAT64 IPv6", arguments: classified)
    func classification(address: String, purpose: SpecialPurpose?) throws {
        let parsed = try #require(IPAddress(address), "\(address)")
        #expect(parsed.specialPurpose == purpose, "\(address)")
    }

    @Test("the table above names every special purpose at least once")
    func everyPurposeCovered() {
        #expect(Set(Self.classified.compactMap(\.1)) == Set(SpecialPurpose.allCases))
    }

    @Test("addresses are read as the HTTP client reads them; other spellings of IPv4 are spotted separately")
    func addressParsing() throws {
        #expect(IPAddress("127.0.0.1")?.bytes == [127, 0, 0, 1])
        #expect(IPAddress("[::1]")?.description == "::1")
        #expect(IPAddress("0:0:0:0:0:0:0:1")?.description == "::1")
        #expect(IPAddress("::FFFF:7F00:1")?.description == "::ffff:127.0.0.1")
        #expect(IPAddress("::ffff:127.0.0.1")?.unmapped == IPAddress("127.0.0.1"))
        #expect(IPAddress("::1")?.unmapped == IPAddress("::1"))
        for text in ["", "localhost", "example.com", "127.1", "2130706433", "0x7f.0.0.1", "1.2.3.4.5", "256.0.0.1", "fe80::1%eth0", "[::1", ":::"] {
            #expect(IPAddress(text) == nil, "\(text)")
        }
        for text in ["127.1", "2130706433", "0x7f.0.0.1", "017700000001", "0x7f000001", "127.0.0.1"] {
            #expect(IPAddress.anyIPv4Notation(text) == IPAddress("127.0.0.1"), "\(text)")
        }
        for text in ["localhost", "example.com", "", "deadbeef", "1.2.3.4.5", "::1"] {
            #expect(IPAddress.anyIPv4Notation(text) == nil, "\(text)")
        }
    }

    @Test("CIDR blocks: parsed, host bits cleared, membership at the edges, IPv4-mapped counted as IPv4")
    func networks() throws {
        let ten = try #require(IPNetwork("10.0.0.0/8"))
        #expect(ten.contains(IPAddress("10.0.0.0")!) && ten.contains(IPAddress("10.255.255.255")!))
        #expect(!ten.contains(IPAddress("11.0.0.0")!) && !ten.contains(IPAddress("9.255.255.255")!))
        #expect(ten.contains(IPAddress("::ffff:10.1.2.3")!))
        #expect(!ten.contains(IPAddress("::a01:203")!)) // IPv4-compatible, not mapped
        let shared = try #require(IPNetwork("100.64.0.0/10"))
        #expect(shared.contains(IPAddress("100.127.255.255")!) && !shared.contains(IPAddress("100.128.0.0")!))
        #expect(IPNetwork("127.0.0.1/8")?.description == "127.0.0.0/8")
        #expect(IPNetwork("fd12:3456::1/16")?.description == "fd12::/16")
        #expect(IPNetwork("::ffff:10.0.0.0/104") == IPNetwork("10.0.0.0/8"))
        #expect(IPNetwork("::1/128")?.contains(IPAddress("::1")!) == true)
        #expect(IPNetwork("::1/128")?.contains(IPAddress("::2")!) == false)
        let all = try #require(IPNetwork("0.0.0.0/0"))
        #expect(all.contains(IPAddress("255.255.255.255")!) && !all.contains(IPAddress("::1")!))
        #expect(IPNetwork("fe80::/10")?.contains(IPAddress("febf::1")!) == true)
        #expect(IPNetwork("fe80::/10")?.contains(IPAddress("fec0::1")!) == false)
        for text in ["10.0.0.0/33", "::/129", "10.0.0.0/", "/8", "10.0.0.0/8/1", "10.0.0.0/-1", "10.0.0.0/+8", "example.com/8", "10.0.0.0", "10.0.0.0/٨"] {
            #expect(IPNetwork(text) == nil, "\(text)")
        }
    }

    // MARK: settings

    @Test("SIGHTLINE_ALERT_ALLOWED_HOSTS entries: host, host:port, [IPv6]:port, bare IPv6, CIDR; bad ones named")
    func allowedHostEntries() throws {
        #expect(EgressPolicy.allowance("hooks.internal") == .host("hooks.internal", port: nil))
        #expect(EgressPolicy.allowance("Hooks.Internal.:8080") == .host("hooks.internal", port: 8080))
        #expect(EgressPolicy.allowance("127.0.0.1:9093") == .host("127.0.0.1", port: 9093))
        #expect(EgressPolicy.allowance("[::1]:9093") == .host("::1", port: 9093))
        #expect(EgressPolicy.allowance("[0:0::1]") == .host("::1", port: nil))
        #expect(EgressPolicy.allowance("fd00::5") == .host("fd00::5", port: nil))
        #expect(EgressPolicy.allowance("10.0.0.0/8") == .network(IPNetwork("10.0.0.0/8")!))
        #expect(EgressPolicy.allowance("::1/128") == .network(IPNetwork("::1/128")!))
        for bad in ["host:0", "host:65536", "host:abc", "host:", ":80", "[127.0.0.1]:80", "[::1", "[::1]80", "a b", "http://x", "user@host",
                    "10.0.0.0/33", "1:2:3", "host:+80", ".", "a..b"] {
            #expect(EgressPolicy.allowance(bad) == nil, "\(bad)")
        }

        // Read through the configuration's table: each bad entry named, every problem at once.
        do {
            _ = try SightlineConfiguration.resolve(environment: [
                "SIGHTLINE_ALERT_ALLOWED_HOSTS": " hooks.internal, 127.0.0.1:9093 ,, 10.0.0.0/8, nope:x ",
                "SIGHTLINE_ALERT_EMAIL_DOMAINS": "Example.COM, @ops.example.org, bad domain, localhost, example.net.",
            ])
            Issue.record("bad entries were accepted")
        } catch {
            #expect(error.problems == [
                "SIGHTLINE_ALERT_ALLOWED_HOSTS entry \"nope:x\": expected host, host:port, [IPv6]:port or address/prefix",
                "SIGHTLINE_ALERT_EMAIL_DOMAINS entry \"bad domain\": expected a domain such as example.com",
                "SIGHTLINE_ALERT_EMAIL_DOMAINS entry \"localhost\": expected a domain such as example.com",
            ])
        }
        let configuration = try SightlineConfiguration.resolve(environment: [
            "SIGHTLINE_ALERT_ALLOWED_HOSTS": " hooks.internal, 127.0.0.1:9093 ,, 10.0.0.0/8 ",
            "SIGHTLINE_ALERT_EMAIL_DOMAINS": "Example.COM, @ops.example.org, example.net.",
        ]).alerting
        #expect(configuration.egress.allowances == [.host("hooks.internal", port: nil), .host("127.0.0.1", port: 9093),
                                                    .network(IPNetwork("10.0.0.0/8")!)])
        #expect(configuration.egress.emailDomains == ["example.com", "ops.example.org", "example.net"])
        #expect(try SightlineConfiguration.resolve().alerting.egress == EgressPolicy())
    }

    // MARK: saving a rule

    @Test("a URL is read as the HTTP client reads it: scheme, host, port, no user information")
    func destinations() throws {
        #expect(try EgressPolicy.destination(of: "http://127.0.0.1:8080/x").get()
                == .init(host: "127.0.0.1", port: 8080, address: IPAddress("127.0.0.1")))
        #expect(try EgressPolicy.destination(of: "https://[::1]/x").get() == .init(host: "::1", port: 443, address: IPAddress("::1")))
        #expect(try EgressPolicy.destination(of: "HTTP://Hooks.Example.com/x").get().port == 80)
        #expect(EgressPolicy.destination(of: "http://user:pw@hooks.example.com/") == .failure(.userInformation))
        #expect(EgressPolicy.destination(of: "http://user@hooks.example.com/") == .failure(.userInformation))
        for bad in ["ftp://x", "http:///x", "hooks.example.com", "", "file:///etc/passwd", "gopher://127.0.0.1:25/"] {
            #expect(EgressPolicy.destination(of: bad) == .failure(.notHTTP), "\(bad)")
        }
    }

    @Test("saving refuses a special-purpose address written in the URL, unless allowed; names wait for the send")
    func savedURLs() {
        let strict = EgressPolicy()
        #expect(strict.problem(withURL: "http://127.0.0.1:9/hook") == .refused(.loopback))
        #expect(strict.problem(withURL: "http://[::1]:9/hook") == .refused(.loopback))
        #expect(strict.problem(withURL: "http://[::ffff:127.0.0.1]/hook") == .refused(.loopback))
        #expect(strict.problem(withURL: "http://169.254.169.254/latest/meta-data/") == .refused(.linkLocal))
        #expect(strict.problem(withURL: "http://10.1.2.3/") == .refused(.privateUse))
        #expect(strict.problem(withURL: "http://[fd00::1]/") == .refused(.uniqueLocal))
        #expect(strict.problem(withURL: "http://0.0.0.0:8080/") == .refused(.unspecified))
        #expect(strict.problem(withURL: "http://2130706433/") == .refused(.loopback))
        #expect(strict.problem(withURL: "http://0x7f.1:9/") == .refused(.loopback))
        #expect(strict.problem(withURL: "http://user:pw@example.com/") == .userInformation)
        #expect(strict.problem(withURL: "ftp://example.com/") == .notHTTP)
        #expect(strict.problem(withURL: "http://localhost:9/hook") == nil)
        #expect(strict.problem(withURL: "https://hooks.slack.com/services/T0/B0/x") == nil)
        #expect(strict.problem(withURL: "http://8.8.8.8/") == nil)
        #expect(EgressPolicy.URLProblem.refused(.loopback).description
                == "loopback address refused by the egress policy (SIGHTLINE_ALERT_ALLOWED_HOSTS can allow it)")

        let byPort = EgressPolicy(allowances: [.host("127.0.0.1", port: 9)])
        #expect(byPort.problem(withURL: "http://127.0.0.1:9/hook") == nil)
        #expect(byPort.problem(withURL: "http://127.0.0.1:10/hook") == .refused(.loopback))
        #expect(byPort.problem(withURL: "http://127.0.0.2:9/hook") == .refused(.loopback))
        let byAnyPort = EgressPolicy(allowances: [.host("::1", port: nil)])
        #expect(byAnyPort.problem(withURL: "http://[0::1]:12345/") == nil)
        let byNetwork = EgressPolicy(allowances: [.network(IPNetwork("127.0.0.0/8")!)])
        #expect(byNetwork.problem(withURL: "http://127.0.0.1:10/hook") == nil)
        #expect(byNetwork.problem(withURL: "http://[::ffff:127.0.0.1]/") == nil)
        #expect(byNetwork.problem(withURL: "http://[::1]/") == .refused(.loopback))
        #expect(byNetwork.problem(withURL: "http://10.0.0.1/") == .refused(.privateUse))
    }

    // MARK: sending

    /// A lookup that answers from a table and counts its calls.
    final class Lookups: Sendable {
        let answers: [String: Result<[IPAddress], HostResolver.Failure>]
        private let calls = Mutex<[String]>([])
        var asked: [String] { calls.withLock { $0 } }

        init(_ answers: [String: Result<[IPAddress], HostResolver.Failure>]) { self.answers = answers }

        func lookup(_ host: String, _ timeout: Duration) throws(HostResolver.Failure) -> [IPAddress] {
            calls.withLock { $0.append(host) }
            return try (answers[host] ?? .failure(.failed)).get()
        }
    }

    static func addresses(_ texts: String...) -> Result<[IPAddress], HostResolver.Failure> { .success(texts.map { IPAddress($0)! }) }

    func route(_ policy: EgressPolicy, _ url: String, _ lookups: Lookups) async -> Result<EgressPolicy.Route, NotificationError> {
        do {
            return .success(try await policy.route(url, lookupTimeout: .seconds(1), lookup: { host, timeout throws(HostResolver.Failure) in
                try lookups.lookup(host, timeout)
            }))
        } catch {
            return .failure(error)
        }
    }

    static func pinned(_ host: String, _ addresses: String...) -> Result<EgressPolicy.Route, NotificationError> {
        .success(EgressPolicy.Route(host: host, addresses: addresses.map { IPAddress($0)! }))
    }

    static func unpinned(_ host: String) -> Result<EgressPolicy.Route, NotificationError> { .success(EgressPolicy.Route(host: host)) }

    @Test("at send time every looked-up address is checked and the connection pinned to them")
    func sendRoutes() async throws {
        let lookups = Lookups([
            "hooks.example.com": Self.addresses("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"),
            "rebind.example.com": Self.addresses("93.184.215.14", "10.0.0.1"),
            "mapped.example.com": Self.addresses("::ffff:127.0.0.1"),
            "localhost": Self.addresses("::1", "127.0.0.1"),
            "internal.example.com": Self.addresses("10.20.30.40"),
            "slow.example.com": .failure(.timedOut),
        ])
        let strict = EgressPolicy()
        let hooks = await route(strict, "https://hooks.example.com/x", lookups)
        #expect(hooks == Self.pinned("hooks.example.com", "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"))
        #expect(try hooks.get().dnsOverrides == [["hooks.example.com": "93.184.215.14"],
                                                 ["hooks.example.com": "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]])
        #expect(await route(strict, "https://rebind.example.com/x", lookups) == .failure(.refused))
        #expect(await route(strict, "http://mapped.example.com/x", lookups) == .failure(.refused))
        #expect(await route(strict, "http://localhost:9/x", lookups) == .failure(.refused))
        #expect(await route(strict, "http://internal.example.com/x", lookups) == .failure(.refused))
        #expect(await route(strict, "http://nowhere.example.com/x", lookups) == .failure(.transport("name lookup failed")))
        #expect(await route(strict, "http://slow.example.com/x", lookups) == .failure(.transport("name lookup timed out")))
        #expect(await route(strict, "http://user:pw@hooks.example.com/x", lookups) == .failure(.refused))
        // An address in the URL is checked as is, without a lookup.
        let before = lookups.asked.count
        #expect(await route(strict, "http://127.0.0.1:9/x", lookups) == .failure(.refused))
        #expect(await route(strict, "http://[::ffff:a00:1]/x", lookups) == .failure(.refused))
        #expect(await route(strict, "http://8.8.8.8/x", lookups) == Self.unpinned("8.8.8.8"))
        #expect(try await route(strict, "http://[2606:4700:4700::1111]/x", lookups).get().dnsOverrides == [[:]])
        #expect(lookups.asked.count == before)

        // A host entry opens the name (no lookup needed); a block opens the addresses in it.
        let byName = EgressPolicy(allowances: [.host("localhost", port: 9)])
        #expect(try await route(byName, "http://LOCALHOST:9/x", lookups).get().dnsOverrides == [[:]])
        #expect(await route(byName, "http://localhost:10/x", lookups) == .failure(.refused))
        let byNetwork = EgressPolicy(allowances: [.network(IPNetwork("10.0.0.0/8")!)])
        #expect(await route(byNetwork, "http://internal.example.com/x", lookups) == Self.pinned("internal.example.com", "10.20.30.40"))
        #expect(await route(byNetwork, "http://localhost:9/x", lookups) == .failure(.refused))
        let loopback = EgressPolicy(allowances: [.network(IPNetwork("127.0.0.0/8")!), .network(IPNetwork("::1/128")!)])
        #expect(await route(loopback, "http://localhost:9/x", lookups) == Self.pinned("localhost", "::1", "127.0.0.1"))
    }

    @Test("a refusal is final and says nothing of the destination")
    func refusalError() {
        #expect(NotificationError.refused.description == "destination refused by the egress policy")
        #expect(!NotificationError.refused.isRetryable)
        #expect(NotificationError.refused.statusCode == nil)
    }

    @Test("the resolver looks names up off the event loops, within its time limit")
    func resolver() async throws {
        let local = try await HostResolver.addresses(of: "localhost", timeout: .seconds(5))
        #expect(!local.isEmpty && local.allSatisfy { $0.specialPurpose == .loopback }, "\(local)")
        #expect(try await HostResolver.addresses(of: "127.0.0.1", timeout: .seconds(5)) == [IPAddress("127.0.0.1")!])
        let started = ContinuousClock.now
        await #expect(throws: HostResolver.Failure.self) { try await HostResolver.addresses(of: "no-such-host.invalid", timeout: .seconds(2)) }
        #expect(started.duration(to: .now) < .seconds(4))
    }

    // MARK: e-mail

    @Test("SIGHTLINE_ALERT_EMAIL_DOMAINS: every recipient's domain must be listed; unset, any passes")
    func emailDomains() {
        let policy = EgressPolicy(emailDomains: ["example.com"])
        #expect(policy.refusedRecipient(in: ["ops@example.com", "OnCall@Example.COM."]) == nil)
        #expect(policy.refusedRecipient(in: ["ops@example.com", "x@evil.example"]) == "x@evil.example")
        #expect(policy.refusedRecipient(in: ["x@sub.example.com"]) == "x@sub.example.com")
        #expect(policy.refusedRecipient(in: ["\"a@evil.example\"@example.com"]) != nil)
        #expect(policy.refusedRecipient(in: ["x@example.com.evil.example"]) != nil)
        #expect(EgressPolicy().refusedRecipient(in: ["x@anywhere.example"]) == nil)
    }

    @Test("a rule's own destinations go through the policy; the environment's do not")
    func notifierChoice() {
        var configuration = AlertingConfiguration(webhookURL: "http://127.0.0.1:1/env", smtp: SMTPSettings(host: "127.0.0.1"),
                                                  emailTo: ["ops@elsewhere.example"])
        configuration.egress = EgressPolicy(emailDomains: ["example.com"])
        var rule = AlertRule(name: "r", metricType: .errorCount, condition: .gt, threshold: 1)
        let fromEnvironment = NotificationDispatcher.standardNotifier(.webhook, rule, configuration) as? WebhookNotifier
        #expect(fromEnvironment?.poster.egress == nil)
        #expect(NotificationDispatcher.standardNotifier(.email, rule, configuration) is SMTPNotifier)

        rule.overrides = NotificationOverrides(slackWebhookURL: "https://hooks.example.com/s", webhookURL: "https://hooks.example.com/w",
                                               alertmanagerURL: "https://am.example.com", emailTo: ["x@evil.example"])
        #expect((NotificationDispatcher.standardNotifier(.webhook, rule, configuration) as? WebhookNotifier)?.poster.egress == configuration.egress)
        #expect((NotificationDispatcher.standardNotifier(.slack, rule, configuration) as? SlackNotifier)?.poster.egress == configuration.egress)
        #expect((NotificationDispatcher.standardNotifier(.alertmanager, rule, configuration) as? AlertmanagerNotifier)?.poster.egress
                == configuration.egress)
        #expect(NotificationDispatcher.standardNotifier(.email, rule, configuration) is RefusedDestination)
        rule.overrides.emailTo = ["ops@example.com"]
        #expect(NotificationDispatcher.standardNotifier(.email, rule, configuration) is SMTPNotifier)
    }
}
