-- 024: a span's typed attributes are kept only where its flat `tags` cannot give them back
-- (docs/partitioning.md, "Attributes stored once"). `trace_spans.attributes` becomes nullable:
-- NULL means the attributes are the members of `tags` in `jsonb`'s order (a string is
-- `stringValue`, a whole number `intValue`, a number with a point `doubleValue`, true/false
-- `boolValue`, null an empty value, an array `arrayValue`, an object `kvlistValue`); a string
-- of numbers, `"2,0,1"`, the same in another order (attribute i is member number p[i] of
-- `tags` in `jsonb`'s order), which is the order they were sent in. The writer decides per
-- span; here a stored span moves over when its typed attributes are exactly what its scalar
-- `tags` give (arrays, objects, bytes and anything unusual keep their typed form). Done on the
-- partitioned parent, so every day's partition follows.

ALTER TABLE enterprise.trace_spans ALTER COLUMN attributes DROP NOT NULL, ALTER COLUMN attributes DROP DEFAULT;

UPDATE enterprise.trace_spans s SET attributes = (
    SELECT CASE WHEN bool_and(t.position = e.position) THEN NULL
        ELSE to_jsonb(string_agg((t.position - 1)::text, ',' ORDER BY e.position)) END
    FROM jsonb_array_elements(s.attributes) WITH ORDINALITY e(attribute, position)
    JOIN jsonb_each(s.tags) WITH ORDINALITY t(key, value, position) ON t.key = e.attribute ->> 'key'
)
WHERE jsonb_typeof(s.tags) = 'object' AND jsonb_typeof(s.attributes) = 'array'
  AND jsonb_array_length(s.attributes) = (SELECT count(*) FROM jsonb_object_keys(s.tags))
  AND s.attributes = (
    SELECT coalesce(jsonb_agg(jsonb_build_object('key', e.attribute ->> 'key', 'value', CASE jsonb_typeof(v.value)
            WHEN 'string' THEN jsonb_build_object('stringValue', v.value)
            WHEN 'boolean' THEN jsonb_build_object('boolValue', v.value)
            WHEN 'number' THEN CASE WHEN v.value #>> '{}' ~ '^-?[0-9]+$'
                THEN jsonb_build_object('intValue', v.value #>> '{}')
                ELSE jsonb_build_object('doubleValue', v.value) END
            WHEN 'null' THEN '{}'::jsonb
        END) ORDER BY e.position), '[]'::jsonb)
    FROM jsonb_array_elements(s.attributes) WITH ORDINALITY e(attribute, position)
    LEFT JOIN LATERAL (SELECT s.tags -> (e.attribute ->> 'key') AS value) v ON true
  );
