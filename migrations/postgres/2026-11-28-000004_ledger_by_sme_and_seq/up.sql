-- An SME's entries are read in seq order (their ledger page, their balance): an index on
-- (sme_id, seq) serves that directly, so the work grows with the SME's own entries and never
-- with other SMEs'. It replaces the (sme_id, posted_at, seq) index, whose order did not match.
CREATE INDEX ledger_by_sme_seq ON ledger_entries (sme_id, seq);
DROP INDEX ledger_by_sme;
