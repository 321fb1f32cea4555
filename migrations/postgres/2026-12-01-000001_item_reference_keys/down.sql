DROP TABLE credited_references;
DROP TABLE item_references;
DROP INDEX items_by_exam_code;
ALTER TABLE items ADD CONSTRAINT items_external_ref_key UNIQUE (external_ref);
