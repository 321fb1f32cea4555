-- External references are compared by a normalised key (runs of letters and digits, lower case), so
-- `BANK-77`, `bank-77` and `BANK-77.` are one reference. One SME cannot submit the same
-- reference twice; another SME's identical reference is taken in (and flagged to program
-- managers), but at most one item per reference can ever be accepted.
ALTER TABLE items DROP CONSTRAINT items_external_ref_key;
CREATE INDEX items_by_exam_code ON items (exam_code, submitted_at, id);

-- Each item's reference key; one per SME and key.
CREATE TABLE item_references (
    item_id TEXT PRIMARY KEY NOT NULL REFERENCES items (id),
    sme_id TEXT NOT NULL REFERENCES users (id),
    reference_key TEXT NOT NULL CHECK (reference_key <> ''),
    UNIQUE (sme_id, reference_key)
);
CREATE INDEX item_references_by_key ON item_references (reference_key, sme_id);
-- External references hold only ASCII letters, digits and - _ . / : (checked on submission).
INSERT INTO item_references (item_id, sme_id, reference_key)
SELECT id, sme_id, lower(trim(both '-' from regexp_replace(external_ref, '[^A-Za-z0-9]+', '-', 'g')))
FROM items;

-- The one item ever accepted under each key; written with the acceptance, never changed
-- (a revoked item keeps its reference).
CREATE TABLE credited_references (
    reference_key TEXT PRIMARY KEY NOT NULL,
    item_id TEXT NOT NULL UNIQUE REFERENCES items (id)
);
INSERT INTO credited_references (reference_key, item_id)
SELECT r.reference_key, r.item_id
FROM item_references r JOIN items i ON i.id = r.item_id
WHERE i.status IN ('accepted', 'revoked');

CREATE TRIGGER credited_references_append_only BEFORE UPDATE OR DELETE ON credited_references
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER credited_references_no_truncate BEFORE TRUNCATE ON credited_references
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();
