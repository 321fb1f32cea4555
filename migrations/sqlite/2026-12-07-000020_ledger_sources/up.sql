-- Every entry names its credit source (`source_type`, `source_id`) and the version of the
-- canonical encoding its hash was computed with (`encoding`).
--
-- Entries written before this migration were hashed with encoding 1, which has no source
-- fields: their source is what their hashed fields already say (an `item_id` names an item, a
-- `workshop_id` a workshop; a reversal copies the ids of the entry it reverses), and
-- `verify-ledger` checks that the columns filled in here agree with those fields. Their bytes,
-- and so their hashes, do not change.
--
-- Which kinds an entry of each source may have is a table, not a CHECK: a new source adds its
-- rows in its own migration, without rebuilding the ledger again.
--
-- SQLite cannot add a table constraint to an existing table, so the ledger is rebuilt (the
-- documented procedure: new table, copy, drop, rename), with its indexes and triggers.
-- Other tables (workshop_day_claims) and the ledger itself (reverses_entry_id) refer to it, so
-- foreign keys are off while it is rebuilt: this migration runs outside diesel's transaction
-- (metadata.toml) to switch them off, in a transaction of its own, and checks every reference
-- before it commits.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE ledger_kinds (
    kind TEXT NOT NULL,
    source_type TEXT NOT NULL,
    PRIMARY KEY (kind, source_type)
);
INSERT INTO ledger_kinds (kind, source_type) VALUES
    ('item_award', 'item'),
    ('reversal', 'item'),
    ('workshop_day', 'workshop'),
    ('reversal', 'workshop');

CREATE TABLE ledger_entries_rebuilt (
    seq BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 1),
    id TEXT NOT NULL UNIQUE,
    sme_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    rate_id TEXT,
    item_id TEXT REFERENCES items (id),
    workshop_id TEXT REFERENCES workshops (id),
    day DATE,
    -- Each entry can be reversed once: the column is unique.
    reverses_entry_id TEXT UNIQUE REFERENCES ledger_entries (id),
    reason TEXT,
    posted_at TIMESTAMP NOT NULL,
    posted_by TEXT NOT NULL REFERENCES users (id),
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    source_type TEXT NOT NULL,
    source_id TEXT NOT NULL CHECK (source_id <> ''),
    encoding INTEGER NOT NULL CHECK (encoding >= 1),
    FOREIGN KEY (kind, source_type) REFERENCES ledger_kinds (kind, source_type),
    CHECK (kind = 'reversal' OR reverses_entry_id IS NULL),
    CHECK (kind <> 'reversal' OR (reverses_entry_id IS NOT NULL AND reason IS NOT NULL)),
    CHECK (kind <> 'item_award' OR (item_id IS NOT NULL AND rate_id IS NOT NULL AND amount >= 0)),
    CHECK (kind <> 'workshop_day' OR (workshop_id IS NOT NULL AND day IS NOT NULL AND rate_id IS NOT NULL AND amount >= 0)),
    CHECK (source_type <> 'item' OR source_id = item_id),
    CHECK (source_type <> 'workshop' OR source_id = workshop_id)
);
INSERT INTO ledger_entries_rebuilt (seq, id, sme_id, kind, amount, rate_id, item_id, workshop_id,
    day, reverses_entry_id, reason, posted_at, posted_by, prev_hash, hash, source_type,
    source_id, encoding)
SELECT seq, id, sme_id, kind, amount, rate_id, item_id, workshop_id, day, reverses_entry_id,
    reason, posted_at, posted_by, prev_hash, hash,
    CASE WHEN item_id IS NOT NULL THEN 'item' ELSE 'workshop' END,
    coalesce(item_id, workshop_id),
    1
FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_rebuilt RENAME TO ledger_entries;

-- Exactly once: an item yields at most one award, whatever the concurrency or retries.
CREATE UNIQUE INDEX ledger_one_award_per_item ON ledger_entries (item_id) WHERE kind = 'item_award';
CREATE INDEX ledger_by_kind ON ledger_entries (kind, seq);
CREATE INDEX ledger_by_posting ON ledger_entries (posted_at, seq);
CREATE INDEX ledger_by_sme_seq ON ledger_entries (sme_id, seq);
CREATE INDEX ledger_by_source ON ledger_entries (source_type, source_id, seq);
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_kinds_no_update BEFORE UPDATE ON ledger_kinds
BEGIN SELECT RAISE(ABORT, 'ledger_kinds is append-only'); END;
CREATE TRIGGER ledger_kinds_no_delete BEFORE DELETE ON ledger_kinds
BEGIN SELECT RAISE(ABORT, 'ledger_kinds is append-only'); END;

-- Every reference still holds, or nothing of this is kept.
CREATE TEMPORARY TABLE broken_references (x INTEGER);
CREATE TEMPORARY TRIGGER refuse_broken_references BEFORE INSERT ON broken_references
BEGIN SELECT RAISE(ABORT, 'rebuilding ledger_entries would break a foreign key'); END;
INSERT INTO broken_references SELECT 1 FROM pragma_foreign_key_check LIMIT 1;
DROP TABLE broken_references;
COMMIT;
PRAGMA foreign_keys = ON;
