-- 025: a log record's typed attributes are kept only where its flat `extra` and the columns
-- attributes are lifted into cannot give them back (docs/partitioning.md, "Attributes stored
-- once"). `structured_logs.attributes` becomes nullable: NULL means the attributes are the
-- members of `extra`, in order (typed as for spans, migration 024); a JSON string of tokens,
-- `"0,u0,1,e0,2"`, gives attribute i by token i: a number is that member of `extra`, a letter
-- and a number a string attribute lifted into a column (l logger_name, u user_email, d
-- department, s session_id, e endpoint, t exception_type, m exception_message, b
-- exception_traceback; the number is the key among that column's keys, `LogAttributeColumn`).
-- The writer decides per record; here a stored record moves over when every typed attribute
-- is what its scalar `extra` member or its column gives, each member of `extra` is used once
-- and no key repeats (arrays, objects, bytes and anything unusual keep their typed text).
-- SQLite cannot drop a NOT NULL constraint, so the column is made again under the same name.

ALTER TABLE enterprise.structured_logs ADD COLUMN attributes_025 TEXT;
UPDATE enterprise.structured_logs SET attributes_025 = attributes;
UPDATE enterprise.structured_logs SET attributes_025 = (
    SELECT CASE WHEN count(*) = 0 OR min(t.token = CAST(t.position AS TEXT)) = 1 THEN NULL
                ELSE json_quote(group_concat(t.token, ',')) END
    FROM (
        SELECT a.key AS position, coalesce(
            (SELECT CAST(m.position AS TEXT) FROM (
                SELECT e.key, row_number() OVER (ORDER BY e.id) - 1 AS position FROM json_each(structured_logs.extra) e
             ) m WHERE m.key = json_extract(a.value, '$.key')),
            CASE json_extract(a.value, '$.key')
                WHEN 'logger.name' THEN 'l0' WHEN 'user.email' THEN 'u0' WHEN 'enduser.id' THEN 'u1' WHEN 'user_email' THEN 'u2'
                WHEN 'department' THEN 'd0' WHEN 'enterprise.department' THEN 'd1' WHEN 'session.id' THEN 's0'
                WHEN 'session_id' THEN 's1' WHEN 'http.route' THEN 'e0' WHEN 'url.path' THEN 'e1' WHEN 'http.target' THEN 'e2'
                WHEN 'exception.type' THEN 't0' WHEN 'exception.message' THEN 'm0' WHEN 'exception.stacktrace' THEN 'b0'
            END) AS token
        FROM json_each(structured_logs.attributes) a ORDER BY a.key
    ) t
)
WHERE json_valid(attributes) AND json_type(attributes) = 'array'
  AND json_valid(extra) AND json_type(extra) = 'object'
  AND (SELECT count(*) FROM json_each(structured_logs.attributes))
      = (SELECT count(DISTINCT json_extract(a.value, '$.key')) FROM json_each(structured_logs.attributes) a)
  AND (SELECT count(*) FROM json_each(structured_logs.extra))
      = (SELECT count(*) FROM json_each(structured_logs.attributes) a
         JOIN json_each(structured_logs.extra) m ON m.key = json_extract(a.value, '$.key'))
  AND NOT EXISTS (
    SELECT 1 FROM json_each(structured_logs.attributes) a
    WHERE NOT coalesce(
        json_type(a.value) = 'object' AND json_type(a.value, '$.key') = 'text' AND json_type(a.value, '$.value') = 'object'
        AND (SELECT count(*) FROM json_each(a.value)) = 2
        AND CASE WHEN EXISTS (SELECT 1 FROM json_each(structured_logs.extra) m WHERE m.key = json_extract(a.value, '$.key'))
            THEN (SELECT CASE m.type
                    WHEN 'text' THEN json_type(a.value, '$.value.stringValue') = 'text'
                        AND json_extract(a.value, '$.value.stringValue') = m.atom
                    WHEN 'integer' THEN json_type(a.value, '$.value.intValue') = 'text'
                        AND json_extract(a.value, '$.value.intValue') = CAST(m.atom AS TEXT)
                    WHEN 'real' THEN json_type(a.value, '$.value.doubleValue') = 'real'
                        AND json_extract(a.value, '$.value.doubleValue') = m.atom
                    WHEN 'true' THEN json_type(a.value, '$.value.boolValue') = 'true'
                    WHEN 'false' THEN json_type(a.value, '$.value.boolValue') = 'false'
                    WHEN 'null' THEN 1
                    ELSE 0 END
                  AND (SELECT count(*) FROM json_each(a.value, '$.value')) = CASE m.type WHEN 'null' THEN 0 ELSE 1 END
                  FROM json_each(structured_logs.extra) m WHERE m.key = json_extract(a.value, '$.key'))
            ELSE json_type(a.value, '$.value.stringValue') = 'text'
                AND (SELECT count(*) FROM json_each(a.value, '$.value')) = 1
                AND json_extract(a.value, '$.value.stringValue') IS CASE json_extract(a.value, '$.key')
                    WHEN 'logger.name' THEN logger_name
                    WHEN 'user.email' THEN user_email WHEN 'enduser.id' THEN user_email WHEN 'user_email' THEN user_email
                    WHEN 'department' THEN department WHEN 'enterprise.department' THEN department
                    WHEN 'session.id' THEN session_id WHEN 'session_id' THEN session_id
                    WHEN 'http.route' THEN endpoint WHEN 'url.path' THEN endpoint WHEN 'http.target' THEN endpoint
                    WHEN 'exception.type' THEN exception_type WHEN 'exception.message' THEN exception_message
                    WHEN 'exception.stacktrace' THEN exception_traceback
                END
        END, 0)
  );
ALTER TABLE enterprise.structured_logs DROP COLUMN attributes;
ALTER TABLE enterprise.structured_logs RENAME COLUMN attributes_025 TO attributes;
