-- 016: on PostgreSQL a span's typed events are kept only where its flat `logs` cannot give them
-- back (docs/partitioning.md, "Span events (migration 016)"). SQLite keeps the typed events:
-- nothing to do here.
SELECT 1;
