-- Every entry names its credit source (`source_type`, `source_id`) and the version of the
-- canonical encoding its hash was computed with (`encoding`).
--
-- Entries written before this migration were hashed with encoding 1, which has no source
-- fields: their source is what their hashed fields already say (an `item_id` names an item, a
-- `workshop_id` a workshop; a reversal copies the ids of the entry it reverses), and
-- `verify-ledger` checks that the columns filled in here agree with those fields. Their bytes,
-- and so their hashes, do not change. Filling the new columns is the one change the
-- append-only trigger lets through, here, while it is disabled inside this migration's
-- transaction.
--
-- Which kinds an entry of each source may have is a table, not a CHECK: a new source adds its
-- rows in its own migration.
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
CREATE TRIGGER ledger_kinds_append_only BEFORE UPDATE OR DELETE ON ledger_kinds
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();

ALTER TABLE ledger_entries
    ADD COLUMN source_type TEXT,
    ADD COLUMN source_id TEXT,
    ADD COLUMN encoding INTEGER;
ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only;
UPDATE ledger_entries SET
    source_type = CASE WHEN item_id IS NOT NULL THEN 'item' ELSE 'workshop' END,
    source_id = coalesce(item_id, workshop_id),
    encoding = 1;
ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only;
ALTER TABLE ledger_entries
    ALTER COLUMN source_type SET NOT NULL,
    ALTER COLUMN source_id SET NOT NULL,
    ALTER COLUMN encoding SET NOT NULL,
    DROP CONSTRAINT ledger_entries_kind_check,
    ADD CONSTRAINT ledger_entries_kind_of_source
        FOREIGN KEY (kind, source_type) REFERENCES ledger_kinds (kind, source_type),
    ADD CHECK (source_id <> ''),
    ADD CHECK (encoding >= 1),
    ADD CHECK (source_type <> 'item' OR source_id = item_id),
    ADD CHECK (source_type <> 'workshop' OR source_id = workshop_id);
CREATE INDEX ledger_by_source ON ledger_entries (source_type, source_id, seq);
