-- Back to the ledger without source columns. Entries written with encoding 2 would no longer
-- verify (their hash covers the source fields), so going back is refused while any exists.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_entries WHERE encoding > 1) THEN
        RAISE EXCEPTION 'the ledger holds entries of encoding 2, which need their source columns';
    END IF;
END
$$;
DROP INDEX ledger_by_source;
ALTER TABLE ledger_entries
    DROP CONSTRAINT ledger_entries_kind_of_source,
    DROP COLUMN source_type,
    DROP COLUMN source_id,
    DROP COLUMN encoding,
    ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN ('item_award', 'workshop_day', 'reversal'));
DROP TABLE ledger_kinds;
