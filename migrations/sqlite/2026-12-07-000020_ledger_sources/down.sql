-- Back to the ledger without source columns. Entries written with encoding 2 would no longer
-- verify (their hash covers the source fields), so going back is refused while any exists.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TEMPORARY TABLE newer_entries (seq BIGINT);
CREATE TEMPORARY TRIGGER refuse_newer_entries BEFORE INSERT ON newer_entries
BEGIN SELECT RAISE(ABORT, 'the ledger holds entries of encoding 2, which need their source columns'); END;
INSERT INTO newer_entries SELECT seq FROM ledger_entries WHERE encoding > 1 LIMIT 1;
DROP TABLE newer_entries;

CREATE TABLE ledger_entries_rebuilt (
    seq BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 1),
    id TEXT NOT NULL UNIQUE,
    sme_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('item_award', 'workshop_day', 'reversal')),
    amount BIGINT NOT NULL,
    rate_id TEXT,
    item_id TEXT REFERENCES items (id),
    workshop_id TEXT REFERENCES workshops (id),
    day DATE,
    reverses_entry_id TEXT UNIQUE REFERENCES ledger_entries (id),
    reason TEXT,
    posted_at TIMESTAMP NOT NULL,
    posted_by TEXT NOT NULL REFERENCES users (id),
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    CHECK (kind = 'reversal' OR reverses_entry_id IS NULL),
    CHECK (kind <> 'reversal' OR (reverses_entry_id IS NOT NULL AND reason IS NOT NULL)),
    CHECK (kind <> 'item_award' OR (item_id IS NOT NULL AND rate_id IS NOT NULL AND amount >= 0)),
    CHECK (kind <> 'workshop_day' OR (workshop_id IS NOT NULL AND day IS NOT NULL AND rate_id IS NOT NULL AND amount >= 0))
);
INSERT INTO ledger_entries_rebuilt SELECT seq, id, sme_id, kind, amount, rate_id, item_id,
    workshop_id, day, reverses_entry_id, reason, posted_at, posted_by, prev_hash, hash
FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_rebuilt RENAME TO ledger_entries;
CREATE UNIQUE INDEX ledger_one_award_per_item ON ledger_entries (item_id) WHERE kind = 'item_award';
CREATE INDEX ledger_by_kind ON ledger_entries (kind, seq);
CREATE INDEX ledger_by_posting ON ledger_entries (posted_at, seq);
CREATE INDEX ledger_by_sme_seq ON ledger_entries (sme_id, seq);
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
DROP TABLE ledger_kinds;

-- Every reference still holds, or nothing of this is kept.
CREATE TEMPORARY TABLE broken_references (x INTEGER);
CREATE TEMPORARY TRIGGER refuse_broken_references BEFORE INSERT ON broken_references
BEGIN SELECT RAISE(ABORT, 'rebuilding ledger_entries would break a foreign key'); END;
INSERT INTO broken_references SELECT 1 FROM pragma_foreign_key_check LIMIT 1;
DROP TABLE broken_references;
COMMIT;
PRAGMA foreign_keys = ON;
