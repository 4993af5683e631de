-- 025: a log record's typed attributes are kept only where its flat `extra` and the columns
-- attributes are lifted into cannot give them back (docs/partitioning.md, "Attributes stored
-- once"). `structured_logs.attributes` becomes nullable: NULL means the attributes are the
-- members of `extra` in `jsonb`'s order (typed as for spans, migration 024); a JSON string of
-- tokens, `"0,u0,1,e0,2"`, gives attribute i by token i: a number is that member of `extra` in
-- `jsonb`'s order, a letter and a number a string attribute lifted into a column (l
-- logger_name, u user_email, d department, s session_id, e endpoint, t exception_type, m
-- exception_message, b exception_traceback; the number is the key among that column's keys,
-- `LogAttributeColumn`). The writer decides per record; here a stored record moves over when
-- its typed attributes are exactly what its scalar `extra` members and its columns give
-- (arrays, objects, bytes and anything unusual keep their typed form). Done on the
-- partitioned parent, so every day's partition follows.

ALTER TABLE enterprise.structured_logs ALTER COLUMN attributes DROP NOT NULL, ALTER COLUMN attributes DROP DEFAULT;

UPDATE enterprise.structured_logs s SET attributes = c.stored
FROM (
    SELECT l.id, l.timestamp, d.stored
    FROM enterprise.structured_logs l
    CROSS JOIN LATERAL (
        SELECT CASE WHEN bool_and(x.token = (x.position - 1)::text) THEN NULL
                    ELSE to_jsonb(string_agg(x.token, ',' ORDER BY x.position)) END AS stored,
               coalesce(jsonb_agg(jsonb_build_object('key', x.key, 'value', x.value) ORDER BY x.position), '[]'::jsonb) AS rebuilt,
               count(*) FILTER (WHERE x.member) AS members,
               count(DISTINCT x.key) AS keys,
               count(*) AS attributes
        FROM (
            SELECT e.position, e.attribute ->> 'key' AS key, m.key IS NOT NULL AS member,
                CASE WHEN m.key IS NOT NULL THEN (m.position - 1)::text ELSE f.token END AS token,
                CASE WHEN m.key IS NOT NULL THEN CASE jsonb_typeof(m.value)
                        WHEN 'string' THEN jsonb_build_object('stringValue', m.value)
                        WHEN 'boolean' THEN jsonb_build_object('boolValue', m.value)
                        WHEN 'number' THEN CASE WHEN m.value #>> '{}' ~ '^-?[0-9]+$'
                            THEN jsonb_build_object('intValue', m.value #>> '{}')
                            ELSE jsonb_build_object('doubleValue', m.value) END
                        WHEN 'null' THEN '{}'::jsonb
                    END
                    ELSE jsonb_build_object('stringValue', CASE left(f.token, 1)
                        WHEN 'l' THEN l.logger_name WHEN 'u' THEN l.user_email WHEN 'd' THEN l.department
                        WHEN 's' THEN l.session_id WHEN 'e' THEN l.endpoint WHEN 't' THEN l.exception_type
                        WHEN 'm' THEN l.exception_message WHEN 'b' THEN l.exception_traceback END)
                END AS value
            FROM jsonb_array_elements(l.attributes) WITH ORDINALITY e(attribute, position)
            LEFT JOIN jsonb_each(l.extra) WITH ORDINALITY m(key, value, position) ON m.key = e.attribute ->> 'key'
            LEFT JOIN (VALUES ('logger.name', 'l0'), ('user.email', 'u0'), ('enduser.id', 'u1'), ('user_email', 'u2'),
                              ('department', 'd0'), ('enterprise.department', 'd1'), ('session.id', 's0'), ('session_id', 's1'),
                              ('http.route', 'e0'), ('url.path', 'e1'), ('http.target', 'e2'), ('exception.type', 't0'),
                              ('exception.message', 'm0'), ('exception.stacktrace', 'b0')) f(key, token)
                ON f.key = e.attribute ->> 'key'
        ) x
    ) d
    WHERE jsonb_typeof(l.attributes) = 'array' AND jsonb_typeof(l.extra) = 'object'
      AND d.rebuilt = l.attributes AND d.keys = d.attributes
      AND d.members = (SELECT count(*) FROM jsonb_object_keys(l.extra))
) c
WHERE s.id = c.id AND s.timestamp = c.timestamp;
