import Store

extension SightlineServer {
    /// The SQL `sightline migrate --print-rules-role-sql` prints: what an administrator runs
    /// where Sightline's PostgreSQL user may not create the role `custom_sql` logs in as, and
    /// the `SIGHTLINE_RULES_STORAGE` URL to set then. With that variable set already, its role
    /// and password; else the default role and a new password. `nil` for SQLite storage.
    public static func rulesRoleScript(_ configuration: SightlineConfiguration) throws -> String? {
        guard case .postgres(let url) = configuration.storage else { return nil }
        var postgres = try PostgresStore.Configuration(url: url, tls: configuration.postgresTLS)
        postgres.rulesURL = configuration.rulesStorage
        let password = configuration.rulesStorage.flatMap { try? PostgresStore.Configuration(url: $0).password }
        return PostgresRulesRole(configuration: postgres).operatorScript(configuration: postgres, password: password)
    }
}
