import Logging
import PostgresNIO

extension PostgresStore {
    /// Runs until its task is cancelled: LISTENs on `channel` on a connection of its own (LISTEN
    /// belongs to a session, so not a pooled connection) and hands each notification's payload
    /// to `onNotification`, one at a time, in the order PostgreSQL delivers them: the order in
    /// which the notifying transactions committed.
    ///
    /// A lost connection (the server restarted or went away; a probe every `probeInterval`
    /// notices a silent one) is opened again after a pause that grows from 0.1 s to 10 s.
    /// Notifications sent in between are lost: `onListening` is called each time LISTEN is in
    /// place again and `onLost` each time it stops, so the caller can say so.
    public func listen(
        to channel: String,
        probeInterval: Duration = .seconds(15),
        logger: Logger,
        onListening: @escaping @Sendable () async -> Void,
        onLost: @escaping @Sendable () async -> Void,
        onNotification: @escaping @Sendable (String) async -> Void
    ) async {
        var pause = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration.connectionConfiguration, id: 0, logger: logger)
                do {
                    try await connection.listen(on: channel) { notifications in
                        pause = .milliseconds(100)
                        logger.debug("listening", metadata: ["postgres.channel": "\(channel)"])
                        await onListening()
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                for try await notification in notifications {
                                    await onNotification(notification.payload)
                                }
                                throw ConnectionClosed()
                            }
                            group.addTask {
                                while true {
                                    try await Task.sleep(for: probeInterval)
                                    try await withTimeLimit(.seconds(5)) {
                                        try await Self.run("SELECT 1", on: connection, logger: logger)
                                    }
                                }
                            }
                            // Either ends only by failing (or being cancelled).
                            try await group.next()
                        }
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                logger.warning("LISTEN connection lost; reconnecting", metadata: [
                    "postgres.channel": "\(channel)", "error": "\(Self.describe(error))",
                ])
            }
            await onLost()
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(10))
        }
    }
}
