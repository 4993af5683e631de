import Foundation
import Store
import Testing

@Suite struct SQLScriptTests {
    @Test func splitsOnTopLevelSemicolonsOnly() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x TEXT DEFAULT 'semi;colon');
            /* block; comment */ INSERT INTO a VALUES ('it''s; fine');
            CREATE TRIGGER t AFTER INSERT ON a BEGIN
                INSERT INTO b VALUES (1);
                INSERT INTO b VALUES (2);
            END;
            CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN PERFORM 1; RETURN NEW; END; $$ LANGUAGE plpgsql;
            SELECT 1
            """
        let statements = SQLScript.statements(in: script)
        #expect(statements.count == 5)
        #expect(statements[0] == "CREATE TABLE a (x TEXT DEFAULT 'semi;colon')")
        #expect(statements[1] == "INSERT INTO a VALUES ('it''s; fine')")
        #expect(statements[2].hasPrefix("CREATE TRIGGER t") && statements[2].hasSuffix("END"))
        #expect(statements[2].contains("VALUES (2);"))
        #expect(statements[3].hasPrefix("CREATE FUNCTION f()") && statements[3].hasSuffix("LANGUAGE plpgsql"))
        #expect(statements[4] == "SELECT 1")
    }

    @Test func everyMigrationFileIsEmbedded() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../migrations/sqlite").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.count >= 5)
        let embedded = Store.embeddedSQLiteMigrationNames
        #expect(embedded == files.map { String($0.dropLast(4)) })
    }
}

@Suite struct EmbeddedMigrationTests {
    @Test func everyPostgresMigrationFileIsEmbedded() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../migrations/postgres").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(Store.embeddedPostgresMigrationNames == files.map { String($0.dropLast(4)) })
    }
}
