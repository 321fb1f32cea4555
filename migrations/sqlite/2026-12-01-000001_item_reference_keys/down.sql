DROP TRIGGER credited_references_no_delete;
DROP TRIGGER credited_references_no_update;
DROP TABLE credited_references;
DROP TABLE item_references;
DROP INDEX items_by_exam_code;
-- The exact-text UNIQUE on items.external_ref is not restored: items of several SMEs may now
-- share a reference.
