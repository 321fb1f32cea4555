-- External references are compared by a normalised key (runs of letters and digits, lower case), so
-- `BANK-77`, `bank-77` and `BANK-77.` are one reference. One SME cannot submit the same
-- reference twice; another SME's identical reference is taken in (and flagged to program
-- managers), but at most one item per reference can ever be accepted.
--
-- The items table loses its exact-text UNIQUE on external_ref. SQLite cannot drop a
-- column-level constraint, so the table is rebuilt (the documented procedure: new table,
-- copy, drop, rename); references from ledger_entries are checked at commit, when `items`
-- exists again.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE items_rebuilt (
    id TEXT PRIMARY KEY NOT NULL,
    sme_id TEXT NOT NULL REFERENCES users (id),
    exam_code TEXT NOT NULL,
    exam_tier TEXT NOT NULL CHECK (exam_tier IN ('associate', 'specialist', 'technology_core', 'ccie_lab')),
    item_type TEXT NOT NULL CHECK (item_type IN ('standard', 'performance')),
    authoring_channel TEXT NOT NULL CHECK (authoring_channel IN ('sme_program', 'external_vendor')),
    external_ref TEXT NOT NULL,
    blueprint_objective TEXT,
    status TEXT NOT NULL CHECK (status IN ('submitted', 'accepted', 'rejected', 'withdrawn', 'revoked')),
    eligible BOOLEAN NOT NULL,
    ineligible_reason TEXT,
    credits_awarded BIGINT,
    submitted_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by TEXT REFERENCES users (id),
    decision_reason TEXT,
    CHECK (NOT (exam_tier = 'ccie_lab' AND item_type = 'standard'))
);
INSERT INTO items_rebuilt SELECT * FROM items;
DROP TABLE items;
ALTER TABLE items_rebuilt RENAME TO items;
CREATE INDEX items_by_submission ON items (submitted_at, id);
CREATE INDEX items_by_sme ON items (sme_id, submitted_at, id);
CREATE INDEX items_by_status ON items (status, submitted_at, id);
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
-- The key: every separator made '-', runs of '-' collapsed (halved seven times: enough for
-- 128 characters), '-' trimmed at both ends, lower case (domain::reference_key).
INSERT INTO item_references (item_id, sme_id, reference_key)
SELECT id, sme_id,
       lower(trim(
           replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(external_ref, '_', '-'), '.', '-'), '/', '-'), ':', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'), '--', '-'),
           '-'))
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
CREATE TRIGGER credited_references_no_update BEFORE UPDATE ON credited_references
BEGIN SELECT RAISE(ABORT, 'credited_references is append-only'); END;
CREATE TRIGGER credited_references_no_delete BEFORE DELETE ON credited_references
BEGIN SELECT RAISE(ABORT, 'credited_references is append-only'); END;
