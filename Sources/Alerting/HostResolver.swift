#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix
import Synchronization

/// Looks up a host name's addresses with `getaddrinfo`, as the HTTP client would, on a thread
/// pool of its own (a lookup blocks its thread; it must hold up neither an event loop, nor the
/// Swift concurrency pool, nor NIO's shared blocking pool), and gives up after a time limit.
/// A lookup that outlives its limit finishes on its thread unread.
enum HostResolver {
    enum Failure: Error, Sendable, Equatable {
        case timedOut, failed
    }

    /// Two threads: lookups are per notification attempt of a rule whose destination is a name.
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// Every address of `host` (IPv4 and IPv6, duplicates removed, in `getaddrinfo`'s order).
    static func addresses(of host: String, timeout: Duration) async throws(Failure) -> [IPAddress] {
        let waiter = Waiter()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<[IPAddress], Failure>, Never>) in
            waiter.set(continuation)
            pool.submit { state in
                waiter.resume(state == .active ? lookup(host) : .failure(.failed))
            }
            waiter.startTimer(timeout)
        }
        return try result.get()
    }

    private static func lookup(_ host: String) -> Result<[IPAddress], Failure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return .failure(.failed) }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next {
            next = info.pointee.ai_next
            guard let socketAddress = info.pointee.ai_addr else { continue }
            let address: IPAddress
            switch Int32(info.pointee.ai_family) {
            case AF_INET:
                var value = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                address = IPAddress(bytes: withUnsafeBytes(of: &value) { Array($0) })
            case AF_INET6:
                var value = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                address = IPAddress(bytes: withUnsafeBytes(of: &value) { Array($0) })
            default:
                continue
            }
            if !addresses.contains(address) { addresses.append(address) }
        }
        return addresses.isEmpty ? .failure(.failed) : .success(addresses)
    }

    /// Resumes the caller once: with the lookup's result or, at the time limit, `.timedOut`.
    private final class Waiter: Sendable {
        private let continuation = Mutex<CheckedContinuation<Result<[IPAddress], Failure>, Never>?>(nil)
        private let timer = Mutex<Task<Void, Never>?>(nil)

        func set(_ continuation: CheckedContinuation<Result<[IPAddress], Failure>, Never>) {
            self.continuation.withLock { $0 = continuation }
        }

        func startTimer(_ timeout: Duration) {
            let task = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { self.resume(.failure(.timedOut)) }
            }
            timer.withLock { $0 = task }
            if continuation.withLock({ $0 == nil }) { task.cancel() }
        }

        func resume(_ result: Result<[IPAddress], Failure>) {
            guard let continuation = continuation.withLock({ $0.take() }) else { return }
            timer.withLock { $0?.cancel() }
            continuation.resume(returning: result)
        }
    }
}
