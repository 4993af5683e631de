-- 016: a span's typed events are kept only where its flat `logs` cannot give them back
-- (docs/partitioning.md, "Span events (migration 016)"). `trace_spans.events` becomes nullable:
-- NULL means the events of `logs`, each at its microsecond, its attributes typed as for spans
-- (migration 024) in `jsonb`'s order; a JSON string, one part per event joined by `;`
-- (`"789"`, `"789:2.0.1"`), adds the nanoseconds below the microsecond and, where `jsonb`'s
-- order is not the order sent, the attribute positions. The writer decides per span; spans
-- stored before keep their typed events, which every read still takes as they are. A new
-- store applies it before 017 (whose partitioned table copies the column as it is); a store
-- already past 025 applies it as its one pending migration, on the partitioned parent, so
-- every day's partition follows. No rows are rewritten.

ALTER TABLE enterprise.trace_spans ALTER COLUMN events DROP NOT NULL, ALTER COLUMN events DROP DEFAULT;
