-- 024: a span's typed attributes are kept only where its flat `tags` cannot give them back
-- (docs/partitioning.md, "Attributes stored once"). `trace_spans.attributes` becomes nullable:
-- NULL means the attributes are the members of `tags`, in order (a string is `stringValue`, a
-- whole number `intValue`, a number with a point `doubleValue`, true/false `boolValue`, null an
-- empty value, an array `arrayValue`, an object `kvlistValue`). The writer decides per span;
-- here a stored span moves over when its typed text is exactly what its scalar `tags` give
-- (arrays, objects, bytes and anything unusual keep their typed text). SQLite cannot drop a
-- NOT NULL constraint, so the column is made again under the same name.

ALTER TABLE enterprise.trace_spans ADD COLUMN attributes_024 TEXT;
UPDATE enterprise.trace_spans SET attributes_024 = attributes
WHERE attributes IS NOT (
    SELECT json_group_array(json_object('key', j.key, 'value', CASE j.type
        WHEN 'text' THEN json_object('stringValue', j.value)
        WHEN 'integer' THEN json_object('intValue', CAST(j.value AS TEXT))
        WHEN 'real' THEN json_object('doubleValue', j.value)
        WHEN 'true' THEN json('{"boolValue":true}')
        WHEN 'false' THEN json('{"boolValue":false}')
        WHEN 'null' THEN json('{}')
    END))
    FROM json_each(CASE WHEN json_valid(trace_spans.tags) AND json_type(trace_spans.tags) = 'object' THEN trace_spans.tags ELSE '{}' END) j
);
ALTER TABLE enterprise.trace_spans DROP COLUMN attributes;
ALTER TABLE enterprise.trace_spans RENAME COLUMN attributes_024 TO attributes;
